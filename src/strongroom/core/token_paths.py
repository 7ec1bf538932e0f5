"""The `auth/token/` backend: the token store's endpoints (spec §3.2, §3.3, §3.5).

Handlers stay thin: they parse and check the request with Vault's exact
error texts, then call the TokenStore, which owns storage, TTLs and
revocation. `auth_block` and `token_info` are the two response shapes
other auth methods reuse.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from strongroom.core.errors import BadRequest, NotFound, PermissionDenied, multierror
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339
from strongroom.core.tokens import (
    CUSTOM_ID_WARNING,
    TokenEntry,
    TokenParams,
    TokenRole,
    TokenStore,
    dedupe_lower,
    matches_any_glob,
    sanitize_policies,
)
from strongroom.durations import DurationError, parse_duration
from strongroom.framework.backend import Backend
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

TIDY_WARNING = (
    "Tidy operation successfully started. Any information from the operation will be "
    "printed to OpenBao's server logs."
)
ROLE_NAME = r"(?P<role_name>\w(?:[\w.-]*\w)?)"
# Vault checks the suffix with an unanchored match, so this only demands
# three word-ish characters somewhere; kept as is for compatibility.
PATH_SUFFIX_RE = re.compile(r"\w[\w.-]+\w")
DISPLAY_NAME_SANITIZE = re.compile(r"[^a-zA-Z0-9-]")

HELP = """
The token credential store is used to generate client tokens on demand, look
them up, renew and revoke them, and manage token roles. It is always mounted
at auth/token/ and cannot be disabled.
"""


# ---------------------------------------------------------------------------
# Response shapes


def auth_block(
    token: str, entry: TokenEntry, *, lease_duration: int, renewable: bool
) -> dict[str, Any]:
    """The `auth` object of create/renew/login responses, in Vault's key order."""
    return {
        "client_token": token,
        "accessor": entry.accessor,
        "policies": list(entry.policies),
        "token_policies": list(entry.policies),
        "metadata": entry.meta or None,
        "lease_duration": lease_duration,
        "renewable": renewable,
        "entity_id": entry.entity_id,
        "token_type": entry.type,
        "orphan": entry.orphan,
        "mfa_requirement": None,
        "num_uses": entry.num_uses,
    }


def token_info(entry: TokenEntry, token_id: str, now: float) -> dict[str, Any]:
    """The `data` of token lookups, keys sorted as Go's encoder writes a map."""
    info: dict[str, Any] = {
        "accessor": entry.accessor,
        "creation_time": int(entry.creation_time),
        "creation_ttl": entry.ttl,
        "display_name": entry.display_name,
        "entity_id": entry.entity_id,
        "expire_time": None,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": token_id,
        "meta": entry.meta,
        "num_uses": entry.num_uses,
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": list(entry.policies),
        "ttl": 0,
        "type": entry.type,
    }
    if entry.role:
        info["role"] = entry.role
    if entry.period:
        info["period"] = entry.period
    # Lease-derived keys; the initial root token (issue_time 0) has no lease.
    if entry.issue_time:
        if entry.last_renewal is not None:
            info["last_renewal_time"] = int(entry.last_renewal)
            info["last_renewal"] = rfc3339(entry.last_renewal)
        live = entry.expire_time is not None and not entry.expired(now)
        if entry.expire_time is not None:
            info["expire_time"] = rfc3339(entry.expire_time)
            # Vault: expire_time minus now rounded to the second, truncated.
            info["ttl"] = int(entry.expire_time - int(now + 0.5))
        info["renewable"] = entry.renewable and live
        info["issue_time"] = rfc3339(entry.issue_time)
    return dict(sorted(info.items()))


# ---------------------------------------------------------------------------
# Small parsing helpers


def _duration_param(fd: FieldData, name: str) -> tuple[bool, int]:
    """(given, seconds) for a duration sent as Vault's string-typed fields.

    These fields are declared RAW so a bad value fails with Go's bare
    message (`time: invalid duration "bogus"`), as Vault's handler does.
    """
    raw = fd.raw.get(name)
    if raw is None or raw == "":
        return False, 0
    try:
        return True, parse_duration(raw)
    except DurationError as err:
        raise BadRequest(str(err)) from None


def _go_quote_list(items: list[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    quoted = ('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return "[" + " ".join(quoted) + "]"


def _display_name(raw: str) -> str:
    if not raw:
        return "token"
    full = DISPLAY_NAME_SANITIZE.sub("-", "token-" + raw)
    return full.removesuffix("-")


def _validate_cidrs(values: list[str]) -> list[str]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise BadRequest(
                f'error parsing role fields: invalid address or CIDR "{value}"'
            ) from None
    return values


# ---------------------------------------------------------------------------
# Fields

_CREATE_FIELDS: dict[str, Field] = {
    "display_name": Field(FieldType.STRING, "Name to associate with this token"),
    "explicit_max_ttl": Field(FieldType.RAW, "Explicit Max TTL of this token"),
    "entity_alias": Field(FieldType.STRING, "Name of the entity alias to associate"),
    "num_uses": Field(FieldType.INT, "Max number of uses for this token", default=0),
    "period": Field(FieldType.RAW, "Renew period"),
    "renewable": Field(FieldType.BOOL, "Allow token to be renewed", default=True),
    "ttl": Field(FieldType.RAW, "Time to live for this token"),
    "lease": Field(FieldType.RAW, "Use 'ttl' instead", deprecated=True),
    "type": Field(FieldType.STRING, "Token type", default=""),
    "no_default_policy": Field(FieldType.BOOL, "Do not include the default policy", default=False),
    "id": Field(FieldType.STRING, "Value for the token", default=""),
    "meta": Field(FieldType.KV_PAIRS, "Arbitrary key=value metadata for the token"),
    "no_parent": Field(FieldType.BOOL, "Create the token with no parent", default=False),
    "policies": Field(FieldType.STRING_LIST, "List of policies for the token"),
}
_CREATE_ROLE_FIELDS: dict[str, Field] = {
    **_CREATE_FIELDS,
    "role_name": Field(FieldType.STRING, "Name of the role", default=""),
}
_TOKEN_FIELD = {"token": Field(FieldType.STRING, "Token (request body)", default="")}
_ACCESSOR_FIELD = {"accessor": Field(FieldType.STRING, "Accessor of the token", default="")}
_INCREMENT_FIELD = {
    "increment": Field(FieldType.DURATION, "Requested increment to the expiration", default=0)
}
_ROLE_FIELDS: dict[str, Field] = {
    "role_name": Field(FieldType.STRING, "Name of the role", default=""),
    "allowed_policies": Field(FieldType.COMMA_STRING_LIST, "Policies tokens may have"),
    "disallowed_policies": Field(FieldType.COMMA_STRING_LIST, "Policies tokens may not have"),
    "allowed_policies_glob": Field(FieldType.COMMA_STRING_LIST, "Allowed policy globs"),
    "disallowed_policies_glob": Field(FieldType.COMMA_STRING_LIST, "Disallowed policy globs"),
    "orphan": Field(FieldType.BOOL, "Tokens have no parent", default=False),
    "renewable": Field(FieldType.BOOL, "Tokens can be renewed", default=True),
    "path_suffix": Field(FieldType.STRING, "Suffix appended to the token path", default=""),
    "allowed_entity_aliases": Field(FieldType.COMMA_STRING_LIST, "Allowed entity aliases"),
    "token_type": Field(FieldType.RAW, "Token type", default="default-service"),
    "token_period": Field(FieldType.DURATION, "Period of generated tokens", default=0),
    "token_explicit_max_ttl": Field(FieldType.DURATION, "Explicit max TTL", default=0),
    "token_no_default_policy": Field(FieldType.BOOL, "Do not add 'default'", default=False),
    "token_num_uses": Field(FieldType.INT, "Uses of generated tokens", default=0),
    "token_bound_cidrs": Field(FieldType.COMMA_STRING_LIST, "CIDRs tokens are bound to"),
    "period": Field(FieldType.DURATION, "Use 'token_period' instead.", deprecated=True),
    "explicit_max_ttl": Field(
        FieldType.DURATION, "Use 'token_explicit_max_ttl' instead.", deprecated=True
    ),
    "bound_cidrs": Field(
        FieldType.COMMA_STRING_LIST, "Use 'token_bound_cidrs' instead.", deprecated=True
    ),
}


# ---------------------------------------------------------------------------
# Handlers


class TokenAPI:
    """The handlers of auth/token/, bound to one TokenStore."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    def _is_sudo(self, req: Request) -> bool:
        if self.store.sudo_check is not None:
            return self.store.sudo_check(req)
        return req.token is not None and req.token.is_root()

    # ------------------------------------------------------------ create
    async def create(self, req: Request, fd: FieldData) -> Response | None:
        role_name = fd.get("role_name")
        if role_name:
            return await self._create_with_role_name(req, fd, role_name)
        return await self._create(req, fd, orphan=False, role=None, path="auth/token/create")

    async def create_orphan(self, req: Request, fd: FieldData) -> Response | None:
        return await self._create(req, fd, orphan=True, role=None, path="auth/token/create-orphan")

    async def create_against_role(self, req: Request, fd: FieldData) -> Response | None:
        return await self._create_with_role_name(req, fd, fd.get("role_name"))

    async def _create_with_role_name(
        self, req: Request, fd: FieldData, name: str
    ) -> Response | None:
        role = await self.store.get_role(name)
        if role is None:
            raise BadRequest(f"unknown role {name}")
        return await self._create(
            req, fd, orphan=False, role=role, path=f"auth/token/create/{name}"
        )

    async def _create(
        self,
        req: Request,
        fd: FieldData,
        *,
        orphan: bool,
        role: TokenRole | None,
        path: str,
    ) -> Response:
        parent = req.token
        # A token on its last use is already as good as revoked.
        if parent is None or parent.num_uses < 0:
            raise BadRequest("parent token lookup failed: no parent found")
        if parent.num_uses > 0:
            # Children would let a limited-use token escape its count.
            raise BadRequest("restricted use token cannot generate child tokens")
        sudo = self._is_sudo(req)
        self._check_token_type(fd.get("type"), role)
        renewable: bool = fd.get("renewable")
        num_uses: int = fd.get("num_uses")
        if num_uses < 0:
            raise BadRequest("number of uses cannot be negative")
        self._check_entity_alias(fd.get("entity_alias"), role)
        meta: dict[str, str] | None = fd.get("meta") if fd.has("meta") else None

        if role is not None:
            renewable = renewable and role.renewable
            if role.token_num_uses and (num_uses == 0 or role.token_num_uses < num_uses):
                num_uses = role.token_num_uses
            if role.path_suffix:
                path = f"{path}/{role.path_suffix}"
        display_name = _display_name(fd.get("display_name"))

        token_id: str = fd.get("id")
        if token_id and not sudo:
            raise BadRequest("root or sudo privileges required to specify token id")

        policies = self._resolve_policies(fd, role, parent, sudo)
        if "root" in policies and not parent.is_root():
            # sudo on this path must not be a way to mint root tokens.
            raise BadRequest("root tokens may not be created without parent token being root")

        if role is not None:
            is_orphan = role.orphan
        elif fd.get("no_parent"):
            if not sudo:
                raise BadRequest("root or sudo privileges required to create orphan token")
            is_orphan = True
        else:
            is_orphan = orphan  # create-orphan is ACL'd by its own path

        warnings: list[str] = []
        user_explicit, user_period, ttl = self._requested_ttls(fd, sudo)
        explicit_max, period = user_explicit, user_period
        if role is not None:
            explicit_max, period = self._merge_role_ttls(role, explicit_max, period, warnings)

        params = TokenParams(
            policies,
            path=path,
            display_name=display_name,
            meta=meta,
            parent=None if is_orphan else parent,
            add_default_policy=False,  # _resolve_policies already decided
            ttl=ttl,
            explicit_max_ttl=explicit_max,
            period=period,
            num_uses=num_uses,
            renewable=renewable,
            entity_id="" if is_orphan else parent.entity_id,
            role=role.name if role is not None else "",
        )
        entry = self.store.new_entry(params, warnings)
        # Lookups show what the caller asked for; role values apply on renewal.
        entry.explicit_max_ttl, entry.period = user_explicit, user_period
        if token_id:
            warnings.append(CUSTOM_ID_WARNING)
        token = await self.store.persist_new(entry, token_id or None)

        if self.store.policy_exists is not None:
            warnings.extend(
                f'Policy "{name}" does not exist'
                for name in entry.policies
                if not self.store.policy_exists(name)
            )
        auth = auth_block(token, entry, lease_duration=entry.ttl, renewable=entry.renewable)
        return Response(auth=auth, warnings=warnings)

    @staticmethod
    def _check_token_type(requested: str, role: TokenRole | None) -> None:
        kind = requested
        if role is not None:
            if role.token_type == "default-batch" and not kind:
                kind = "batch"
            elif role.token_type in ("service", "batch"):
                kind = role.token_type
        if kind == "batch":
            raise BadRequest("batch tokens are not supported by this server")
        if kind not in ("", "service"):
            raise BadRequest("invalid 'token_type' value")

    @staticmethod
    def _check_entity_alias(alias: str, role: TokenRole | None) -> None:
        if not alias:
            return
        if role is None:
            raise BadRequest("'entity_alias' is only allowed in combination with token role")
        allowed = role.allowed_entity_aliases or []
        lowered = alias.lower()
        if lowered not in allowed and not matches_any_glob(allowed, lowered):
            raise BadRequest("invalid 'entity_alias' value")
        # There is no identity store yet, so the alias maps to no entity.

    @staticmethod
    def _resolve_policies(
        fd: FieldData, role: TokenRole | None, parent: TokenEntry, sudo: bool
    ) -> list[str]:
        """Vault's policy rules for token creation (role, inherit, subset, sudo)."""
        requested: list[str] = fd.get("policies") or []
        no_default: bool = fd.get("no_default_policy")
        add_default = False
        if role is not None and (
            role.allowed_policies
            or role.disallowed_policies
            or role.allowed_policies_glob
            or role.disallowed_policies_glob
        ):
            requested = _role_policies(requested, role, parent, no_default)
        elif not requested:
            # Inherit the parent's set; "default" comes along only if it has it.
            requested = sanitize_policies(parent.policies, False)
        elif not sudo:
            wanted = sanitize_policies(requested, False)
            have = set(sanitize_policies(parent.policies, False))
            if not set(wanted) <= have:
                raise BadRequest("child policies must be subset of parent")
            add_default = not no_default and "default" in parent.policies
        else:
            add_default = not no_default
        final = sanitize_policies(requested, add_default)
        if no_default:
            final = [p for p in final if p != "default"]
        return final

    @staticmethod
    def _requested_ttls(fd: FieldData, sudo: bool) -> tuple[int, int, int]:
        """(explicit_max_ttl, period, ttl) as requested, validated."""
        explicit_max = 0
        given, value = _duration_param(fd, "explicit_max_ttl")
        if given:
            if value < 0:
                raise BadRequest("explicit_max_ttl must be positive")
            explicit_max = value
        period = 0
        given, value = _duration_param(fd, "period")
        if given:
            if value < 0:
                raise BadRequest("period must be positive")
            if value > 0 and not sudo:
                raise BadRequest("root or sudo privileges required to create periodic token")
            period = value
        ttl = 0
        given, value = _duration_param(fd, "ttl")
        if given:
            if value < 0:
                raise BadRequest("ttl must be positive")
            ttl = value
        else:
            given, value = _duration_param(fd, "lease")
            if given:
                if value < 0:
                    raise BadRequest("lease must be positive")
                ttl = value
        return explicit_max, period, ttl

    @staticmethod
    def _merge_role_ttls(
        role: TokenRole, explicit_max: int, period: int, warnings: list[str]
    ) -> tuple[int, int]:
        """The lesser of request and role values, with Vault's warnings."""
        if role.token_explicit_max_ttl:
            if explicit_max == 0:
                explicit_max = role.token_explicit_max_ttl
            else:
                explicit_max = min(explicit_max, role.token_explicit_max_ttl)
                warnings.append(
                    "Explicit max TTL specified both during creation call and in role; "
                    f"using the lesser value of {explicit_max} seconds"
                )
        if role.token_period:
            if period == 0:
                period = role.token_period
            else:
                period = min(period, role.token_period)
                warnings.append(
                    "Period specified both during creation call and in role; "
                    f"using the lesser value of {period} seconds"
                )
        return explicit_max, period

    # ------------------------------------------------------------ lookup
    async def lookup(self, req: Request, fd: FieldData) -> Response:
        token = fd.get("token") or req.client_token
        return await self._lookup(token)

    async def lookup_self(self, req: Request, fd: FieldData) -> Response:
        token = req.client_token or (req.token.id if req.token is not None else "")
        return await self._lookup(token)

    async def _lookup(self, token: str) -> Response:
        if not token:
            raise BadRequest("missing token ID")
        # Inside the request that spends a token's last use it still shows (-1).
        entry = await self.store.lookup(token, allow_pending=True)
        if entry is None:
            raise PermissionDenied("bad token")
        return Response(data=token_info(entry, token, self.store.now()))

    async def lookup_accessor(self, req: Request, fd: FieldData) -> Response:
        entry = await self._by_accessor(fd)
        return Response(data=token_info(entry, "", self.store.now()))

    async def _by_accessor(self, fd: FieldData) -> TokenEntry:
        accessor: str = fd.get("accessor")
        if not accessor:
            raise BadRequest(multierror("missing accessor"))
        entry = await self.store.lookup_accessor(accessor, allow_pending=True)
        if entry is None:
            raise BadRequest(multierror("invalid accessor"))
        return entry

    # ------------------------------------------------------------ renew
    async def renew(self, req: Request, fd: FieldData) -> Response:
        token: str = fd.get("token")
        if not token:
            raise BadRequest("missing token ID")
        entry = await self.store.lookup(token)
        if entry is None:
            raise BadRequest("token not found")
        return await self._renew(entry, token, fd.get("increment"))

    async def renew_self(self, req: Request, fd: FieldData) -> Response:
        token = req.client_token or (req.token.id if req.token is not None else "")
        if not token:
            raise BadRequest("missing token ID")
        entry = await self.store.lookup(token, allow_pending=True)
        if entry is None:
            raise BadRequest("token not found")
        return await self._renew(entry, token, fd.get("increment"))

    async def renew_accessor(self, req: Request, fd: FieldData) -> Response:
        entry = await self._by_accessor(fd)
        if entry.num_uses < 0:
            raise BadRequest("token not found")
        # The accessor holder never learns the token itself.
        return await self._renew(entry, "", fd.get("increment"))

    async def _renew(self, entry: TokenEntry, token: str, increment: int) -> Response:
        ttl, warnings = await self.store.renew(entry, increment)
        auth = auth_block(token, entry, lease_duration=ttl, renewable=entry.renewable)
        return Response(auth=auth, warnings=warnings)

    # ------------------------------------------------------------ revoke
    async def revoke(self, req: Request, fd: FieldData) -> Response | None:
        token: str = fd.get("token")
        if not token:
            raise BadRequest("missing token ID")
        entry = await self.store.lookup(token)
        if entry is not None:  # unknown tokens are not an error (204)
            await self.store.revoke_tree(entry)
        return None

    async def revoke_self(self, req: Request, fd: FieldData) -> Response | None:
        entry = req.token
        if entry is None and req.client_token:
            entry = await self.store.lookup(req.client_token, allow_pending=True)
        if entry is not None:
            await self.store.revoke_tree(entry)
        return None

    async def revoke_accessor(self, req: Request, fd: FieldData) -> Response | None:
        accessor: str = fd.get("accessor")
        if not accessor:
            raise BadRequest(multierror("missing accessor"))
        entry = await self.store.lookup_accessor(accessor, allow_pending=True)
        if entry is None:
            return Response(warnings=["No token found with this accessor"])
        if entry.num_uses < 0:
            raise BadRequest("token not found")
        await self.store.revoke_tree(entry)
        return None

    async def revoke_orphan(self, req: Request, fd: FieldData) -> Response | None:
        token: str = fd.get("token")
        if not token:
            raise BadRequest("missing token ID")
        if not self._is_sudo(req):
            raise BadRequest("root or sudo privileges required to revoke and orphan")
        entry = await self.store.lookup(token)
        if entry is None:
            raise BadRequest("token to revoke not found")
        await self.store.revoke_orphan(entry)
        return None

    # ------------------------------------------------------------ accessors, tidy
    async def list_accessors(self, req: Request, fd: FieldData) -> Response:
        return Response(data={"keys": await self.store.list_accessors()})

    async def tidy(self, req: Request, fd: FieldData) -> Response:
        if not self.store.start_tidy():
            return Response(warnings=["Tidy operation already in progress."])
        return Response(warnings=[TIDY_WARNING], status=202)

    # ------------------------------------------------------------ roles
    async def list_roles(self, req: Request, fd: FieldData) -> Response:
        return Response(data={"keys": await self.store.list_roles()})

    async def read_role(self, req: Request, fd: FieldData) -> Response:
        role = await self.store.get_role(fd.get("role_name"))
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    async def delete_role(self, req: Request, fd: FieldData) -> Response | None:
        await self.store.delete_role(fd.get("role_name"))
        return None

    async def role_exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.get_role(fd.get("role_name")) is not None

    async def write_role(self, req: Request, fd: FieldData) -> Response | None:
        name: str = fd.get("role_name")
        if not name:
            raise BadRequest("role name cannot be empty")
        existing = await self.store.get_role(name)
        role = existing if existing is not None else TokenRole(name=name)
        is_new = existing is None
        warnings: list[str] = []

        _apply_role_basics(role, fd, is_new)
        _apply_role_token_fields(role, fd)
        _apply_role_legacy_fields(role, fd, warnings, self.store.system.max_lease_ttl)
        _check_batch_role(role)
        if fd.has("allowed_entity_aliases"):
            role.allowed_entity_aliases = dedupe_lower(fd.get("allowed_entity_aliases"))

        await self.store.put_role(role)
        return Response(warnings=warnings) if warnings else None


def _role_policies(
    requested: list[str], role: TokenRole, parent: TokenEntry, no_default: bool
) -> list[str]:
    """Policies of a token made against a role with allowed/disallowed lists."""
    add_default = (
        not no_default
        and not role.token_no_default_policy
        and "default" not in role.disallowed_policies
        and not matches_any_glob(role.disallowed_policies_glob, "default")
    )
    final = sanitize_policies(requested, add_default) if requested else []
    if role.allowed_policies or role.allowed_policies_glob:
        allowed = sanitize_policies(role.allowed_policies, add_default)
        if not final:
            final = allowed
        else:
            globs = sanitize_policies(role.allowed_policies_glob, False)
            for policy in final:
                if policy not in allowed and not matches_any_glob(globs, policy):
                    raise BadRequest(
                        f"token policies ({_go_quote_list(final)}) must be subset of the "
                        f"role's allowed policies ({_go_quote_list(allowed)}) or glob "
                        f"policies ({_go_quote_list(globs)})"
                    )
    elif not final:
        final = sanitize_policies(parent.policies, add_default)
    if role.disallowed_policies or role.disallowed_policies_glob:
        denied = dedupe_lower(role.disallowed_policies)
        denied_globs = dedupe_lower(role.disallowed_policies_glob)
        for policy in final:
            if policy in denied or matches_any_glob(denied_globs, policy):
                raise BadRequest(f'token policy "{policy}" is disallowed by this role')
    return final


def _apply_role_basics(role: TokenRole, fd: FieldData, is_new: bool) -> None:
    """Fields only token roles have; on create, absent ones take their defaults."""
    if fd.has("orphan") or is_new:
        role.orphan = fd.get("orphan")
    if fd.has("renewable") or is_new:
        role.renewable = fd.get("renewable")
    if fd.has("path_suffix"):
        suffix: str = fd.get("path_suffix")
        if suffix and not PATH_SUFFIX_RE.search(suffix):
            raise BadRequest(
                "given role path suffix contains invalid characters; must match "
                r"\w[\w-.]+\w"  # Go's spelling of PATH_SUFFIX_RE
            )
        role.path_suffix = suffix
    if ".." in role.path_suffix:
        raise BadRequest("error registering path suffix: path cannot contain parent references")
    if fd.has("allowed_policies"):
        role.allowed_policies = sanitize_policies(fd.get("allowed_policies"), False)
    if fd.has("disallowed_policies"):
        role.disallowed_policies = dedupe_lower(fd.get("disallowed_policies"))
    if fd.has("allowed_policies_glob"):
        role.allowed_policies_glob = sanitize_policies(fd.get("allowed_policies_glob"), False)
    if fd.has("disallowed_policies_glob"):
        role.disallowed_policies_glob = dedupe_lower(fd.get("disallowed_policies_glob"))


_ROLE_TOKEN_TYPES = ("service", "batch", "default-service", "default-batch")


def _apply_role_token_fields(role: TokenRole, fd: FieldData) -> None:
    if "token_type" in fd.raw:
        kind = fd.raw["token_type"]
        if kind is None:
            raise BadRequest("Invalid 'token_type' value: null")
        if not isinstance(kind, str) or kind not in _ROLE_TOKEN_TYPES:
            raise BadRequest(f"invalid 'token_type' value \"{kind}\"")
        role.token_type = kind
    if fd.has("token_bound_cidrs"):
        role.token_bound_cidrs = _validate_cidrs(fd.get("token_bound_cidrs"))
    if fd.has("token_explicit_max_ttl"):
        role.token_explicit_max_ttl = fd.get("token_explicit_max_ttl")
    if fd.has("token_no_default_policy"):
        role.token_no_default_policy = fd.get("token_no_default_policy")
    if fd.has("token_period"):
        role.token_period = fd.get("token_period")
    if role.token_period < 0:
        raise BadRequest("error parsing role fields: 'token_period' cannot be negative")
    if fd.has("token_num_uses"):
        role.token_num_uses = fd.get("token_num_uses")
    if role.token_num_uses < 0:
        raise BadRequest("error parsing role fields: 'token_num_uses' cannot be negative")


def _apply_role_legacy_fields(
    role: TokenRole, fd: FieldData, warnings: list[str], system_max: int
) -> None:
    """`period`, `bound_cidrs`, `explicit_max_ttl`: the token_* names win."""
    both = "Both '{new}' and deprecated '{old}' value supplied, ignoring the deprecated value"
    if not fd.has("token_period"):
        if fd.has("period"):
            role.period = role.token_period = fd.get("period")
    else:
        if fd.has("period"):
            warnings.append(both.format(new="token_period", old="period"))
        role.period = 0

    if not fd.has("token_bound_cidrs"):
        if fd.has("bound_cidrs"):
            role.bound_cidrs = _validate_cidrs(fd.get("bound_cidrs"))
            role.token_bound_cidrs = list(role.bound_cidrs)
    else:
        if fd.has("bound_cidrs"):
            warnings.append(both.format(new="token_bound_cidrs", old="bound_cidrs"))
        role.bound_cidrs = []

    final_explicit = role.token_explicit_max_ttl
    if not fd.has("token_explicit_max_ttl"):
        if fd.has("explicit_max_ttl"):
            role.explicit_max_ttl = role.token_explicit_max_ttl = fd.get("explicit_max_ttl")
        final_explicit = role.explicit_max_ttl
    else:
        if fd.has("explicit_max_ttl"):
            warnings.append(both.format(new="token_explicit_max_ttl", old="explicit_max_ttl"))
        role.explicit_max_ttl = 0
    if final_explicit and system_max and final_explicit > system_max:
        warnings.append(
            f"Given explicit max TTL of {final_explicit} is greater than system/mount allowed "
            f"value of {system_max} seconds; until this is fixed attempting to create tokens "
            "against this role will result in an error"
        )


def _check_batch_role(role: TokenRole) -> None:
    if role.token_type != "batch":
        return
    reason = ""
    if not role.orphan:
        reason = "non-orphan tokens"
    elif role.period or role.token_period:
        reason = "periodic tokens"
    elif role.renewable:
        reason = "renewable tokens"
    elif role.explicit_max_ttl or role.token_explicit_max_ttl:
        reason = "tokens with an explicit max TTL"
    if reason:
        raise BadRequest(f"'token_type' cannot be 'batch' when role is set to generate {reason}")


# ---------------------------------------------------------------------------
# The backend


def build_backend(store: TokenStore) -> Backend:
    api = TokenAPI(store)
    update = Operation.UPDATE
    paths = [
        Path(
            "roles/?",
            operations={Operation.LIST: api.list_roles},
            synopsis="List the token roles.",
        ),
        Path(
            "accessors/?",
            operations={Operation.LIST: api.list_accessors},
            synopsis="List the accessors of all tokens (sudo).",
        ),
        Path(
            "create-orphan",
            fields=_CREATE_FIELDS,
            operations={update: api.create_orphan},
            synopsis="Create an orphan token.",
        ),
        Path(
            f"create/{ROLE_NAME}",
            fields=_CREATE_ROLE_FIELDS,
            operations={update: api.create_against_role},
            synopsis="Create a token against a role.",
        ),
        Path(
            "create",
            fields=_CREATE_ROLE_FIELDS,
            operations={update: api.create},
            synopsis="Create a child token.",
        ),
        Path(
            "lookup",
            fields=_TOKEN_FIELD,
            operations={Operation.READ: api.lookup, update: api.lookup},
            synopsis="Look up a token's properties.",
        ),
        Path(
            "lookup-accessor",
            fields=_ACCESSOR_FIELD,
            operations={update: api.lookup_accessor},
            synopsis="Look up a token's properties by its accessor.",
        ),
        Path(
            "lookup-self",
            fields=_TOKEN_FIELD,
            operations={Operation.READ: api.lookup_self, update: api.lookup_self},
            synopsis="Look up the calling token's properties.",
        ),
        Path(
            "revoke-accessor",
            fields=_ACCESSOR_FIELD,
            operations={update: api.revoke_accessor},
            synopsis="Revoke a token and its children by accessor.",
        ),
        Path(
            "revoke-self",
            operations={update: api.revoke_self},
            synopsis="Revoke the calling token and its children.",
        ),
        Path(
            "revoke",
            fields=_TOKEN_FIELD,
            operations={update: api.revoke},
            synopsis="Revoke a token and its children.",
        ),
        Path(
            "revoke-orphan",
            fields=_TOKEN_FIELD,
            operations={update: api.revoke_orphan},
            synopsis="Revoke a token, leaving its children as orphans (sudo).",
        ),
        Path(
            "renew-accessor",
            fields={**_ACCESSOR_FIELD, **_INCREMENT_FIELD},
            operations={update: api.renew_accessor},
            synopsis="Renew a token by its accessor.",
        ),
        Path(
            "renew-self",
            fields={**_TOKEN_FIELD, **_INCREMENT_FIELD},
            operations={update: api.renew_self},
            synopsis="Renew the calling token.",
        ),
        Path(
            "renew",
            fields={**_TOKEN_FIELD, **_INCREMENT_FIELD},
            operations={update: api.renew},
            synopsis="Renew a token.",
        ),
        Path(
            "tidy",
            operations={update: api.tidy},
            synopsis="Clean up expired tokens and dangling token indexes.",
        ),
        Path(
            f"roles/{ROLE_NAME}",
            fields=_ROLE_FIELDS,
            operations={
                Operation.READ: api.read_role,
                Operation.CREATE: api.write_role,
                update: api.write_role,
                Operation.DELETE: api.delete_role,
            },
            existence_check=api.role_exists,
            synopsis="Manage a token role.",
        ),
    ]
    return Backend(paths, help=HELP, sudo=["revoke-orphan/*", "accessors*"])
