"""What the engine keeps in its mount's storage (Vault's key names; the barrier encrypts).

config/<name>        DbConfig: plugin, connection details (root password inside)
role/<name>          Role: a dynamic role
static-role/<name>   StaticRole: a managed account and its current password
wal/<id>             WalEntry: a user being created (see wal.py)
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

CONFIG_PREFIX = "config/"
ROLE_PREFIX = "role/"
STATIC_PREFIX = "static-role/"


def _from_dict(cls: type, record: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


def _float(value: Any) -> float:
    return float(str(value)) if value is not None else 0.0


@dataclass
class DbConfig:
    plugin_name: str = ""
    plugin_version: str = ""
    connection_details: dict[str, Any] = field(default_factory=dict)
    allowed_roles: list[str] = field(default_factory=list)
    root_credentials_rotate_statements: list[str] = field(default_factory=list)
    password_policy: str = ""
    verify_connection: bool = True
    # rotate-root: the new root password while the database is being changed.
    pending_root_password: str = ""

    def to_api(self) -> dict[str, Any]:
        details = {
            k: v for k, v in self.connection_details.items() if k not in ("password", "private_key")
        }
        url = details.get("connection_url")
        if isinstance(url, str):
            details["connection_url"] = redact_url(url)
        return {
            "allowed_roles": list(self.allowed_roles),
            "connection_details": details,
            "password_policy": self.password_policy,
            "plugin_name": self.plugin_name,
            "plugin_version": self.plugin_version,
            "root_credentials_rotate_statements": list(self.root_credentials_rotate_statements),
            "verify_connection": self.verify_connection,
        }


def redact_url(url: str) -> str:
    """Go's url.URL.Redacted(): a literal password in a URL's userinfo becomes "xxxxx".

    Templated URLs (`{{password}}`) do not parse as URLs in Go and stay as written.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.isalpha() or "{" in url:
        return url
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:xxxxx@{host}{rest[len(netloc) :]}"


@dataclass
class Role:
    db_name: str = ""
    creation_statements: list[str] = field(default_factory=list)
    revocation_statements: list[str] = field(default_factory=list)
    rollback_statements: list[str] = field(default_factory=list)
    renew_statements: list[str] = field(default_factory=list)
    default_ttl: int = 0
    max_ttl: int = 0
    credential_type: str = "password"
    credential_config: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "db_name": self.db_name,
            "creation_statements": list(self.creation_statements),
            "revocation_statements": list(self.revocation_statements),
            "rollback_statements": list(self.rollback_statements),
            "renew_statements": list(self.renew_statements),
            "default_ttl": self.default_ttl,
            "max_ttl": self.max_ttl,
            "credential_type": self.credential_type,
        }
        if self.credential_config:
            out["credential_config"] = dict(self.credential_config)
        return out


@dataclass
class StaticRole:
    name: str
    db_name: str = ""
    username: str = ""
    password: str = ""
    rotation_statements: list[str] = field(default_factory=list)
    rotation_period: int = 0  # seconds; or a schedule:
    rotation_schedule: str = ""
    rotation_window: int = 0
    credential_type: str = "password"
    credential_config: dict[str, Any] = field(default_factory=dict)
    last_vault_rotation: float = 0.0  # unix seconds; 0 = never
    next_vault_rotation: float = 0.0
    # A password sent to the database whose outcome is not yet recorded: the next
    # rotation re-applies it (rolls forward) rather than inventing another one.
    pending_password: str = ""

    @property
    def uses_schedule(self) -> bool:
        return bool(self.rotation_schedule) and not self.rotation_period

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StaticRole:
        role = _from_dict(cls, record)
        role.last_vault_rotation = _float(role.last_vault_rotation)
        role.next_vault_rotation = _float(role.next_vault_rotation)
        return role


class Store:
    """Typed access to the mount's storage; writes to one entry are serialised by name."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, key: str) -> asyncio.Lock:
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = asyncio.Lock()
        return found

    async def _get(self, key: str) -> dict[str, Any] | None:
        raw = await self.storage.get(key)
        return jsonutil.loads(raw) if raw is not None else None

    async def _put(self, key: str, record: dict[str, Any]) -> None:
        await self.storage.put(key, jsonutil.dumps_compact(record))

    async def _names(self, prefix: str) -> list[str]:
        return [n for n in await self.storage.list(prefix) if not n.endswith("/")]

    # ------------------------------------------------------------ connections
    async def config(self, name: str) -> DbConfig | None:
        record = await self._get(CONFIG_PREFIX + name)
        return _from_dict(DbConfig, record) if record is not None else None

    async def put_config(self, name: str, config: DbConfig) -> None:
        await self._put(CONFIG_PREFIX + name, asdict(config))

    async def delete_config(self, name: str) -> None:
        await self.storage.delete(CONFIG_PREFIX + name)

    async def config_names(self) -> list[str]:
        return await self._names(CONFIG_PREFIX)

    # ------------------------------------------------------------ roles
    async def role(self, name: str) -> Role | None:
        record = await self._get(ROLE_PREFIX + name)
        return _from_dict(Role, record) if record is not None else None

    async def put_role(self, name: str, role: Role) -> None:
        await self._put(ROLE_PREFIX + name, asdict(role))

    async def delete_role(self, name: str) -> None:
        await self.storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        return await self._names(ROLE_PREFIX)

    # ------------------------------------------------------------ static roles
    async def static_role(self, name: str) -> StaticRole | None:
        record = await self._get(STATIC_PREFIX + name)
        return StaticRole.from_record(record) if record is not None else None

    async def put_static_role(self, role: StaticRole) -> None:
        await self._put(STATIC_PREFIX + role.name, role.record())

    async def delete_static_role(self, name: str) -> None:
        await self.storage.delete(STATIC_PREFIX + name)

    async def static_role_names(self) -> list[str]:
        return await self._names(STATIC_PREFIX)
