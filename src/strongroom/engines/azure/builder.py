"""Issue-time construction of an application + service principal, journaled and all-or-nothing.

Used for dynamic credentials (creds/<role>, with an SP password) and for a
role's persisted application (persist_app, whose password is thrown away).
Every cloud write is preceded by its journal record (wal.py). When a step
fails, what was made is removed (and purged from deleted items) before the
error goes out; if even that fails, the records stay for the rollback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .client import Azure
from .errors import AzureError
from .identity import (
    Teardown,
    add_to_groups,
    assign_roles,
    create_service_principal,
    delete_directory_object,
    ignore_missing,
    plan_assignments,
    rfc3339,
)
from .store import Role
from .wal import APP_CREATE, ROLE_ASSIGN, Wal, WalEntry

log = logging.getLogger("strongroom.azure")


class StepFailed(Exception):
    """A build step Azure refused; `prefix` says which, `error` what Azure said."""

    def __init__(self, prefix: str, error: AzureError) -> None:
        super().__init__(f"{prefix}: {error}")
        self.prefix = prefix
        self.error = error


@dataclass
class Built:
    app_object_id: str
    app_id: str
    sp_id: str
    assignment_ids: list[str]
    group_ids: list[str]
    password: dict[str, Any] | None
    entries: list[WalEntry] = field(default_factory=list)


async def _step(prefix: str, coro: Any) -> Any:
    try:
        return await coro
    except AzureError as err:
        raise StepFailed(prefix, err) from None


async def build(
    azure: Azure,
    wal: Wal,
    *,
    display_name: str,
    role: Role,
    now: datetime,
    password_end: datetime | None,
) -> Built:
    app_entry = await wal.begin(APP_CREATE, display_name=display_name, app_object_id="", app_id="")
    assign_entry: WalEntry | None = None
    try:
        try:
            app = await azure.create_application(display_name, role.tags, role.sign_in_audience)
        except AzureError as err:
            if 400 <= err.status < 500:  # a definite "no": nothing was created
                await wal.commit(app_entry)
                app_entry = None  # type: ignore[assignment]
            raise StepFailed("error creating application", err) from None
        app_object_id, app_id = str(app["id"]), str(app["appId"])
        await wal.update(app_entry, app_object_id=app_object_id, app_id=app_id)
        sp = await _step(
            "error creating service principal", create_service_principal(azure, app_id)
        )
        sp_id = str(sp["id"])
        await wal.update(app_entry, sp_id=sp_id)
        password = None
        if password_end is not None:
            password = await _step(
                "error adding password to service principal",
                azure.add_sp_password(sp_id, rfc3339(now), rfc3339(password_end)),
            )
        plan = plan_assignments(role.azure_roles)
        assignment_ids: list[str] = []
        if plan:
            assign_entry = await wal.begin(
                ROLE_ASSIGN, sp_id=sp_id, assignment_ids=[a.id for a in plan]
            )
            assignment_ids = await _step(
                "error assigning Azure roles", assign_roles(azure, sp_id, plan)
            )
        group_ids = [g["object_id"] for g in role.azure_groups or []]
        await _step(
            "error adding service principal to groups", add_to_groups(azure, sp_id, group_ids)
        )
    except BaseException:
        if app_entry is not None:
            await _undo_shielded(azure, wal, app_entry, assign_entry)
        raise
    return Built(
        app_object_id,
        app_id,
        sp_id,
        assignment_ids,
        group_ids,
        password,
        [e for e in (app_entry, assign_entry) if e is not None],
    )


async def undo_app_create(azure: Azure, data: dict[str, Any]) -> None:
    """Delete and purge the application a record names (found by name if its id is unknown)."""
    object_ids = [data["app_object_id"]] if data.get("app_object_id") else []
    if not object_ids and data.get("display_name"):
        found = await azure.find_applications("displayName", str(data["display_name"]))
        object_ids = [str(app["id"]) for app in found]
    report = Teardown()
    if data.get("sp_id"):
        await delete_directory_object(azure, "servicePrincipal", str(data["sp_id"]), True, report)
    for object_id in object_ids:
        await delete_directory_object(azure, "application", object_id, True, report)
    if report.essential:
        raise report.essential[0]


async def undo_role_assign(azure: Azure, data: dict[str, Any]) -> None:
    failures: list[AzureError] = []
    for assignment_id in data.get("assignment_ids") or []:
        try:
            await ignore_missing(azure.delete_role_assignment(str(assignment_id)))
        except AzureError as err:
            failures.append(err)
    if failures:
        raise failures[0]


_undoing: set[asyncio.Task[None]] = set()


async def _undo_shielded(
    azure: Azure, wal: Wal, app_entry: WalEntry, assign_entry: WalEntry | None
) -> None:
    """Remove a half-built identity before the error goes out; a cancelled request can't stop it."""

    async def run() -> None:
        try:
            if assign_entry is not None:
                await undo_role_assign(azure, assign_entry.data)
            await undo_app_create(azure, app_entry.data)
        except Exception as err:
            log.warning(
                "azure: could not remove half-built application %s now (%s); the journal "
                "rollback will retry",
                app_entry.data.get("app_object_id") or app_entry.data.get("display_name"),
                err,
            )
            wal.release(app_entry, assign_entry)
            return
        try:
            await wal.commit(assign_entry, app_entry)
        except Exception:
            wal.release(app_entry, assign_entry)

    task = asyncio.ensure_future(run())
    _undoing.add(task)
    task.add_done_callback(_undoing.discard)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        pass  # the request was cancelled: the clean-up carries on by itself
