"""A small connection pool with database/sql's limits, for both drivers.

* `max_open`: connections open at once (a caller waits for a free one); <= 0: no limit.
* `max_idle`: connections kept open between uses; 0 keeps none.
* `max_lifetime`: seconds a connection may be reused for; 0: forever.

Connections are opened on demand (the first request after a config change,
never at mount time). An idle connection unused for `ping_after` seconds is
checked before it is handed out, so one killed by a database restart is
replaced instead of failing the request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C")
T = TypeVar("T")


class Progress:
    """Set by an operation once retrying it could repeat something the database did."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


@dataclass(frozen=True)
class PoolLimits:
    max_open: int = 4
    max_idle: int = 4
    max_lifetime: float = 0.0


@dataclass
class _Slot(Generic[C]):
    conn: C
    created: float
    last_used: float


class Pool(Generic[C]):
    def __init__(
        self,
        limits: PoolLimits,
        connect: Callable[[], Awaitable[C]],
        close: Callable[[C], Awaitable[None]],
        ping: Callable[[C], Awaitable[bool]],
        usable: Callable[[C], bool],
        *,
        ping_after: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._connect = connect
        self._close = close
        self._ping = ping
        self._usable = usable
        self._ping_after = ping_after
        self._clock = clock
        self._sem = asyncio.Semaphore(limits.max_open) if limits.max_open > 0 else None
        self._idle: deque[_Slot[C]] = deque()
        self._open = 0
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    @property
    def open_count(self) -> int:
        return self._open

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def _expired(self, slot: _Slot[C], now: float) -> bool:
        lifetime = self.limits.max_lifetime
        return lifetime > 0 and now - slot.created >= lifetime

    async def _discard(self, conn: C) -> None:
        self._open -= 1
        try:
            await self._close(conn)
        except Exception:  # closing a broken connection may fail; it is gone either way
            pass

    async def _get(self, fresh: bool = False) -> tuple[_Slot[C], bool]:
        """A connection and whether it was reused; `fresh` closes the idle ones first."""
        if fresh:
            idle, self._idle = list(self._idle), deque()
            for slot in idle:
                await self._discard(slot.conn)
        while self._idle:
            slot = self._idle.pop()  # most recently used first
            now = self._clock()
            if self._expired(slot, now):
                await self._discard(slot.conn)
                continue
            if now - slot.last_used >= self._ping_after and not await self._ping(slot.conn):
                await self._discard(slot.conn)
                continue
            return slot, True
        conn = await self._connect()
        self._open += 1
        now = self._clock()
        return _Slot(conn, now, now), False

    async def _put(self, slot: _Slot[C]) -> None:
        now = self._clock()
        if (
            self._closed
            or not self._usable(slot.conn)
            or self._expired(slot, now)
            or len(self._idle) >= self.limits.max_idle
        ):
            await self._discard(slot.conn)
            return
        slot.last_used = now
        self._idle.append(slot)

    @asynccontextmanager
    async def _checkout(self, fresh: bool = False) -> AsyncIterator[tuple[C, bool]]:
        if self._closed:
            raise RuntimeError("the connection pool is closed")
        if self._sem is not None:
            await self._sem.acquire()
        try:
            slot, reused = await self._get(fresh)
            try:
                yield slot.conn, reused
            finally:
                # Shielded: a cancelled request still returns (or closes) its connection.
                task = asyncio.ensure_future(self._put(slot))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                await asyncio.shield(task)
        finally:
            if self._sem is not None:
                self._sem.release()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[C]:
        async with self._checkout() as (conn, _):
            yield conn

    async def run(
        self,
        op: Callable[[C, Progress], Awaitable[T]],
        lost: Callable[[BaseException], bool],
    ) -> T:
        """`op` on a pooled connection, once more on a new one if the reused one was dead.

        The second try happens only when the failure is a lost connection (`lost`)
        on a connection taken from the idle set, before `op` marked any progress:
        the database restarted or a proxy cut it while it sat idle, and nothing of
        `op` can have been applied. A new connection's failure is the answer.
        """
        fresh = False
        while True:
            progress = Progress()
            reused = False
            try:
                async with self._checkout(fresh) as (conn, reused):
                    return await op(conn, progress)
            except Exception as err:
                if fresh or not reused or progress.started or not lost(err):
                    raise
                fresh = True

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = list(self._idle), deque()
        for slot in idle:
            await self._discard(slot.conn)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
