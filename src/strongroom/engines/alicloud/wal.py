"""The write-ahead log that keeps half-built RAM users from being forgotten.

Before `CreateUser` the engine records what it is about to create (user name,
inline policy names) under `wal/<id>` in the mount's storage. The entry goes
once the lease is stored, or once a failed issue has removed what it created.
An entry that stays means the server stopped half-way (or the cloud failed
during the clean-up): `rollback()` tears such users down once the entry is
older than `MIN_AGE`, at start-up and then every `INTERVAL`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

from strongroom import jsonutil
from strongroom.storage.base import Storage

log = logging.getLogger("strongroom.alicloud")

WAL_PREFIX = "wal/"
MIN_AGE = 5 * 60.0  # an entry younger than this may belong to an issue still running
INTERVAL = 60.0


@dataclass
class WalEntry:
    id: str
    username: str
    inline_policies: list[str] = field(default_factory=list)  # names of created policies
    created: float = 0.0  # unix seconds


class Wal:
    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self._storage = storage
        self._now = now
        # Entries of issues running in this process: never rolled back under them.
        self.inflight: set[str] = set()

    async def begin(self, username: str, inline_policies: list[str]) -> str:
        entry = WalEntry(uuid.uuid4().hex, username, list(inline_policies), self._now())
        self.inflight.add(entry.id)
        try:
            await self._storage.put(WAL_PREFIX + entry.id, jsonutil.dumps_compact(asdict(entry)))
        except BaseException:
            self.inflight.discard(entry.id)
            raise
        return entry.id

    async def commit(self, entry_id: str) -> None:
        """What the entry guarded is done (leased) or undone: forget it."""
        await self._storage.delete(WAL_PREFIX + entry_id)
        self.inflight.discard(entry_id)

    def release(self, entry_id: str) -> None:
        """Leave the entry to `rollback()` (an issue failed and could not clean up)."""
        self.inflight.discard(entry_id)

    async def entries(self) -> list[WalEntry]:
        out: list[WalEntry] = []
        for name in await self._storage.list(WAL_PREFIX):
            if name.endswith("/"):
                continue
            raw = await self._storage.get(WAL_PREFIX + name)
            if raw is None:
                continue
            record = jsonutil.loads(raw)
            out.append(
                WalEntry(
                    id=record["id"],
                    username=record["username"],
                    inline_policies=list(record.get("inline_policies") or []),
                    created=float(record.get("created") or 0),
                )
            )
        return out

    async def rollback(
        self, undo: Callable[[WalEntry], Awaitable[None]], min_age: float = MIN_AGE
    ) -> int:
        """Undo every entry at least `min_age` old; returns how many were rolled back."""
        done = 0
        now = self._now()
        for entry in await self.entries():
            if entry.id in self.inflight or now - entry.created < min_age:
                continue
            try:
                await undo(entry)
            except Exception as err:
                log.warning(
                    "alicloud: rollback of RAM user %s failed, will retry: %s", entry.username, err
                )
                continue
            await self.commit(entry.id)
            log.info(
                "alicloud: rolled back RAM user %s left by an unfinished issue", entry.username
            )
            done += 1
        return done
