"""Building and tearing down the Azure identities the engine hands out.

A dynamic credential (spec §5.1) is an application, its service principal (SP),
an SP password, role assignments and group memberships. A persisted app (§4.5)
is the same without the throw-away password. Entra ID replicates new objects
for a while, so the calls that name a fresh object are retried (2-7 s apart,
80 s at most) while Azure says it does not know it yet.

Teardown order: role assignments (ARM keeps them after the principal is
gone), group memberships, the SP, the application; optionally purged from
deleted items. A 404 means already done.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .client import Azure
from .errors import AzureError

log = logging.getLogger("strongroom.azure")

T = TypeVar("T")

# Error texts that mean "not replicated yet" (compared lower-case).
SP_PROPAGATION = (
    "local tenant",
    "does not reference a valid application object",
    "authorization_requestdenied",
    "propagation",
    "please try again",
    "could not find",
    "not found",
)
PRINCIPAL_NOT_FOUND = ("principalnotfound",)
MEMBER_NOT_FOUND = ("request_resourcenotfound",)

RETRY_MIN = 2.0
RETRY_MAX = 7.0
RETRY_TIMEOUT = 80.0
TEN_YEARS = timedelta(days=3650)


def rfc3339(moment: datetime) -> str:
    """Graph's timestamp form: UTC, seconds precision, Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(moment: datetime) -> str:
    """Go's RFC 3339 with nanoseconds (the `key_end_date` of a lease)."""
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}000".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def password_end(now: datetime, explicit_max_ttl: int) -> datetime:
    """An engine-made password lives explicit_max_ttl, else 10 years."""
    return now + (timedelta(seconds=explicit_max_ttl) if explicit_max_ttl > 0 else TEN_YEARS)


def _matches(err: AzureError, markers: Iterable[str]) -> bool:
    text = f"{err.code} {err.message}".lower()
    return any(marker in text for marker in markers)


async def propagation_retry(
    call: Callable[[], Awaitable[T]],
    markers: Iterable[str],
    what: str,
) -> T:
    """Retry `call` while Azure answers that a fresh object is unknown, within RETRY_TIMEOUT."""
    markers = tuple(markers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_TIMEOUT
    attempt = 0
    while True:
        try:
            return await call()
        except AzureError as err:
            attempt += 1
            delay = random.uniform(RETRY_MIN, RETRY_MAX)
            if not err.status or not _matches(err, markers) or loop.time() + delay > deadline:
                raise
            log.info(
                "azure: %s: not replicated yet (attempt %d), retrying in %.1fs: %s",
                what,
                attempt,
                delay,
                err,
            )
            await asyncio.sleep(delay)


async def create_service_principal(azure: Azure, app_id: str) -> dict[str, Any]:
    return await propagation_retry(
        lambda: azure.create_service_principal(app_id),
        SP_PROPAGATION,
        f"service principal for application {app_id}",
    )


@dataclass
class Assignment:
    scope: str
    name: str  # the pre-generated UUID
    role_id: str

    @property
    def id(self) -> str:
        scope = self.scope.rstrip("/")
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{self.name}"


def plan_assignments(azure_roles: list[dict[str, str]] | None) -> list[Assignment]:
    return [
        Assignment(role.get("scope", ""), str(uuid.uuid4()), role.get("role_id", ""))
        for role in azure_roles or []
    ]


async def assign_roles(azure: Azure, sp_id: str, plan: list[Assignment]) -> list[str]:
    """Create every planned assignment (at once); the full ARM IDs, in plan order."""

    async def one(item: Assignment) -> str:
        made = await propagation_retry(
            lambda: azure.create_role_assignment(item.scope, item.name, item.role_id, sp_id),
            PRINCIPAL_NOT_FOUND,
            f"role assignment {item.name}",
        )
        return str((made or {}).get("id") or item.id)

    return await _all(one(item) for item in plan)


async def add_to_groups(azure: Azure, sp_id: str, group_ids: list[str]) -> None:
    async def one(group_id: str) -> None:
        await propagation_retry(
            lambda: azure.add_group_member(group_id, sp_id),
            MEMBER_NOT_FOUND,
            f"membership of group {group_id}",
        )

    await _all(one(group_id) for group_id in group_ids)


async def _all(steps: Iterable[Awaitable[T]]) -> list[T]:
    """Run every step at once, wait for all, raise the first failure (in order)."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)  # type: ignore[arg-type]


async def ignore_missing(step: Awaitable[Any]) -> None:
    """A removal whose target is already gone has done its job."""
    try:
        await step
    except AzureError as err:
        if not err.not_found:
            raise


@dataclass
class Teardown:
    """What a teardown could not remove; `essential` failures mean "try again later"."""

    essential: list[AzureError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.essential


async def remove_assignments(azure: Azure, assignment_ids: list[str], report: Teardown) -> None:
    results = await asyncio.gather(
        *(ignore_missing(azure.delete_role_assignment(a)) for a in assignment_ids),
        return_exceptions=True,
    )
    for assignment_id, result in zip(assignment_ids, results, strict=True):
        if isinstance(result, AzureError):
            report.essential.append(result)
            report.warnings.append(f"error removing role assignment {assignment_id}: {result}")
        elif isinstance(result, BaseException):
            raise result


async def remove_memberships(
    azure: Azure, sp_id: str, group_ids: list[str], report: Teardown, *, essential: bool
) -> None:
    results = await asyncio.gather(
        *(ignore_missing(azure.remove_group_member(g, sp_id)) for g in group_ids),
        return_exceptions=True,
    )
    for group_id, result in zip(group_ids, results, strict=True):
        if isinstance(result, AzureError):
            report.warnings.append(f"error removing group membership {group_id}: {result}")
            if essential:
                report.essential.append(result)
        elif isinstance(result, BaseException):
            raise result


async def delete_directory_object(
    azure: Azure, kind: str, object_id: str, purge: bool, report: Teardown
) -> None:
    """Delete an application or SP (and purge it from deleted items when asked)."""
    delete = azure.delete_application if kind == "application" else azure.delete_service_principal
    try:
        await ignore_missing(delete(object_id))
        if purge:
            await ignore_missing(azure.purge_deleted(object_id))
    except AzureError as err:
        report.essential.append(err)
        report.warnings.append(f"error deleting {kind} {object_id}: {err}")


async def teardown(
    azure: Azure,
    *,
    app_object_id: str,
    sp_id: str,
    assignment_ids: list[str],
    group_ids: list[str],
    purge: bool,
) -> Teardown:
    """Remove a dynamic identity; every step is tried even when an earlier one failed."""
    report = Teardown()
    await remove_assignments(azure, assignment_ids, report)
    if sp_id:
        # Deleting the SP ends its memberships too: a failure here is only a warning.
        await remove_memberships(azure, sp_id, group_ids, report, essential=False)
        await delete_directory_object(azure, "servicePrincipal", sp_id, purge, report)
    if app_object_id:
        await delete_directory_object(azure, "application", app_object_id, purge, report)
    return report
