"""High availability: one active node, the others standby, elected through a storage lock.

Every unsealed node runs an `HAManager`. It competes for the storage's lock
row (PostgreSQL: one row of the HA table, valid for `lock_ttl` seconds by the
database clock). The holder is the **active** node: it loads the mount table,
policies and token store, runs the lease manager and the backends' background
work, and serves every request. The others are **standby**: their barrier is
unsealed (so they can take over without an operator) but they build no state,
start nothing that writes, and hand every request to the active node (the HTTP
layer forwards it; see `strongroom.http.forward`).

Lock protocol (all times on the database clock unless said otherwise):

* standby: every `retry_interval` read the lock row; when it is missing or
  expired, take it with a fresh identity (an atomic upsert that only succeeds
  over an expired row or our own).
* active: renew every `renew_interval` (`valid_until = now() + lock_ttl`).
  A renewal that finds the row owned by someone else means the lock is gone.
* fencing: writes are allowed until `deadline = send time of the last
  successful renewal + lock_ttl - fence_margin`, measured on this process's
  monotonic clock. Because the database set `valid_until` no earlier than we
  sent the statement, our deadline always passes before anyone else can take
  the lock. Beyond that, every write carries the lock identity and is checked
  against the row inside the database (see `storage.postgresql`), so even a
  paused or partitioned node can never write after a takeover.
* losing the lock (renewal refused, or the deadline passes): stop serving at
  once (requests are forwarded from then on), stop the lease manager and the
  backends, drop every cache, become standby and compete again.
* promotion rebuilds everything from storage: keyring (a rotation by the
  previous active), cluster identity, policies, token store, mounts and the
  lease manager, which then picks up every pending lease from the expiry
  index. Nothing built before is trusted.
* step-down (`sys/step-down`) and seal release the row at once, so another
  node takes over within one `retry_interval`; after a step-down this node
  waits `step_down_hold` before competing again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from strongroom.core.errors import VaultError
from strongroom.core.timefmt import rfc3339
from strongroom.storage.fence import LockHolder, WriteFence

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.request import Request

log = logging.getLogger("strongroom.core")

LOCK_TTL = 8.0  # seconds a lock row stays valid without renewal
RENEW_INTERVAL = 2.0  # the holder renews this often
RETRY_INTERVAL = 0.5  # standbys look at the lock this often; failed renewals retry this often
FENCE_MARGIN = 1.0  # writes stop this long before the lock could expire
STEP_DOWN_HOLD = 3.0  # after a step-down, stay out of the election this long
FORWARD_KEY_PATH = "core/ha/forwarding-key"  # HMAC key standbys sign forwarded requests with
ZERO_TIME = "0001-01-01T00:00:00Z"
SETTLE_TIMEOUT = 3.0  # a request on a node that knows no active node waits this long


class HABackend(Protocol):
    """What a storage offers for HA (implemented by PostgreSQLStorage)."""

    fence: WriteFence | None

    async def lock_acquire(self, identity: str, value: str, ttl: float) -> bool: ...

    async def lock_renew(self, identity: str, ttl: float) -> bool: ...

    async def lock_release(self, identity: str) -> None: ...

    async def lock_holder(self) -> LockHolder | None: ...


@dataclass(frozen=True)
class LeaderInfo:
    """What the lock row advertises about its holder (kept in `ha_value`)."""

    identity: str
    api_addr: str
    cluster_addr: str
    active_time: str

    def to_value(self) -> str:
        return json.dumps(
            {
                "api_addr": self.api_addr,
                "cluster_addr": self.cluster_addr,
                "active_time": self.active_time,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_holder(cls, holder: LockHolder) -> LeaderInfo:
        try:
            doc = json.loads(holder.value) if holder.value else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        return cls(
            holder.identity,
            str(doc.get("api_addr", "")),
            str(doc.get("cluster_addr", "")),
            str(doc.get("active_time", "")) or ZERO_TIME,
        )


class StandbyError(VaultError):
    """Raised by the core on a standby; the HTTP layer forwards the request.

    `leader` is the active node to forward to, None when none is known (then
    the client sees Vault's 503 `node is not active`).
    """

    status = 503

    def __init__(self, leader: LeaderInfo | None, forward_key: bytes | None) -> None:
        super().__init__("node is not active")
        self.leader = leader
        self.forward_key = forward_key


class HAManager:
    def __init__(
        self,
        core: Core,
        backend: HABackend,
        *,
        api_addr: str,
        cluster_addr: str = "",
        lock_ttl: float = LOCK_TTL,
        renew_interval: float = RENEW_INTERVAL,
        retry_interval: float = RETRY_INTERVAL,
        fence_margin: float = FENCE_MARGIN,
        step_down_hold: float = STEP_DOWN_HOLD,
    ) -> None:
        if not 0 < fence_margin < lock_ttl or renew_interval >= lock_ttl - fence_margin:
            raise ValueError("HA timings: need renew_interval < lock_ttl - fence_margin")
        self.core = core
        self.backend = backend
        self.api_addr = api_addr
        self.cluster_addr = cluster_addr
        self.lock_ttl = lock_ttl
        self.renew_interval = renew_interval
        self.retry_interval = retry_interval
        self.fence_margin = fence_margin
        self.step_down_hold = step_down_hold
        self.node_id = str(uuid.uuid4())
        self.fence = WriteFence()
        self.forward_key: bytes | None = None
        self._leader: LeaderInfo | None = None  # the active node as last seen
        self._self_info: LeaderInfo | None = None  # what we advertise while we hold the lock
        self._active = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._step_down = asyncio.Event()
        self._poll_now = asyncio.Event()  # a request waits for a leader: look now
        self._hold_until = 0.0
        self._last_error_log = 0.0

    # ------------------------------------------------------------ state
    @property
    def is_active(self) -> bool:
        """Serving as the active node: promoted, and the lock is certainly still ours."""
        return self._active and self.fence.holds()

    @property
    def running(self) -> bool:
        return self._task is not None

    def leader(self) -> LeaderInfo | None:
        """The active node, None when unknown or when it is (still) this node."""
        if self.is_active:
            return self._self_info
        leader = self._leader
        if leader is None or self.is_own(leader.identity) or not leader.api_addr:
            return None  # never forward to ourselves (e.g. a term just lost)
        return leader

    def is_own(self, identity: str) -> bool:
        """Whether a lock identity is one of this node's (any term)."""
        return identity.startswith(self.node_id + ":")

    def leader_status(self) -> dict[str, Any]:
        """The body of `sys/leader`."""
        active = self.is_active
        leader = self._self_info if active else self.leader()
        return {
            "ha_enabled": True,
            "is_self": active,
            "active_time": leader.active_time if leader is not None else ZERO_TIME,
            "leader_address": leader.api_addr if leader is not None else "",
            "leader_cluster_address": leader.cluster_addr if leader is not None else "",
            "performance_standby": False,
            "performance_standby_last_remote_wal": 0,
        }

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait (briefly) while no active node is known, e.g. right after a step-down.

        Returns as soon as this node is active or knows the active node, so a
        request arriving mid-handover is served or forwarded, not refused.
        """
        deadline = time.monotonic() + timeout
        while self.leader() is None and not self.is_active and self._task is not None:
            if time.monotonic() >= deadline:
                return
            self._poll_now.set()
            await asyncio.sleep(0.05)

    def standby_error(self, req: Request) -> VaultError:
        """What a request that reached a standby gets (the HTTP layer forwards it)."""
        if req.path == "sys/seal":
            # As in Vault: a standby has no token store to check the caller with.
            return VaultError("vault cannot seal when in standby mode; please restart instead")
        return StandbyError(self.leader(), self.forward_key)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Join the election (the core calls this once its barrier is unsealed)."""
        if self._task is not None:
            return
        self.backend.fence = self.fence  # from now on writes need the lock
        self.fence.revoke()
        self._stopping = False
        self._active = False
        self._leader = None
        self._step_down.clear()
        await self._load_cluster_identity()
        self._task = asyncio.create_task(self._run(), name="ha")

    async def stop(self) -> None:
        """Leave the election for a seal; the caller holds the core's lock.

        An active node first tears its state down (while writes are still
        allowed), then gives up writing and releases the row, so another node
        takes over at once.
        """
        task, self._task = self._task, None
        if task is None:
            return
        was_active = self._active
        self._stopping = True
        self._active = False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if was_active:
            log.info("core: stepping down from active duty to seal")
        await self._quiet(self.core._pre_seal(), "cleaning up")
        identity = self.fence.identity
        self.fence.revoke()
        if identity:
            await self._quiet(self.backend.lock_release(identity), "releasing the lock")
        self._self_info = None
        self._leader = None

    def request_step_down(self) -> None:
        """Hand the lock over (sys/step-down); returns at once, the loop does the work."""
        if self.is_active:
            self._step_down.set()

    # ------------------------------------------------------------ the loop
    async def _run(self) -> None:
        while True:
            try:
                await self._wait_for_lock()
                await self._term()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ha: unexpected error; back to standby")
                await asyncio.sleep(self.retry_interval)

    async def _wait_for_lock(self) -> None:
        """Standby: follow the active node until the lock is free, then take it."""
        identity = f"{self.node_id}:{uuid.uuid4()}"
        while True:
            try:
                holder = await asyncio.wait_for(self.backend.lock_holder(), self.lock_ttl / 2)
                if holder is not None and holder.live and holder.identity != identity:
                    leader = LeaderInfo.from_holder(holder)
                    if leader != self._leader:
                        log.info("core: the active node is %s", leader.api_addr or "(unknown)")
                    self._leader = leader
                elif time.monotonic() >= self._hold_until:  # not right after a step-down
                    info = LeaderInfo(
                        identity, self.api_addr, self.cluster_addr, rfc3339(time.time())
                    )
                    sent = time.monotonic()
                    acquired = await asyncio.wait_for(
                        self.backend.lock_acquire(identity, info.to_value(), self.lock_ttl),
                        self.lock_ttl / 2,
                    )
                    if acquired:
                        self.fence.grant(identity, sent + self.lock_ttl - self.fence_margin)
                        self._self_info = info
                        self._leader = info
                        log.info("core: acquired lock, enabling active operation")
                        return
                if self.forward_key is None:
                    await self._load_forward_key()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._log_error("ha: cannot read the lock", err)
            self._poll_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), self.retry_interval)

    async def _term(self) -> None:
        """Active: promote, serve until the lock is lost or handed over, then demote."""
        identity = self.fence.identity
        keeper = asyncio.create_task(self._keep_lock(identity), name="ha-renew")
        promote = asyncio.create_task(self._promote(), name="ha-promote")
        stepped_down = False
        try:
            await asyncio.wait({promote, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if not promote.done():
                promote.cancel()
                await asyncio.gather(promote, return_exceptions=True)
                log.warning("core: lost the lock while becoming active")
                return
            if promote.exception() is not None:
                self._promotion_failed(promote.exception())
                return
            self._active = True
            log.info("core: post-unseal setup complete; this node is active")
            step_down = asyncio.create_task(self._step_down.wait())
            await asyncio.wait({keeper, step_down}, return_when=asyncio.FIRST_COMPLETED)
            step_down.cancel()
            stepped_down = self._step_down.is_set()
            self._step_down.clear()
            if stepped_down:
                log.info("core: stepping down from active operation to standby")
        finally:
            self._active = False
            keeper.cancel()
            promote.cancel()
            # On a seal, `stop()` (holding the core's lock) tears down instead.
            if not self._stopping:
                await asyncio.gather(keeper, promote, return_exceptions=True)
                await self._demote(identity)
                if stepped_down:
                    self._hold_until = time.monotonic() + self.step_down_hold

    async def _promote(self) -> None:
        core = self.core
        async with core._lock:
            if core.barrier.sealed:
                raise RuntimeError("sealed")
            # State from an earlier term (or a half-finished one) is stale.
            await core._pre_seal()
            await core.barrier.reload_keyring()
            await self._load_cluster_identity()
            await core._post_unseal()
            await self._ensure_forward_key()

    def _promotion_failed(self, err: BaseException | None) -> None:
        from strongroom.barrier import InvalidKeyError

        if isinstance(err, InvalidKeyError):
            # The root key was replaced by another node: ours opens nothing.
            log.error(
                "core: cannot become active: the stored keyring no longer opens with "
                "this node's root key; sealing (unseal again with the current keys)"
            )
            asyncio.get_running_loop().create_task(self.core.seal())
            return
        log.error("core: post-unseal setup failed; staying standby", exc_info=err)
        self._hold_until = time.monotonic() + self.lock_ttl

    async def _demote(self, identity: str) -> None:
        """Writes stop first when the lock is gone; a step-down may still clean up."""
        if not self.fence.holds():
            self.fence.revoke()
        async with self.core._lock:
            await self._quiet(self.core._pre_seal(), "stepping down")
        self.fence.revoke()
        self._self_info = None
        self._leader = None
        await self._quiet(self.backend.lock_release(identity), "releasing the lock")

    async def _keep_lock(self, identity: str) -> None:
        """Renew the lock until it is lost; returns when writes must stop."""
        failed = False
        while True:
            wait = self.retry_interval if failed else self.renew_interval
            await asyncio.sleep(max(0.0, min(wait, self.fence.deadline - time.monotonic())))
            if not self.fence.holds():
                log.warning("core: could not renew the lock in time; leaving active duty")
                self.fence.revoke()
                return
            sent = time.monotonic()
            try:
                renewed = await asyncio.wait_for(
                    self.backend.lock_renew(identity, self.lock_ttl),
                    max(0.05, self.fence.deadline - sent),
                )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failed = True
                self._log_error("core: renewing the lock failed", err)
                continue
            if not renewed:
                log.warning("core: the lock was taken over; leaving active duty")
                self.fence.revoke()
                return
            failed = False
            self.fence.extend(identity, sent + self.lock_ttl - self.fence_margin)

    # ------------------------------------------------------------ helpers
    async def _load_cluster_identity(self) -> None:
        """cluster_name/cluster_id for seal-status and health, standbys included."""
        from strongroom.core.core import CLUSTER_KEY

        raw = await self.core.barrier.get(CLUSTER_KEY)
        if raw:
            cluster = json.loads(raw)
            self.core.cluster_name, self.core.cluster_id = cluster["name"], cluster["id"]

    async def _load_forward_key(self) -> None:
        self.forward_key = await self.core.barrier.get(FORWARD_KEY_PATH)

    async def _ensure_forward_key(self) -> None:
        key = await self.core.barrier.get(FORWARD_KEY_PATH)
        if key is None:
            key = secrets.token_bytes(32)
            await self.core.barrier.put(FORWARD_KEY_PATH, key)
        self.forward_key = key

    async def _quiet(self, aw: Any, what: str) -> None:
        try:
            await aw
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.warning("core: %s failed: %s", what, err)

    def _log_error(self, what: str, err: Exception) -> None:
        # A database outage would otherwise log twice a second.
        now = time.monotonic()
        if now - self._last_error_log >= 30.0:
            self._last_error_log = now
            log.warning("%s: %s", what, err or type(err).__name__)


def attach(core: Core, storage: Any, *, api_addr: str, cluster_addr: str) -> HAManager | None:
    """Give the core an HA manager when its storage has HA enabled."""
    if not getattr(storage, "ha_enabled", False):
        return None
    core.ha = HAManager(core, storage, api_addr=api_addr, cluster_addr=cluster_addr)
    return core.ha


def advertised_addresses(
    api_addr: str, cluster_addr: str, listener_address: str, tls: bool, cluster_listen: str = ""
) -> tuple[str, str]:
    """api_addr and cluster_addr, guessed from the first listener when not configured."""
    host, _, port = listener_address.rpartition(":")
    host = host or "127.0.0.1"
    if not api_addr:
        api_addr = f"{'https' if tls else 'http'}://{host}:{port}"
        if host.strip("[]") in ("0.0.0.0", "::", ""):
            log.warning(
                "core: api_addr is not set and the listener address %s is not reachable "
                "from other nodes; set api_addr so standbys can forward to this node",
                listener_address,
            )
    if not cluster_addr:
        if cluster_listen:
            cluster_addr = f"https://{cluster_listen}"
        elif port.isdigit():
            cluster_addr = f"https://{host}:{int(port) + 1}"
    return api_addr, cluster_addr
