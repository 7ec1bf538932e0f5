"""In-memory storage: for `server -dev` and tests. Nothing survives a restart.

Values sit in a dict. Key order for `list` and `scan` comes from a tree of
folders (like OpenBao's radix tree), so a new key costs a few dict operations,
never a search through a sorted list of every key: writing tokens and leases
costs the same with a million keys stored.

A folder is a plain dict: `name -> True` for a key, `name + "/" -> dict` for a
subfolder (the trailing "/" makes the names sort as the full keys do: "a-b" <
"a/" < "a0"). Folders holding only keys (most: one per token's lease index)
contain nothing but strings and `True`, so CPython's garbage collector does not
track them, which keeps collection pauses short with millions of keys. A folder
is sorted the first time it is listed or scanned; names added later are merged
in at its next read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from strongroom.storage.base import Op, folder_skip_scan

Folder = dict[str, "Folder | bool"]


class InmemStorage:
    """A dict for point reads plus a folder tree for ordered listing."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._root: Folder = {}
        # Every folder by its path ("" is the root): a new key in an existing
        # folder (the usual case) costs one lookup instead of a walk.
        self._folders: dict[str, Folder] = {"": self._root}
        # Sorted child names of the folders listed or scanned so far, by folder path,
        # and the names added to them since: merged in at the folder's next read,
        # so a big folder that was listed once (all tokens' accessors) does not
        # cost a sorted insert per new key from then on.
        self._orders: dict[str, list[str]] = {}
        self._added: dict[str, set[str]] = {}

    async def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self._put(key, bytes(value))

    async def delete(self, key: str) -> None:
        self._delete(key)

    async def list(self, prefix: str) -> list[str]:
        if prefix and not prefix.endswith("/"):
            return folder_skip_scan(prefix, self._first_at_or_after)
        node: Folder | bool | None = self._root
        for part in prefix.split("/")[:-1]:
            node = node.get(part + "/") if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return []
        return [name for name in self._names(node, prefix) if name]  # "" = <prefix> itself

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        low = prefix + after
        out: list[str] = []
        n = len(prefix)
        for key in self._walk(self._root, "", low):
            if not key.startswith(prefix) or len(out) >= limit:
                break
            if after and key == low:
                continue  # paging: strictly after
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

    # ------------------------------------------------------------ the tree
    def _put(self, key: str, value: bytes) -> None:
        if key not in self._data:
            cut = key.rfind("/") + 1
            path, leaf = key[:cut], key[cut:]
            node = self._folders.get(path)
            if node is None:
                node = self._make_folders(key)
            node[leaf] = True
            self._ordered_add(path, leaf)
        self._data[key] = value

    def _make_folders(self, key: str) -> Folder:
        node, end = self._root, 0
        for part in key.split("/")[:-1]:
            name = part + "/"
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
                self._folders[key[: end + len(name)]] = child
                self._ordered_add(key[:end], name)
            node, end = child, end + len(name)
        return node

    def _delete(self, key: str) -> None:
        if self._data.pop(key, None) is None:
            return
        cut = key.rfind("/") + 1
        path, name = key[:cut], key[cut:]
        node = self._folders[path]
        del node[name]
        self._ordered_remove(path, name)
        # Folders left empty go too: listing never shows a folder without keys.
        while path and not node:
            del self._folders[path]
            self._orders.pop(path, None)
            self._added.pop(path, None)
            cut = path.rfind("/", 0, len(path) - 1) + 1
            path, name = path[:cut], path[cut:]
            node = self._folders[path]
            del node[name]
            self._ordered_remove(path, name)

    def _names(self, node: Folder, path: str) -> list[str]:
        order = self._orders.get(path)
        if order is None:
            order = self._orders[path] = sorted(node)
            self._added.pop(path, None)
        else:
            added = self._added.pop(path, None)
            if added:
                order.extend(added)
                order.sort()  # two sorted runs: timsort merges them in linear time
        return order

    def _ordered_add(self, path: str, name: str) -> None:
        if path in self._orders:
            added = self._added.get(path)
            if added is None:
                added = self._added[path] = set()
            added.add(name)

    def _ordered_remove(self, path: str, name: str) -> None:
        order = self._orders.get(path)
        if order is None:
            return
        added = self._added.get(path)
        if added is not None and name in added:
            added.discard(name)
        else:
            del order[bisect_left(order, name)]

    def _walk(self, node: Folder, base: str, low: str | None) -> Iterator[str]:
        """The keys below `node` (a folder at path `base`) in order, from the first
        one >= base + low (low None: from the first)."""
        names = self._names(node, base)
        start = 0
        if low is not None:
            start = bisect_left(names, low)
            # A folder that `low` runs into sorts just before it ("a/" < "a/b").
            if start > 0 and names[start - 1].endswith("/") and low.startswith(names[start - 1]):
                name = names[start - 1]
                child = node[name]
                assert isinstance(child, dict)
                yield from self._walk(child, base + name, low[len(name) :])
        for name in names[start:]:
            if name.endswith("/"):
                child = node[name]
                assert isinstance(child, dict)
                yield from self._walk(child, base + name, None)
            else:
                yield base + name

    def _first_at_or_after(self, key: str) -> str | None:
        return next(self._walk(self._root, "", key), None)
