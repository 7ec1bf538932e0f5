"""The write-ahead log that keeps half-built IAM users from being forgotten (§4.1, §4.3).

Before `CreateUser` the engine records the user name under `wal/<id>` in the
mount's storage. The entry goes when the credential is complete (and about to
be leased) or when a failed issue has removed what it created. An entry that
stays behind means the server crashed (or AWS failed during the clean-up);
`rollback()` deletes such users with the revocation procedure once the entry
is older than `MIN_AGE`, on start-up and then every `INTERVAL`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from strongroom import jsonutil
from strongroom.storage.base import Storage

log = logging.getLogger("strongroom.aws")

WAL_PREFIX = "wal/"
KIND_USER = "user"
MIN_AGE = 5 * 60.0  # Vault's rule: an entry younger than this may still be in flight
INTERVAL = 60.0


@dataclass
class WalEntry:
    id: str
    kind: str
    username: str
    created: float  # unix seconds


class Wal:
    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self._storage = storage
        self._now = now
        # Entries of issues running in this process: never rolled back under them.
        self.inflight: set[str] = set()

    async def begin(self, username: str) -> str:
        entry = WalEntry(uuid.uuid4().hex, KIND_USER, username, self._now())
        self.inflight.add(entry.id)
        try:
            await self._storage.put(WAL_PREFIX + entry.id, jsonutil.dumps_compact(asdict(entry)))
        except BaseException:
            self.inflight.discard(entry.id)
            raise
        return entry.id

    async def commit(self, entry_id: str) -> None:
        """The work the entry guarded is done (or undone): forget it."""
        await self._storage.delete(WAL_PREFIX + entry_id)
        self.inflight.discard(entry_id)

    def release(self, entry_id: str) -> None:
        """Leave the entry for `rollback()` (the issue failed and could not clean up)."""
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
            record["created"] = float(record["created"])
            out.append(WalEntry(**record))
        return out

    async def rollback(
        self, undo: Callable[[str], Awaitable[None]], min_age: float = MIN_AGE
    ) -> int:
        """Undo every entry at least `min_age` old; returns how many were rolled back."""
        done = 0
        now = self._now()
        for entry in await self.entries():
            if entry.id in self.inflight or now - entry.created < min_age:
                continue
            if entry.kind != KIND_USER:
                log.warning("aws: dropping WAL entry %s of unknown kind %r", entry.id, entry.kind)
                await self.commit(entry.id)
                continue
            try:
                await undo(entry.username)
            except Exception as err:
                log.warning(
                    "aws: rollback of IAM user %s failed, will retry: %s", entry.username, err
                )
                continue
            await self.commit(entry.id)
            log.info("aws: rolled back IAM user %s left by an unfinished issue", entry.username)
            done += 1
        return done
