"""In-memory storage: for `server -dev` and tests. Nothing survives a restart."""

from __future__ import annotations

from sortedcontainers import SortedList

from strongroom.storage.base import Op, folder_skip_scan


class InmemStorage:
    """A dict for point reads plus a sorted key list for ordered listing.

    New keys wait in a set and join the SortedList in bulk at the next list or
    scan: most keys (tokens, leases) are written far more often than anything
    lists them, and sorted inserts one by one cost more than the rest of a write.
    """

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        # _keys and _new together are always the same set as _data's keys.
        self._keys: SortedList = SortedList()
        self._new: set[str] = set()

    async def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self._put(key, bytes(value))

    async def delete(self, key: str) -> None:
        self._delete(key)

    async def list(self, prefix: str) -> list[str]:
        return folder_skip_scan(prefix, self._first_at_or_after)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        start = prefix + after if after else prefix
        out: list[str] = []
        n = len(prefix)
        for key in self._sorted().irange(start, inclusive=(not after, True)):
            if len(out) >= limit or not key.startswith(prefix):
                break
            out.append(key[n:])
        return out

    async def batch(self, ops: list[Op]) -> None:
        # Convert every value before touching the data, so a bad op fails the
        # whole batch; with no await in between, no task sees half of it.
        staged = [(op.key, None if op.value is None else bytes(op.value)) for op in ops]
        for key, value in staged:
            if value is None:
                self._delete(key)
            else:
                self._put(key, value)

    async def close(self) -> None:
        """Nothing to release; the data stays readable until garbage collected."""

    def _put(self, key: str, value: bytes) -> None:
        if key not in self._data:
            self._new.add(key)
        self._data[key] = value

    def _delete(self, key: str) -> None:
        if self._data.pop(key, None) is None:
            return
        if key in self._new:
            self._new.discard(key)
        else:
            self._keys.remove(key)

    def _sorted(self) -> SortedList:
        if self._new:
            self._keys.update(self._new)
            self._new.clear()
        return self._keys

    def _first_at_or_after(self, key: str) -> str | None:
        for found in self._sorted().irange(key):
            return found
        return None
