"""role/<name> (create, partial update, read, delete) and LIST role/ (§4.2).

No cloud call happens here: nothing in a role is checked against RAM or STS.
"""

from __future__ import annotations

import uuid
from typing import Any

from strongroom import jsonutil
from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .store import InlinePolicy, RemotePolicy, Role, Store

# Vault's generic name pattern; names are lower-cased (TypeLowerCaseString).
ROLE_NAME = r"(?P<name>\w(?:[\w\-.]*\w)?)"

ROLE_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "The name of the role."),
    "role_arn": Field(
        FieldType.STRING,
        "ARN of a role to assume with STS, e.g. acs:ram::5138828231865461:role/hastrustedactors. "
        "Makes the role an STS role (no policies allowed).",
        "",
    ),
    "remote_policies": Field(
        FieldType.STRING_LIST,
        "Existing policies to attach, each 'name:<PolicyName>,type:<System|Custom>'. Repeat "
        "the key for several (a single string is one item).",
    ),
    "inline_policies": Field(
        FieldType.RAW, "JSON array of RAM policy documents to create for each credential."
    ),
    "ttl": Field(FieldType.DURATION, "Lease TTL of RAM credentials (0: the mount's default).", 0),
    "max_ttl": Field(FieldType.DURATION, "Maximum lease TTL of RAM credentials.", 0),
}

STS_TTL_WARNING = (
    "role_arn is set so ttl and max_ttl will be ignored because they're not editable on STS tokens"
)

_GO_KINDS = {dict: "object", list: "array", str: "string", bool: "bool"}


def _go_kind(value: Any) -> str:
    for kind, name in _GO_KINDS.items():
        if isinstance(value, kind):
            return name
    return "number"


def parse_inline_policies(raw: Any) -> list[dict[str, Any]]:
    """A JSON array of policy documents (a string, or already decoded), Go's errors."""
    value = raw
    if isinstance(raw, str):
        if not raw.strip():
            raise BadRequest("unexpected end of JSON input")
        try:
            value = jsonutil.loads(raw)
        except jsonutil.JsonDecodeError as err:
            raise BadRequest(str(err)) from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(
            f"json: cannot unmarshal {_go_kind(value)} into Go value of type "
            "[]map[string]interface {}"
        )
    for item in value:
        if item is not None and not isinstance(item, dict):
            raise BadRequest(
                f"json: cannot unmarshal {_go_kind(item)} into Go value of type "
                "map[string]interface {}"
            )
    return [item or {} for item in value]


def parse_remote_policies(items: list[str]) -> list[RemotePolicy]:
    """Items like 'name:AliyunOSSReadOnlyAccess,type:System'."""
    out: list[RemotePolicy] = []
    for item in items:
        fields: dict[str, str] = {}
        for pair in item.split(","):
            parts = pair.split(":")
            if len(parts) != 2:
                raise BadRequest(f"unable to recognize pair in {pair}")
            key, value = parts[0].strip(), parts[1].strip()
            if key not in ("name", "type"):
                raise BadRequest(f"invalid key: {key}")
            fields[key] = value
        if not fields.get("name"):
            raise BadRequest(f"policy name is required in {item}")
        if not fields.get("type"):
            raise BadRequest(f"policy type is required in {item}")
        out.append(RemotePolicy(fields["name"], fields["type"]))
    return out


async def load_role(store: Store, name: str) -> Role | None:
    return await store.role(name.lower())


def role_paths(store: Store, max_lease_ttl: Any) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.role(fd.get("name").lower()) is not None

    async def read(req: Request, fd: FieldData) -> Response:
        role = await store.role(fd.get("name").lower())
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def write(req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name").lower()
        async with store.lock(name):
            role = await store.role(name)
            if role is None:
                if req.exists:  # deleted between the existence check and now
                    raise BadRequest(f"no role found to update for {name}")
                role = Role()
            if fd.has("role_arn"):
                role.role_arn = fd.get("role_arn")
            if fd.has("inline_policies"):
                role.inline_policies = [
                    InlinePolicy(uuid.uuid4().hex, document)
                    for document in parse_inline_policies(fd.raw["inline_policies"])
                ]
            if fd.has("remote_policies"):
                role.remote_policies = parse_remote_policies(fd.get("remote_policies"))
            if fd.has("ttl"):
                role.ttl = fd.get("ttl")
            if fd.has("max_ttl"):
                role.max_ttl = fd.get("max_ttl")
            if role.max_ttl > 0 and role.ttl > role.max_ttl:
                raise BadRequest("ttl exceeds max_ttl")
            if role.is_sts:
                if role.remote_policies:
                    raise BadRequest("remote_policies must be blank when an arn is present")
                if role.inline_policies:
                    raise BadRequest("inline_policies must be blank when an arn is present")
            elif not role.remote_policies and not role.inline_policies:
                raise BadRequest(
                    "must include an arn, or at least one of inline_policies or remote_policies"
                )
            await store.put_role(name, role)
        warnings: list[str] = []
        if role.is_sts and (role.ttl > 0 or role.max_ttl > 0):
            warnings.append(STS_TTL_WARNING)
        system_max = max_lease_ttl()
        if role.ttl > system_max:
            # The reference prints both as raw nanosecond counts.
            warnings.append(
                f"ttl of {role.ttl * 10**9} exceeds the system max ttl of {system_max * 10**9}, "
                "the latter will be used during login"
            )
        return Response(warnings=warnings) if warnings else None

    async def delete(req: Request, fd: FieldData) -> None:
        # Leases already issued stay revocable: their internal data is self-contained.
        name = fd.get("name").lower()
        async with store.lock(name):
            await store.delete_role(name)

    async def list_roles(req: Request, fd: FieldData) -> Response:
        names = await store.role_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    return [
        Path(
            pattern=r"roles?/?",
            operations={Operation.LIST: list_roles},
            synopsis="List the roles.",
        ),
        Path(
            pattern=f"role/{ROLE_NAME}",
            fields=ROLE_FIELDS,
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage the roles that credentials are issued from.",
            description=(
                "A role with role_arn issues STS credentials (AssumeRole); a role with "
                "inline_policies and/or remote_policies issues a new RAM user with an access "
                "key for each read of creds/<name>."
            ),
        ),
    ]
