"""The `service_account_key` secret type: renew and revoke one leased key (§6).

Leases of type `access_token` are left from very old Vault versions: they
cannot be renewed and revoking them does nothing (Google cannot revoke an
access token).
"""

from __future__ import annotations

from strongroom.core.errors import BadRequest
from strongroom.framework.backend import LeaseRequest, SecretType

from .errors import GcpError, RevocationFailed
from .ops import Ops
from .store import ACCESS_TOKEN, SERVICE_ACCOUNT_KEY

TOKEN_RENEW_ERROR = "short-term access tokens cannot be renewed - request new access token instead"


class Keys:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops

    def secret_types(self) -> list[SecretType]:
        return [
            SecretType(SERVICE_ACCOUNT_KEY, revoke=self.revoke, renew=self.renew),
            SecretType(ACCESS_TOKEN, revoke=self._revoke_token, renew=self._renew_token),
        ]

    async def revoke(self, lease: LeaseRequest) -> None:
        """Delete the key; a key (or account) Google no longer has counts as deleted."""
        key_name = lease.internal.get("key_name")
        if not isinstance(key_name, str) or not key_name:
            raise RevocationFailed("invalid secret, internal data is missing key name")
        try:
            api = await self.ops.clients.root()
            await self.ops.delete_key(api, key_name)
        except GcpError as err:
            raise RevocationFailed(
                f"unable to delete service account key {key_name}: {err}", throttled=err.throttled
            ) from None

    async def renew(self, lease: LeaseRequest) -> int:
        """Only while the key's role set/static account is unchanged and the key exists."""
        internal = lease.internal
        key_name = internal.get("key_name")
        if not isinstance(key_name, str) or not key_name:
            raise BadRequest("invalid secret, internal data is missing key name")
        store = self.ops.store
        if internal.get("role_set"):
            name = str(internal["role_set"])
            owner = await store.roleset(name)
            if owner is None:
                raise BadRequest(f"could not find role set '{name}' for secret")
            if owner.bindings_hash != internal.get("role_set_bindings"):
                raise BadRequest(
                    f"role set '{name}' bindings were updated since secret was generated, "
                    "cannot renew"
                )
        elif internal.get("static_account"):
            name = str(internal["static_account"])
            static = await store.static(name)
            if static is None:
                raise BadRequest(f"could not find static account '{name}' for secret")
            if static.bindings_hash != internal.get("static_account_bindings"):
                raise BadRequest(
                    f"static account '{name}' bindings were updated since secret was "
                    "generated, cannot renew"
                )
        try:
            api = await self.ops.clients.root()
            found = await self.ops.retry(
                lambda: self.ops.get_key(api, key_name),
                lambda err: isinstance(err, GcpError) and err.transient,
            )
        except GcpError as err:
            raise BadRequest(f"could not confirm key still exists in GCP: {err}") from None
        if found is None:
            raise BadRequest("could not confirm key still exists in GCP")
        config = await store.config()
        return config.ttl if config is not None else 0

    async def _revoke_token(self, lease: LeaseRequest) -> None:
        return None  # access tokens expire on their own

    async def _renew_token(self, lease: LeaseRequest) -> int:
        raise BadRequest(TOKEN_RENEW_ERROR)
