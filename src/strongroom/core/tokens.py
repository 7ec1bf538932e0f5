"""The token store: token entries, their indexes, TTL rules and revocation.

Tokens are never stored in the clear. Every key and index uses the token's
salted hash (HMAC-SHA256 under a random per-store salt), so a copy of the
storage cannot be replayed as credentials. Layout below the store's view:

    salt                               the HMAC key (random, created once)
    id/<hash>                          the TokenEntry (JSON, without the raw token)
    accessor/<accessor>                -> <hash>
    parent/<parent hash>/<child hash>  empty; the revocation tree
    roles/<name>                       token roles (see token_paths)

Authenticating a request is the hottest path of the server, so entries are
cached in memory (salted hash -> entry, write-through, dropped on
revocation) and a cache hit costs no storage read at all.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from strongroom.core.context import SystemView
from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.ids import base62
from strongroom.core.ttl import TTLInputs, calculate_ttl
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Op, Storage

if TYPE_CHECKING:
    from strongroom.core.request import Request
    from strongroom.framework.backend import Backend

log = logging.getLogger(__name__)

# Vault-style service tokens: "hvs." and 33 base62 characters, which carry
# more than 24 random bytes (62**33 > 2**192); accessors stay 24 characters.
SERVICE_PREFIX = "hvs."
TOKEN_BODY_LENGTH = 33
TOKEN_LENGTH = 24
# num_uses of a token whose last use is in progress or whose revocation has
# started: lookups treat it as gone (Vault's tokenRevocationPending).
REVOCATION_PENDING = -1
RESPONSE_WRAPPING_POLICY = "response-wrapping"

SALT_KEY = "salt"
ID_PREFIX = "id/"
ACCESSOR_PREFIX = "accessor/"
PARENT_PREFIX = "parent/"
ROLES_PREFIX = "roles/"

CUSTOM_ID_WARNING = (
    "Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more "
    "secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to "
    "less secure lookups."
)

RevokeHook = Callable[["TokenEntry"], Awaitable[None]]
MAX_REMEMBERED_HASHES = 65536
MAX_CACHED_TOKENS = 16384


@dataclass(slots=True)
class TokenEntry:
    """One service token. `id` (the raw token) lives in memory only."""

    accessor: str
    policies: list[str]
    path: str
    display_name: str = "token"
    meta: dict[str, str] | None = None
    num_uses: int = 0
    creation_time: float = 0.0  # unix seconds
    ttl: int = 0  # TTL granted at creation (lookup's creation_ttl)
    explicit_max_ttl: int = 0
    period: int = 0
    renewable: bool = False
    type: str = "service"
    entity_id: str = ""
    parent_hash: str = ""  # "" = orphan
    expire_time: float | None = None  # None = never expires
    issue_time: float = 0.0  # 0 = no lease (the initial root token from sys/init)
    last_renewal: float | None = None
    cubbyhole_id: str = ""
    hash: str = ""  # salted hash of the token = storage key
    role: str = ""
    # Backend limits kept for renewals: the TTL a renewal without increment
    # grants, and the backend's max TTL (auth-method logins; 0 = none).
    renew_ttl: int = 0
    max_ttl: int = 0
    id: str = field(default="", repr=False, compare=False)  # runtime only, never stored

    @property
    def orphan(self) -> bool:
        return self.parent_hash == ""

    def is_root(self) -> bool:
        return "root" in self.policies

    def expired(self, now: float) -> bool:
        return self.expire_time is not None and now >= self.expire_time

    def to_json(self) -> bytes:
        # Every field is plain JSON data: no copy needed (asdict deep-copies).
        return dumps_compact({name: getattr(self, name) for name in _STORED_FIELDS})

    @classmethod
    def from_json(cls, raw: bytes) -> TokenEntry:
        doc = loads(raw)
        values = {k: v for k, v in doc.items() if k in _STORED_FIELDS}
        # Floats come back from jsonutil as exact JsonNumber literals.
        for name in ("creation_time", "issue_time"):
            values[name] = float(values.get(name) or 0)
        for name in ("expire_time", "last_renewal"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        return cls(**values)


_STORED_FIELDS = tuple(f.name for f in fields(TokenEntry) if f.name != "id")


@dataclass
class TokenRole:
    """A token role (auth/token/roles/<name>); TTLs in seconds."""

    name: str
    allowed_policies: list[str] = field(default_factory=list)
    disallowed_policies: list[str] = field(default_factory=list)
    allowed_policies_glob: list[str] = field(default_factory=list)
    disallowed_policies_glob: list[str] = field(default_factory=list)
    orphan: bool = False
    renewable: bool = True
    path_suffix: str = ""
    token_type: str = "default-service"
    token_period: int = 0
    token_explicit_max_ttl: int = 0
    token_no_default_policy: bool = False
    token_num_uses: int = 0
    token_bound_cidrs: list[str] = field(default_factory=list)
    allowed_entity_aliases: list[str] | None = None
    # Legacy fields, kept so a read shows what was written.
    period: int = 0
    explicit_max_ttl: int = 0
    bound_cidrs: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return dumps_compact(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> TokenRole:
        doc = loads(raw)
        known = {f.name for f in fields(cls)}
        role = cls(**{k: v for k, v in doc.items() if k in known})
        # Roles written with only the legacy fields still limit tokens.
        role.token_period = role.token_period or role.period
        role.token_explicit_max_ttl = role.token_explicit_max_ttl or role.explicit_max_ttl
        return role

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "allowed_entity_aliases": self.allowed_entity_aliases,
            "allowed_policies": self.allowed_policies,
            "allowed_policies_glob": self.allowed_policies_glob,
            "disallowed_policies": self.disallowed_policies,
            "disallowed_policies_glob": self.disallowed_policies_glob,
            "explicit_max_ttl": self.explicit_max_ttl,
            "name": self.name,
            "orphan": self.orphan,
            "path_suffix": self.path_suffix,
            "period": self.period,
            "renewable": self.renewable,
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_no_default_policy": self.token_no_default_policy,
            "token_period": self.token_period,
            "token_type": self.token_type,
        }
        if self.token_bound_cidrs:
            out["token_bound_cidrs"] = self.token_bound_cidrs
        if self.bound_cidrs:
            out["bound_cidrs"] = self.bound_cidrs
        if self.token_num_uses > 0:
            out["token_num_uses"] = self.token_num_uses
        return dict(sorted(out.items()))


# ---------------------------------------------------------------------------
# Policy list helpers (Vault's policyutil semantics)


def dedupe_lower(items: Iterable[str]) -> list[str]:
    """Trimmed, lowercased, without empties and duplicates, sorted."""
    return sorted({item.strip().lower() for item in items if item.strip()})


def sanitize_policies(policies: Iterable[str], add_default: bool) -> list[str]:
    """Normalise a policy list; `root` swallows everything else."""
    cleaned = dedupe_lower(policies)
    if "root" in cleaned:
        return ["root"]
    if add_default and "default" not in cleaned:
        cleaned.append("default")
    return sorted(cleaned)


def glob_match(pattern: str, value: str) -> bool:
    """`*` matches any run of characters (go-glob semantics, no other wildcards)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    if not value.startswith(parts[0]):
        return False
    pos = len(parts[0])
    for middle in parts[1:-1]:
        found = value.find(middle, pos)
        if found < 0:
            return False
        pos = found + len(middle)
    return value.endswith(parts[-1]) and len(value) - len(parts[-1]) >= pos


def matches_any_glob(patterns: Iterable[str], value: str) -> bool:
    return any(glob_match(p, value) for p in patterns)


# ---------------------------------------------------------------------------
# TTLs (spec §3.4; also what the lease manager uses)


# ---------------------------------------------------------------------------
# The store


def _now(system: SystemView) -> float:
    return system.clock().timestamp()


def _service_token() -> str:
    return SERVICE_PREFIX + base62(TOKEN_BODY_LENGTH)


@dataclass
class TokenParams:
    """What a caller asks of a new token; `new_entry` applies the TTL rules to it.

    `ttl` is the requested/backend TTL (0 = mount default), `max_ttl` the
    backend's max, `period`/`explicit_max_ttl` the effective values.
    """

    policies: Iterable[str]
    path: str
    display_name: str = "token"
    meta: dict[str, str] | None = None
    parent: TokenEntry | None = None
    add_default_policy: bool = True
    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    renewable: bool = True
    entity_id: str = ""
    role: str = ""


class TokenStore:
    """Creates, finds, renews and revokes tokens. One per unsealed core."""

    def __init__(self, storage: Storage, system: SystemView) -> None:
        self._storage = storage
        self.system = system
        self._salt = b""
        # Recently used entries by hash. Bounded: every entry held here is work for
        # each full garbage collection, and a miss is one storage read.
        self._cache: OrderedDict[str, TokenEntry] = OrderedDict()
        # Raw token -> salted hash: the HMAC is the costliest step of a cached lookup.
        self._hashes: dict[str, str] = {}
        # Bumped by every revocation: a lookup whose storage read overlapped
        # one reads again, so a revoked entry is never put back in the cache.
        self._epoch = 0
        self._tidy_task: asyncio.Task[None] | None = None
        # Called for every revoked token, in order (cubbyhole, then leases, ...).
        self.on_revoke: list[RevokeHook] = []
        # Called once a new token is stored (the lease manager indexes its expiry).
        self.on_create: list[RevokeHook] = []
        self.on_renew: list[RevokeHook] = []
        # Set by the core once policies exist; None = no "does not exist" warnings.
        self.policy_exists: Callable[[str], bool] | None = None
        # Root-or-sudo check for create/no_parent/id/period/revoke-orphan;
        # None = the caller must hold the root policy.
        self.sudo_check: Callable[[Request], bool] | None = None
        # (default, max) TTL for tokens created at a path (auth mount tuning);
        # None = the system values.
        self.mount_ttls: Callable[[str], tuple[int, int]] | None = None

    # ------------------------------------------------------------ lifecycle
    async def setup(self) -> None:
        """Load the salt, creating it on first use. Entries load lazily."""
        raw = await self._storage.get(SALT_KEY)
        if raw is None:
            raw = secrets.token_hex(32).encode()
            await self._storage.put(SALT_KEY, raw)
        self._salt = raw
        self._cache.clear()
        self._hashes.clear()

    def invalidate(self) -> None:
        """Forget every cached entry (seal, or storage changed underneath)."""
        self._cache.clear()
        self._epoch += 1

    def salted(self, value: str) -> str:
        """HMAC-SHA256 of a token (or accessor) under the store's salt, hex."""
        return hmac.digest(self._salt, value.encode(), "sha256").hex()

    def now(self) -> float:
        return _now(self.system)

    def ttl_defaults(self, path: str) -> tuple[int, int]:
        """(default, max) TTL that applies to tokens created at `path`."""
        if self.mount_ttls is not None:
            return self.mount_ttls(path)
        return self.system.default_lease_ttl, self.system.max_lease_ttl

    # ------------------------------------------------------------ lookups
    async def lookup(self, token: str, *, allow_pending: bool = False) -> TokenEntry | None:
        """The live entry for a raw token, or None (unknown, expired, revoked).

        A cache hit costs no storage read. `allow_pending` also returns a
        token on its last use (num_uses -1), as lookups inside that request do.
        """
        if not token:
            return None
        token_hash = self._hashes.get(token)
        if token_hash is None:
            token_hash = self.salted(token)
            if len(self._hashes) >= MAX_REMEMBERED_HASHES:
                self._hashes.clear()
            self._hashes[token] = token_hash
        entry = await self._entry(token_hash)
        if entry is None or not self._usable(entry, allow_pending):
            return None
        entry.id = token
        return entry

    async def lookup_accessor(
        self, accessor: str, *, allow_pending: bool = False
    ) -> TokenEntry | None:
        """The live entry behind an accessor. Its `id` is only set if known."""
        if not accessor or "/" in accessor:
            return None
        raw = await self._storage.get(ACCESSOR_PREFIX + accessor)
        if raw is None:
            return None
        entry = await self._entry(raw.decode())
        if entry is None or not self._usable(entry, allow_pending):
            return None
        return entry

    def _usable(self, entry: TokenEntry, allow_pending: bool) -> bool:
        if entry.num_uses < 0 and not allow_pending:
            return False
        return not entry.expired(self.now())

    async def entry_by_hash(self, token_hash: str) -> TokenEntry | None:
        """A stored token by its salted hash (the lease manager keeps only hashes)."""
        return await self._entry(token_hash)

    async def _entry(self, token_hash: str) -> TokenEntry | None:
        cached = self._cache.get(token_hash)
        if cached is not None:
            self._cache.move_to_end(token_hash)
            return cached
        while True:
            epoch = self._epoch
            raw = await self._storage.get(ID_PREFIX + token_hash)
            if epoch == self._epoch:
                break
        if raw is None:
            return None
        # Two concurrent misses must end up sharing one object (use counts).
        entry = self._cache.setdefault(token_hash, TokenEntry.from_json(raw))
        self._trim()
        return entry

    def _trim(self) -> None:
        """Keep at most MAX_CACHED_TOKENS; limited-use tokens stay (their counts live here)."""
        cache = self._cache
        for _ in range(len(cache) - MAX_CACHED_TOKENS):
            token_hash, entry = cache.popitem(last=False)
            if entry.num_uses != 0:
                cache[token_hash] = entry  # to the young end; try the next oldest

    async def _save(self, entry: TokenEntry) -> None:
        await self._storage.put(ID_PREFIX + entry.hash, entry.to_json())

    # ------------------------------------------------------------ use counts
    async def use(self, entry: TokenEntry) -> bool:
        """Count one use of a limited-use token; False if none is left.

        The last use leaves num_uses at -1: the token still serves the
        current request (lookup-self shows -1) but no other; the core must
        then call `revoke_tree(entry)` once the request is done.
        """
        if entry.num_uses == 0:
            return True
        target = self._cache.get(entry.hash, entry)
        if target.num_uses < 0:
            return False
        target.num_uses = REVOCATION_PENDING if target.num_uses == 1 else target.num_uses - 1
        entry.num_uses = target.num_uses
        await self._save(target)
        return True

    # ------------------------------------------------------------ creation
    def new_entry(self, params: TokenParams, warnings: list[str] | None = None) -> TokenEntry:
        """Build (not store) an entry, applying the TTL rules of §3.4.

        `ttl` is the requested/backend TTL (0 = mount default), `max_ttl` the
        backend's max, `period`/`explicit_max_ttl` the effective values.
        Warnings (TTL capping) are appended to `warnings`.
        """
        p = params
        path, ttl, max_ttl, period = p.path, p.ttl, p.max_ttl, p.period
        explicit_max_ttl, num_uses, renewable = p.explicit_max_ttl, p.num_uses, p.renewable
        parent = p.parent
        if num_uses < 0:
            raise BadRequest("number of uses cannot be negative")
        final = sanitize_policies(p.policies, p.add_default_policy)
        if RESPONSE_WRAPPING_POLICY in final:
            raise BadRequest(f'cannot assign policy "{RESPONSE_WRAPPING_POLICY}"')
        now = self.now()
        default_ttl, mount_max = self.ttl_defaults(path)
        granted = 0
        # Root tokens asked for without any TTL never expire.
        if period > 0 or ttl > 0 or "root" not in final:
            granted, ttl_warnings = calculate_ttl(
                TTLInputs(
                    backend_ttl=ttl,
                    period=period,
                    backend_max_ttl=max_ttl,
                    explicit_max_ttl=explicit_max_ttl,
                    default_ttl=default_ttl,
                    max_ttl=mount_max,
                    start=float(math.floor(now)),
                ),
                now,
            )
            if warnings is not None:
                warnings.extend(ttl_warnings)
        if granted == 0 and explicit_max_ttl > 0:
            granted = explicit_max_ttl  # root tokens are still bound by an explicit max
        if granted == 0:
            if parent is not None and parent.ttl != 0:
                raise BadRequest("expiring root tokens cannot create non-expiring root tokens")
            renewable = False  # renewing a token that never expires is refused anyway
        return TokenEntry(
            accessor="",
            policies=final,
            path=path,
            display_name=p.display_name,
            meta=p.meta,
            num_uses=num_uses,
            creation_time=now,
            ttl=granted,
            explicit_max_ttl=explicit_max_ttl,
            period=period,
            renewable=renewable,
            entity_id=p.entity_id,
            parent_hash=parent.hash if parent is not None else "",
            expire_time=now + granted if granted > 0 else None,
            issue_time=now,
            role=p.role,
            # The token store's renew hands back the lease's last TTL; auth
            # methods hand back their configured TTL (§3.4 "B").
            renew_ttl=granted if path.startswith("auth/token/") else ttl,
            max_ttl=max_ttl,
        )

    async def persist_new(self, entry: TokenEntry, token_id: str | None = None) -> str:
        """Give the entry its token, accessor and cubbyhole, store it, return the token.

        A caller-chosen `token_id` gets the API's checks (no `s.`/`hvs.`
        prefix, no dot, not in use).
        """
        if token_id is None:
            return await self._store_new(entry, _service_token())
        await self._check_custom_id(token_id)
        return await self._store_new(entry, token_id)

    async def _store_new(self, entry: TokenEntry, token: str) -> str:
        entry.id = token
        entry.hash = self.salted(token)
        entry.accessor = base62(TOKEN_LENGTH)
        entry.cubbyhole_id = base62(TOKEN_LENGTH)
        ops: list[Op] = []
        if entry.parent_hash:
            # One atomic batch: a child never exists outside its parent's
            # revocation tree.
            ops.append(Op(f"{PARENT_PREFIX}{entry.parent_hash}/{entry.hash}", b""))
        ops.append(Op(ACCESSOR_PREFIX + entry.accessor, entry.hash.encode()))
        ops.append(Op(ID_PREFIX + entry.hash, entry.to_json()))
        await self._storage.batch(ops)
        self._cache[entry.hash] = entry
        self._trim()
        for hook in self.on_create:
            await hook(entry)
        return token

    async def _check_custom_id(self, token_id: str) -> None:
        if token_id.startswith("hvs."):
            raise BadRequest("custom token ID cannot have the 'hvs.' prefix")
        if token_id.startswith("s."):
            raise BadRequest("custom token ID cannot have the 's.' prefix")
        if "." in token_id:
            raise BadRequest("custom token ID cannot have a '.' in the value")
        if await self._entry(self.salted(token_id)) is not None:
            raise BadRequest("cannot create a token with a duplicate ID")

    async def create(
        self,
        params: TokenParams,
        token_id: str | None = None,
        warnings: list[str] | None = None,
    ) -> tuple[str, TokenEntry]:
        """Create and store a service token (token endpoints, auth-method logins)."""
        entry = self.new_entry(params, warnings)
        token = await self.persist_new(entry, token_id)
        return token, entry

    async def create_root_token(
        self,
        token_id: str | None = None,
        *,
        path: str = "auth/token/root",
        display_name: str = "root",
    ) -> str:
        """A root token: policies ["root"], orphan, no TTL, not renewable."""
        entry = self.new_entry(
            TokenParams(["root"], path=path, display_name=display_name, renewable=False)
        )
        if path == "auth/token/root":
            # The token sys/init generates has no lease in Vault: lookups show
            # neither issue_time nor renewable for it.
            entry.issue_time = 0.0
        if token_id is None:
            return await self._store_new(entry, _service_token())
        # Internal callers (dev mode's -dev-root-token-id) may pick any id.
        if await self._entry(self.salted(token_id)) is not None:
            raise BadRequest("cannot create a token with a duplicate ID")
        return await self._store_new(entry, token_id)

    # ------------------------------------------------------------ renewal
    async def renew(self, entry: TokenEntry, increment: int = 0) -> tuple[int, list[str]]:
        """Extend a token's lease per §3.4; returns (granted TTL, warnings)."""
        now = self.now()
        if entry.expire_time is None or entry.issue_time == 0:
            raise BadRequest("lease is not renewable")
        if entry.expired(now):
            raise BadRequest("lease expired")
        if not entry.renewable:
            raise BadRequest("lease is not renewable")
        period, explicit_max = entry.period, entry.explicit_max_ttl
        if entry.role:
            # Role tokens follow the role as it is now, as Vault's renew does.
            role = await self.get_role(entry.role)
            if role is None:
                raise VaultError(
                    f'original token role "{entry.role}" could not be found, not renewing'
                )
            period, explicit_max = role.token_period, role.token_explicit_max_ttl
        default_ttl, mount_max = self.ttl_defaults(entry.path)
        ttl, warnings = calculate_ttl(
            TTLInputs(
                increment=increment,
                backend_ttl=entry.renew_ttl,
                period=period,
                backend_max_ttl=entry.max_ttl,
                explicit_max_ttl=explicit_max,
                default_ttl=default_ttl,
                max_ttl=mount_max,
                start=entry.issue_time,
            ),
            now,
        )
        entry.expire_time = now + ttl
        entry.last_renewal = now
        if entry.path.startswith("auth/token/"):
            entry.renew_ttl = ttl
        await self._save(entry)
        for hook in self.on_renew:
            await hook(entry)
        return ttl, warnings

    # ------------------------------------------------------------ revocation
    async def revoke_tree(self, entry: TokenEntry) -> None:
        """Revoke a token and every descendant, children before parents.

        Iterative depth-first walk over the parent index, so deep trees need
        no recursion; index entries that point back into the walk (cycles)
        or at tokens already gone are dropped instead of followed.
        """
        stack = [entry.hash]
        seen = {entry.hash}
        while stack:
            current = stack[-1]
            children = await self._children(current)
            fresh = [c for c in children if c not in seen]
            if fresh:
                seen.update(fresh)
                stack.extend(fresh)
                continue
            stack.pop()
            for stale in children:  # revoked children remove their own index entry
                await self._storage.delete(f"{PARENT_PREFIX}{current}/{stale}")
            await self._revoke_one(current, orphan_children=False)

    async def revoke_orphan(self, entry: TokenEntry) -> None:
        """Revoke only this token; its children become orphans."""
        await self._revoke_one(entry.hash, orphan_children=True)

    async def _children(self, token_hash: str) -> list[str]:
        names = await self._storage.list(f"{PARENT_PREFIX}{token_hash}/")
        return [n for n in names if not n.endswith("/")]

    async def _revoke_one(self, token_hash: str, *, orphan_children: bool) -> None:
        entry = await self._entry(token_hash)
        if entry is None:
            return
        # Mark first (and durably): from here on no lookup accepts the token,
        # even if a hook fails or the server stops before the deletes.
        if entry.num_uses != REVOCATION_PENDING:
            entry.num_uses = REVOCATION_PENDING
            await self._save(entry)
        self._epoch += 1
        for hook in self.on_revoke:
            await hook(entry)
        if orphan_children:
            for child_hash in await self._children(token_hash):
                child = await self._entry(child_hash)
                if child is not None:
                    child.parent_hash = ""
                    await self._save(child)
                await self._storage.delete(f"{PARENT_PREFIX}{token_hash}/{child_hash}")
        ops = []
        if entry.parent_hash:
            ops.append(Op(f"{PARENT_PREFIX}{entry.parent_hash}/{token_hash}", None))
        if entry.accessor:
            ops.append(Op(ACCESSOR_PREFIX + entry.accessor, None))
        ops.append(Op(ID_PREFIX + token_hash, None))
        await self._storage.batch(ops)
        self._cache.pop(token_hash, None)
        self._epoch += 1

    async def move_path(self, token_hash: str, path: str) -> None:
        """A remount moved the mount that issued a token: its creation path follows."""
        entry = await self._entry(token_hash)
        if entry is not None and entry.path != path:
            entry.path = path
            await self._save(entry)

    # ------------------------------------------------------------ listing, tidy
    async def list_accessors(self) -> list[str]:
        return [n for n in await self._storage.list(ACCESSOR_PREFIX) if not n.endswith("/")]

    async def revoke_expired(self) -> int:
        """Revoke (with their trees) tokens past expire_time; returns how many."""
        now = self.now()
        count = 0
        for token_hash in await self._stored_hashes():
            raw = await self._storage.get(ID_PREFIX + token_hash)
            if raw is None:
                continue
            entry = TokenEntry.from_json(raw)
            # A pending mark on a token no request of this process holds is a
            # revocation a previous run did not finish.
            unfinished = entry.num_uses == REVOCATION_PENDING and token_hash not in self._cache
            if entry.expired(now) or unfinished:
                await self.revoke_tree(self._cache.get(token_hash, entry))
                count += 1
        return count

    async def _stored_hashes(self) -> list[str]:
        return [n for n in await self._storage.list(ID_PREFIX) if not n.endswith("/")]

    async def tidy(self) -> None:
        """Revoke expired tokens and drop index entries that point nowhere."""
        await self.revoke_expired()
        for accessor in await self.list_accessors():
            raw = await self._storage.get(ACCESSOR_PREFIX + accessor)
            if raw is None or not await self._exists(raw.decode()):
                await self._storage.delete(ACCESSOR_PREFIX + accessor)
        for folder in await self._storage.list(PARENT_PREFIX):
            parent_hash = folder.rstrip("/")
            parent_alive = await self._exists(parent_hash)
            for child_hash in await self._children(parent_hash):
                child = await self._entry(child_hash)
                if child is not None and not parent_alive and child.parent_hash == parent_hash:
                    child.parent_hash = ""
                    await self._save(child)
                if child is None or not parent_alive:
                    await self._storage.delete(f"{PARENT_PREFIX}{parent_hash}/{child_hash}")

    async def _exists(self, token_hash: str) -> bool:
        # A scan over every token should not pull them all into the cache.
        if token_hash in self._cache:
            return True
        return await self._storage.get(ID_PREFIX + token_hash) is not None

    def start_tidy(self) -> bool:
        """Run tidy in the background; False when one is already running."""
        if self._tidy_task is not None and not self._tidy_task.done():
            return False
        self._tidy_task = asyncio.get_running_loop().create_task(self._tidy_logged())
        return True

    async def _tidy_logged(self) -> None:
        log.info("token tidy: starting")
        try:
            await self.tidy()
        except Exception:
            log.exception("token tidy: failed")
        else:
            log.info("token tidy: finished")

    # ------------------------------------------------------------ roles
    async def get_role(self, name: str) -> TokenRole | None:
        raw = await self._storage.get(ROLES_PREFIX + name)
        return None if raw is None else TokenRole.from_json(raw)

    async def put_role(self, role: TokenRole) -> None:
        await self._storage.put(ROLES_PREFIX + role.name, role.to_json())

    async def delete_role(self, name: str) -> None:
        await self._storage.delete(ROLES_PREFIX + name)

    async def list_roles(self) -> list[str]:
        return [n for n in await self._storage.list(ROLES_PREFIX) if not n.endswith("/")]

    # ------------------------------------------------------------ API
    def backend(self) -> Backend:
        from strongroom.core.token_paths import build_backend

        return build_backend(self)
