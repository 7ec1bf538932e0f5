"""creds/<role> and sts/<role>: issue dynamic credentials, GET or POST/PUT (§3.5)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import iam_user, sts
from .client import AwsClients
from .errors import internal_error
from .path_roles import ROLE_NAME, load_role
from .secret import SECRET_TYPE
from .store import (
    ASSUMED_ROLE,
    FEDERATION_TOKEN,
    IAM_USER,
    SESSION_TOKEN,
    Role,
    Store,
)
from .username import DEFAULT_USERNAME_TEMPLATE, UsernameError, render, session_name
from .wal import Wal

DEFAULT_STS_TTL = 3600

CREDS_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "Name of the role."),
    "role_arn": Field(FieldType.STRING, "ARN of the role to assume (assumed_role).", ""),
    "ttl": Field(FieldType.DURATION, "Lifetime of STS credentials (default 1h).", 0),
    "role_session_name": Field(
        FieldType.STRING, "Session name for AssumeRole (default: from the template).", ""
    ),
    "mfa_code": Field(FieldType.STRING, "MFA code for session_token with an MFA device.", ""),
}


class CredsIssuer:
    def __init__(
        self,
        store: Store,
        clients: AwsClients,
        wal: Wal,
        clock: Callable[[], datetime],
        max_lease_ttl: Callable[[], int],
    ) -> None:
        self.store = store
        self.clients = clients
        self.wal = wal
        self.clock = clock
        self.max_lease_ttl = max_lease_ttl

    def paths(self) -> list[Path]:
        ops = {Operation.READ: self.issue, Operation.UPDATE: self.issue}
        return [
            Path(
                pattern=f"creds/{ROLE_NAME}",
                fields=CREDS_FIELDS,
                operations=dict(ops),
                synopsis="Generate AWS credentials from a role.",
            ),
            Path(
                pattern=f"sts/{ROLE_NAME}",
                fields=CREDS_FIELDS,
                operations=dict(ops),
                synopsis="Generate AWS credentials from a role (STS types and legacy roles).",
            ),
        ]

    async def issue(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        role = await load_role(self.store, name)
        if role is None:
            raise BadRequest(f'Role "{name}" not found')
        via_sts = req.rel_path.startswith("sts/")
        kind = _credential_type(role, via_sts)
        config = await self.store.root()
        template = config.username_template if config else DEFAULT_USERNAME_TEMPLATE
        display = req.token.display_name if req.token is not None else ""
        if kind == IAM_USER:
            return await self._iam_user(name, role, template, display)
        ttl = self._sts_ttl(role, fd)
        now = self.clock()
        if kind == ASSUMED_ROLE:
            role_arn = _pick_role_arn(role, name, fd.get("role_arn"))
            requested = fd.get("role_session_name")
            if requested:
                session = session_name(requested)
            else:
                session = _render(template, "IAM", display, name)
            issued = await sts.assume_role(
                self.clients, role, role_arn=role_arn, session_name=session, ttl=ttl, now=now
            )
        elif kind == FEDERATION_TOKEN:
            token_name = _render(template, "STS", display, name)
            issued = await sts.federation_token(
                self.clients, role, name=token_name, ttl=ttl, now=now
            )
        elif kind == SESSION_TOKEN:
            issued = await sts.session_token(
                self.clients, role, ttl=ttl, mfa_code=fd.get("mfa_code"), now=now
            )
        else:
            raise BadRequest(f'unknown credential_type: "{kind}"')
        return Response(
            data=issued.data,
            secret=Secret(
                ttl=issued.ttl,
                renewable=False,
                max_ttl=issued.ttl,
                internal={"secret_type": SECRET_TYPE, **issued.internal},
            ),
            warnings=issued.warnings,
        )

    def _sts_ttl(self, role: Role, fd: FieldData) -> int:
        if fd.has("ttl"):
            ttl = fd.get("ttl")
        elif role.default_sts_ttl > 0:
            ttl = role.default_sts_ttl
        else:
            ttl = DEFAULT_STS_TTL
        limit = role.max_sts_ttl if role.max_sts_ttl > 0 else self.max_lease_ttl()
        return min(ttl, limit)

    async def _iam_user(self, name: str, role: Role, template: str, display: str) -> Response:
        username = _render(template, "IAM", display, name)
        user = await iam_user.issue(self.clients, self.wal, name, role, username)
        lease = await self.store.lease()
        return Response(
            data={
                "access_key": user.access_key,
                "secret_key": user.secret_key,
                "security_token": None,
                "session_token": None,
            },
            secret=Secret(
                ttl=lease.lease if lease is not None else 0,
                renewable=True,
                max_ttl=lease.lease_max if lease is not None else 0,
                internal={
                    "secret_type": SECRET_TYPE,
                    "username": username,
                    "policy": role.to_record(),
                    "is_sts": False,
                },
                on_lease_stored=functools.partial(iam_user.settle, self.wal, user.wal_id),
            ),
            warnings=user.warnings,
        )


def _render(template: str, kind: str, display: str, role_name: str) -> str:
    try:
        return render(template, kind, display, role_name)
    except UsernameError as err:
        raise internal_error(str(err)) from None


def _credential_type(role: Role, via_sts: bool) -> str:
    types = role.credential_types
    if len(types) == 1:
        kind = types[0]
    else:
        wanted = FEDERATION_TOKEN if via_sts else IAM_USER
        if wanted not in types:
            allowed = ", ".join(f'"{t}"' for t in types)
            raise BadRequest(
                f'requested credential type "{wanted}" not in allowed credential types '
                f"[]string{{{allowed}}}"
            )
        kind = wanted
    if role.prohibit_flexible_cred_path:
        if kind == IAM_USER and via_sts:
            raise BadRequest(
                "attempted to retrieve iam_user credentials through the sts path; this is not "
                "allowed for legacy roles"
            )
        if kind != IAM_USER and not via_sts:
            raise BadRequest(
                f"attempted to retrieve {kind} credentials through the creds path; this is not "
                "allowed for legacy roles"
            )
    return kind


def _pick_role_arn(role: Role, name: str, requested: str) -> str:
    arns = role.role_arns or []
    if not requested:
        if len(arns) != 1:
            raise BadRequest("did not supply a role_arn parameter and unable to determine one")
        return arns[0]
    if requested not in arns:
        raise BadRequest(f'role_arn "{requested}" not in allowed role arns for Vault role "{name}"')
    return requested
