"""static-roles/<name>, static-creds/<name> and the rotation of their keys (§3.6, §4.6).

A static role adopts an existing IAM user; the engine keeps one access key of
that user and replaces it every `rotation_period`. The schedule is the
`expiration` stored with each key, so it survives restarts: the rotation task
(started by the backend) reads it from storage on every pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.passes import run_passes
from strongroom.framework.path import Path

from .client import AwsClients
from .errors import AwsError, internal_error
from .path_roles import ROLE_NAME
from .store import StaticCreds, StaticRole, Store

log = logging.getLogger("strongroom.aws")

MIN_PERIOD = 60
RETRY_AFTER = 10.0  # seconds before a failed rotation is tried again
MAX_SLEEP = 60.0

STATIC_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "Name of the static role."),
    "username": Field(FieldType.STRING, "The existing IAM user whose keys are rotated.", ""),
    "rotation_period": Field(FieldType.DURATION, "How often the key is rotated (>= 1m).", 0),
    "assume_role_arn": Field(FieldType.STRING, "Cross-account role (Enterprise).", ""),
    "assume_role_session_name": Field(FieldType.STRING, "Cross-account session (Enterprise).", ""),
    "external_id": Field(FieldType.STRING, "Cross-account external ID (Enterprise).", ""),
}


class RotationFailed(Exception):
    pass


class StaticRoles:
    def __init__(self, store: Store, clients: AwsClients, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clients = clients
        self.clock = clock
        self.wake = asyncio.Event()
        self._retry_at: dict[str, float] = {}

    def _now(self) -> float:
        return self.clock().timestamp()

    # ------------------------------------------------------------ rotation
    async def rotate(self, role: StaticRole) -> StaticCreds:
        """Replace the user's key (deleting the oldest first when it has two)."""
        try:
            iam = await self.clients.iam()
            user = await iam.call("GetUser", UserName=role.username)
            if user["User"]["UserId"] != role.id:
                raise RotationFailed(
                    f'IAM user "{role.username}" has ID {user["User"]["UserId"]}, not the '
                    f"{role.id} this role was created for"
                )
            listed = await iam.call("ListAccessKeys", UserName=role.username)
            keys = listed.get("AccessKeyMetadata", [])
            if len(keys) >= 2:
                oldest = min(keys, key=lambda k: k["CreateDate"])
                await iam.call(
                    "DeleteAccessKey", UserName=role.username, AccessKeyId=oldest["AccessKeyId"]
                )
            created = await iam.call("CreateAccessKey", UserName=role.username)
        except AwsError as err:
            raise RotationFailed(f"rotating the key of IAM user {role.username}: {err}") from None
        key = created["AccessKey"]
        creds = StaticCreds(
            key["AccessKeyId"], key["SecretAccessKey"], self._now() + role.rotation_period
        )
        await self.store.put_static_creds(role.name, creds)
        return creds

    async def rotate_due(self) -> float:
        """Rotate every role whose key has expired; the seconds until the next one is due."""
        now = self._now()
        next_due = now + MAX_SLEEP
        for name in await self.store.static_role_names():
            async with self.store.lock("static/" + name):
                role = await self.store.static_role(name)
                if role is None:
                    continue
                creds = await self.store.static_creds(name)
                due = creds.expiration if creds is not None else now
                due = max(due, self._retry_at.get(name, 0.0))
                if due > now:
                    next_due = min(next_due, due)
                    continue
                try:
                    creds = await self.rotate(role)
                except Exception as err:  # RotationFailed, storage errors: retry soon
                    log.warning(
                        "aws: static role %s: %s; retrying in %.0fs", name, err, RETRY_AFTER
                    )
                    self._retry_at[name] = now + RETRY_AFTER
                    next_due = min(next_due, now + RETRY_AFTER)
                    continue
                self._retry_at.pop(name, None)
                next_due = min(next_due, creds.expiration)
        return max(0.5, next_due - self._now())

    async def run(self) -> None:
        """The rotation task: a pass, then sleep until the next due key (or a role write)."""
        await run_passes(
            self.rotate_due,
            self.wake,
            log=log,
            what="aws: static role rotation pass",
            retry_after=RETRY_AFTER,
            max_sleep=MAX_SLEEP,
        )

    # ------------------------------------------------------------ paths
    def paths(self) -> list[Path]:
        return [
            Path(
                pattern="static-roles/?",
                operations={Operation.LIST: self.list_roles},
                synopsis="List the static roles.",
            ),
            Path(
                pattern=f"static-roles/{ROLE_NAME}",
                fields=STATIC_FIELDS,
                operations={
                    Operation.READ: self.read,
                    Operation.UPDATE: self.write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis="Manage static roles: existing IAM users whose keys are rotated.",
            ),
            Path(
                pattern=f"static-creds/{ROLE_NAME}",
                fields={"name": STATIC_FIELDS["name"]},
                operations={Operation.READ: self.read_creds},
                synopsis="Read the current access key of a static role.",
            ),
        ]

    async def exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.static_role(fd.get("name")) is not None

    async def list_roles(self, req: Request, fd: FieldData) -> Response:
        names = await self.store.static_role_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def read(self, req: Request, fd: FieldData) -> Response:
        role = await self.store.static_role(fd.get("name"))
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def read_creds(self, req: Request, fd: FieldData) -> Response:
        creds = await self.store.static_creds(fd.get("name"))
        if creds is None:
            raise NotFound()
        return Response(
            data={
                "access_key": creds.access_key,
                "secret_key": creds.secret_key,
                "expiration": rfc3339(creds.expiration),
            }
        )

    async def write(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        for field in ("assume_role_arn", "assume_role_session_name", "external_id"):
            if fd.get(field):
                raise internal_error(
                    "cross-account static roles are only supported in Vault Enterprise"
                )
        async with self.store.lock("static/" + name):
            role = await self.store.static_role(name)
            creating = role is None
            if role is None:
                if not fd.get("username"):
                    raise BadRequest('missing "username" parameter')
                if not fd.has("rotation_period"):
                    raise BadRequest('missing "rotation_period" parameter')
                role = StaticRole(name=name, username=fd.get("username"))
            if fd.has("username"):
                role.username = fd.get("username")
            if fd.has("rotation_period"):
                role.rotation_period = fd.get("rotation_period")
            if role.rotation_period < MIN_PERIOD:
                raise internal_error(
                    "role rotation period out of range: must be greater than 60.00 seconds"
                )
            try:
                iam = await self.clients.iam()
                user = await iam.call("GetUser", UserName=role.username)
            except AwsError as err:
                raise internal_error(
                    f'unable to validate username "{role.username}": {err}'
                ) from None
            user_id = user["User"]["UserId"]
            if creating:
                role.id = user_id
            elif user_id != role.id:
                raise internal_error(
                    f'unable to validate username "{role.username}": the user has ID {user_id}, '
                    f"but this role was created for the user with ID {role.id}"
                )
            await self.store.put_static_role(role)
            creds = await self.store.static_creds(name)
            if creds is None:
                try:
                    await self.rotate(role)
                except RotationFailed as err:
                    raise internal_error(f"failed to create the first access key: {err}") from None
            else:
                creds.expiration = self._now() + role.rotation_period
                await self.store.put_static_creds(name, creds)
            self._retry_at.pop(name, None)
        self.wake.set()
        return Response(data=role.to_api())

    async def delete(self, req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with self.store.lock("static/" + name):
            role = await self.store.static_role(name)
            creds = await self.store.static_creds(name)
            if role is not None and creds is not None:
                try:
                    iam = await self.clients.iam()
                    await iam.call(
                        "DeleteAccessKey", UserName=role.username, AccessKeyId=creds.access_key
                    )
                except AwsError as err:
                    if not err.no_such_entity:
                        raise internal_error(
                            f"unable to delete the access key of static role {name}: {err}"
                        ) from None
            await self.store.delete_static_creds(name)
            await self.store.delete_static_role(name)
            self._retry_at.pop(name, None)
