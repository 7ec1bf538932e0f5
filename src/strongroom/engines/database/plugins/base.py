"""What every database plugin does, and the connection settings they share.

A plugin instance belongs to one `config/<name>`: it holds that connection's
settings and its pool, and is thrown away (pool closed) when the config
changes, is reset or deleted, or the mount goes away.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from strongroom.framework.fields import FieldError, FieldType, coerce

from .. import username as usernames
from ..errors import DatabaseError, scrub
from ..statements import render
from .pool import PoolLimits

log = logging.getLogger("strongroom.database")

T = TypeVar("T")

DEFAULT_MAX_OPEN = 4
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # Go's "2006-01-02 15:04:05-0700"
TEMPLATE_VARS = ("{{username}}", "{{password}}")


def setting(details: dict[str, Any], key: str, kind: FieldType, default: Any) -> Any:
    """One connection detail, weakly decoded like mapstructure (the CLI sends strings)."""
    raw = details.get(key)
    if raw is None:
        return default
    try:
        return coerce(kind, raw)
    except FieldError as err:
        raise DatabaseError(f"cannot parse '{key}': {err}") from None


@dataclass(frozen=True)
class ConnectionSettings:
    connection_url: str
    username: str
    password: str
    limits: PoolLimits
    username_template: str
    disable_escaping: bool

    @classmethod
    def parse(cls, details: dict[str, Any]) -> ConnectionSettings:
        url = setting(details, "connection_url", FieldType.STRING, "")
        if not url:
            raise DatabaseError("connection_url cannot be empty")
        user = setting(details, "username", FieldType.STRING, "")
        password = setting(details, "password", FieldType.STRING, "")
        if any(var in user or var in password for var in TEMPLATE_VARS):
            raise DatabaseError("username and/or password cannot contain the template variables")
        max_open = setting(details, "max_open_connections", FieldType.INT, 0) or DEFAULT_MAX_OPEN
        max_idle = setting(details, "max_idle_connections", FieldType.INT, 0)
        if max_idle == 0:
            max_idle = max_open
        if max_open > 0:
            max_idle = min(max_idle, max_open)
        lifetime = setting(details, "max_connection_lifetime", FieldType.DURATION, 0)
        return cls(
            connection_url=url,
            username=user,
            password=password,
            limits=PoolLimits(max_open, max(0, max_idle), float(max(0, lifetime))),
            username_template=setting(details, "username_template", FieldType.STRING, ""),
            disable_escaping=setting(details, "disable_escaping", FieldType.BOOL, False),
        )


def expiration_text(moment: datetime) -> str:
    return moment.strftime(EXPIRATION_FORMAT)


class DatabasePlugin(ABC):
    """One configured connection of a database plugin."""

    plugin_names: ClassVar[tuple[str, ...]]
    default_username_template: ClassVar[str]
    max_username_length: ClassVar[int]
    default_rotation_statements: ClassVar[tuple[str, ...]]

    def __init__(self, plugin_name: str, details: dict[str, Any], executor: Executor) -> None:
        self.plugin_name = plugin_name
        self.details = details
        self.executor = executor
        self.settings = ConnectionSettings.parse(details)
        self.username_template = self.settings.username_template or self.default_username_template
        try:
            usernames.validate(self.username_template)
        except usernames.UsernameError as err:
            raise DatabaseError(str(err)) from None
        # Catalog changes are serialised per connection, as in Vault's plugins:
        # concurrent GRANTs on one table fail in PostgreSQL ("tuple concurrently updated").
        self.write_lock = asyncio.Lock()

    # ------------------------------------------------------------ helpers
    def secrets(self, *extra: str) -> list[str]:
        return [self.settings.password, *extra]

    def error(self, err: BaseException, *extra_secrets: str, prefix: str = "") -> DatabaseError:
        """A driver error as a DatabaseError whose text holds no secret."""
        if isinstance(err, DatabaseError):
            message = err.message
            flags = {"unreachable": err.unreachable, "throttled": err.throttled}
        else:
            message, flags = self.describe(err)
        text = scrub(f"{prefix}{message}", self.secrets(*extra_secrets))
        result = DatabaseError(text, **flags)
        result.rollback_failed = bool(getattr(err, "rollback_failed", False))
        return result

    async def in_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def make_username(self, display_name: str, role_name: str) -> str:
        try:
            return usernames.render(
                self.username_template, display_name, role_name, self.max_username_length
            )
        except usernames.UsernameError as err:
            raise DatabaseError(str(err)) from None

    @staticmethod
    def values(username: str, **more: str) -> dict[str, str]:
        return {"name": username, "username": username, **more}

    @staticmethod
    def rendered(queries: Iterable[str], values: dict[str, str]) -> list[str]:
        return [render(q, values) for q in queries]

    # ------------------------------------------------------------ the interface
    @abstractmethod
    def describe(self, err: BaseException) -> tuple[str, dict[str, bool]]:
        """The driver's message for `err` (no statement text) and its flags."""

    @abstractmethod
    async def verify(self) -> None:
        """Open a connection and ping the server (config writes with verify_connection)."""

    @abstractmethod
    async def create_user(
        self,
        username: str,
        password: str,
        expiration: datetime,
        creation: list[str],
        rollback: list[str],
    ) -> None:
        """Run the creation statements; on failure, leave no user behind and raise."""

    @abstractmethod
    async def set_password(self, username: str, password: str, statements: list[str]) -> None:
        """Rotation (static roles, root): the default statement when `statements` is empty."""

    @abstractmethod
    async def set_expiration(
        self, username: str, expiration: datetime, statements: list[str]
    ) -> None:
        """Renewal."""

    @abstractmethod
    async def delete_user(self, username: str, statements: list[str]) -> None:
        """Revocation: the default procedure when `statements` is empty; idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""


PluginFactory = Callable[[str, dict[str, Any], Executor], DatabasePlugin]
Verifier = Callable[[DatabasePlugin], Awaitable[None]]
