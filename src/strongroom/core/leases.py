"""The expiration manager: every lease stored, indexed by when it is due, never forgotten.

Storage layout (below the barrier, in the view "sys/expire/"):

    id/<lease id>                       the Lease record
    exp/<due, 10-digit epoch>/<quoted id> expiry index, in time order
    token/<owner token hash>/<quoted id> a token's leases, for revoke-by-token

Unseal loads nothing: the scheduler pages through `exp/` oldest first, so a
million stored leases cost no memory until they are due, and leases that
expired while the server was down are simply the first page it reads.
A revocation that fails is rescheduled in the same index with capped,
jittered exponential backoff; the lease stays (and is listed, with its last
error) until its credential is gone or an operator forces it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from strongroom import jsonutil
from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.ids import base62
from strongroom.core.timefmt import rfc3339
from strongroom.core.ttl import TTLInputs, calculate_ttl
from strongroom.storage.base import Op, Storage

if TYPE_CHECKING:
    from strongroom.core.request import Request, Secret
    from strongroom.core.tokens import TokenEntry

log = logging.getLogger("strongroom.expiration")

LEASE_PREFIX = "id/"
EXPIRY_PREFIX = "exp/"
TOKEN_PREFIX = "token/"
PAGE = 500
BACKOFF_BASE = 2.0  # seconds before the first retry
BACKOFF_CAP = 15 * 60.0  # never wait longer than this between attempts
# Clocks read in microseconds; a due time computed in floats may sit a hair above.
CLOCK_SLACK = 0.001


@dataclass
class Lease:
    lease_id: str
    path: str  # the request path that created it (the mount routes its revocation)
    issue_time: float
    expire_time: float
    ttl: int
    renewable: bool
    token_hash: str = ""  # the owner token; for a token lease, the token itself
    is_token: bool = False
    secret_type: str = ""
    internal: dict[str, Any] = field(default_factory=dict)
    max_ttl: int = 0  # the hard limit, measured from issue_time
    last_renewal: float | None = None
    due: float = 0.0  # when the scheduler acts next: expiry, or the next retry
    revoking: bool = False
    attempts: int = 0
    last_error: str = ""

    def to_json(self) -> bytes:
        return jsonutil.dumps_compact(vars(self))  # fields are plain JSON data

    @classmethod
    def from_json(cls, raw: bytes) -> Lease:
        record = jsonutil.loads(raw)
        # jsonutil keeps float literals exact (JsonNumber); times are plain floats here.
        for name in ("issue_time", "expire_time", "due"):
            record[name] = float(record[name])
        if record.get("last_renewal") is not None:
            record["last_renewal"] = float(record["last_renewal"])
        return cls(**record)


# Characters quote() leaves alone; ids made only of these and "/" (all issued
# ids) take the fast path, with the very same result.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~/-]*")


def _quote_id(lease_id: str) -> str:
    if _PLAIN_ID.fullmatch(lease_id):
        return lease_id.replace("/", "%2F")
    return quote(lease_id, safe="")


def _expiry_key(due: float, lease_id: str) -> str:
    return f"{EXPIRY_PREFIX}{int(due):010d}/{_quote_id(lease_id)}"


def _token_key(token_hash: str, lease_id: str) -> str:
    return f"{TOKEN_PREFIX}{token_hash}/{_quote_id(lease_id)}"


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter on the upper half."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


class RevocationError(Exception):
    """The owning backend could not destroy the credential (yet)."""


# Revokes the credential a lease stands for; raises on failure.
Revoker = Callable[[Lease], Awaitable[None]]


@dataclass
class ExpirationConfig:
    # Revocations in flight at once per mount: a mass expiry must not flood a cloud API.
    per_mount_concurrency: int = 16
    page: int = PAGE
    # Revoked leases are deleted from storage in commits of this many. A crash
    # (not a seal) between a revocation and its commit revokes it again after
    # restart, so this bounds the repeats; backends' revoke must be idempotent.
    delete_batch: int = 64


class ExpirationManager:
    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float],
        revoke_secret: Revoker,
        revoke_token: Revoker,
        config: ExpirationConfig | None = None,
    ) -> None:
        self._storage = storage
        self._now = clock
        self._revoke_secret = revoke_secret
        self._revoke_token = revoke_token
        self.config = config or ExpirationConfig()
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._wake = asyncio.Event()
        # When the sleeping scheduler looks next (inf while it runs a pass): only a
        # lease due before then needs to wake it, not every new lease.
        self._wake_at = math.inf
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[str] = set()
        self._paused: dict[str, float] = {}  # mount -> time its revocations may resume

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="expiration")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            # Cleared before the pass: a lease registered during it wakes the next one.
            self._wake.clear()
            self._wake_at = math.inf
            try:
                await self.process_due()
                delay = await self._seconds_until_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("expiration: scheduler pass failed; retrying in 5s")
                delay = 5.0
            delay = min(delay, 60.0)
            self._wake_at = self._now() + delay
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    def _poke(self) -> None:
        self._wake.set()

    def _poke_for(self, due: float) -> None:
        """Wake the scheduler if it would otherwise sleep past `due`."""
        if due < self._wake_at:
            self._wake.set()

    async def _seconds_until_next(self) -> float:
        first = await self._storage.scan(EXPIRY_PREFIX, "", 1)
        if not first:
            return 60.0
        second, quoted = first[0].split("/", 1)
        now = self._now()
        if int(second) + 1 <= now:
            return 0.05  # overdue (e.g. skipped while another revocation held it)
        # The index has whole seconds; the record has the exact time.
        lease = await self.get(unquote(quoted))
        due = lease.due if lease is not None else float(second)
        return max(0.05, min(due, int(second) + 1) - now)

    # --------------------------------------------------------- registration
    async def register(
        self, req: Request, secret: Secret, default_ttl: int, max_ttl: int
    ) -> tuple[Lease, list[str]]:
        """Store a secret's lease before its credential leaves the server."""
        now = self._now()
        ttl, warnings = calculate_ttl(
            TTLInputs(
                backend_ttl=secret.ttl,
                backend_max_ttl=secret.max_ttl,
                default_ttl=default_ttl,
                max_ttl=max_ttl,
                start=now,
            ),
            now,
        )
        lease = Lease(
            lease_id=f"{req.path}/{base62()}",
            path=req.path,
            issue_time=now,
            expire_time=now + ttl,
            ttl=ttl,
            renewable=secret.renewable,
            token_hash=req.token.hash if req.token is not None else "",
            secret_type=str(secret.internal.get("secret_type", "")),
            internal=secret.internal,
            max_ttl=secret.max_ttl if 0 < secret.max_ttl < max_ttl else max_ttl,
            due=now + ttl,
        )
        ops = [
            Op(LEASE_PREFIX + lease.lease_id, lease.to_json()),
            Op(_expiry_key(lease.due, lease.lease_id), b""),
        ]
        if lease.token_hash:
            ops.append(Op(_token_key(lease.token_hash, lease.lease_id), b""))
        await self._storage.batch(ops)
        self._poke_for(lease.due)
        return lease, warnings

    async def register_token(self, entry: TokenEntry) -> None:
        """A token with a TTL gets a lease; its expiry revokes the token tree."""
        if entry.expire_time is None:
            return
        lease = Lease(
            lease_id=f"{entry.path}/h{entry.hash}",
            path=entry.path,
            issue_time=entry.creation_time,
            expire_time=entry.expire_time,
            ttl=entry.ttl,
            renewable=entry.renewable,
            token_hash=entry.hash,
            is_token=True,
            due=entry.expire_time,
        )
        await self._storage.batch(
            [
                Op(LEASE_PREFIX + lease.lease_id, lease.to_json()),
                Op(_expiry_key(lease.due, lease.lease_id), b""),
                Op(_token_key(entry.hash, lease.lease_id), b""),
            ]
        )
        self._poke_for(lease.due)

    async def token_renewed(self, entry: TokenEntry) -> None:
        """Follow a token renewal: its lease now ends at the token's new expiry."""
        lease = await self.get(f"{entry.path}/h{entry.hash}")
        if lease is None or entry.expire_time is None or lease.revoking:
            return
        now = self._now()
        lease.expire_time, lease.ttl, lease.last_renewal = entry.expire_time, entry.ttl, now
        await self._schedule(lease, entry.expire_time, revoking=False)

    # -------------------------------------------------------------- reading
    async def get(self, lease_id: str) -> Lease | None:
        raw = await self._storage.get(LEASE_PREFIX + lease_id)
        return Lease.from_json(raw) if raw is not None else None

    async def list(self, prefix: str) -> list[str]:
        return await self._storage.list(LEASE_PREFIX + prefix)

    async def count(self, *, irrevocable: bool = False) -> tuple[int, dict[str, int]]:
        """How many leases (or, with `irrevocable`, how many failing revocation), by mount."""
        total, after = 0, ""
        by_mount: dict[str, int] = {}
        while page := await self._storage.scan(LEASE_PREFIX, after, 5000):
            after = page[-1]
            for rest in page:
                if irrevocable:
                    lease = await self.get(rest)
                    if lease is None or not lease.revoking:
                        continue
                mount = rest.split("/", 1)[0] + "/"
                by_mount[mount] = by_mount.get(mount, 0) + 1
                total += 1
        return total, by_mount

    async def tidy(self) -> int:
        """Drop index entries whose lease record is gone; returns how many."""
        removed = 0
        for prefix in (EXPIRY_PREFIX, TOKEN_PREFIX):
            after = ""
            while page := await self._storage.scan(prefix, after, self.config.page):
                after = page[-1]
                for rest in page:
                    lease_id = unquote(rest.rsplit("/", 1)[1])
                    if await self._storage.get(LEASE_PREFIX + lease_id) is None:
                        await self._storage.delete(prefix + rest)
                        removed += 1
        log.info("expiration: tidy removed %d stale index entries", removed)
        return removed

    def lookup_data(self, lease: Lease) -> dict[str, Any]:
        now = self._now()
        data: dict[str, Any] = {
            "expire_time": rfc3339(lease.expire_time),
            "id": lease.lease_id,
            "issue_time": rfc3339(lease.issue_time),
            "last_renewal": rfc3339(lease.last_renewal) if lease.last_renewal else None,
        }
        if lease.is_token:
            data["path"] = lease.path
        data["renewable"] = lease.renewable and not lease.revoking and lease.expire_time >= now
        data["ttl"] = max(0, int(lease.expire_time - now))
        if lease.revoking:
            # strongroom's addition: why a credential is still around.
            data["revocation"] = {
                "attempts": lease.attempts,
                "last_error": lease.last_error or None,
                "next_attempt": rfc3339(lease.due),
            }
        return data

    # -------------------------------------------------------------- renewal
    def check_renewable(self, lease: Lease) -> None:
        """Refuse a renewal before any backend is asked (Vault's errors)."""
        if lease.is_token:
            raise BadRequest("tokens cannot be renewed through this endpoint")
        if not lease.renewable or lease.revoking:
            raise BadRequest("lease is not renewable")
        if lease.expire_time < self._now():
            raise BadRequest("lease expired")

    async def renew(
        self,
        lease: Lease,
        granted_ttl: int,
        increment: int,
        default_ttl: int,
        mount_max_ttl: int = 0,
    ) -> tuple[Lease, list[str]]:
        """Extend a lease; `granted_ttl` is what the backend allows (0 = increment/default).

        The cap is the lease's own max and the mount's max as tuned now, whichever
        is lower, so lowering a mount's max_lease_ttl also bounds renewals.
        """
        self.check_renewable(lease)
        now = self._now()
        limits = [v for v in (lease.max_ttl, mount_max_ttl) if v > 0]
        try:
            ttl, warnings = calculate_ttl(
                TTLInputs(
                    increment=granted_ttl or increment,
                    backend_ttl=lease.ttl,
                    default_ttl=default_ttl,
                    max_ttl=min(limits) if limits else default_ttl,
                    start=lease.issue_time,
                ),
                now,
            )
        except VaultError as err:
            raise BadRequest(str(err)) from None
        old_key = _expiry_key(lease.due, lease.lease_id)
        lease.expire_time, lease.ttl, lease.last_renewal, lease.due = now + ttl, ttl, now, now + ttl
        await self._storage.batch(
            [
                Op(old_key, None),
                Op(_expiry_key(lease.due, lease.lease_id), b""),
                Op(LEASE_PREFIX + lease.lease_id, lease.to_json()),
            ]
        )
        self._poke_for(lease.due)  # a renewal may shorten the lease
        return lease, warnings

    async def rename_prefix(self, src: str, dst: str) -> list[Lease]:
        """A remount: every lease below mount path `src` moves to `dst` (ids and paths).

        Returns the moved leases (token leases among them, whose tokens must
        follow). One batch per lease, so a crash leaves each lease whole.
        """
        ids = [lease_id async for page in self._pages(src) for lease_id in page]
        moved: list[Lease] = []
        for old_id in ids:
            lease = await self.get(old_id)
            if lease is None:
                continue
            new = Lease.from_json(lease.to_json())
            new.lease_id = dst + old_id[len(src) :]
            if new.path.startswith(src):
                new.path = dst + new.path[len(src) :]
            ops = _delete_ops(lease)
            ops.append(Op(LEASE_PREFIX + new.lease_id, new.to_json()))
            ops.append(Op(_expiry_key(new.due, new.lease_id), b""))
            if new.token_hash:
                ops.append(Op(_token_key(new.token_hash, new.lease_id), b""))
            await self._storage.batch(ops)
            moved.append(new)
        self._poke()
        return moved

    # ----------------------------------------------------------- revocation
    async def revoke(self, lease_id: str, *, sync: bool = True) -> None:
        """Destroy a lease's credential now (sync) or as soon as the scheduler runs."""
        lease = await self.get(lease_id)
        if lease is None:
            return
        if not sync:
            await self._queue(lease)
            return
        await self._attempt(lease_id, raise_errors=True)

    async def _queue(self, lease: Lease) -> None:
        """Hand a lease to the scheduler for revocation as soon as it runs."""
        if lease.lease_id in self._inflight:
            return  # being revoked right now
        await self._schedule(lease, self._now(), revoking=True)

    async def _pages(self, prefix: str) -> AsyncIterator[list[str]]:
        """Lease ids below `prefix`, a page at a time, with Vault's prefix rule.

        A prefix that does not end in "/" names one lease when such a lease
        exists, and otherwise a whole path segment: "aws/creds/dev" never
        reaches "aws/creds/dev-admin/…".
        """
        if prefix and not prefix.endswith("/"):
            if await self.get(prefix) is not None:
                yield [prefix]
                return
            prefix += "/"
        after = ""
        while page := await self._storage.scan(LEASE_PREFIX + prefix, after, self.config.page):
            after = page[-1]
            yield [prefix + rest for rest in page]

    async def revoke_prefix(
        self, prefix: str, *, sync: bool = True, progress: Callable[[int], None] | None = None
    ) -> int:
        """Revoke every lease below `prefix`, a page at a time, with bounded concurrency."""
        done, failures = 0, 0
        async for page in self._pages(prefix):
            for ids in _chunks(page, self.config.delete_batch):
                revoked: list[Lease] = []
                try:
                    results = await asyncio.gather(
                        *(self._revoke_one(lease_id, sync, revoked) for lease_id in ids)
                    )
                finally:
                    await self._delete_many(revoked)
                done += sum(1 for ok in results if ok)
                failures += sum(1 for ok in results if not ok)
            if progress is not None:
                progress(done)
        if failures and sync:
            raise BadRequest(
                f"failed to revoke {failures} lease(s) below {prefix!r}; "
                "they will be retried (see sys/leases/lookup)"
            )
        return done

    async def _revoke_one(self, lease_id: str, sync: bool, revoked: list[Lease]) -> bool:
        if not sync:
            lease = await self.get(lease_id)
            if lease is not None:
                await self._queue(lease)
            return True
        return await self._attempt(lease_id, collect=revoked)

    async def revoke_force(self, prefix: str) -> int:
        """Forget leases below `prefix` without asking their backends (operator override)."""
        removed = 0
        async for ids in self._pages(prefix):
            for lease_id in ids:
                lease = await self.get(lease_id)
                if lease is not None:
                    await self._delete(lease)
                    removed += 1
                    log.warning("expiration: force-revoked lease %s", lease.lease_id)
        return removed

    async def revoke_token_leases(self, token: TokenEntry) -> None:
        """A token is being revoked: destroy its secrets' credentials and drop its own lease."""
        after = ""
        prefix = f"{TOKEN_PREFIX}{token.hash}/"
        while page := await self._storage.scan(prefix, after, self.config.page):
            after = page[-1]
            leases = [await self.get(unquote(rest)) for rest in page]
            await asyncio.gather(
                *(
                    self._delete(lease) if lease.is_token else self._attempt(lease.lease_id)
                    for lease in leases
                    if lease is not None
                )
            )
        # Index entries whose lease record is gone (forced, or a crash mid-delete).
        stale = await self._storage.scan(prefix, "", self.config.page)
        if stale:
            await self._storage.batch([Op(prefix + rest, None) for rest in stale])

    async def process_due(self) -> int:
        """Act on every lease due by now; returns how many credentials were revoked."""
        revoked, after = 0, ""
        now = self._now()
        while True:
            page = await self._storage.scan(EXPIRY_PREFIX, after, self.config.page)
            due_page = [key for key in page if int(key.split("/", 1)[0]) <= now]
            if not due_page:
                return revoked
            after = due_page[-1]
            for chunk in _chunks(due_page, self.config.delete_batch):
                done: list[Lease] = []
                try:
                    await asyncio.gather(
                        *(
                            self._attempt(
                                unquote(key.split("/", 1)[1]),
                                index_rest=key,
                                due_by=now,
                                collect=done,
                            )
                            for key in chunk
                        )
                    )
                finally:  # also when cancelled (seal): what was revoked is recorded
                    await self._delete_many(done)
                revoked += len(done)
            if len(due_page) < len(page):
                return revoked

    async def _attempt(
        self,
        lease_id: str,
        raise_errors: bool = False,
        *,
        index_rest: str | None = None,
        due_by: float | None = None,
        collect: list[Lease] | None = None,
    ) -> bool:
        """Revoke one lease's credential; True once it is gone.

        The lease is claimed (`_inflight`) and read under its mount's
        concurrency limit, so two paths reaching the same lease at once (its
        expiry and its token's revocation, a sync revoke and the scheduler)
        call the backend once, and a throttling pause that began while this
        one waited for a slot is honoured.

        From the scheduler: `index_rest` is the expiry index entry that led
        here (dropped if stale) and `due_by` the pass's time (a lease renewed
        or due later in the same second is left alone). With `collect`, a
        revoked lease is appended there, still claimed, for `_delete_many`:
        one storage commit per page instead of one per lease.
        """
        if lease_id in self._inflight:
            return False
        self._inflight.add(lease_id)
        keep_claim = False
        try:
            mount = _mount_of_id(lease_id)
            limit = self._limits.get(mount)
            if limit is None:
                limit = self._limits[mount] = asyncio.Semaphore(self.config.per_mount_concurrency)
            async with limit:
                lease = await self.get(lease_id)
                if index_rest is not None and (
                    lease is None or EXPIRY_PREFIX + index_rest != _expiry_key(lease.due, lease_id)
                ):
                    # A stale index entry: the lease is gone, or was rescheduled.
                    await self._storage.delete(EXPIRY_PREFIX + index_rest)
                    return False
                if lease is None:
                    return True  # revoked (or forced) while this one waited
                if due_by is not None and lease.due > due_by + CLOCK_SLACK:
                    return False  # later in the same second (the index has whole seconds)
                paused_until = self._paused.get(mount, 0.0)
                if paused_until > self._now():
                    # The mount's cloud is throttling us: wait our turn without calling it.
                    await self._schedule(lease, paused_until + random.uniform(0, 1), revoking=True)
                    if raise_errors:
                        raise BadRequest(
                            f"failed to revoke lease {lease_id}: revocations on {mount} are "
                            f"paused after throttling until {rfc3339(paused_until)}; "
                            "it will be retried"
                        )
                    return False
                try:
                    if lease.is_token:
                        await self._revoke_token(lease)
                    else:
                        await self._revoke_secret(lease)
                except Exception as err:
                    await self._failed(lease, err)
                    if raise_errors:
                        raise BadRequest(
                            f"failed to revoke lease {lease_id}: {_describe(err)}"
                        ) from None
                    return False
                if collect is not None:
                    collect.append(lease)
                    keep_claim = True
                else:
                    await self._delete(lease)
                log.debug("expiration: revoked lease %s", lease_id)
                return True
        finally:
            if not keep_claim:
                self._inflight.discard(lease_id)

    async def _failed(self, lease: Lease, err: Exception) -> None:
        lease.attempts += 1
        lease.last_error = _describe(err)
        delay = backoff(lease.attempts)
        if is_throttling(err):
            mount = _mount_of(lease)
            self._paused[mount] = max(self._paused.get(mount, 0.0), self._now() + delay)
        current = await self.get(lease.lease_id)
        if current is None or current.due != lease.due:
            return  # forced (or revoked) while the backend was failing: don't resurrect it
        await self._schedule(lease, self._now() + delay, revoking=True)
        log.warning(
            "expiration: revoking lease %s failed (attempt %d), retrying in %.0fs: %s",
            lease.lease_id,
            lease.attempts,
            delay,
            lease.last_error,
        )

    async def _schedule(self, lease: Lease, due: float, *, revoking: bool) -> None:
        old_key = _expiry_key(lease.due, lease.lease_id)
        lease.due, lease.revoking = due, revoking
        await self._storage.batch(
            [
                Op(old_key, None),
                Op(_expiry_key(due, lease.lease_id), b""),
                Op(LEASE_PREFIX + lease.lease_id, lease.to_json()),
            ]
        )
        self._poke_for(due)

    async def _delete(self, lease: Lease) -> None:
        await self._storage.batch(_delete_ops(lease))

    async def _delete_many(self, leases: list[Lease]) -> None:
        """Drop revoked leases claimed by `_attempt(collect=…)` in one commit; release them."""
        if not leases:
            return
        try:
            await self._storage.batch([op for lease in leases for op in _delete_ops(lease)])
        finally:
            for lease in leases:
                self._inflight.discard(lease.lease_id)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    size = max(1, size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _delete_ops(lease: Lease) -> list[Op]:
    ops = [
        Op(LEASE_PREFIX + lease.lease_id, None),
        Op(_expiry_key(lease.due, lease.lease_id), None),
    ]
    if lease.token_hash:
        ops.append(Op(_token_key(lease.token_hash, lease.lease_id), None))
    return ops


def _mount_of(lease: Lease) -> str:
    """The mount a lease belongs to: "aws" or "auth/userpass" (its concurrency group)."""
    return _mount_of_id(lease.path)


def _mount_of_id(path: str) -> str:
    """The same from a lease id (which starts with the lease's path)."""
    parts = path.split("/", 2)
    return "/".join(parts[:2]) if parts[0] == "auth" else parts[0]


# Error codes clouds use to say "slow down".
THROTTLING_CODES = ("Throttling", "RequestLimitExceeded", "TooManyRequests", "SlowDown")


def is_throttling(err: Exception) -> bool:
    """Whether a backend error asks us to back off (AWS Throttling, HTTP 429, …).

    Engines may mark their own errors with `throttled = True`; botocore's
    ClientError carries the AWS code in `response["Error"]["Code"]`.
    """
    if getattr(err, "throttled", False):
        return True
    response = getattr(err, "response", None)
    code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
    return any(marker in f"{code} {err}" for marker in THROTTLING_CODES)


def _describe(err: Exception) -> str:
    """One line for the lease record and the log: the error, never a secret value."""
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:500]
