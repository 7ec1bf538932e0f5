"""static-roles/<name>, static-creds/<name>, rotate-role/<name>, and the rotation schedule.

A static role adopts an existing database user: the engine sets its password
when the role is created, then again every `rotation_period` (or at each
`rotation_schedule` time, within `rotation_window` if set). The next due time
is stored with the role, so the schedule survives restarts; the rotation task
(started by the backend) reads it from storage on every pass and sleeps until
the earliest one, on the backend's clock.

A new password is stored (as `pending_password`) *before* it is sent to the
database. If the database or the storage fails part-way, the next attempt
sends the same password again instead of inventing another, so the password
the database has is never one the engine has lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.passes import run_passes
from strongroom.framework.path import Path

from . import cron
from . import password as passwords
from .access import not_allowed, role_allowed
from .connections import ConfigMissing, Connections
from .errors import DatabaseError, internal_error
from .paging import list_response
from .path_config import NAME
from .path_roles import COMMON_FIELDS, LIST_FIELDS, UNIQUE, credential_config, credential_type
from .statements import clean_list
from .store import StaticRole, Store

log = logging.getLogger("strongroom.database")

MIN_PERIOD = 5  # seconds (Vault's queue tick)
MIN_WINDOW = 3600
RETRY_AFTER = 10.0  # seconds before a failed rotation is tried again (Vault's)
MAX_SLEEP = 60.0

STATIC_FIELDS: dict[str, Field] = {
    **COMMON_FIELDS,
    "username": Field(FieldType.STRING, "The existing database user to manage.", ""),
    "rotation_period": Field(FieldType.DURATION, "Rotate this often (>= 5s).", 0),
    "rotation_schedule": Field(FieldType.STRING, "Rotate on this cron schedule (UTC).", ""),
    "rotation_window": Field(FieldType.DURATION, "How long after a scheduled time (>= 1h).", 0),
    "rotation_statements": Field(
        FieldType.STRING_LIST, "Statements that set the password (default: the plugin's).", []
    ),
}


class RotationFailed(Exception):
    pass


class StaticRoles:
    def __init__(
        self, store: Store, connections: Connections, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.connections = connections
        self.clock = clock
        self.wake = asyncio.Event()
        self._retry_at: dict[str, float] = {}

    def _now(self) -> float:
        return self.clock().timestamp()

    @staticmethod
    def next_rotation(role: StaticRole, after: float) -> float:
        if role.uses_schedule:
            moment = datetime.fromtimestamp(after, UTC)
            return cron.parse(role.rotation_schedule).next_after(moment).timestamp()
        return after + role.rotation_period

    # ------------------------------------------------------------ rotation
    async def rotate(self, role: StaticRole, *, stored: bool = True) -> StaticRole:
        """Give the user a new password (or the pending one again) and record it.

        `stored` is False while the role is being created: nothing is kept then
        unless the database took the password.
        """
        config = await self.store.config(role.db_name)
        if config is None:
            raise RotationFailed("the config is currently unset")
        if not role_allowed(config, role.name):
            raise RotationFailed(not_allowed(role.name))
        if role.credential_type != "password":
            raise RotationFailed(f'unsupported credential_type: "{role.credential_type}"')
        if config.password_policy:
            raise RotationFailed(passwords.POLICY_UNSUPPORTED)
        new_password = role.pending_password or passwords.generate()
        if stored and not role.pending_password:
            role.pending_password = new_password
            await self.store.put_static_role(role)
        try:
            plugin = await self.connections.get(role.db_name)
            await plugin.set_password(role.username, new_password, role.rotation_statements)
        except (ConfigMissing, DatabaseError) as err:
            raise RotationFailed(f"error setting credentials: {err}") from None
        now = self._now()
        role.password = new_password
        role.pending_password = ""
        role.last_vault_rotation = now
        role.next_vault_rotation = self.next_rotation(role, now)
        await self.store.put_static_role(role)
        self._retry_at.pop(role.name, None)
        return role

    async def rotate_due(self) -> float:
        """Rotate every role that is due; the seconds until the next one is."""
        now = self._now()
        next_due = now + MAX_SLEEP
        for name in await self.store.static_role_names():
            async with self.store.lock("static/" + name):
                role = await self.store.static_role(name)
                if role is None:
                    continue
                due = now if role.pending_password else role.next_vault_rotation
                due = max(due, self._retry_at.get(name, 0.0))
                if due > now:
                    next_due = min(next_due, due)
                    continue
                if (
                    role.uses_schedule
                    and role.rotation_window
                    and not role.pending_password
                    and now >= role.next_vault_rotation + role.rotation_window
                ):
                    # The window passed (the server was down): wait for the next one.
                    role.next_vault_rotation = self.next_rotation(role, now)
                    await self.store.put_static_role(role)
                    next_due = min(next_due, role.next_vault_rotation)
                    continue
                try:
                    role = await self.rotate(role)
                except Exception as err:  # RotationFailed, storage errors: retry soon
                    log.warning(
                        "database: static role %s: %s; retrying in %.0fs", name, err, RETRY_AFTER
                    )
                    self._retry_at[name] = now + RETRY_AFTER
                    next_due = min(next_due, now + RETRY_AFTER)
                    continue
                next_due = min(next_due, role.next_vault_rotation)
        return max(0.05, next_due - self._now())

    async def run(self) -> None:
        """The rotation task: a pass, then sleep until the next due role (or a role write)."""
        await run_passes(
            self.rotate_due,
            self.wake,
            log=log,
            what="database: static role rotation pass",
            retry_after=RETRY_AFTER,
            max_sleep=MAX_SLEEP,
        )

    # ------------------------------------------------------------ paths
    def paths(self) -> list[Path]:
        name_only = {"name": STATIC_FIELDS["name"]}
        return [
            Path(
                pattern="static-roles/?",
                fields=LIST_FIELDS,
                operations={Operation.LIST: self.list_roles},
                synopsis="List the static roles.",
            ),
            Path(
                pattern=f"static-roles/{NAME}",
                fields=STATIC_FIELDS,
                operations={
                    Operation.READ: self.read,
                    Operation.UPDATE: self.write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis="Manage the static roles: database users whose password is rotated.",
            ),
            Path(
                pattern=f"static-creds/{NAME}",
                fields=name_only,
                operations={Operation.READ: self.read_creds},
                synopsis="Request database credentials for a certain static role.",
            ),
            Path(
                pattern=f"rotate-role/{NAME}",
                fields=name_only,
                operations={Operation.UPDATE: self.rotate_now},
                synopsis="Rotate a static role's password now.",
            ),
        ]

    async def exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.static_role(fd.get("name")) is not None

    async def list_roles(self, req: Request, fd: FieldData) -> Response:
        return list_response(await self.store.static_role_names(), fd)

    @staticmethod
    def _rotation_fields(role: StaticRole, data: dict[str, Any]) -> None:
        if role.uses_schedule:
            data["rotation_schedule"] = role.rotation_schedule
            if role.rotation_window:
                data["rotation_window"] = role.rotation_window
        else:
            data["rotation_period"] = role.rotation_period

    async def read(self, req: Request, fd: FieldData) -> Response:
        role = await self.store.static_role(fd.get("name"))
        if role is None:
            raise NotFound()
        data: dict[str, Any] = {
            "db_name": role.db_name,
            "username": role.username,
            "rotation_statements": list(role.rotation_statements),
            "credential_type": role.credential_type,
        }
        if role.last_vault_rotation:
            data["last_vault_rotation"] = rfc3339(role.last_vault_rotation)
        self._rotation_fields(role, data)
        if role.credential_config:
            data["credential_config"] = dict(role.credential_config)
        return Response(data=data)

    async def read_creds(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        role = await self.store.static_role(name)
        if role is None:
            raise BadRequest(f"unknown role: {name}")
        config = await self.store.config(role.db_name)
        if config is None:
            raise internal_error(str(ConfigMissing(role.db_name)))
        if not role_allowed(config, name):
            raise internal_error(not_allowed(name))
        data: dict[str, Any] = {
            "username": role.username,
            "password": role.password,
            "ttl": max(0, round(role.next_vault_rotation - self._now())),
            "last_vault_rotation": rfc3339(role.last_vault_rotation),
        }
        self._rotation_fields(role, data)
        return Response(data=data)

    async def rotate_now(self, req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with self.store.lock("static/" + name):
            role = await self.store.static_role(name)
            if role is None:
                raise BadRequest("no static role found for role name")
            try:
                await self.rotate(role)
            except RotationFailed as err:
                self._retry_at[name] = self._now() + RETRY_AFTER
                self.wake.set()
                raise internal_error(
                    "unable to finish rotating credentials; retries will continue in the "
                    f"background but it is also safe to retry manually: {err}"
                ) from None
        self.wake.set()

    async def write(self, req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with self.store.lock("static/" + name), self.store.lock("role/" + name):
            if await self.store.role(name) is not None:
                raise BadRequest(UNIQUE)
            existing = await self.store.static_role(name)
            creating = existing is None
            role = existing or StaticRole(name=name)
            if fd.has("db_name") or creating:
                role.db_name = fd.get("db_name") or ""
            if not role.db_name:
                raise BadRequest("database name is a required field")
            username = fd.get("username")
            if creating and not username:
                raise BadRequest("username is a required field to create a static account")
            if username and role.username and username != role.username:
                raise BadRequest("cannot update static account username")
            if username:
                role.username = username
            schedule_changed = self._apply_rotation(role, fd, creating)
            if fd.has("rotation_statements") or creating:
                role.rotation_statements = clean_list(fd.get("rotation_statements"))
            if fd.has("credential_type"):
                role.credential_type = credential_type(fd)
            if fd.has("credential_config") or creating:
                role.credential_config = credential_config(
                    role.credential_type, fd.get("credential_config")
                )
            if creating:
                # The engine must set the password to know it (Vault does the same).
                try:
                    await self.rotate(role, stored=False)
                except RotationFailed as err:
                    raise internal_error(str(err)) from None
            else:
                if schedule_changed and role.last_vault_rotation:
                    role.next_vault_rotation = self.next_rotation(role, role.last_vault_rotation)
                await self.store.put_static_role(role)
            self._retry_at.pop(name, None)
        self.wake.set()

    @staticmethod
    def _apply_rotation(role: StaticRole, fd: FieldData, creating: bool) -> bool:
        period_given = fd.has("rotation_period")
        schedule = fd.get("rotation_schedule")
        window_given = fd.has("rotation_window")
        if schedule and period_given:
            raise BadRequest(
                "mutually exclusive fields rotation_period and rotation_schedule were both "
                "specified; only one of them can be provided"
            )
        if creating and not schedule and not period_given:
            raise BadRequest(
                "one of rotation_schedule or rotation_period must be provided to create a "
                "static account"
            )
        if period_given:
            period = fd.get("rotation_period")
            if period < MIN_PERIOD:
                raise BadRequest(f"rotation_period must be {MIN_PERIOD} seconds or more")
            if window_given:
                raise BadRequest("rotation_window is invalid with use of rotation_period")
            role.rotation_period, role.rotation_schedule, role.rotation_window = period, "", 0
            return True
        if schedule:
            try:
                cron.parse(schedule)
            except cron.CronError as err:
                raise BadRequest(f"could not parse rotation_schedule: {err}") from None
            role.rotation_schedule, role.rotation_period = schedule, 0
        if window_given and role.uses_schedule:
            window = fd.get("rotation_window")
            if window < MIN_WINDOW:
                raise BadRequest(
                    f"rotation_window is invalid: rotation_window must be {MIN_WINDOW} seconds "
                    "or more"
                )
            role.rotation_window = window
        return bool(schedule)

    async def delete(self, req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with self.store.lock("static/" + name):
            await self.store.delete_static_role(name)
            self._retry_at.pop(name, None)
