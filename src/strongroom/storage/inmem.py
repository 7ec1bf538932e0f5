"""In-memory storage: for `server -dev` and tests. Nothing survives a restart."""

from __future__ import annotations

from sortedcontainers import SortedList

from strongroom.storage.base import Op, folder_skip_scan


class InmemStorage:
    """A dict for point reads plus a sorted key list for ordered listing.

    The key list is a SortedList (O(log n) inserts): with a plain list, every
    new token or lease cost a memmove of all later keys.
    """

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._keys: SortedList = SortedList()  # always the same set as _data's keys

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
        for key in self._keys.irange(start, inclusive=(not after, True)):
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
            self._keys.add(key)
        self._data[key] = value

    def _delete(self, key: str) -> None:
        if self._data.pop(key, None) is not None:
            self._keys.remove(key)

    def _first_at_or_after(self, key: str) -> str | None:
        for found in self._keys.irange(key):
            return found
        return None
