"""creds/<name>: issue a dynamic user under a renewable lease."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import password as passwords
from .access import not_allowed, role_allowed
from .connections import ConfigMissing, Connections
from .errors import DatabaseError, internal_error
from .path_config import NAME
from .secret import EXPIRY_BUFFER, SECRET_TYPE
from .store import Store
from .wal import Wal


class CredsIssuer:
    def __init__(
        self,
        store: Store,
        connections: Connections,
        wal: Wal,
        clock: Callable[[], datetime],
        default_ttl: Callable[[], int],
        max_ttl: Callable[[], int],
    ) -> None:
        self.store = store
        self.connections = connections
        self.wal = wal
        self.clock = clock
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern=f"creds/{NAME}",
                fields={"name": Field(FieldType.STRING, "Name of the role.")},
                operations={Operation.READ: self.issue},
                synopsis="Request database credentials for a certain role.",
                description=(
                    "Creates a user with the role's creation statements and returns its "
                    "username and password under a lease; the user is dropped when the "
                    "lease is revoked or expires."
                ),
            )
        ]

    def _ttl(self, default_ttl: int, max_ttl: int) -> int:
        ttl = default_ttl or self.default_ttl()
        limit = self.max_ttl()
        if 0 < max_ttl < limit:
            limit = max_ttl
        return min(ttl, limit)

    async def issue(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        role = await self.store.role(name)
        if role is None:
            raise BadRequest(f"unknown role: {name}")
        config = await self.store.config(role.db_name)
        if config is None:
            raise internal_error(str(ConfigMissing(role.db_name)))
        if not role_allowed(config, name):
            raise internal_error(not_allowed(name))
        if role.credential_type != "password":
            raise BadRequest(f'unsupported credential_type: "{role.credential_type}"')
        if config.password_policy or role.credential_config.get("password_policy"):
            raise BadRequest(passwords.POLICY_UNSUPPORTED)
        ttl = self._ttl(role.default_ttl, role.max_ttl)
        expiration = self.clock() + timedelta(seconds=ttl + EXPIRY_BUFFER)
        try:
            plugin = await self.connections.get(role.db_name)
        except DatabaseError as err:
            raise internal_error(f"unable to create database instance: {err}") from None
        display = req.token.display_name if req.token is not None else ""
        try:
            username = plugin.make_username(display, name)
        except DatabaseError as err:
            raise internal_error(str(err)) from None
        password = passwords.generate()
        wal_id = await self.wal.begin(role.db_name, username, name, role.revocation_statements)
        try:
            await plugin.create_user(
                username,
                password,
                expiration,
                role.creation_statements,
                role.rollback_statements,
            )
        except DatabaseError as err:
            # Nothing was created (a transaction rolled back, or the rollback statements
            # ran): the entry can go. If the rollback failed, leave it to the WAL pass.
            if getattr(err, "rollback_failed", False):
                self.wal.release(wal_id)
            else:
                await self.wal.commit(wal_id)
            prefix = "unable to get connection" if err.unreachable else "failed to execute query"
            raise internal_error(f"{prefix}: {err}") from None
        except BaseException:
            self.wal.release(wal_id)
            raise
        return Response(
            data={"username": username, "password": password},
            secret=Secret(
                ttl=role.default_ttl,
                max_ttl=role.max_ttl,
                renewable=True,
                internal={
                    "secret_type": SECRET_TYPE,
                    "username": username,
                    "role": name,
                    "db_name": role.db_name,
                    "revocation_statements": list(role.revocation_statements),
                },
                on_lease_stored=functools.partial(self.wal.settle, wal_id),
            ),
        )
