"""The physical storage interface: opaque bytes by key.

Storage knows nothing about meaning. Keys are `/`-separated paths; values are
opaque bytes (already encrypted by the barrier above). Every backend offers the
same five operations, so the barrier and everything above it never learns
which backend it runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Op:
    """One write in an atomic batch: a put when `value` is bytes, a delete when None."""

    key: str
    value: bytes | None


class Storage(Protocol):
    """What every physical backend implements (inmem, file, later postgresql)."""

    async def get(self, key: str) -> bytes | None:
        """The value at `key`, or None."""

    async def put(self, key: str, value: bytes) -> None:
        """Store `value`; durable once the call returns."""

    async def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error."""

    async def list(self, prefix: str) -> list[str]:
        """Immediate children below `prefix`, sorted, Vault-style.

        `prefix` is "" or ends with "/". A child that has keys below it is
        returned once, with a trailing "/" ("a/b" and "a/c/d" under "a/" list
        as ["b", "c/"]). A name can appear both as a leaf and as a folder.
        """

    async def batch(self, ops: list[Op]) -> None:
        """Apply all ops atomically: all of them are durable, or none."""

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        """Up to `limit` keys below `prefix`, flat and in order, without the prefix.

        Only keys sorting after `prefix + after` are returned, so a caller pages
        through millions of keys (the lease expiry index) holding one page.
        """

    async def close(self) -> None:
        """Release files and connections."""


def child_names(prefix: str, keys: list[str]) -> list[str]:
    """Reduce full keys below `prefix` to the sorted, distinct immediate children."""
    out: set[str] = set()
    n = len(prefix)
    for key in keys:
        if not key.startswith(prefix) or len(key) == n:
            continue
        rest = key[n:]
        slash = rest.find("/")
        out.add(rest if slash < 0 else rest[: slash + 1])
    return sorted(out)


# The character right after "/" in code-point (and UTF-8 byte) order. Every key
# inside the folder "<p>name/" sorts before "<p>name" + FOLDER_END, so jumping
# there skips the whole subtree in one step.
FOLDER_END = chr(ord("/") + 1)
# Sorts after every key below a prefix (the highest code point).
PREFIX_END = "\U0010ffff"


def folder_skip_scan(prefix: str, first_at_or_after: Callable[[str], str | None]) -> list[str]:
    """List the immediate children of `prefix`, looking up one key per child.

    `first_at_or_after(k)` returns the smallest stored key >= k, or None. Walking
    the sorted key space this way costs one ordered lookup per child, however many
    keys live below a child folder, instead of one step per descendant. Every
    ordered backend shares it so their listings agree exactly. The result is
    sorted because keys are visited in order and truncating a key to its first
    path segment preserves that order.
    """
    out: list[str] = []
    n = len(prefix)
    cursor = prefix
    while True:
        key = first_at_or_after(cursor)
        if key is None or not key.startswith(prefix):
            return out
        rest = key[n:]
        slash = rest.find("/")
        if slash < 0:
            if rest:  # a key equal to the prefix itself is not a child
                out.append(rest)
            cursor = key + "\0"  # the smallest string greater than key
        else:
            out.append(rest[: slash + 1])
            cursor = prefix + rest[:slash] + FOLDER_END
