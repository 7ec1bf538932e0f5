"""ACL policies: stored below the barrier, held parsed and compiled in memory.

Policies are few and read on every request, so all of them are loaded at
unseal and kept in memory; a request never reads storage for them. The store
also caches the compiled `ACL` of each distinct set of policy names, so a
token's check is a dict lookup followed by the ACL's own lookups. Any write
or delete drops those compiled sets: the next request sees the change.

Storage layout below the store's view (`sys/policy/`): one JSON record per
policy, keyed by its lowercased name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from strongroom.core.acl import ACL, ROOT_ACL
from strongroom.core.errors import BadRequest
from strongroom.core.policy import Policy, PolicyParseError, parse_policy
from strongroom.core.timefmt import rfc3339
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Storage

log = logging.getLogger(__name__)

ROOT_POLICY = "root"
DEFAULT_POLICY = "default"
# Compiled ACLs kept for distinct policy sets; past this the cache starts over.
ACL_CACHE_LIMIT = 4096

# Vault's built-in default policy, byte for byte as OpenBao 2.7 writes it at
# initialization (an edited copy is kept as the operator left it).
DEFAULT_POLICY_TEXT = """
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"""


@dataclass
class StoredPolicy:
    name: str
    raw: str
    version: int = 0
    modified: str = ""  # RFC3339Nano; "" for root
    cas_required: bool = False
    compiled: Policy = field(default_factory=lambda: Policy("", "", []), repr=False)

    def to_json(self) -> bytes:
        return dumps_compact(
            {
                "name": self.name,
                "raw": self.raw,
                "version": self.version,
                "modified": self.modified,
                "cas_required": self.cas_required,
            }
        )


def normalize_name(name: str) -> str:
    return name.strip().lower()


class PolicyStore:
    """Every ACL policy of the server, plus the compiled-ACL cache."""

    def __init__(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self._storage = storage
        self._clock = clock
        self._policies: dict[str, StoredPolicy] = {}
        self._acls: dict[tuple[str, ...], ACL] = {}
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ lifecycle
    async def load(self) -> None:
        """Read every stored policy (at unseal); create `default` if missing."""
        policies: dict[str, StoredPolicy] = {}
        after = ""
        while True:
            keys = await self._storage.scan("", after)
            if not keys:
                break
            for key in keys:
                raw = await self._storage.get(key)
                if raw is None:
                    continue
                record = loads(raw)
                try:
                    compiled = parse_policy(record["raw"], record["name"])
                except PolicyParseError as err:
                    log.error("policy store: cannot parse stored policy %r: %s", key, err)
                    continue
                policies[record["name"]] = StoredPolicy(
                    name=record["name"],
                    raw=record["raw"],
                    version=int(record.get("version") or 0),
                    modified=record.get("modified") or "",
                    cas_required=bool(record.get("cas_required")),
                    compiled=compiled,
                )
            after = keys[-1]
        self._policies = policies
        self._acls.clear()
        if DEFAULT_POLICY not in policies:
            await self.put(DEFAULT_POLICY, DEFAULT_POLICY_TEXT, parse_policy(DEFAULT_POLICY_TEXT))

    # ------------------------------------------------------------ queries
    def exists(self, name: str) -> bool:
        return name == ROOT_POLICY or name in self._policies

    def names(self) -> list[str]:
        """Stored policy names in the order OpenBao lists them, then `root`."""
        names = sorted(self._policies, key=lambda n: (n.count("/"), n))
        return [*names, ROOT_POLICY]

    def get(self, name: str) -> StoredPolicy | None:
        name = normalize_name(name)
        if name == ROOT_POLICY:
            return StoredPolicy(ROOT_POLICY, "")
        return self._policies.get(name)

    def acl(self, names: Sequence[str]) -> ACL:
        """The compiled ACL of a token's policies (cached per distinct set)."""
        key = tuple(names)
        acl = self._acls.get(key)
        if acl is None:
            if ROOT_POLICY in key:
                acl = ROOT_ACL
            else:
                acl = ACL(self._policies[n].compiled for n in key if n in self._policies)
            if len(self._acls) >= ACL_CACHE_LIMIT:
                self._acls.clear()
            self._acls[key] = acl
        return acl

    # ------------------------------------------------------------ changes
    async def put(
        self,
        name: str,
        raw: str,
        compiled: Policy,
        *,
        cas: int | None = None,
        cas_required: bool = False,
    ) -> None:
        """Store a parsed policy, honouring check-and-set."""
        name = normalize_name(name)
        if name == ROOT_POLICY:
            raise BadRequest('cannot update "root" policy')
        async with self._lock:
            existing = self._policies.get(name)
            if cas is None:
                if cas_required or (existing is not None and existing.cas_required):
                    raise BadRequest("check-and-set parameter required for this call")
            elif existing is not None:
                if cas == -1:
                    raise BadRequest("check-and-set parameter set to -1 on existing entry")
                if cas != existing.version:
                    raise BadRequest(
                        f"check-and-set parameter {cas} did not match the current version "
                        f"{existing.version}"
                    )
            elif cas not in (-1, 0):
                raise BadRequest(
                    f"check-and-set parameter {cas} did not match the current version 0"
                )
            compiled.name = name
            entry = StoredPolicy(
                name=name,
                raw=raw,
                version=(existing.version if existing is not None else 0) + 1,
                modified=rfc3339(self._clock()),
                cas_required=cas_required,
                compiled=compiled,
            )
            await self._storage.put(name, entry.to_json())
            self._policies[name] = entry
            self._acls.clear()

    async def delete(self, name: str) -> None:
        name = normalize_name(name)
        if name == ROOT_POLICY:
            raise BadRequest('cannot delete "root" policy')
        if name == DEFAULT_POLICY:
            raise BadRequest("cannot delete default policy")
        async with self._lock:
            await self._storage.delete(name)
            self._policies.pop(name, None)
            self._acls.clear()
