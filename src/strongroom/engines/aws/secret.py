"""The `access_keys` secret type: renew and revoke one issued credential (§5)."""

from __future__ import annotations

from collections.abc import Callable

from strongroom.core.errors import BadRequest
from strongroom.framework.backend import LeaseRequest, SecretType

from .client import AwsClients
from .errors import AwsError, RevocationFailed
from .iam_user import delete_user
from .store import Store
from .wal import MIN_AGE

SECRET_TYPE = "access_keys"


class AccessKeys:
    def __init__(
        self,
        store: Store,
        clients: AwsClients,
        now: Callable[[], float],
        default_ttl: Callable[[], int],
    ) -> None:
        self._store = store
        self._clients = clients
        self._now = now
        self._default_ttl = default_ttl

    def secret_type(self) -> SecretType:
        return SecretType(SECRET_TYPE, revoke=self.revoke, renew=self.renew)

    async def revoke(self, lease: LeaseRequest) -> None:
        """STS credentials cannot be revoked (a no-op); an IAM user is deleted."""
        internal = lease.internal
        if internal.get("is_sts"):
            return
        username = internal.get("username")
        if not isinstance(username, str) or not username:
            raise RevocationFailed("secret is missing username internal data")
        try:
            iam = await self._clients.iam()
        except AwsError as err:
            raise RevocationFailed(
                f"error building the IAM client: {err}", throttled=err.throttled
            ) from None
        old = self._now() - lease.issue_time >= MIN_AGE
        await delete_user(iam, username, accept_missing=old)

    async def renew(self, lease: LeaseRequest) -> int:
        """config/lease's `lease` (else the mount default); the caller's increment is ignored."""
        if lease.internal.get("is_sts"):
            raise BadRequest("lease is not renewable")
        config = await self._store.lease()
        return config.lease if config is not None and config.lease else self._default_ttl()
