"""roles/<name>: dynamic roles (what to run to create, renew and revoke a user)."""

from __future__ import annotations

from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import password as passwords
from .paging import list_response
from .path_config import NAME
from .statements import clean_list
from .store import Role, Store

S, SL = FieldType.STRING, FieldType.STRING_LIST
CREDENTIAL_TYPES = ("password", "rsa_private_key", "client_certificate")
UNIQUE = "Role and Static Role names must be unique"

COMMON_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the role."),
    "db_name": Field(S, "Name of the database connection this role acts on."),
    "credential_type": Field(S, "The type of credential to manage (password).", "password"),
    "credential_config": Field(FieldType.KV_PAIRS, "Configuration of the credential type.", {}),
}
ROLE_FIELDS: dict[str, Field] = {
    **COMMON_FIELDS,
    "default_ttl": Field(FieldType.DURATION, "Default TTL of the credentials.", 0),
    "max_ttl": Field(FieldType.DURATION, "Maximum TTL of the credentials.", 0),
    "creation_statements": Field(SL, "Statements that create and grant a user.", []),
    "revocation_statements": Field(SL, "Statements that revoke a user (default: plugin's).", []),
    "renew_statements": Field(SL, "Statements that extend a user (default: the plugin's).", []),
    "rollback_statements": Field(SL, "Statements that undo a failed creation.", []),
}
LIST_FIELDS: dict[str, Field] = {
    "after": Field(S, "List entries after this one.", ""),
    "limit": Field(FieldType.INT, "Return at most this many entries.", 0),
}


def credential_type(fd: FieldData) -> str:
    kind = fd.get("credential_type")
    if kind not in CREDENTIAL_TYPES:
        raise BadRequest(f'invalid credential_type "{kind}"')
    return kind


def credential_config(kind: str, raw: dict[str, str]) -> dict[str, Any]:
    """Vault's credential_config validation; password policies are not supported yet."""
    if kind != "password":
        return dict(raw)
    policy = raw.get("password_policy", "")
    if policy:
        raise BadRequest(f"credential_config validation failed: {passwords.POLICY_UNSUPPORTED}")
    return {}


def role_paths(store: Store) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.role(fd.get("name")) is not None

    async def read(req: Request, fd: FieldData) -> Response:
        role = await store.role(fd.get("name"))
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def write(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock("static/" + name), store.lock("role/" + name):
            if await store.static_role(name) is not None:
                raise BadRequest(UNIQUE)
            existing = await store.role(name)
            creating = existing is None
            role = existing or Role()
            if fd.has("db_name") or creating:
                role.db_name = fd.get("db_name") or ""
            if not role.db_name:
                raise BadRequest("database name is required")
            if fd.has("credential_type"):
                role.credential_type = credential_type(fd)
            if fd.has("credential_config") or creating:
                role.credential_config = credential_config(
                    role.credential_type, fd.get("credential_config")
                )
            for field in ("creation", "rollback", "renew"):
                key = f"{field}_statements"
                if fd.has(key) or creating:
                    setattr(role, key, clean_list(fd.get(key)))
            if fd.has("revocation_statements") or creating:
                role.revocation_statements = clean_list(
                    fd.get("revocation_statements"), drop_empty=True
                )
            for key in ("default_ttl", "max_ttl"):
                if fd.has(key) or creating:
                    setattr(role, key, fd.get(key))
            await store.put_role(name, role)

    async def delete(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock("role/" + name):
            await store.delete_role(name)

    async def list_roles(req: Request, fd: FieldData) -> Response:
        return list_response(await store.role_names(), fd)

    return [
        Path(
            pattern="roles/?",
            fields=LIST_FIELDS,
            operations={Operation.LIST: list_roles},
            synopsis="List the roles.",
        ),
        Path(
            pattern=f"roles/{NAME}",
            fields=ROLE_FIELDS,
            operations={Operation.READ: read, Operation.UPDATE: write, Operation.DELETE: delete},
            existence_check=exists,
            synopsis="Manage the roles that can be created with this backend.",
            description=(
                "db_name names the connection. creation_statements create the user: "
                "{{name}}, {{password}} and {{expiration}} are filled in. revocation_statements, "
                "renew_statements and rollback_statements default to the plugin's."
            ),
        ),
    ]
