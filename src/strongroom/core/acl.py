"""The ACL engine: a token's policies compiled into lookup tables.

An `ACL` is built once per distinct set of policy names (the policy store
caches it) and then answers every request of every token holding that set:

* exact rules: a dict, so the common case is one hash lookup;
* prefix rules (`secret/*`): a dict keyed by the prefix plus the distinct
  prefix lengths sorted longest first, so the longest matching prefix costs
  one slice-and-lookup per distinct length (a handful) instead of a scan;
* segment-wildcard rules (`a/+/c`, `a/+/*`): a short list, each pre-split
  into segments with its precedence key computed at build time.

Rules with the same pattern in several policies are merged when the ACL is
built (Vault's merge rules); only the single winning rule of a lookup decides,
rules of different patterns are never unioned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.core.policy import (
    CAP_CREATE,
    CAP_DELETE,
    CAP_DENY,
    CAP_LIST,
    CAP_PATCH,
    CAP_READ,
    CAP_SCAN,
    CAP_SUDO,
    CAP_UPDATE,
    Permissions,
    Policy,
    capability_names,
)
from strongroom.core.request import Operation
from strongroom.jsonutil import JsonNumber

__all__ = ["ACL", "ROOT_ACL"]

_OP_BITS: dict[Operation, int] = {
    Operation.READ: CAP_READ,
    Operation.LIST: CAP_LIST,
    Operation.CREATE: CAP_CREATE,
    Operation.UPDATE: CAP_UPDATE,
    Operation.PATCH: CAP_PATCH,
    Operation.DELETE: CAP_DELETE,
}
# Operations whose request data is checked against parameter constraints.
_PARAM_OPS = frozenset({Operation.READ, Operation.UPDATE, Operation.CREATE, Operation.PATCH})
# What counts as "access" to a mount for the UI/CLI mount listing.
_MOUNT_ACCESS = CAP_CREATE | CAP_DELETE | CAP_LIST | CAP_READ | CAP_SUDO | CAP_UPDATE | CAP_PATCH

# Precedence key of a non-exact candidate; the greatest wins (Vault's order):
# (index of the first wildcard or glob, 1 if not a prefix rule, -number of
# "+" segments, byte length of the pattern without "*", the pattern's bytes).
_Key = tuple[int, int, int, int, bytes]


@dataclass(slots=True)
class _Wildcard:
    """A compiled segment-wildcard rule."""

    segments: list[str]
    is_prefix: bool
    key: _Key
    permissions: Permissions

    @classmethod
    def compile(cls, pattern: str, permissions: Permissions) -> _Wildcard:
        is_prefix = pattern.endswith("*")
        base = pattern[:-1] if is_prefix else pattern
        segments = base.split("/")
        raw = base.encode()
        key = (
            pattern.encode().find(b"+"),
            0 if is_prefix else 1,
            -segments.count("+"),
            len(raw),
            raw,
        )
        return cls(segments, is_prefix, key, permissions)

    def matches(self, parts: list[str]) -> bool:
        segments = self.segments
        count = len(segments)
        if len(parts) < count or (not self.is_prefix and len(parts) != count):
            return False
        last = count - 1
        for index, segment in enumerate(segments):
            part = parts[index]
            if segment == "+" or segment == part:
                continue
            if self.is_prefix and index == last and part.startswith(segment):
                continue
            return False
        return True

    def could_match_below(self, mount_parts: list[str]) -> bool:
        """Whether the rule can match some path inside a mount (`secret/` -> ["secret"])."""
        segments = self.segments
        if len(segments) < len(mount_parts):
            return False
        last = len(segments) - 1
        for index, part in enumerate(mount_parts):
            segment = segments[index]
            if segment != "+" and segment != part:
                # A prefix rule's last segment may still extend this one.
                return self.is_prefix and index == last and part.startswith(segment)
        return True


class ACL:
    """The merged rules of one set of policies."""

    __slots__ = ("_exact", "_lengths", "_prefix", "_wildcards", "root")

    def __init__(self, policies: Iterable[Policy] = (), *, root: bool = False) -> None:
        self.root = root
        exact: dict[str, Permissions] = {}
        prefix: dict[str, Permissions] = {}
        wildcard: dict[str, Permissions] = {}
        for policy in policies:
            for rule in policy.paths:
                if rule.templated:
                    continue  # needs an identity entity, which no token here has
                if rule.has_segment_wildcards:
                    table = wildcard  # keyed with the trailing "*", if any
                else:
                    table = prefix if rule.is_prefix else exact
                existing = table.get(rule.path)
                if existing is None:
                    table[rule.path] = rule.permissions.clone()
                else:
                    _merge(existing, rule.permissions)
        self._exact = exact
        self._prefix: dict[str, tuple[Permissions, _Key]] = {
            p: (perms, _prefix_key(p)) for p, perms in prefix.items()
        }
        self._lengths = sorted({len(p) for p in prefix}, reverse=True)
        self._wildcards = [_Wildcard.compile(p, perms) for p, perms in wildcard.items()]

    # ------------------------------------------------------------ lookups
    def _non_exact(self, path: str) -> Permissions | None:
        best: Permissions | None = None
        best_key: _Key | None = None
        size = len(path)
        for length in self._lengths:
            if length <= size:
                found = self._prefix.get(path[:length])
                if found is not None:
                    best, best_key = found
                    break
        if not self._wildcards:
            return best
        parts = path.split("/")
        for rule in self._wildcards:
            if (best_key is None or rule.key > best_key) and rule.matches(parts):
                best, best_key = rule.permissions, rule.key
        return best

    def _lookup(self, path: str, is_list: bool) -> Permissions | None:
        perms = self._exact.get(path)
        if perms is not None:
            return perms
        if not is_list or not path.endswith("/"):
            return self._non_exact(path)
        # A list of "p/" also answers to rules for "p": exact first, and the
        # non-exact rules of "p" only when none matched "p/" itself.
        trimmed = path[:-1]
        perms = self._exact.get(trimmed)
        if perms is None:
            perms = self._non_exact(path)
        if perms is None:
            perms = self._non_exact(trimmed)
        return perms

    # ------------------------------------------------------------ decisions
    def allows(
        self,
        operation: Operation,
        path: str,
        data: Mapping[str, Any] | None = None,
        wrap_ttl: float = 0,
        *,
        sudo: bool = False,
    ) -> bool:
        """Whether a request may proceed; `sudo` when the path also needs sudo."""
        if self.root or operation is Operation.HELP:
            return True
        perms = self._lookup(path, operation is Operation.LIST)
        if perms is None:
            return False
        caps = perms.capabilities
        if not caps & _OP_BITS.get(operation, 0):
            return False
        if sudo and not caps & CAP_SUDO:
            return False
        if perms.max_wrapping_ttl > 0 and (wrap_ttl <= 0 or wrap_ttl > perms.max_wrapping_ttl):
            return False
        if perms.min_wrapping_ttl > 0 and (wrap_ttl <= 0 or wrap_ttl < perms.min_wrapping_ttl):
            return False
        if 0 != perms.max_wrapping_ttl < perms.min_wrapping_ttl != 0:
            return False  # can only come from merging two policies
        if operation in _PARAM_OPS:
            return _parameters_allowed(perms, data or {})
        return True

    def capabilities(self, path: str) -> list[str]:
        """Sorted capabilities on a path, evaluated as a list operation (sys/capabilities)."""
        if self.root:
            return ["root"]
        perms = self._lookup(path.lstrip("/"), True)
        return capability_names(perms.capabilities if perms is not None else 0)

    def has_sudo(self, path: str) -> bool:
        """Vault's SudoPrivilege: the rule matching a read of `path` grants sudo."""
        if self.root:
            return True
        perms = self._lookup(path, False)
        return perms is not None and bool(perms.capabilities & CAP_SUDO)

    def has_mount_access(self, mount_path: str) -> bool:
        """Whether a mount (`secret/`) is visible: any non-deny capability on it or below."""
        if self.root or self.capabilities(mount_path) != ["deny"]:
            return True
        for table in (self._exact, {p: v[0] for p, v in self._prefix.items()}):
            for pattern, perms in table.items():
                if pattern.startswith(mount_path) and _grants_access(perms):
                    return True
        mount_parts = mount_path.rstrip("/").split("/")
        return any(
            _grants_access(rule.permissions) and rule.could_match_below(mount_parts)
            for rule in self._wildcards
        )

    def resultant(self) -> dict[str, Any]:
        """sys/internal/ui/resultant-acl's data."""
        if self.root:
            return {"root": True}
        return {
            "exact_paths": {p: _describe(perms) for p, perms in self._exact.items()},
            "glob_paths": {p: _describe(v[0]) for p, v in self._prefix.items()},
            "root": False,
        }


ROOT_ACL = ACL(root=True)


def _prefix_key(prefix: str) -> _Key:
    raw = prefix.encode()
    return (len(raw), 0, 0, len(raw), raw)


def _grants_access(perms: Permissions) -> bool:
    caps = perms.capabilities
    return not caps & CAP_DENY and bool(caps & _MOUNT_ACCESS)


# resultant-acl lists capabilities in this order (not sorted, unlike sys/capabilities).
_RESULTANT_ORDER = [
    ("create", CAP_CREATE),
    ("delete", CAP_DELETE),
    ("list", CAP_LIST),
    ("read", CAP_READ),
    ("sudo", CAP_SUDO),
    ("update", CAP_UPDATE),
    ("patch", CAP_PATCH),
    ("scan", CAP_SCAN),
]


def _describe(perms: Permissions) -> dict[str, Any]:
    caps = perms.capabilities
    names = [name for name, bit in _RESULTANT_ORDER if caps & bit]
    if caps & CAP_DENY or not names:
        names = ["deny"]
    out: dict[str, Any] = {"capabilities": names}
    if perms.allowed_parameters:
        out["allowed_parameters"] = perms.allowed_parameters
    if perms.denied_parameters:
        out["denied_parameters"] = perms.denied_parameters
    if perms.required_parameters:
        out["required_parameters"] = perms.required_parameters
    for name in ("min_wrapping_ttl", "max_wrapping_ttl"):
        value = getattr(perms, name)
        if value:
            out[name] = int(value) if float(value).is_integer() else value
    return out


# ---------------------------------------------------------------------------
# Merging (several policies with the same pattern)


def _merge(existing: Permissions, new: Permissions) -> None:
    if existing.capabilities & CAP_DENY:
        return
    if new.capabilities & CAP_DENY:
        # As in OpenBao, only the parameter maps go (they show in resultant-acl).
        existing.capabilities = CAP_DENY
        existing.allowed_parameters = existing.denied_parameters = None
        return
    existing.capabilities |= new.capabilities
    if new.max_wrapping_ttl > 0 and (
        existing.max_wrapping_ttl == 0 or new.max_wrapping_ttl < existing.max_wrapping_ttl
    ):
        existing.max_wrapping_ttl = new.max_wrapping_ttl
    if new.min_wrapping_ttl > 0 and (
        existing.min_wrapping_ttl == 0 or new.min_wrapping_ttl < existing.min_wrapping_ttl
    ):
        existing.min_wrapping_ttl = new.min_wrapping_ttl
    existing.allowed_parameters = _merge_params(existing.allowed_parameters, new.allowed_parameters)
    existing.denied_parameters = _merge_params(existing.denied_parameters, new.denied_parameters)
    for name in new.required_parameters:
        if name not in existing.required_parameters:
            existing.required_parameters.append(name)


def _merge_params(
    existing: dict[str, list[Any]] | None, new: dict[str, list[Any]] | None
) -> dict[str, list[Any]] | None:
    if not new:
        return existing
    if existing is None:
        return {k: list(v) for k, v in new.items()}
    for key, values in new.items():
        current = existing.get(key)
        if not values or (current is not None and not current):
            existing[key] = []  # an empty list on either side allows any value
        else:
            existing[key] = [*values, *(current or [])]
    return existing


# ---------------------------------------------------------------------------
# Parameter constraints


def _parameters_allowed(perms: Permissions, data: Mapping[str, Any]) -> bool:
    for name in perms.required_parameters:
        if name.lower() not in data:
            return False
    if not data:
        return True
    denied = perms.denied_parameters
    if denied:
        if "*" in denied:
            return False
        for key, value in data.items():
            values = denied.get(key.lower())
            if values is not None and _value_in(value, values):
                return False
    allowed = perms.allowed_parameters
    if not allowed:
        return True
    allow_any = "*" in allowed
    if allow_any and len(allowed) == 1:
        return True
    for key, value in data.items():
        values = allowed.get(key.lower())
        if values is None:
            if allow_any:
                continue
            return False
        if not _value_in(value, values):
            return False
    return True


def _value_in(value: Any, candidates: list[Any]) -> bool:
    if not candidates:
        return True  # an empty list allows (or denies) any value
    for candidate in candidates:
        if candidate is None or value is None:
            if candidate is value:
                return True
        elif isinstance(candidate, str) and isinstance(value, str):
            if _glob_match(candidate, value):
                return True
        elif _deep_equal(candidate, value):
            return True
    return False


def _glob_match(pattern: str, value: str) -> bool:
    if len(pattern) < 2:
        return value == pattern
    head, tail = pattern.startswith("*"), pattern.endswith("*")
    if head and tail:
        return pattern[1:-1] in value
    if head:
        return value.endswith(pattern[1:])
    if tail:
        return value.startswith(pattern[:-1])
    return value == pattern


def _deep_equal(policy_value: Any, request_value: Any) -> bool:
    """Go's reflect.DeepEqual between a policy value and a decoded request value.

    Request numbers arrive as json.Number in Vault, a different type from the
    policy's int64/float64, so numbers never compare equal.
    """
    if isinstance(policy_value, bool) or isinstance(request_value, bool):
        return type(policy_value) is type(request_value) and policy_value == request_value
    if isinstance(policy_value, int | float | JsonNumber) or isinstance(
        request_value, int | float | JsonNumber
    ):
        return False
    if isinstance(policy_value, str) or isinstance(request_value, str):
        return policy_value == request_value
    if isinstance(policy_value, list) and isinstance(request_value, list):
        return len(policy_value) == len(request_value) and all(
            _deep_equal(a, b) for a, b in zip(policy_value, request_value, strict=True)
        )
    if isinstance(policy_value, dict) and isinstance(request_value, dict):
        return policy_value.keys() == request_value.keys() and all(
            _deep_equal(policy_value[k], request_value[k]) for k in policy_value
        )
    return policy_value is None and request_value is None
