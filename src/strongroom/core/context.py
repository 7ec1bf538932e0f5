"""What a backend is given: its storage view, its mount and the system's view.

Engines see nothing of the Core beyond this, which keeps them testable
without a server: build a BackendContext over an InmemStorage and call
`backend.handle(request)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from strongroom.storage.base import Op, Storage

if TYPE_CHECKING:
    from strongroom.core.mounts import MountEntry

SYSTEM_DEFAULT_TTL = 768 * 3600


def utcnow() -> datetime:
    return datetime.now(UTC)


class StorageView:
    """A Storage confined below a key prefix (each mount gets its own)."""

    __slots__ = ("_inner", "prefix")

    def __init__(self, inner: Storage, prefix: str) -> None:
        self._inner = inner
        self.prefix = prefix

    async def get(self, key: str) -> bytes | None:
        return await self._inner.get(self.prefix + key)

    async def put(self, key: str, value: bytes) -> None:
        await self._inner.put(self.prefix + key, value)

    async def delete(self, key: str) -> None:
        await self._inner.delete(self.prefix + key)

    async def list(self, prefix: str) -> list[str]:
        return await self._inner.list(self.prefix + prefix)

    async def batch(self, ops: list[Op]) -> None:
        await self._inner.batch([Op(self.prefix + op.key, op.value) for op in ops])

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        return await self._inner.scan(self.prefix + prefix, after, limit)

    async def close(self) -> None:  # the view does not own the storage below it
        return None

    def sub(self, prefix: str) -> StorageView:
        return StorageView(self._inner, self.prefix + prefix)


async def clear_prefix(storage: Storage, prefix: str = "") -> None:
    """Delete every key below `prefix` (used when a mount is disabled)."""
    for name in await storage.list(prefix):
        if name.endswith("/"):
            await clear_prefix(storage, prefix + name)
        else:
            await storage.delete(prefix + name)


@dataclass
class SystemView:
    """System-wide settings a backend may consult; TTLs in seconds."""

    default_lease_ttl: int = SYSTEM_DEFAULT_TTL
    max_lease_ttl: int = SYSTEM_DEFAULT_TTL
    clock: Callable[[], datetime] = utcnow


@dataclass
class BackendContext:
    storage: Storage
    mount: MountEntry
    system: SystemView = field(default_factory=SystemView)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.system.clock

    def default_lease_ttl(self) -> int:
        """The mount's effective default TTL: tuned value, else the system's."""
        return self.mount.config.default_lease_ttl or self.system.default_lease_ttl

    def max_lease_ttl(self) -> int:
        return self.mount.config.max_lease_ttl or self.system.max_lease_ttl
