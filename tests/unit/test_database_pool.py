"""The engine's connection pool: database/sql's limits, lazy opening, stale-connection retry."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from strongroom.engines.database.plugins.pool import Pool, PoolLimits, Progress


@dataclass
class Conn:
    n: int
    alive: bool = True
    closed: bool = False


class Fake:
    def __init__(self) -> None:
        self.made = 0
        self.now = 0.0
        self.pings = 0

    async def connect(self) -> Conn:
        self.made += 1
        return Conn(self.made)

    async def close(self, conn: Conn) -> None:
        conn.closed = True

    async def ping(self, conn: Conn) -> bool:
        self.pings += 1
        return conn.alive

    def pool(self, limits: PoolLimits) -> Pool[Conn]:
        return Pool(
            limits,
            self.connect,
            self.close,
            self.ping,
            lambda c: not c.closed,
            clock=lambda: self.now,
        )


async def test_nothing_opens_until_used_and_idle_connections_are_reused() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=2, max_idle=2))
    assert fake.made == 0
    async with pool.connection() as first:
        pass
    async with pool.connection() as again:
        assert again is first
    assert fake.made == 1 and pool.idle_count == 1


async def test_max_open_makes_callers_wait() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=2, max_idle=2))
    inside, peak = 0, 0

    async def use() -> None:
        nonlocal inside, peak
        async with pool.connection():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(use() for _ in range(10)))
    assert peak == 2 and fake.made == 2 and pool.open_count == 2


async def test_max_idle_and_lifetime() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=4, max_idle=1, max_lifetime=10))
    conns: list[Conn] = []

    async def hold() -> None:
        async with pool.connection() as conn:
            conns.append(conn)
            await asyncio.sleep(0.01)

    await asyncio.gather(hold(), hold(), hold())
    assert pool.idle_count == 1 and pool.open_count == 1
    assert sum(c.closed for c in conns) == 2
    fake.now = 11  # past max_lifetime: closed instead of reused
    async with pool.connection() as conn:
        assert conn not in conns
    assert all(c.closed for c in conns)


async def test_idle_connections_are_pinged_and_dead_ones_replaced() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=2, max_idle=2))
    async with pool.connection() as first:
        pass
    first.alive = False
    fake.now = 1  # recently used: not pinged
    async with pool.connection() as conn:
        assert conn is first and fake.pings == 0
    fake.now = 10
    async with pool.connection() as conn:
        assert conn is not first and fake.pings == 1
    assert first.closed


async def test_run_retries_once_on_a_new_connection_when_a_reused_one_was_dead() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=2, max_idle=2))
    async with pool.connection() as stale:
        pass
    stale.alive = False  # the server restarted; the pool cannot know yet
    seen: list[Conn] = []

    async def op(conn: Conn, progress: Progress) -> str:
        seen.append(conn)
        if not conn.alive:
            raise ConnectionError("server closed the connection")
        return "done"

    assert await pool.run(op, lambda e: isinstance(e, ConnectionError)) == "done"
    assert seen[0] is stale and seen[1] is not stale

    # After progress, or on a new connection, the error is the answer.
    async def partial(conn: Conn, progress: Progress) -> None:
        progress.started = True
        raise ConnectionError("lost during COMMIT")

    async with pool.connection():
        pass
    with pytest.raises(ConnectionError, match="COMMIT"):
        await pool.run(partial, lambda e: True)
    calls = 0

    async def refused(conn: Conn, progress: Progress) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("refused")

    pool2 = fake.pool(PoolLimits())
    with pytest.raises(ConnectionError):
        await pool2.run(refused, lambda e: True)
    assert calls == 1


async def test_close_closes_idle_and_returned_connections() -> None:
    fake = Fake()
    pool = fake.pool(PoolLimits(max_open=2, max_idle=2))
    async with pool.connection() as busy:
        async with pool.connection() as idle:
            assert idle is not busy
        await pool.close()
        assert idle.closed and not busy.closed
    assert busy.closed and pool.open_count == 0
    with pytest.raises(RuntimeError):
        async with pool.connection():
            pass
