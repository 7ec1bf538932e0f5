"""A read cache in front of a physical backend (Vault's physical LRU cache).

Values are cached as stored: encrypted by the barrier above. A cached read costs
no trip to the SQLite thread or to PostgreSQL.

Correctness rests on one rule: only this node writes while it is active (the
file backend's directory lock, the HA lock's fencing). So the cache only works
while the node is active: `activate()` (empty, on) when it becomes active,
`deactivate()` (off, empty) when it seals or steps down. A standby reads
through, because the active node writes behind its back.

Writes go through and drop the key; they never populate it, because two
writes of one key may complete in a different order than they commit (a
connection pool), and the next read loads the committed value. A read whose
storage call overlapped any write does not fill the cache either: it may hold
the value from before that write.
"""

from __future__ import annotations

from collections import OrderedDict

from strongroom.storage.base import Op, Storage

DEFAULT_SIZE = 131072  # entries; Vault's default cache_size


class CachedStorage:
    """Storage with an LRU of recent reads; see the module docstring."""

    def __init__(self, inner: Storage, size: int = DEFAULT_SIZE) -> None:
        self.inner = inner
        self.size = size
        self._lru: OrderedDict[str, bytes | None] = OrderedDict()
        self._writes = 0  # bumped by every write; a read that saw it move doesn't fill
        self.active = False
        self.hits = 0
        self.misses = 0

    def activate(self) -> None:
        self._lru.clear()
        self._writes += 1
        self.active = True

    def deactivate(self) -> None:
        self.active = False
        self._lru.clear()
        self._writes += 1

    async def get(self, key: str) -> bytes | None:
        if not self.active:
            return await self.inner.get(key)
        lru = self._lru
        if key in lru:
            lru.move_to_end(key)
            self.hits += 1
            return lru[key]
        self.misses += 1
        writes = self._writes
        value = await self.inner.get(key)
        if writes == self._writes and self.active:
            lru[key] = value  # a miss (None) is cached too: KV reads of absent keys
            if len(lru) > self.size:
                lru.popitem(last=False)
        return value

    async def put(self, key: str, value: bytes) -> None:
        self._forget(key)
        try:
            await self.inner.put(key, value)
        finally:
            self._forget(key)

    async def delete(self, key: str) -> None:
        self._forget(key)
        try:
            await self.inner.delete(key)
        finally:
            self._forget(key)

    async def batch(self, ops: list[Op]) -> None:
        for op in ops:
            self._forget(op.key)
        try:
            await self.inner.batch(ops)
        finally:
            for op in ops:
                self._forget(op.key)

    async def list(self, prefix: str) -> list[str]:
        return await self.inner.list(prefix)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        return await self.inner.scan(prefix, after, limit)

    async def close(self) -> None:
        self.deactivate()
        await self.inner.close()

    def _forget(self, key: str) -> None:
        self._writes += 1
        self._lru.pop(key, None)
