"""sys/policy, sys/policies/acl, sys/capabilities*, sys/internal/ui/resultant-acl."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from strongroom.core.errors import BadRequest, NotFound, VaultError, multierror
from strongroom.core.policy import PolicyParseError, parse_policy
from strongroom.core.policy_store import ROOT_POLICY, PolicyStore, StoredPolicy, normalize_name
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path, match_all

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.tokens import TokenEntry

RULES_DEPRECATED = "'rules' is deprecated, please use 'policy' instead"


def _decode_text(text: str) -> str:
    """OpenBao accepts the policy base64-encoded: text that decodes as base64 is decoded."""
    try:
        decoded = base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return text
    return decoded.decode("utf-8", "replace")


def _policy_data(policy: StoredPolicy, text_key: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": policy.name,
        text_key: policy.raw,
        "version": policy.version,
        "cas_required": policy.cas_required,
        "allow_wildcards_in_identity_templates": False,
        "allow_slashes_in_identity_templates": False,
    }
    if policy.name != ROOT_POLICY:
        data["modified"] = policy.modified
    return data


def policy_paths(core: Core) -> list[Path]:
    def store() -> PolicyStore:
        return core.policies

    # ------------------------------------------------------------ policies
    async def list_policies(req: Request, fd: FieldData, legacy: bool) -> Response:
        names = store().names()
        if legacy:
            return Response(data={"keys": names, "policies": names}, top_level_copy=True)
        return Response(data={"keys": names})

    async def read_policy(req: Request, fd: FieldData, legacy: bool) -> Response:
        policy = store().get(fd.get("name"))
        if policy is None:
            raise NotFound()
        if legacy:
            return Response(data=_policy_data(policy, "rules"), top_level_copy=True)
        return Response(data=_policy_data(policy, "policy"))

    async def write_policy(req: Request, fd: FieldData, legacy: bool) -> Response | None:
        name = normalize_name(fd.get("name"))
        if not name:
            raise BadRequest("policy name must be provided in the URL")
        warnings: list[str] = []
        text: str = fd.get("policy")
        if not text and legacy:
            text = fd.get("rules")
            warnings.append(RULES_DEPRECATED)
        if not text:
            raise BadRequest("'policy' parameter not supplied or empty")
        text = _decode_text(text)
        try:
            compiled = parse_policy(text, name)
        except PolicyParseError as err:
            raise BadRequest(f"failed to parse policy: {err}") from None
        cas: int | None = fd.get("cas") if fd.has("cas") else None
        await store().put(name, text, compiled, cas=cas, cas_required=fd.get("cas_required"))
        return Response(warnings=warnings) if warnings else None

    async def delete_policy(req: Request, fd: FieldData) -> None:
        await store().delete(fd.get("name"))

    async def policy_exists(req: Request, fd: FieldData) -> bool:
        return store().get(fd.get("name")) is not None

    # ------------------------------------------------------------ capabilities
    def requested_paths(fd: FieldData) -> list[str]:
        paths: list[str] = fd.get("paths") or fd.get("path")
        if not paths:
            raise BadRequest("paths must be supplied")
        return paths

    def capabilities_of(entry: TokenEntry, paths: list[str]) -> Response:
        if "" in paths:
            raise BadRequest(multierror("missing path"))
        acl = store().acl(entry.policies)
        data: dict[str, Any] = {path: acl.capabilities(path) for path in paths}
        if len(paths) == 1:
            data["capabilities"] = data[paths[0]]
        return Response(data=data, top_level_copy=True)

    async def lookup(token: str) -> TokenEntry:
        assert core.tokens is not None
        entry = await core.tokens.lookup(token)
        if entry is None:
            raise BadRequest(multierror("invalid token"))
        return entry

    async def capabilities(req: Request, fd: FieldData) -> Response:
        token = req.data.get("token")
        if not token or not isinstance(token, str):
            raise VaultError(multierror("no token found"), status=500)
        paths = requested_paths(fd)
        if paths[0] == "":  # OpenBao checks each path, then the token, in turn
            raise BadRequest(multierror("missing path"))
        return capabilities_of(await lookup(token), paths)

    async def capabilities_self(req: Request, fd: FieldData) -> Response:
        paths = requested_paths(fd)
        entry = req.token or await lookup(req.client_token)
        return capabilities_of(entry, paths)

    async def capabilities_accessor(req: Request, fd: FieldData) -> Response:
        accessor: str = fd.get("accessor")
        if not accessor:
            raise BadRequest("missing accessor")
        assert core.tokens is not None
        entry = await core.tokens.lookup_accessor(accessor)
        if entry is None:
            raise BadRequest(multierror("invalid accessor"))
        return capabilities_of(entry, requested_paths(fd))

    async def resultant_acl(req: Request, fd: FieldData) -> Response:
        entry = req.token
        if entry is None:
            raise BadRequest(multierror("no token found"))
        return Response(data=store().acl(entry.policies).resultant())

    name_field = {"name": Field(FieldType.STRING, "The name of the policy")}
    write_fields = {
        **name_field,
        "policy": Field(FieldType.STRING, "The rules of the policy (HCL or JSON)", default=""),
        "cas": Field(FieldType.INT, "Check-and-set: the version being replaced (-1: new only)"),
        "cas_required": Field(
            FieldType.BOOL, "Require check-and-set on every later write", default=False
        ),
    }
    paths_fields = {
        "path": Field(FieldType.COMMA_STRING_LIST, "Deprecated: use 'paths'", default=[]),
        "paths": Field(FieldType.COMMA_STRING_LIST, "Paths to check", default=[]),
    }

    def crud(base: str, legacy: bool) -> list[Path]:
        fields = {
            **write_fields,
            **(
                {"rules": Field(FieldType.STRING, "Use 'policy' instead", default="")}
                if legacy
                else {}
            ),
        }
        lister = {Operation.LIST: lambda r, f: list_policies(r, f, legacy)}
        if legacy:  # GET sys/policy lists too
            lister[Operation.READ] = lister[Operation.LIST]
        return [
            Path(f"{base}/?", operations=lister, synopsis="List the ACL policies."),
            Path(
                f"{base}/{match_all('name')}",
                fields=fields,
                operations={
                    Operation.READ: lambda r, f: read_policy(r, f, legacy),
                    Operation.UPDATE: lambda r, f: write_policy(r, f, legacy),
                    Operation.DELETE: delete_policy,
                },
                existence_check=policy_exists,
                synopsis="Read, write or delete an ACL policy.",
            ),
        ]

    return [
        *crud("policy", legacy=True),
        *crud("policies/acl", legacy=False),
        Path(
            "capabilities",
            fields={"token": Field(FieldType.STRING, "The token to check"), **paths_fields},
            operations={Operation.UPDATE: capabilities},
            synopsis="A token's capabilities on paths.",
        ),
        Path(
            "capabilities-self",
            fields=paths_fields,
            operations={Operation.UPDATE: capabilities_self},
            synopsis="The calling token's capabilities on paths.",
        ),
        Path(
            "capabilities-accessor",
            fields={
                "accessor": Field(FieldType.STRING, "The accessor of the token", default=""),
                **paths_fields,
            },
            operations={Operation.UPDATE: capabilities_accessor},
            synopsis="The capabilities on paths of the token behind an accessor.",
        ),
        Path(
            "internal/ui/resultant-acl",
            operations={Operation.READ: resultant_acl},
            synopsis="The calling token's merged ACL rules.",
        ),
    ]
