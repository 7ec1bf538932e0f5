"""login: a role ID and a secret ID buy a token.

Every failure after the required-field checks (unknown role ID, unknown,
expired or used-up secret ID, a source address outside the CIDR bindings)
reads `invalid role or secret ID`, and an unknown role ID still costs the
secret ID's HMAC and a storage read, like a known one.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from datetime import datetime

from strongroom.auth.cidrs import addr_allowed
from strongroom.auth.token_fields import login_display_name
from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .path_secret_id import micros
from .store import AppRoleStore, RoleEntry

INVALID = "invalid role or secret ID"
_NO_ROLE = "-"  # not a valid role name: lookups under it never find anything


def login_paths(
    ctx: BackendContext, store: AppRoleStore, lock: asyncio.Lock, clock: Callable[[], datetime]
) -> list[Path]:
    async def find_role(role_id: str) -> RoleEntry | None:
        name = await store.role_name_for_id(role_id)
        # An unknown role ID still costs the role read a known one does.
        role = await store.get_role(name if name is not None else _NO_ROLE)
        if role is None or not hmac.compare_digest(role.role_id.encode(), role_id.encode()):
            return None
        return role

    async def login(req: Request, fd: FieldData) -> Response | None:
        role_id = fd.get("role_id") or ""
        if not role_id:
            raise BadRequest("missing role_id")
        secret_id = fd.get("secret_id") or ""
        role = await find_role(role_id)
        if role is None:
            # Same work as checking a secret ID of a real role, then the same answer.
            await store.get_secret(_NO_ROLE, store.hmac(secret_id))
            raise BadRequest(INVALID)
        addr = req.remote_addr
        token_cidrs = role.token.token_bound_cidrs
        metadata: dict[str, str] = {}
        if role.bind_secret_id:
            if not secret_id:
                raise BadRequest("missing secret_id")
            hashed = store.hmac(secret_id)
            async with lock:
                entry = await store.get_secret(role.name, hashed)
                if entry is None:
                    raise BadRequest(INVALID)
                now = micros(clock())
                if entry.expired(now):
                    await store.delete_secret(entry)
                    raise BadRequest(INVALID)
                if entry.token_bound_cidrs:
                    token_cidrs = entry.token_bound_cidrs
                # Refuse before spending a use: a wrong address burns nothing.
                if not (
                    addr_allowed(addr, entry.cidr_list)
                    and addr_allowed(addr, role.secret_id_bound_cidrs)
                    and addr_allowed(addr, token_cidrs)
                ):
                    raise BadRequest(INVALID)
                if entry.num_uses > 0:
                    entry.num_uses -= 1
                    entry.last_updated_time = now
                    if entry.num_uses == 0:
                        await store.delete_secret(entry)
                    else:
                        await store.update_secret(entry)
            metadata.update(entry.metadata)
        elif not (
            addr_allowed(addr, role.secret_id_bound_cidrs) and addr_allowed(addr, token_cidrs)
        ):
            raise BadRequest(INVALID)
        metadata["role_name"] = role.name
        return Response(
            login=role.token.login(
                display_name=login_display_name(ctx.mount.path),
                metadata=dict(sorted(metadata.items())),
                bound_cidrs=token_cidrs,
            )
        )

    return [
        Path(
            pattern=r"login",
            fields={
                "role_id": Field(FieldType.STRING, "The role ID of the role."),
                "secret_id": Field(FieldType.STRING, "A secret ID of the role."),
            },
            operations={Operation.UPDATE: login},
            synopsis="Log in with a role ID and a secret ID.",
        )
    ]
