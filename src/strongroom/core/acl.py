"""Access decisions for a request.

Until the policy language lands (its own issue), a non-root token is held to
Vault's built-in `default` policy, written out below, so that no token is ever
given more than Vault would give it.
"""

from __future__ import annotations

from strongroom.core.request import Operation

# Exact paths of Vault's default policy, with the capabilities they grant.
_DEFAULT_EXACT: dict[str, frozenset[str]] = {
    "auth/token/lookup-self": frozenset({"read"}),
    "auth/token/renew-self": frozenset({"update"}),
    "auth/token/revoke-self": frozenset({"update"}),
    "sys/capabilities-self": frozenset({"update"}),
    "sys/internal/ui/resultant-acl": frozenset({"read"}),
    "sys/leases/renew": frozenset({"update"}),
    "sys/leases/lookup": frozenset({"update"}),
    "sys/wrapping/wrap": frozenset({"update"}),
    "sys/wrapping/lookup": frozenset({"update"}),
    "sys/wrapping/unwrap": frozenset({"update"}),
    "sys/tools/hash": frozenset({"update"}),
}
_DEFAULT_PREFIX: dict[str, frozenset[str]] = {
    "cubbyhole/": frozenset({"create", "read", "update", "delete", "list"}),
    "sys/tools/hash/": frozenset({"update"}),
}


def capability_for(operation: Operation) -> str:
    return operation.value


def default_policy_allows(operation: Operation, path: str) -> bool:
    cap = capability_for(operation)
    caps = _DEFAULT_EXACT.get(path)
    if caps is None and operation is Operation.LIST:
        caps = _DEFAULT_EXACT.get(path.rstrip("/"))
    if caps is None:
        for prefix, granted in _DEFAULT_PREFIX.items():
            if path.startswith(prefix):
                caps = granted
                break
    return caps is not None and cap in caps


def has_any_access(policies: list[str], path: str) -> bool:
    """Whether a token may see a mount at all (the CLI's preflight check)."""
    if "root" in policies:
        return True
    return "default" in policies and path.startswith("cubbyhole/")
