"""creds/<role>: a new RAM user with an access key, or STS credentials (§4.3, §5)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime

from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import naming, ram_user
from .client import AliCloudClients, Api, Credentials
from .errors import AliCloudError, upstream
from .path_roles import ROLE_NAME
from .settings import SettingsError
from .store import Role, Store
from .wal import Wal

SECRET_TYPE = "alicloud"
ROLE_TYPE_RAM = "ram"
ROLE_TYPE_STS = "sts"
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class CredsIssuer:
    def __init__(
        self,
        store: Store,
        clients: AliCloudClients,
        wal: Wal,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.clients = clients
        self.wal = wal
        self.clock = clock

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern=f"creds/{ROLE_NAME}",
                fields={"name": Field(FieldType.STRING, "The name of the role.")},
                operations={Operation.READ: self.read},
                synopsis="Generate Alibaba Cloud credentials from a role.",
            )
        ]

    async def credentials(self) -> Credentials:
        config = await self.store.config()
        if config is None or not config.access_key or not config.secret_key:
            raise BadRequest("unable to create secret because no credentials are configured")
        return Credentials(config.access_key, config.secret_key)

    async def _api(self, service: str, creds: Credentials, what: str) -> Api:
        try:
            if service == "ram":
                return await self.clients.ram(creds)
            return await self.clients.sts(creds)
        except AliCloudError as err:
            raise upstream(what, err) from None
        except SettingsError as err:
            raise VaultError(f"{what}: the server's alicloud settings are invalid: {err}") from None

    async def read(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name").lower()
        role = await self.store.role(name)
        if role is None:
            raise NotFound()
        creds = await self.credentials()
        display = req.token.display_name if req.token is not None else ""
        if role.is_sts:
            return await self._sts(name, role, creds, display)
        return await self._ram(name, role, creds, display)

    async def _sts(self, name: str, role: Role, creds: Credentials, display: str) -> Response:
        sts = await self._api("sts", creds, "error assuming role")
        now = self.clock()
        session = naming.session_name(display, name, int(now.timestamp()))
        try:
            body = await sts.call("AssumeRole", RoleArn=role.role_arn, RoleSessionName=session)
        except AliCloudError as err:
            raise upstream("error assuming role", err) from None
        issued = body.get("Credentials") or {}
        expiration = str(issued.get("Expiration") or "")
        try:
            expires = datetime.strptime(expiration, EXPIRATION_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise VaultError(
                f"unable to parse the expiration {expiration!r} returned by AssumeRole", status=502
            ) from None
        ttl = max(1, int((expires - self.clock()).total_seconds()))
        return Response(
            data={
                "access_key": issued.get("AccessKeyId", ""),
                "secret_key": issued.get("AccessKeySecret", ""),
                "security_token": issued.get("SecurityToken", ""),
                "expiration": expiration,
            },
            secret=Secret(
                ttl=ttl,
                renewable=False,
                max_ttl=ttl,
                internal={"secret_type": SECRET_TYPE, "role_type": ROLE_TYPE_STS},
            ),
        )

    async def _ram(self, name: str, role: Role, creds: Credentials, display: str) -> Response:
        ram = await self._api("ram", creds, "error creating RAM user")
        username = naming.user_name(display, name, int(self.clock().timestamp()))
        inline = [
            (naming.policy_name(username, p.hash), p.policy_document) for p in role.inline_policies
        ]
        plan = ram_user.Plan(username, inline, list(role.remote_policies))
        issued = await ram_user.issue(ram, self.wal, plan)
        return Response(
            data={"access_key": issued.access_key_id, "secret_key": issued.access_key_secret},
            secret=Secret(
                ttl=role.ttl,
                renewable=True,
                max_ttl=role.max_ttl,
                internal={
                    "secret_type": SECRET_TYPE,
                    "role_type": ROLE_TYPE_RAM,
                    "role_name": name,
                    "username": username,
                    "access_key_id": issued.access_key_id,
                    "inline_policies": [{"name": n, "type": "Custom"} for n in issued.inline_names],
                    "remote_policies": [p.to_api() for p in role.remote_policies],
                },
                on_lease_stored=functools.partial(ram_user.settle, self.wal, issued.wal_id),
            ),
        )
