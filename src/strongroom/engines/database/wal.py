"""The write-ahead log that keeps a half-issued database user from being forgotten.

Before the creation statements run, the engine records the username (and how
to revoke it) under `wal/<id>`. The entry goes once the lease is stored (the
lease manager owns the user from then on) or once a failed issue has cleaned
up after itself. An entry that stays behind means the server stopped in
between, or the clean-up itself failed; `rollback()` revokes such users once
the entry is `MIN_AGE` old, at start-up and then every `INTERVAL`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

from strongroom import jsonutil
from strongroom.storage.base import Storage

log = logging.getLogger("strongroom.database")

WAL_PREFIX = "wal/"
MIN_AGE = 5 * 60.0  # an entry younger than this may belong to an issue still running
INTERVAL = 60.0


@dataclass
class WalEntry:
    id: str
    db_name: str
    username: str
    role: str
    created: float
    revocation_statements: list[str] = field(default_factory=list)


class Wal:
    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self._storage = storage
        self._now = now
        self.inflight: set[str] = set()  # entries of issues running in this process

    async def begin(
        self, db_name: str, username: str, role: str, revocation_statements: list[str]
    ) -> str:
        entry = WalEntry(
            uuid.uuid4().hex, db_name, username, role, self._now(), revocation_statements
        )
        self.inflight.add(entry.id)
        try:
            await self._storage.put(WAL_PREFIX + entry.id, jsonutil.dumps_compact(asdict(entry)))
        except BaseException:
            self.inflight.discard(entry.id)
            raise
        return entry.id

    async def commit(self, entry_id: str) -> None:
        await self._storage.delete(WAL_PREFIX + entry_id)
        self.inflight.discard(entry_id)

    def release(self, entry_id: str) -> None:
        """Leave the entry to `rollback()` (the issue failed and could not clean up)."""
        self.inflight.discard(entry_id)

    async def settle(self, entry_id: str, stored: bool) -> None:
        """The lease was stored (or the core revoked the user): the entry is done either way."""
        await self.commit(entry_id)

    async def entries(self) -> list[WalEntry]:
        out: list[WalEntry] = []
        for name in await self._storage.list(WAL_PREFIX):
            if name.endswith("/"):
                continue
            raw = await self._storage.get(WAL_PREFIX + name)
            if raw is None:
                continue
            record = jsonutil.loads(raw)
            record["created"] = float(str(record["created"]))
            out.append(WalEntry(**record))
        return out

    async def rollback(
        self, undo: Callable[[WalEntry], Awaitable[None]], min_age: float = MIN_AGE
    ) -> int:
        done = 0
        now = self._now()
        for entry in await self.entries():
            if entry.id in self.inflight or now - entry.created < min_age:
                continue
            try:
                await undo(entry)
            except Exception as err:
                log.warning(
                    "database: rollback of user %s on %s failed, will retry: %s",
                    entry.username,
                    entry.db_name,
                    err,
                )
                continue
            await self.commit(entry.id)
            log.info(
                "database: removed user %s on %s left by an unfinished issue",
                entry.username,
                entry.db_name,
            )
            done += 1
        return done
