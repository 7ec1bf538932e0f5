"""The `alicloud` secret type: renew and revoke one issued credential (§4.4)."""

from __future__ import annotations

from strongroom.core.errors import BadRequest
from strongroom.framework.backend import LeaseRequest, SecretType

from . import ram_user
from .client import AliCloudClients, Credentials
from .errors import AliCloudError, RevocationFailed
from .path_creds import ROLE_TYPE_STS, SECRET_TYPE
from .settings import SettingsError
from .store import RemotePolicy, Store


class AliCloudSecret:
    def __init__(self, store: Store, clients: AliCloudClients) -> None:
        self._store = store
        self._clients = clients

    def secret_type(self) -> SecretType:
        return SecretType(SECRET_TYPE, revoke=self.revoke, renew=self.renew)

    async def revoke(self, lease: LeaseRequest) -> None:
        """STS credentials cannot be revoked (they expire); a RAM user is deleted."""
        internal = lease.internal
        if internal.get("role_type") == ROLE_TYPE_STS:
            return
        username = internal.get("username")
        if not isinstance(username, str) or not username:
            raise RevocationFailed("secret is missing username internal data")
        config = await self._store.config()
        if config is None:
            raise RevocationFailed(
                f"cannot remove RAM user {username}: no credentials are configured"
            )
        try:
            ram = await self._clients.ram(Credentials(config.access_key, config.secret_key))
        except AliCloudError as err:
            raise RevocationFailed(
                f"cannot remove RAM user {username}: {err}", throttled=err.throttled
            ) from None
        except SettingsError as err:
            raise RevocationFailed(f"cannot remove RAM user {username}: {err}") from None
        await ram_user.revoke(
            ram,
            username,
            str(internal.get("access_key_id") or ""),
            [str(p["name"]) for p in internal.get("inline_policies") or []],
            [
                RemotePolicy(str(p["name"]), str(p["type"]))
                for p in internal.get("remote_policies") or []
            ],
        )

    async def renew(self, lease: LeaseRequest) -> int:
        """The role's ttl when set (0: Vault's rules from the increment and mount)."""
        internal = lease.internal
        if internal.get("role_type") == ROLE_TYPE_STS:
            raise BadRequest("lease is not renewable")
        name = str(internal.get("role_name") or "")
        role = await self._store.role(name)
        if role is None:
            raise BadRequest(f"role {name} has been deleted so no further renewals are allowed")
        return role.ttl
