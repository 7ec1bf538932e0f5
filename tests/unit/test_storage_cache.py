"""The physical read cache: hits, write-through invalidation, races, activation."""

from __future__ import annotations

import asyncio

from strongroom.core.core import Core, CoreConfig
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request
from strongroom.engines import register_builtin
from strongroom.storage import Op
from strongroom.storage.cache import CachedStorage
from strongroom.storage.inmem import InmemStorage


class CountingStorage(InmemStorage):
    """In-memory storage that counts reads and can hold one read mid-flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.hold: asyncio.Event | None = None

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        value = await super().get(key)
        if self.hold is not None:
            await self.hold.wait()
        return value


def _cache(size: int = 100) -> tuple[CachedStorage, CountingStorage]:
    inner = CountingStorage()
    cache = CachedStorage(inner, size)
    cache.activate()
    return cache, inner


async def test_a_second_read_costs_no_storage_read() -> None:
    cache, inner = _cache()
    await cache.put("a", b"1")
    assert await cache.get("a") == b"1"
    assert await cache.get("a") == b"1"
    assert await cache.get("missing") is None
    assert await cache.get("missing") is None
    assert inner.gets == 2


async def test_writes_replace_what_the_cache_holds() -> None:
    cache, _ = _cache()
    await cache.put("a", b"1")
    await cache.get("a")
    await cache.put("a", b"2")
    assert await cache.get("a") == b"2"
    await cache.batch([Op("a", b"3"), Op("b", b"x")])
    assert await cache.get("a") == b"3"
    await cache.delete("a")
    assert await cache.get("a") is None
    await cache.batch([Op("b", None)])
    assert await cache.get("b") is None


async def test_a_read_overlapping_a_write_does_not_cache_the_old_value() -> None:
    cache, inner = _cache()
    await cache.put("a", b"old")
    inner.hold = asyncio.Event()
    reader = asyncio.create_task(cache.get("a"))
    await asyncio.sleep(0)  # the read has fetched "old" and waits
    inner.hold.set()
    inner.hold = None
    await cache.put("a", b"new")
    assert await reader == b"old"  # it started before the write
    assert await cache.get("a") == b"new"


async def test_a_failed_write_leaves_nothing_stale() -> None:
    class Failing(CountingStorage):
        async def put(self, key: str, value: bytes) -> None:
            await super().put(key, value)  # applied, then the acknowledgement fails
            raise OSError("disk")

    inner = Failing()
    cache = CachedStorage(inner, 10)
    cache.activate()
    await inner.batch([Op("a", b"1")])
    assert await cache.get("a") == b"1"
    try:
        await cache.put("a", b"2")
    except OSError:
        pass
    assert await cache.get("a") == b"2"


async def test_inactive_cache_reads_through_and_keeps_nothing() -> None:
    inner = CountingStorage()
    cache = CachedStorage(inner, 10)
    await cache.put("a", b"1")
    await cache.get("a")
    await cache.get("a")
    assert inner.gets == 2
    cache.activate()
    await cache.get("a")
    await inner.put("a", b"written by another node")  # behind the cache's back
    cache.deactivate()
    assert await cache.get("a") == b"written by another node"


async def test_least_recently_used_entries_go_first() -> None:
    cache, inner = _cache(size=2)
    await inner.batch([Op(k, k.encode()) for k in "abc"])
    await cache.get("a")
    await cache.get("b")
    await cache.get("a")  # b is now the oldest
    await cache.get("c")
    inner.gets = 0
    await cache.get("a")
    await cache.get("c")
    assert inner.gets == 0
    await cache.get("b")
    assert inner.gets == 1


async def test_core_caches_only_while_unsealed_and_not_for_inmem() -> None:
    inner = CountingStorage()
    core = Core(inner, CoreConfig(storage_type="file"))
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    assert core.cache is not None and core.cache.active
    await core.enable_mount(MountEntry.new("kv/", "kv", options={"version": "1"}))
    write = Request(operation=Operation.UPDATE, path="kv/a", data={"v": "1"}, client_token=root)
    await core.handle(write)
    read = Request(operation=Operation.READ, path="kv/a", data={}, client_token=root)
    assert (await core.handle(read)).data == {"v": "1"}
    before = inner.gets
    read = Request(operation=Operation.READ, path="kv/a", data={}, client_token=root)
    assert (await core.handle(read)).data == {"v": "1"}
    assert inner.gets == before  # token, mount and value all came from memory
    await core.seal()
    assert not core.cache.active
    assert Core(InmemStorage()).cache is None
    assert Core(inner, CoreConfig(storage_type="file", cache_size=0)).cache is None
