"""role/<name> CRUD and role/<name>/role-id (read, custom write)."""

from __future__ import annotations

import asyncio
import uuid

from strongroom.auth.cidrs import parse_cidrs
from strongroom.auth.token_fields import non_negative_duration, token_fields
from strongroom.core.errors import BadRequest, NotFound, UnsupportedPath, VaultError, multierror
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .store import AppRoleStore, RoleEntry

# Vault's GenericNameRegex (word characters, inner `.`/`-`), ASCII as in Go; an
# alternation rather than a nested group keeps the OpenAPI path template simple.
NAME = r"[A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]"
ROLE_NAME = Field(FieldType.STRING, "Name of the role (case-insensitive).")


def role_missing(name: str) -> str:
    return f'role "{name}" does not exist'


def internal(message: str) -> VaultError:
    """A 500 with Go's multierror text, as Vault renders a handler's plain error."""
    return VaultError(multierror(message), status=500)


async def claim_role_id(store: AppRoleStore, role_id: str, role_name: str) -> None:
    owner = await store.role_name_for_id(role_id)
    if owner is not None and owner != role_name:
        raise internal("role_id already in use")


def role_paths(store: AppRoleStore, lock: asyncio.Lock) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.get_role(fd.get("role_name")) is not None

    async def list_roles(req: Request, fd: FieldData) -> Response | None:
        keys = await store.list_roles()
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    async def read_role(req: Request, fd: FieldData) -> Response | None:
        role = await store.get_role(fd.get("role_name"))
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def write_role(req: Request, fd: FieldData) -> Response | None:
        name = str(fd.get("role_name")).lower()
        async with lock:
            role = await store.get_role(name)
            old_role_id: str | None = None
            if role is None:
                role = RoleEntry(name=name, role_id=fd.get("role_id") or str(uuid.uuid4()))
                role.local_secret_ids = bool(fd.get("local_secret_ids"))
            else:
                old_role_id = role.role_id
                if fd.get("role_id"):
                    role.role_id = fd.get("role_id")
                if fd.has("local_secret_ids") and fd.get("local_secret_ids") != (
                    role.local_secret_ids
                ):
                    raise BadRequest("local_secret_ids can only be modified during role creation")
            if role.role_id != old_role_id:
                await claim_role_id(store, role.role_id, name)
            if fd.has("bind_secret_id"):
                role.bind_secret_id = bool(fd.get("bind_secret_id"))
            if fd.has("secret_id_bound_cidrs"):
                role.secret_id_bound_cidrs = parse_cidrs(fd.get("secret_id_bound_cidrs"))
            elif fd.has("bound_cidr_list"):
                role.secret_id_bound_cidrs = parse_cidrs(fd.get("bound_cidr_list"))
            if fd.has("secret_id_num_uses"):
                uses = int(fd.get("secret_id_num_uses"))
                if uses < 0:
                    raise BadRequest("secret_id_num_uses cannot be negative")
                role.secret_id_num_uses = uses
            if fd.has("secret_id_ttl"):
                role.secret_id_ttl = non_negative_duration(fd, "secret_id_ttl")
            role.token.update(fd)
            if (
                not role.bind_secret_id
                and not role.secret_id_bound_cidrs
                and not role.token.token_bound_cidrs
            ):
                raise internal("at least one constraint should be enabled on the role")
            await store.put_role(role, old_role_id)
        return None

    async def delete_role(req: Request, fd: FieldData) -> Response | None:
        async with lock:
            role = await store.get_role(fd.get("role_name"))
            if role is not None:
                await store.delete_role(role)
        return None

    async def read_role_id(req: Request, fd: FieldData) -> Response | None:
        role = await store.get_role(fd.get("role_name"))
        if role is None:
            raise NotFound()
        return Response(data={"role_id": role.role_id})

    async def write_role_id(req: Request, fd: FieldData) -> Response | None:
        async with lock:
            role = await store.get_role(fd.get("role_name"))
            if role is None:
                raise UnsupportedPath()
            role_id = fd.get("role_id") or ""
            if not role_id:
                raise BadRequest("missing role_id")
            if role_id != role.role_id:
                await claim_role_id(store, role_id, role.name)
                old, role.role_id = role.role_id, role_id
                await store.put_role(role, old)
        return None

    role_fields = {
        "role_name": ROLE_NAME,
        "bind_secret_id": Field(FieldType.BOOL, "Require a secret ID at login.", default=True),
        "secret_id_bound_cidrs": Field(
            FieldType.COMMA_STRING_LIST, "CIDR blocks allowed to log in with this role."
        ),
        "bound_cidr_list": Field(
            FieldType.COMMA_STRING_LIST, "Deprecated: use secret_id_bound_cidrs.", deprecated=True
        ),
        "secret_id_num_uses": Field(FieldType.INT, "Logins a secret ID allows (0 = unlimited)."),
        "secret_id_ttl": Field(FieldType.DURATION, "Lifetime of secret IDs (0 = unlimited)."),
        "local_secret_ids": Field(
            FieldType.BOOL, "Keep secret IDs local to the cluster (set at creation only)."
        ),
        "role_id": Field(FieldType.STRING, "A custom role ID (default: a random UUID)."),
        **token_fields(),
    }
    return [
        Path(
            pattern=r"role/?",
            operations={Operation.LIST: list_roles},
            synopsis="List the roles.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})",
            fields=role_fields,
            operations={
                Operation.READ: read_role,
                Operation.UPDATE: write_role,
                Operation.DELETE: delete_role,
            },
            existence_check=exists,
            synopsis="Manage a role: secret-ID constraints and the settings of its tokens.",
            description="Updates change only the fields given.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/role-id",
            fields={
                "role_name": ROLE_NAME,
                "role_id": Field(FieldType.STRING, "The role's new role ID."),
            },
            operations={Operation.READ: read_role_id, Operation.UPDATE: write_role_id},
            synopsis="Read or set the role ID of a role.",
        ),
    ]


__all__ = ["NAME", "ROLE_NAME", "internal", "role_missing", "role_paths"]
