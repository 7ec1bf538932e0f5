"""The `creds` secret type: renew and revoke one dynamic database user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.ttl import TTLInputs, calculate_ttl
from strongroom.framework.backend import LeaseRequest, SecretType

from .connections import ConfigMissing, Connections
from .errors import DatabaseError, RevocationFailed, internal_error
from .store import Store

SECRET_TYPE = "creds"
# The database's own expiry is set this much past the lease's, so the lease
# always ends (and revokes) first.
EXPIRY_BUFFER = 5


class Creds:
    def __init__(
        self,
        store: Store,
        connections: Connections,
        clock: Callable[[], datetime],
        default_ttl: Callable[[], int],
        max_ttl: Callable[[], int],
    ) -> None:
        self.store = store
        self.connections = connections
        self.clock = clock
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl

    def secret_type(self) -> SecretType:
        return SecretType(SECRET_TYPE, revoke=self.revoke, renew=self.renew)

    async def renew(self, lease: LeaseRequest) -> int:
        """Vault's TTL rules for the role, then the renew statements with the new expiry."""
        username = _text(lease.internal, "username")
        role_name = _text(lease.internal, "role")
        role = await self.store.role(role_name)
        if role is None:
            raise internal_error(f'error during renew: could not find role with name "{role_name}"')
        now = self.clock()
        try:
            ttl, _ = calculate_ttl(
                TTLInputs(
                    increment=lease.increment,
                    backend_ttl=role.default_ttl,
                    backend_max_ttl=role.max_ttl,
                    default_ttl=self.default_ttl(),
                    max_ttl=self.max_ttl(),
                    start=lease.issue_time,
                ),
                now.timestamp(),
            )
        except VaultError as err:
            raise BadRequest(str(err)) from None
        if ttl > 0:
            expiration = now + timedelta(seconds=ttl + EXPIRY_BUFFER)
            try:
                plugin = await self.connections.get(role.db_name)
                await plugin.set_expiration(username, expiration, role.renew_statements)
            except (ConfigMissing, DatabaseError) as err:
                raise internal_error(str(err)) from None
        return ttl

    async def revoke(self, lease: LeaseRequest) -> None:
        """Drop the user; raises (and the lease manager retries) while the database refuses."""
        internal = lease.internal
        username = internal.get("username")
        if not isinstance(username, str) or not username:
            raise RevocationFailed("secret is missing username internal data")
        role_name = internal.get("role")
        if not isinstance(role_name, str):
            raise RevocationFailed("no role name was provided")
        role = await self.store.role(role_name)
        if role is not None:
            db_name, statements = role.db_name, role.revocation_statements
        else:  # the role is gone: what was recorded at issue time
            db_name = internal.get("db_name")
            statements = internal.get("revocation_statements") or []
            if not isinstance(db_name, str):
                raise RevocationFailed(
                    f'error during revoke: could not find role with name "{role_name}" or '
                    "embedded revocation db name data"
                )
        try:
            plugin = await self.connections.get(db_name)
            await plugin.delete_user(username, list(statements))
        except ConfigMissing as err:
            raise RevocationFailed(str(err)) from None
        except DatabaseError as err:
            raise RevocationFailed(
                f"revoking user {username} on {db_name}: {err}", throttled=err.throttled
            ) from None


def _text(internal: dict[str, Any], key: str) -> str:
    value = internal.get(key)
    if not isinstance(value, str):
        raise internal_error(f'secret is missing "{key}" field in internal data')
    return value
