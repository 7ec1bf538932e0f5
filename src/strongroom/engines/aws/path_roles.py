"""roles/<name> (create, partial update, read, delete) and LIST roles/ (§3.4)."""

from __future__ import annotations

import re
from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType, coerce
from strongroom.framework.path import Path

from .errors import internal_error
from .goutil import ArnError, compact_json, go_quote, multierror_text, parse_arn
from .store import (
    ASSUMED_ROLE,
    CREDENTIAL_TYPES,
    FEDERATION_TOKEN,
    IAM_USER,
    MAX_PROPAGATION_TIMEOUT,
    SESSION_TOKEN,
    STS_TYPES,
    Role,
    Store,
)

ROLE_NAME = r"(?P<name>\w(?:[\w\-.@]*\w)?)"
USER_PATH = re.compile(r"^\/([\x21-\x7F]{0,510}\/)?$")
USER_PATH_SOURCE = r"^\/([\x21-\x7F]{0,510}\/)?$"

S, B, DUR, LIST, RAW = (
    FieldType.STRING,
    FieldType.BOOL,
    FieldType.DURATION,
    FieldType.COMMA_STRING_LIST,
    FieldType.RAW,
)

ROLE_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the role."),
    "credential_type": Field(
        S, "Type of credential: iam_user, assumed_role, federation_token or session_token."
    ),
    "role_arns": Field(LIST, "ARNs of AWS roles allowed to be assumed (assumed_role)."),
    "policy_arns": Field(
        LIST, "ARNs of managed policies (iam_user, assumed_role, federation_token)."
    ),
    "policy_document": Field(S, "IAM policy document (JSON)."),
    "iam_groups": Field(LIST, "IAM groups whose policies apply (all types but session_token)."),
    "iam_tags": Field(RAW, "Tags for created IAM users: a map, or a list of key=value."),
    "session_tags": Field(RAW, "Session tags for AssumeRole: a map, or a list of key=value."),
    "external_id": Field(S, "External ID for AssumeRole."),
    "default_sts_ttl": Field(DUR, "Default TTL of STS credentials when none is requested."),
    "max_sts_ttl": Field(DUR, "Maximum TTL of STS credentials."),
    "user_path": Field(S, "Path for created IAM users (default /)."),
    "permissions_boundary_arn": Field(S, "Permissions boundary policy for created IAM users."),
    "mfa_serial_number": Field(S, "MFA device of the root user (session_token)."),
    "wait_for_propagation": Field(
        B, "strongroom: return iam_user keys only once AWS accepts them (bounded wait)."
    ),
    "propagation_timeout": Field(
        DUR, "strongroom: how long wait_for_propagation waits at most (default 30s, max 5m)."
    ),
    "policy": Field(S, "Deprecated: a policy document (use policy_document).", deprecated=True),
    "arn": Field(
        S, "Deprecated: a role or policy ARN (use role_arns/policy_arns).", deprecated=True
    ),
}

# Modern parameters that cannot be mixed with the legacy `policy`/`arn`, as Vault names them.
_LEGACY_CONFLICTS = [
    ("credential_type", "an explicit credential_type"),
    ("role_arns", "role_arns"),
    ("policy_arns", "policy_arns"),
    ("policy_document", "policy_document"),
    ("default_sts_ttl", "default_sts_ttl"),
    ("max_sts_ttl", "max_sts_ttl"),
    ("user_path", "user_path"),
    ("permissions_boundary_arn", "permissions_boundary_arn"),
]
LEGACY_WARNING = (
    "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
)


def parse_kv_pairs(name: str, value: Any) -> dict[str, str]:
    """Vault's TypeKVPairs: a map, or "k=v" strings (one, or a list)."""
    if isinstance(value, dict):
        return {str(k): coerce(FieldType.STRING, v) for k, v in value.items()}
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise BadRequest(f'error converting input for field "{name}": expected key=value pairs')
    out: dict[str, str] = {}
    for item in items:
        text = coerce(FieldType.STRING, item)
        key, sep, val = text.partition("=")
        if not sep or not key:
            raise BadRequest(
                f'error converting input for field "{name}": invalid key pair {go_quote(text)}'
            )
        out[key] = val
    return out


def upgrade_legacy(raw: str) -> Role:
    """A pre-0.11 role value (policy JSON or an ARN) as a role entry (§3.4.5)."""
    role = Role(prohibit_flexible_cred_path=True, version=1)
    if raw.startswith("arn:"):
        try:
            resource_type = parse_arn(raw).resource.split("/")[0]
        except ArnError:
            resource_type = ""
        if resource_type == "role":
            role.credential_types, role.role_arns = [ASSUMED_ROLE], [raw]
        elif resource_type == "policy":
            role.credential_types, role.policy_arns = [IAM_USER], [raw]
        else:
            role.invalid_data = raw
        return role
    try:
        role.policy_document = compact_json(raw)
    except ValueError:
        role.invalid_data = raw
        return role
    role.credential_types = [IAM_USER, FEDERATION_TOKEN]
    return role


async def load_role(store: Store, name: str) -> Role | None:
    """role/<name>, else a legacy policy/<name> upgraded and moved to role/<name>."""
    role = await store.role(name)
    if role is not None:
        return role
    legacy = await store.legacy_policy(name)
    if legacy is None:
        return None
    async with store.lock("legacy/" + name):
        role = await store.role(name)
        if role is None:
            role = upgrade_legacy(legacy)
            await store.put_role(name, role)
            await store.storage.delete("policy/" + name)
    return role


def validate(role: Role) -> list[str]:
    """Every problem with a role entry, in Vault's order (and with its quirk)."""
    errors: list[str] = []
    types = role.credential_types
    is_sts = any(t in STS_TYPES for t in types)
    if not types:
        errors.append("did not supply credential_type")
    for kind in types:
        if kind not in CREDENTIAL_TYPES:
            errors.append(f"unrecognized credential type: {kind}")
    sts_names = "assumed_role, federation_token, and session_token"
    if role.default_sts_ttl != 0 and not is_sts:
        errors.append(f"default_sts_ttl parameter only valid for {sts_names} credential types")
    if role.max_sts_ttl != 0 and not is_sts:
        errors.append(f"max_sts_ttl parameter only valid for {sts_names} credential types")
    if (
        role.max_sts_ttl > 0
        and role.default_sts_ttl > 0
        and role.default_sts_ttl > role.max_sts_ttl
    ):
        errors.append('"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value')
    if role.user_path:
        if IAM_USER not in types:
            errors.append("user_path parameter only valid for iam_user credential type")
        if not USER_PATH.match(role.user_path):
            errors.append(
                "the specified value for user_path is invalid. It must match "
                f"{go_quote(USER_PATH_SOURCE)} regexp"
            )
    if role.permissions_boundary_arn:
        if IAM_USER not in types:
            errors.append(
                "cannot supply permissions_boundary_arn when credential_type isn't iam_user"
            )
        problem = _boundary_problem(role.permissions_boundary_arn)
        if problem:
            # Vault's bug, kept: this error replaces the ones collected so far.
            errors = [f"invalid permissions_boundary_arn parameter: {problem}"]
    if SESSION_TOKEN in types and (role.policy_document or role.policy_arns):
        errors.append("cannot supply a policy or role when using credential_type session_token")
    if role.role_arns and ASSUMED_ROLE not in types:
        errors.append("cannot supply role_arns when credential_type isn't assumed_role")
    if role.session_tags and ASSUMED_ROLE not in types:
        errors.append("cannot supply session_tags when credential_type isn't assumed_role")
    if role.external_id and ASSUMED_ROLE not in types:
        errors.append("cannot supply external_id when credential_type isn't assumed_role")
    # strongroom's own fields.
    if role.wait_for_propagation and IAM_USER not in types:
        errors.append("wait_for_propagation parameter only valid for iam_user credential type")
    if not 0 <= role.propagation_timeout <= MAX_PROPAGATION_TIMEOUT:
        errors.append("propagation_timeout must be between 0 (the default, 30s) and 5m")
    return errors


def _boundary_problem(arn: str) -> str:
    try:
        parsed = parse_arn(arn)
    except ArnError as err:
        return str(err)
    if parsed.service != "iam":
        return f"expected a service of iam but got {parsed.service}"
    if not parsed.resource.startswith("policy/"):
        return f"expected a resource type of policy but got {parsed.resource}"
    return ""


def role_paths(store: Store) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await load_role(store, fd.get("name")) is not None

    async def read(req: Request, fd: FieldData) -> Response:
        role = await load_role(store, fd.get("name"))
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def delete(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock(name):
            await store.delete_role(name)

    async def list_roles(req: Request, fd: FieldData) -> Response:
        names = await store.role_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def write(req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with store.lock(name):
            role = await load_role(store, name)
            warnings: list[str] = []
            if role is None:
                role = Role()
            elif role.invalid_data:
                warnings.append(
                    f"Invalid data of {go_quote(role.invalid_data)} cleared out of role"
                )
                role.invalid_data = ""
            legacy = _legacy_value(fd)
            if legacy:
                for field_name, shown in _LEGACY_CONFLICTS:
                    if fd.has(field_name):
                        raise BadRequest(
                            f"cannot supply deprecated role or policy parameters with {shown}"
                        )
                role = upgrade_legacy(legacy)
                if role.invalid_data:
                    raise BadRequest(
                        f"unable to parse supplied data: {go_quote(role.invalid_data)}"
                    )
                warnings.append(LEGACY_WARNING)
            else:
                _apply(role, fd)
                role.prohibit_flexible_cred_path = False
            problems = validate(role)
            if problems:
                raise BadRequest(
                    "error(s) validating supplied role data: " + go_quote(multierror_text(problems))
                )
            await store.put_role(name, role)
        return Response(warnings=warnings) if warnings else None

    return [
        Path(
            pattern="roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="List the existing roles in this backend.",
        ),
        Path(
            pattern=f"roles/{ROLE_NAME}",
            fields=ROLE_FIELDS,
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Read, write and delete roles that describe the AWS credentials to issue.",
            description=(
                "credential_type chooses what creds/<name> and sts/<name> return: a new IAM "
                "user with an access key (iam_user), or temporary STS credentials "
                "(assumed_role, federation_token, session_token). Writes change only the "
                "parameters given."
            ),
        ),
    ]


def _legacy_value(fd: FieldData) -> str:
    policy = fd.get("policy") if fd.has("policy") else ""
    arn = fd.get("arn") if fd.has("arn") else ""
    if arn and policy:
        raise internal_error("only one of policy or arn should be provided")
    return policy or arn or ""


def _apply(role: Role, fd: FieldData) -> None:
    """Copy the supplied parameters onto the entry (a partial update)."""
    if fd.has("credential_type"):
        role.credential_types = [fd.get("credential_type")]
    if fd.has("role_arns"):
        role.role_arns = fd.get("role_arns")
    if fd.has("policy_arns"):
        role.policy_arns = fd.get("policy_arns")
    if fd.has("policy_document"):
        raw = fd.get("policy_document")
        try:
            role.policy_document = compact_json(raw) if raw else ""
        except ValueError:
            raise BadRequest(f"cannot parse policy document: {go_quote(raw)}") from None
    if fd.has("default_sts_ttl"):
        role.default_sts_ttl = fd.get("default_sts_ttl")
    if fd.has("max_sts_ttl"):
        role.max_sts_ttl = fd.get("max_sts_ttl")
    for name in ("user_path", "permissions_boundary_arn", "external_id", "mfa_serial_number"):
        if fd.has(name):
            setattr(role, name, fd.get(name))
    if fd.has("iam_groups"):
        role.iam_groups = fd.get("iam_groups")
    if fd.has("iam_tags"):
        role.iam_tags = parse_kv_pairs("iam_tags", fd.raw["iam_tags"])
    if fd.has("session_tags"):
        role.session_tags = parse_kv_pairs("session_tags", fd.raw["session_tags"])
    if fd.has("wait_for_propagation"):
        role.wait_for_propagation = fd.get("wait_for_propagation")
    if fd.has("propagation_timeout"):
        role.propagation_timeout = fd.get("propagation_timeout")
