"""The two secret types: revoke (retried by the lease manager until done) and renew (§5.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from strongroom.core.errors import BadRequest, VaultError
from strongroom.framework.backend import LeaseRequest, SecretType

from .client import Azure, AzureClients
from .errors import AzureError, RevocationFailed
from .identity import teardown
from .path_creds import SP_SECRET, STATIC_SECRET
from .store import Store

log = logging.getLogger("strongroom.azure")

TEN_YEARS = 3650 * 86400


def _parse_time(text: str) -> float | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:  # Python < 3.12 parses at most 6 fractional digits
        digits = "".join(ch for ch in rest if ch.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class Secrets:
    def __init__(
        self,
        store: Store,
        clients: AzureClients,
        now: Callable[[], float],
        default_ttl: Callable[[], int],
    ) -> None:
        self.store = store
        self.clients = clients
        self.now = now
        self.default_ttl = default_ttl

    def secret_types(self) -> list[SecretType]:
        return [
            SecretType(SP_SECRET, revoke=self.revoke_sp, renew=self.renew),
            SecretType(STATIC_SECRET, revoke=self.revoke_static, renew=self.renew),
        ]

    async def _azure(self) -> Azure:
        try:
            return await self.clients.get()
        except VaultError as err:
            raise RevocationFailed(f"cannot build the Azure client: {err}") from None

    async def revoke_sp(self, lease: LeaseRequest) -> None:
        """Remove the role assignments, group memberships, SP and application."""
        internal = lease.internal
        azure = await self._azure()
        report = await teardown(
            azure,
            app_object_id=str(internal.get("app_object_id") or ""),
            sp_id=str(internal.get("sp_object_id") or ""),
            assignment_ids=[str(a) for a in internal.get("role_assignment_ids") or []],
            group_ids=[str(g) for g in internal.get("group_membership_ids") or []],
            purge=bool(internal.get("permanently_delete")),
        )
        if report.done:  # what failed did not matter (e.g. memberships of a deleted SP)
            for warning in report.warnings:
                log.warning("azure: revoking %s: %s", lease.lease_id, warning)
        else:  # the lease manager logs the failure and retries
            raise RevocationFailed(
                "; ".join(str(e) for e in report.essential),
                throttled=any(e.throttled for e in report.essential),
            )

    async def revoke_static(self, lease: LeaseRequest) -> None:
        """Remove the one password this lease added to an existing application."""
        internal = lease.internal
        app_object_id = str(internal.get("app_object_id") or "")
        key_id = str(internal.get("key_id") or "")
        if not app_object_id or not key_id:
            raise RevocationFailed("secret is missing app_object_id or key_id internal data")
        azure = await self._azure()
        try:
            await azure.remove_app_password(app_object_id, key_id)
        except AzureError as err:
            gone = "no password credential found with keyid" in err.message.lower()
            if gone or err.not_found:
                return
            raise RevocationFailed(
                f"error removing password {key_id} from application {app_object_id}: {err}",
                throttled=err.throttled,
            ) from None

    async def renew(self, lease: LeaseRequest) -> int:
        """The role's TTL (or the caller's increment), never past the Azure password's end."""
        name = str(lease.internal.get("role") or "")
        role = await self.store.role(name)
        if role is None:
            raise BadRequest(f"role '{name}' no longer exists; the lease was not renewed")
        end = _parse_time(str(lease.internal.get("key_end_date") or ""))
        if end is None:
            end = lease.issue_time + TEN_YEARS
        left = int(end - self.now())
        if left <= 0:
            raise BadRequest("the Azure password of this lease has expired; it cannot be renewed")
        wanted = lease.increment or role.ttl or self.default_ttl()
        return max(1, min(wanted, left))
