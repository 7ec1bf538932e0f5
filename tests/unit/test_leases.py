"""The expiration manager, driven through the Core with a fake clock.

`core.run_scheduler = False`: nothing expires unless a test calls
`core.leases.process_due()` after moving the clock. Revocations are observed
through the `counting` test engine (tests/support/counting_engine.py), which
counts them per serial in its mount's storage.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from strongroom.core.core import Core, CoreConfig
from strongroom.core.errors import BadRequest, NotFound, PermissionDenied, VaultError
from strongroom.core.leases import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    ExpirationManager,
    backoff,
    is_throttling,
)
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.core.timefmt import rfc3339
from strongroom.engines import register_builtin
from strongroom.storage.base import Op
from strongroom.storage.inmem import InmemStorage
from tests.support import counting_engine
from tests.support.counting_engine import CountingBackend, ThrottlingError

START = 1_800_000_000.0
DAY = 24 * 3600
SYSTEM_TTL = 768 * 3600
LEASE_ID = re.compile(r"^counting/creds/(?P<role>[^/]+)/(?P<rand>[A-Za-z0-9]{24})$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingStorage(InmemStorage):
    """Inmem storage that remembers which keys were read, scanned or listed."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.fail_batches_under: str | None = None

    async def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return await super().get(key)

    async def list(self, prefix: str) -> list[str]:
        self.reads.append(prefix)
        return await super().list(prefix)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        self.reads.append(prefix)
        return await super().scan(prefix, after, limit)

    async def batch(self, ops: list[Op]) -> None:
        under = self.fail_batches_under
        if under is not None and any(op.key.startswith(under) for op in ops):
            raise OSError("disk full")
        await super().batch(ops)


class YieldingStorage(InmemStorage):
    """Every call gives the event loop a turn, as the file storage's thread hop does."""

    async def get(self, key: str) -> bytes | None:
        await asyncio.sleep(0)
        return await super().get(key)

    async def batch(self, ops: list[Op]) -> None:
        await asyncio.sleep(0)
        await super().batch(ops)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        await asyncio.sleep(0)
        return await super().scan(prefix, after, limit)


class Env:
    """One unsealed Core over `storage`, its fake clock, root token and unseal keys."""

    def __init__(self, core: Core, clock: FakeClock, root: str, keys: list[bytes]) -> None:
        self.core, self.clock, self.root, self.keys = core, clock, root, keys

    @property
    def leases(self) -> ExpirationManager:
        return self.core.leases

    def backend(self, mount: str = "counting/") -> CountingBackend:
        backend = self.core.routes[mount].backend
        assert isinstance(backend, CountingBackend)
        return backend

    async def call(
        self, op: Operation, path: str, data: dict[str, Any] | None = None, token: str = ""
    ) -> Response:
        return await self.core.handle(
            Request(operation=op, path=path, data=data or {}, client_token=token or self.root)
        )

    async def read(self, path: str, token: str = "") -> Response:
        return await self.call(Operation.READ, path, token=token)

    async def write(self, path: str, data: dict[str, Any] | None = None, token: str = "") -> Any:
        return await self.call(Operation.UPDATE, path, data, token)

    async def creds(self, role: str = "x", token: str = "", mount: str = "counting") -> Response:
        return await self.read(f"{mount}/creds/{role}", token)

    async def role(self, name: str, mount: str = "counting", **fields: Any) -> None:
        await self.write(f"{mount}/roles/{name}", fields)

    async def revoked(self, mount: str = "counting") -> dict[str, Any]:
        data = (await self.read(f"{mount}/revoked")).data
        assert data is not None
        return data

    async def counts(self, mount: str = "counting") -> dict[str, int]:
        return (await self.revoked(mount))["counts"]

    async def lookup(self, lease_id: str) -> dict[str, Any]:
        data = (await self.write("sys/leases/lookup", {"lease_id": lease_id})).data
        assert data is not None
        return data

    async def token(self, token: str = "", **fields: Any) -> str:
        resp = await self.write("auth/token/create", fields, token)
        assert resp.auth is not None
        return resp.auth["client_token"]

    async def restart(self, storage: InmemStorage) -> Env:
        """A new process over the same storage: new Core, new backends, unsealed."""
        await self.core.seal()
        return await start(storage, self.clock, keys=self.keys, root=self.root)


async def start(
    storage: InmemStorage | None = None,
    clock: FakeClock | None = None,
    *,
    keys: list[bytes] | None = None,
    root: str = "",
    config: CoreConfig | None = None,
    mounts: dict[str, MountConfig] | None = None,
) -> Env:
    storage = storage if storage is not None else InmemStorage()
    clock = clock or FakeClock()
    core = Core(storage, config, clock=clock)
    core.run_scheduler = False
    register_builtin(core)
    counting_engine.register(core)
    if keys is None:
        keys, root = await core.initialize(1, 1)
        await core.unseal_with_shares(keys)
        for path, mount_config in (mounts or {"counting/": MountConfig()}).items():
            await core.enable_mount(MountEntry.new(path, "counting", config=mount_config))
    else:
        await core.unseal_with_shares(keys)
    return Env(core, clock, root, keys)


async def drain(env: Env, *, step: float = 1.0, limit: float = 4 * 3600) -> None:
    """Advance the clock until no lease is waiting for a (re)try that is already due."""
    waited = 0.0
    while waited < limit:
        env.clock.advance(step)
        waited += step
        await env.leases.process_due()
        if (await env.leases.count(irrevocable=True))[0] == 0:
            return
    raise AssertionError("revocations still failing")


def status_of(err: pytest.ExceptionInfo[VaultError]) -> tuple[int, list[str]]:
    return err.value.status, err.value.messages


# ---------------------------------------------------------------------- registration


async def test_a_secret_is_registered_before_it_is_returned() -> None:
    env = await start()
    resp = await env.creds("web")
    assert resp.secret is not None
    match = LEASE_ID.match(resp.secret.lease_id)
    assert match is not None, resp.secret.lease_id
    assert match["role"] == "web"
    lease = await env.leases.get(resp.secret.lease_id)
    assert lease is not None
    assert lease.internal == {"secret_type": "counter", "serial": 1}
    # The lease belongs to the token that asked for the secret.
    root_entry = await env.core.tokens.lookup(env.root)
    assert lease.token_hash == root_entry.hash
    # Every id is fresh.
    other = await env.creds("web")
    assert other.secret.lease_id != resp.secret.lease_id


async def test_a_secret_whose_lease_cannot_be_stored_is_destroyed_not_returned() -> None:
    storage = RecordingStorage()
    env = await start(storage)
    storage.fail_batches_under = "sys/expire/"
    with pytest.raises(OSError):
        await env.creds("web")
    storage.fail_batches_under = None
    # The credential was issued by the backend, never handed out, and revoked.
    assert await env.counts() == {"1": 1}
    assert await env.leases.list("counting/") == []


# ---------------------------------------------------------------------- TTL rules


async def test_ttl_comes_from_the_role_then_the_mount_then_the_system() -> None:
    env = await start(
        mounts={
            "counting/": MountConfig(),
            "tuned/": MountConfig(default_lease_ttl=120, max_lease_ttl=300),
        }
    )
    await env.role("short", ttl=60)
    assert (await env.creds("short")).secret.ttl == 60
    # No role TTL: the mount's default, else the system's 768h.
    assert (await env.creds("none", mount="tuned")).secret.ttl == 120
    assert (await env.creds("none")).secret.ttl == SYSTEM_TTL
    lease = await env.leases.get((await env.creds("none")).secret.lease_id)
    assert lease.expire_time == START + SYSTEM_TTL
    assert lease.max_ttl == SYSTEM_TTL


async def test_server_config_sets_the_system_defaults() -> None:
    env = await start(config=CoreConfig(default_lease_ttl=3600, max_lease_ttl=7200))
    assert (await env.creds()).secret.ttl == 3600
    await env.role("long", ttl=DAY)
    resp = await env.creds("long")
    assert resp.secret.ttl == 7200
    assert resp.warnings == [
        'TTL of "24h" exceeded the effective max_ttl of "2h"; TTL value is capped accordingly'
    ]


async def test_a_role_ttl_above_the_mount_max_is_capped_with_a_warning() -> None:
    env = await start(mounts={"counting/": MountConfig(max_lease_ttl=300)})
    await env.role("big", ttl=1000)
    resp = await env.creds("big")
    assert resp.secret.ttl == 300
    assert resp.warnings == [
        'TTL of "16m40s" exceeded the effective max_ttl of "5m"; TTL value is capped accordingly'
    ]
    # A role max below the mount max wins.
    await env.role("capped", ttl=1000, max_ttl=200)
    resp = await env.creds("capped")
    assert resp.secret.ttl == 200
    assert (await env.leases.get(resp.secret.lease_id)).max_ttl == 200


async def test_renew_respects_max_ttl_and_warns_when_capped() -> None:
    env = await start()
    await env.role("r", ttl=60, max_ttl=100)
    lease_id = (await env.creds("r")).secret.lease_id

    env.clock.advance(20)
    resp = await env.write("sys/leases/renew", {"lease_id": lease_id, "increment": "30s"})
    assert resp.secret.lease_id == lease_id
    assert resp.secret.ttl == 30
    assert resp.secret.renewable is True
    assert resp.warnings == []
    assert resp.data is None

    env.clock.advance(30)  # 50 s after issue: 50 s left before the hard limit
    resp = await env.write("sys/leases/renew", {"lease_id": lease_id, "increment": 3600})
    assert resp.secret.ttl == 50
    assert resp.warnings == [
        'TTL of "1h" exceeded the effective max_ttl of "50s"; TTL value is capped accordingly'
    ]
    info = await env.lookup(lease_id)
    assert info["ttl"] == 50
    assert RFC3339.match(info["last_renewal"])

    # The old expiry (20 + 30) passed without revoking; the hard limit does.
    env.clock.advance(10)
    await env.leases.process_due()
    assert await env.counts() == {}
    env.clock.advance(40)
    with pytest.raises(BadRequest) as past:
        await env.write("sys/leases/renew", {"lease_id": lease_id})
    assert past.value.messages == ["past the max TTL, cannot renew"]
    await env.leases.process_due()
    assert await env.counts() == {"1": 1}


async def test_renew_without_increment_keeps_the_current_ttl() -> None:
    env = await start()
    await env.role("r", ttl=600)
    lease_id = (await env.creds("r")).secret.lease_id
    env.clock.advance(100)
    resp = await env.write("sys/leases/renew", {"lease_id": lease_id})
    assert resp.secret.ttl == 600
    assert (await env.leases.get(lease_id)).expire_time == START + 700
    assert (await env.revoked())["renewed"] == {"1": 1}


async def test_legacy_renew_and_revoke_paths_and_lease_id_in_the_url() -> None:
    env = await start()
    await env.role("r", ttl=600)
    first = (await env.creds("r")).secret.lease_id
    second = (await env.creds("r")).secret.lease_id
    env.clock.advance(10)
    assert (await env.write("sys/renew", {"lease_id": first, "increment": 60})).secret.ttl == 60
    assert (await env.write(f"sys/leases/renew/{second}", {"increment": 90})).secret.ttl == 90
    await env.write(f"sys/revoke/{first}")
    await env.write("sys/leases/revoke", {"lease_id": second})
    assert await env.counts() == {"1": 1, "2": 1}


async def test_non_renewable_leases_refuse_renew() -> None:
    env = await start()
    await env.role("fixed", ttl=60, renewable=False)
    resp = await env.creds("fixed")
    assert resp.secret.renewable is False
    with pytest.raises(BadRequest) as refused:
        await env.write("sys/leases/renew", {"lease_id": resp.secret.lease_id})
    assert status_of(refused) == (400, ["lease is not renewable"])
    assert (await env.lookup(resp.secret.lease_id))["renewable"] is False
    assert (await env.revoked())["renewed"] == {}  # the backend was never asked


async def test_token_leases_cannot_be_renewed_through_sys_leases() -> None:
    env = await start()
    token = await env.token(ttl="1h")
    entry = await env.core.tokens.lookup(token)
    with pytest.raises(BadRequest) as refused:
        await env.write("sys/leases/renew", {"lease_id": f"auth/token/create/h{entry.hash}"})
    assert refused.value.messages == ["tokens cannot be renewed through this endpoint"]


async def test_unknown_and_missing_lease_ids() -> None:
    env = await start()
    for path in ("sys/leases/lookup", "sys/leases/renew"):
        with pytest.raises(BadRequest) as missing:
            await env.write(path, {})
        assert status_of(missing) == (400, ["lease_id must be specified"])
    with pytest.raises(BadRequest) as unknown:
        await env.write("sys/leases/lookup", {"lease_id": "counting/creds/x/nope"})
    assert status_of(unknown) == (400, ["invalid lease"])
    with pytest.raises(BadRequest) as unknown:
        await env.write("sys/leases/renew", {"lease_id": "counting/creds/x/nope"})
    assert status_of(unknown) == (400, ["lease not found"])
    # Revoking an unknown lease is not an error (204).
    assert await env.write("sys/leases/revoke", {"lease_id": "counting/creds/x/nope"}) is not None


# ---------------------------------------------------------------------- lookup and list


async def test_lookup_shape() -> None:
    env = await start()
    await env.role("r", ttl=90)
    lease_id = (await env.creds("r")).secret.lease_id
    env.clock.advance(30)
    info = await env.lookup(lease_id)
    assert sorted(info) == ["expire_time", "id", "issue_time", "last_renewal", "renewable", "ttl"]
    assert info["id"] == lease_id
    assert info["ttl"] == 60
    assert info["renewable"] is True
    assert info["last_renewal"] is None
    assert RFC3339.match(info["issue_time"]) and RFC3339.match(info["expire_time"])
    assert info["issue_time"].startswith("2027-01-15T08:00:00")
    assert info["expire_time"].startswith("2027-01-15T08:01:30")


async def test_token_leases_run_on_the_same_manager() -> None:
    env = await start()
    token = await env.token(ttl="1h")
    entry = await env.core.tokens.lookup(token)
    listed = (await env.call(Operation.LIST, "sys/leases/lookup/auth/token/create/")).data
    assert listed == {"keys": [f"h{entry.hash}"]}
    lease_id = f"auth/token/create/h{entry.hash}"
    info = await env.lookup(lease_id)
    assert info["path"] == "auth/token/create"
    assert info["ttl"] == 3600
    assert info["renewable"] is True
    # Renewing the token moves its lease.
    env.clock.advance(600)
    await env.write("auth/token/renew-self", {"increment": "2h"}, token)
    info = await env.lookup(lease_id)
    assert info["ttl"] == 7200
    assert info["last_renewal"] is not None
    env.clock.advance(3600)  # the original expiry: nothing happens
    await env.leases.process_due()
    assert await env.core.tokens.lookup(token) is not None
    env.clock.advance(3600)
    await env.leases.process_due()
    assert await env.leases.get(lease_id) is None


async def test_list_leases_below_a_prefix() -> None:
    env = await start()
    ids_a = {(await env.creds("a")).secret.lease_id for _ in range(3)}
    ids_b = {(await env.creds("b")).secret.lease_id for _ in range(2)}
    listing = await env.call(Operation.LIST, "sys/leases/lookup/counting/creds/")
    assert listing.data == {"keys": ["a/", "b/"]}
    listing = await env.call(Operation.LIST, "sys/leases/lookup/counting/creds/a/")
    assert {f"counting/creds/a/{key}" for key in listing.data["keys"]} == ids_a
    assert len(ids_b) == 2
    with pytest.raises(NotFound) as empty:
        await env.call(Operation.LIST, "sys/leases/lookup/counting/creds/zzz/")
    assert status_of(empty) == (404, [])


# ---------------------------------------------------------------------- expiry


async def test_expiry_revokes_exactly_once() -> None:
    env = await start()
    await env.role("r", ttl=60)
    lease_id = (await env.creds("r")).secret.lease_id
    env.clock.advance(59)
    assert await env.leases.process_due() == 0
    assert await env.counts() == {}
    env.clock.advance(1)
    assert await env.leases.process_due() == 1
    assert await env.counts() == {"1": 1}
    for _ in range(3):
        env.clock.advance(3600)
        await env.leases.process_due()
    assert await env.counts() == {"1": 1}
    assert (await env.revoked())["calls"] == 1
    assert await env.leases.get(lease_id) is None
    with pytest.raises(BadRequest, match="invalid lease"):
        await env.lookup(lease_id)
    assert (await env.leases.count())[0] == 0


async def test_a_lease_is_never_revoked_before_its_expire_time() -> None:
    env = await start(clock=FakeClock(START + 0.6))
    await env.role("r", ttl=60)
    await env.creds("r")  # expires at START + 60.6
    env.clock.t = START + 60.3  # same whole second as the expiry, but before it
    await env.leases.process_due()
    assert await env.counts() == {}
    env.clock.t = START + 60.6
    await env.leases.process_due()
    assert await env.counts() == {"1": 1}


async def test_a_failing_revocation_is_retried_with_backoff_until_the_backend_recovers() -> None:
    env = await start()
    await env.role("r", ttl=60)
    lease_id = (await env.creds("r")).secret.lease_id
    await env.write("counting/fail", {"mode": "error", "times": 4})
    env.clock.advance(60)

    delays: list[float] = []
    for attempt in range(1, 5):
        await env.leases.process_due()
        assert (await env.revoked())["calls"] == attempt
        info = await env.lookup(lease_id)
        revocation = info["revocation"]
        assert revocation["attempts"] == attempt
        assert revocation["last_error"] == "counting: backend unavailable (serial 1)"
        assert info["renewable"] is False  # a lease being revoked cannot be renewed
        lease = await env.leases.get(lease_id)
        assert lease.revoking and lease.attempts == attempt
        delay = lease.due - env.clock.t
        ceiling = BACKOFF_BASE * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling
        assert revocation["next_attempt"] == rfc3339(lease.due)
        delays.append(delay)
        # Still listed and counted while failing; nothing happens before the retry is due.
        assert lease_id.rsplit("/", 1)[1] in await env.leases.list("counting/creds/r/")
        assert await env.leases.count(irrevocable=True) == (1, {"counting/": 1})
        env.clock.t = lease.due - 0.5
        await env.leases.process_due()
        assert (await env.revoked())["calls"] == attempt
        env.clock.t = lease.due
    assert delays == sorted(delays)
    # The backend has recovered: the fifth attempt destroys the credential.
    await env.leases.process_due()
    assert await env.counts() == {"1": 1}
    assert (await env.revoked())["calls"] == 5
    assert await env.leases.get(lease_id) is None
    assert await env.leases.count(irrevocable=True) == (0, {})


def test_backoff_is_capped_exponential_with_jitter() -> None:
    import random

    rng = random.Random(7)
    for attempts in range(1, 40):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
        samples = [backoff(attempts, rng) for _ in range(50)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 1  # jittered
    assert max(backoff(1000, rng) for _ in range(100)) <= BACKOFF_CAP


def test_throttling_errors_are_recognised() -> None:
    class ClientError(Exception):
        def __init__(self, code: str) -> None:
            super().__init__(f"An error occurred ({code})")
            self.response = {"Error": {"Code": code}}

    assert is_throttling(ThrottlingError("slow down"))
    assert is_throttling(ClientError("Throttling"))
    assert is_throttling(ClientError("RequestLimitExceeded"))
    assert is_throttling(RuntimeError("429 TooManyRequests"))
    assert not is_throttling(ClientError("AccessDenied"))
    assert not is_throttling(RuntimeError("connection refused"))


async def test_revoke_sync_reports_a_failure_and_keeps_the_lease() -> None:
    env = await start()
    lease_id = (await env.creds()).secret.lease_id
    await env.write("counting/fail", {"mode": "error", "times": 1})
    with pytest.raises(BadRequest) as failed:
        await env.write("sys/leases/revoke", {"lease_id": lease_id, "sync": True})
    assert failed.value.messages == [
        f"failed to revoke lease {lease_id}: counting: backend unavailable (serial 1)"
    ]
    assert (await env.lookup(lease_id))["revocation"]["attempts"] == 1
    await drain(env)
    assert await env.counts() == {"1": 1}


async def test_an_expired_lease_is_not_renewed() -> None:
    env = await start()
    await env.role("r", ttl=60)
    lease_id = (await env.creds("r")).secret.lease_id
    env.clock.advance(61)  # expired, the scheduler has not run yet
    assert (await env.lookup(lease_id))["renewable"] is False
    with pytest.raises(BadRequest) as expired:
        await env.write("sys/leases/renew", {"lease_id": lease_id})
    assert expired.value.messages == ["lease expired"]
    await env.leases.process_due()
    assert await env.counts() == {"1": 1}


async def test_scheduler_sleeps_until_the_exact_expiry() -> None:
    env = await start(clock=FakeClock(START + 0.6))
    assert await env.leases._seconds_until_next() == 60.0  # nothing stored: idle
    await env.role("r", ttl=60)
    await env.creds("r")  # due at START + 60.6
    env.clock.t = START + 10
    assert await env.leases._seconds_until_next() == pytest.approx(50.6)
    env.clock.t = START + 60.2
    assert await env.leases._seconds_until_next() == pytest.approx(0.4)
    env.clock.t = START + 62
    assert await env.leases._seconds_until_next() == 0.05


async def test_only_a_lease_due_before_the_next_look_wakes_the_scheduler() -> None:
    env = await start(clock=FakeClock(START))
    passes: list[float] = []
    process_due = env.leases.process_due

    async def counted() -> int:
        passes.append(env.clock.t)
        return await process_due()

    env.leases.process_due = counted  # type: ignore[method-assign]
    await env.role("long", ttl=3600)
    await env.role("short", ttl=5)
    env.leases.start()
    try:
        await asyncio.sleep(0.05)
        assert len(passes) == 1  # the first pass; now asleep until START + 60
        for _ in range(20):
            await env.creds("long")  # due in an hour: no reason to wake
        await asyncio.sleep(0.05)
        assert len(passes) == 1
        await env.creds("short")  # due before the planned look: wakes it
        await asyncio.sleep(0.05)
        assert len(passes) == 2
        assert env.leases._wake_at == pytest.approx(START + 5, abs=1.0)
        await env.creds("short")  # due at that same second: nothing to do
        await asyncio.sleep(0.05)
        assert len(passes) == 2
    finally:
        await env.leases.stop()


async def test_sync_revoke_while_the_mount_is_throttled_reports_the_pause() -> None:
    env = await start()
    first = (await env.creds()).secret.lease_id
    second = (await env.creds()).secret.lease_id
    await env.write("counting/fail", {"mode": "throttle", "times": 1})
    with pytest.raises(BadRequest, match="Throttling: Rate exceeded"):
        await env.write("sys/leases/revoke", {"lease_id": first})
    with pytest.raises(BadRequest, match="revocations on counting are paused after throttling"):
        await env.write("sys/leases/revoke", {"lease_id": second})
    assert (await env.revoked())["calls"] == 1
    await drain(env)
    assert await env.counts() == {"1": 1, "2": 1}


async def test_a_forced_lease_is_not_brought_back_by_a_failing_attempt() -> None:
    env = await start()
    await env.role("r", ttl=60)
    lease_id = (await env.creds("r")).secret.lease_id
    await env.write("counting/fail", {"mode": "error", "times": 100})
    await env.write("counting/config", {"revoke_delay": 0.05})
    env.clock.advance(60)
    task = asyncio.create_task(env.leases.process_due())
    while env.backend().active == 0:
        await asyncio.sleep(0.001)
    await env.write("sys/leases/revoke-force/counting/")
    await task
    assert await env.leases.get(lease_id) is None
    env.clock.advance(3600)
    await env.leases.process_due()
    assert (await env.revoked())["calls"] == 1
    assert await env.leases.count() == (0, {})


async def test_revoke_without_sync_queues_the_revocation() -> None:
    env = await start()
    lease_id = (await env.creds()).secret.lease_id
    await env.write("sys/leases/revoke", {"lease_id": lease_id, "sync": False})
    assert await env.counts() == {}
    info = await env.lookup(lease_id)
    assert info["renewable"] is False
    assert info["revocation"] == {
        "attempts": 0,
        "last_error": None,
        "next_attempt": rfc3339(env.clock.t),
    }
    await env.leases.process_due()
    assert await env.counts() == {"1": 1}
    assert await env.leases.get(lease_id) is None


async def test_revoke_force_forgets_a_lease_whose_revocation_keeps_failing() -> None:
    env = await start()
    await env.role("r", ttl=10)
    lease_ids = [(await env.creds("r")).secret.lease_id for _ in range(3)]
    await env.write("counting/fail", {"mode": "error", "times": 1000})
    env.clock.advance(10)
    await env.leases.process_due()
    assert (await env.leases.count(irrevocable=True))[0] == 3
    calls = (await env.revoked())["calls"]
    await env.write("sys/leases/revoke-force/counting/creds/")
    for lease_id in lease_ids:
        assert await env.leases.get(lease_id) is None
    assert (await env.revoked())["calls"] == calls  # the backend was not asked
    with pytest.raises(NotFound):
        await env.call(Operation.LIST, "sys/leases/lookup/counting/")
    env.clock.advance(3600)
    await env.leases.process_due()
    assert (await env.revoked())["calls"] == calls
    assert await env.counts() == {}
    # Legacy alias
    other = (await env.creds("r")).secret.lease_id
    await env.write("sys/revoke-force/counting/creds/r/")
    assert await env.leases.get(other) is None


# ---------------------------------------------------------------------- prefix revocation


async def test_revoke_prefix_revokes_many_with_bounded_concurrency() -> None:
    env = await start()
    env.leases.config.per_mount_concurrency = 4
    env.leases.config.page = 50  # several pages
    await env.write("counting/config", {"revoke_delay": 0.002})
    lease_ids = [(await env.creds("bulk")).secret.lease_id for _ in range(200)]
    keep = (await env.creds("bulk2")).secret.lease_id
    await env.write("sys/leases/revoke-prefix/counting/creds/bulk", {})
    stats = await env.revoked()
    assert stats["counts"] == {str(n): 1 for n in range(1, 201)}
    assert 2 <= stats["max_active"] <= 4
    assert all([await env.leases.get(i) is None for i in lease_ids])
    assert await env.leases.get(keep) is not None


async def test_revoke_prefix_stops_at_a_path_segment() -> None:
    env = await start()
    web = (await env.creds("web")).secret.lease_id
    web_admin = (await env.creds("web-admin")).secret.lease_id
    await env.write("sys/leases/revoke-prefix/counting/creds/web", {})
    assert await env.leases.get(web) is None
    assert await env.leases.get(web_admin) is not None
    # A full lease id is a prefix of itself.
    await env.write(f"sys/leases/revoke-prefix/{web_admin}", {})
    assert await env.leases.get(web_admin) is None
    assert await env.counts() == {"1": 1, "2": 1}
    # Force removal stops at a segment too.
    a = (await env.creds("a")).secret.lease_id
    ab = (await env.creds("ab")).secret.lease_id
    await env.write("sys/leases/revoke-force/counting/creds/a")
    assert await env.leases.get(a) is None
    assert await env.leases.get(ab) is not None


async def test_revoke_prefix_without_sync_leaves_it_to_the_scheduler() -> None:
    env = await start()
    for _ in range(20):
        await env.creds()
    await env.write("sys/leases/revoke-prefix/counting/", {"sync": False})
    assert await env.counts() == {}
    await env.leases.process_due()
    assert len(await env.counts()) == 20


async def test_revoke_prefix_reports_failures_and_retries_them() -> None:
    env = await start()
    for _ in range(10):
        await env.creds()
    await env.write("counting/fail", {"mode": "error", "times": 3})
    with pytest.raises(BadRequest, match="failed to revoke 3 lease"):
        await env.write("sys/leases/revoke-prefix/counting/", {})
    assert len(await env.counts()) == 7
    await drain(env)
    assert sorted(await env.counts()) == sorted(str(n) for n in range(1, 11))
    assert set((await env.counts()).values()) == {1}


async def test_throttling_pauses_the_mount_then_resumes() -> None:
    env = await start(mounts={"counting/": MountConfig(), "other/": MountConfig()})
    env.leases.config.per_mount_concurrency = 4
    await env.write("counting/config", {"revoke_delay": 0.005})
    await env.role("r", ttl=60)
    await env.role("r", ttl=60, mount="other")
    for _ in range(40):
        await env.creds("r")
        await env.creds("r", mount="other")
    await env.write("counting/fail", {"mode": "throttle", "times": 1})
    env.clock.advance(60)
    await env.leases.process_due()

    stats = await env.revoked()
    # Only the revocations already running when the cloud said "slow down" reached it.
    assert stats["calls"] <= 4
    paused = [k for k in await env.leases.list("counting/creds/r/")]
    assert len(paused) == 40 - len(stats["counts"])
    lease = await env.leases.get("counting/creds/r/" + paused[0])
    assert lease.revoking and lease.due > env.clock.t
    throttled = [
        await env.leases.get("counting/creds/r/" + k)
        for k in paused
        if (await env.leases.get("counting/creds/r/" + k)).attempts
    ]
    assert len(throttled) == 1
    assert throttled[0].last_error == "Throttling: Rate exceeded (status code: 400)"
    # Another mount is not held back.
    assert len(await env.counts("other")) == 40

    # While paused, a pass calls nothing.
    await env.leases.process_due()
    assert (await env.revoked())["calls"] == stats["calls"]
    # After the pause every credential is revoked, each once.
    env.clock.advance(BACKOFF_BASE + 2)
    await env.leases.process_due()
    assert await env.counts() == {str(n): 1 for n in range(1, 41)}
    assert (await env.leases.count())[1].get("counting/") is None


async def test_mass_expiry_keeps_the_core_responsive() -> None:
    env = await start()
    env.leases.config.per_mount_concurrency = 4
    await env.write("counting/config", {"revoke_delay": 0.01})
    await env.role("r", ttl=60)
    for _ in range(200):
        await env.creds("r")
    env.clock.advance(60)
    task = asyncio.create_task(env.leases.process_due())
    latencies = []
    while not task.done():
        began = time.perf_counter()
        await env.read("auth/token/lookup-self")
        latencies.append(time.perf_counter() - began)
        await asyncio.sleep(0.01)
    await task
    assert len(latencies) >= 10
    assert max(latencies) < 0.1
    assert len(await env.counts()) == 200
    assert 2 <= env.backend().max_active <= 4  # bounded per mount, but concurrent


# ---------------------------------------------------------------------- tokens


async def test_revoking_a_parent_token_revokes_its_tree_and_their_leases() -> None:
    env = await start()
    parent = await env.token(ttl="1h")
    child = await env.token(parent, ttl="1h")
    grandchild = await env.token(child, ttl="1h")
    sibling = await env.token(ttl="1h")
    for token in (parent, child, grandchild, sibling):
        await env.creds(token=token)  # serials 1..4
    await env.write("auth/token/revoke", {"token": parent})
    assert await env.counts() == {"1": 1, "2": 1, "3": 1}
    for token in (parent, child, grandchild):
        with pytest.raises(PermissionDenied):
            await env.read("auth/token/lookup-self", token)
    assert await env.read("auth/token/lookup-self", sibling)
    keys = (await env.call(Operation.LIST, "sys/leases/lookup/auth/token/create/")).data["keys"]
    assert keys == [f"h{(await env.core.tokens.lookup(sibling)).hash}"]
    assert (await env.leases.count())[0] == 2  # the sibling's token lease and secret


async def test_token_ttl_expiry_revokes_the_token_its_children_and_their_leases() -> None:
    env = await start()
    token = await env.token(ttl="60s")
    child = await env.token(token, ttl="1h")
    await env.creds(token=token)
    await env.creds(token=child)
    env.clock.advance(59)
    await env.leases.process_due()
    assert await env.counts() == {}
    env.clock.advance(1)
    await env.leases.process_due()
    assert await env.counts() == {"1": 1, "2": 1}
    for t in (token, child):
        with pytest.raises(PermissionDenied):
            await env.read("auth/token/lookup-self", t)
    assert (await env.leases.count())[0] == 0


async def test_a_token_and_its_leases_expiring_together_revoke_each_credential_once() -> None:
    env = await start(YieldingStorage())
    await env.role("r", ttl=60)
    for _ in range(5):
        token = await env.token(ttl="60s")
        for _ in range(4):
            await env.creds("r", token=token)
    env.clock.advance(60)
    await env.leases.process_due()
    backend = env.backend()
    assert await env.counts() == {str(n): 1 for n in range(1, 21)}
    assert max(backend.calls_by_serial.values()) == 1
    assert (await env.leases.count())[0] == 0


async def test_a_failing_revocation_survives_its_token() -> None:
    env = await start()
    token = await env.token(ttl="1h")
    lease_id = (await env.creds(token=token)).secret.lease_id
    await env.write("counting/fail", {"mode": "error", "times": 2})
    await env.write("auth/token/revoke", {"token": token})
    with pytest.raises(PermissionDenied):
        await env.read("auth/token/lookup-self", token)
    assert (await env.lookup(lease_id))["revocation"]["attempts"] == 1
    await drain(env)
    assert await env.counts() == {"1": 1}


# ---------------------------------------------------------------------- restart


async def test_a_restart_in_the_middle_loses_nothing() -> None:
    storage = YieldingStorage()
    env = await start(storage)
    env.leases.config.per_mount_concurrency = 2
    await env.role("soon", ttl=60)
    await env.role("later", ttl=600)
    soon = [(await env.creds("soon")).secret.lease_id for _ in range(60)]
    later = [(await env.creds("later")).secret.lease_id for _ in range(10)]
    await env.write("counting/fail", {"mode": "error", "times": 5})
    await env.write("counting/config", {"revoke_delay": 0.002})
    env.clock.advance(60)
    # The process dies part-way through the expiry pass.
    task = asyncio.create_task(env.leases.process_due())
    while len(await env.counts()) < 20:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    done_before = len(await env.counts())
    assert 20 <= done_before < 60

    env = await env.restart(storage)
    failed = [i for i in soon if (lease := await env.leases.get(i)) and lease.attempts]
    assert len(failed) == 5  # their attempt counts survived the restart
    await env.leases.process_due()
    await drain(env)
    counts = await env.counts()
    assert counts == {str(n): 1 for n in range(1, 61)}
    assert all([await env.leases.get(i) is None for i in soon])
    assert all([await env.leases.get(i) is not None for i in later])
    env.clock.advance(600)
    await env.leases.process_due()
    assert await env.counts() == {str(n): 1 for n in range(1, 71)}


async def test_leases_that_expired_while_down_are_revoked_by_the_first_pass() -> None:
    storage = InmemStorage()
    env = await start(storage)
    await env.role("r", ttl=60)
    await env.role("long", ttl=DAY)
    for _ in range(30):
        await env.creds("r")
    token = await env.token(ttl="2m")
    await env.creds("long", token=token)
    keep = (await env.creds("long")).secret.lease_id
    await env.core.seal()
    env.clock.advance(3600)  # down for an hour
    env = await start(storage, env.clock, keys=env.keys, root=env.root)
    assert await env.counts() == {}
    await env.leases.process_due()
    assert await env.counts() == {str(n): 1 for n in range(1, 32)}
    with pytest.raises(PermissionDenied):
        await env.read("auth/token/lookup-self", token)
    assert await env.leases.get(keep) is not None


async def test_unseal_reads_no_lease_records() -> None:
    storage = RecordingStorage()
    env = await start(storage)
    await env.role("r", ttl=3600)
    entry = await env.core.tokens.lookup(env.root)
    req = Request(Operation.READ, "counting/creds/r", token=entry)
    for i in range(10_000):
        secret = Secret(ttl=3600 + i, internal={"secret_type": "counter", "serial": i})
        await env.leases.register(req, secret, SYSTEM_TTL, SYSTEM_TTL)
    assert (await env.leases.count())[0] == 10_000
    await env.core.seal()

    storage.reads.clear()
    env = await start(storage, env.clock, keys=env.keys, root=env.root)
    touched = [k for k in storage.reads if k.startswith("sys/expire/")]
    assert touched == []
    assert len(storage.reads) < 50
    # Serving right away, and the first pass reads only what is due (nothing).
    assert await env.read("auth/token/lookup-self")
    storage.reads.clear()
    assert await env.leases.process_due() == 0
    assert [k for k in storage.reads if k.startswith("sys/expire/id/")] == []


# ---------------------------------------------------------------------- tidy and count


async def test_tidy_drops_index_entries_of_vanished_leases() -> None:
    storage = InmemStorage()
    env = await start(storage)
    lease_ids = [(await env.creds()).secret.lease_id for _ in range(3)]
    # A crash between writes, or an older version, left index entries behind.
    await storage.delete(f"sys/expire/id/{lease_ids[0]}")
    assert await env.leases.tidy() == 2  # its expiry and token index entries
    assert await env.leases.tidy() == 0
    resp = await env.write("sys/leases/tidy")
    assert resp.status == 202
    assert resp.warnings == [
        "Tidy operation successfully started. Any information from the operation will be "
        "printed to strongroom's server logs."
    ]
    await asyncio.sleep(0)
    for lease_id in lease_ids[1:]:
        assert await env.leases.get(lease_id) is not None


async def test_count() -> None:
    env = await start()
    await env.token(ttl="1h")
    for _ in range(4):
        await env.creds()
    data = (await env.read("sys/leases/count")).data
    assert data == {"counts": {}, "lease_count": 5}
    data = (await env.call(Operation.READ, "sys/leases/count", {"type": "irrevocable"})).data
    assert data["lease_count"] == 0
    await env.write("counting/fail", {"mode": "error", "times": 2})
    with pytest.raises(BadRequest):
        await env.write("sys/leases/revoke-prefix/counting/", {})
    data = (await env.call(Operation.READ, "sys/leases/count", {"type": "irrevocable"})).data
    assert data["lease_count"] == 2
