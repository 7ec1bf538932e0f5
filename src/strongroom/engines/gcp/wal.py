"""The cleanup journal: what to undo on Google Cloud if a change does not finish (§10).

Before the engine creates or removes anything in the cloud it stores an entry
under `wal/<id>` saying how to undo it; the entry goes when the change is
complete and saved (or undone). An entry that stays behind means the server
stopped half-way, or the cloud failed during the clean-up: the rollback
undoes it once it is older than `MIN_AGE` (at start-up, then every
`INTERVAL`), and keeps it until the undo succeeds.

Kinds (undo rules in cleanup.py):

    account   {owner, project, email, bindings}   delete the service account and its
                                                 bindings unless it is the roleset's
                                                 current account
    bindings  {owner_kind, owner, email,         take back additions current state does
               added, removed}                   not want; restore removals it wants
    key       {owner_kind, owner, sa, key_name,  delete the key unless it is the owner's
               known, started}                   token key; no key_name (the create's
                                                 answer was lost): keys not in `known`
                                                 created while the call was in flight
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

log = logging.getLogger("strongroom.gcp")

WAL_PREFIX = "wal/"
MIN_AGE = 5 * 60.0  # an entry younger than this may belong to a change still in flight
INTERVAL = 60.0

ACCOUNT = "account"
BINDINGS = "bindings"
KEY = "key"
KINDS = (ACCOUNT, BINDINGS, KEY)


@dataclass
class WalEntry:
    id: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0  # unix seconds


class Wal:
    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self._storage = storage
        self._now = now
        # Entries of changes running in this process: never rolled back under them.
        self.inflight: set[str] = set()

    async def begin(self, kind: str, **data: Any) -> WalEntry:
        entry = WalEntry(uuid.uuid4().hex, kind, data, self._now())
        self.inflight.add(entry.id)
        try:
            await self._write(entry)
        except BaseException:
            self.inflight.discard(entry.id)
            raise
        return entry

    async def update(self, entry: WalEntry, **data: Any) -> None:
        entry.data.update(data)
        await self._write(entry)

    async def _write(self, entry: WalEntry) -> None:
        await self._storage.put(WAL_PREFIX + entry.id, jsonutil.dumps_compact(asdict(entry)))

    async def commit(self, entry: WalEntry | str) -> None:
        """The work the entry guarded is done (or undone): forget it."""
        entry_id = entry if isinstance(entry, str) else entry.id
        await self._storage.delete(WAL_PREFIX + entry_id)
        self.inflight.discard(entry_id)

    def release(self, entry: WalEntry | str) -> None:
        """Leave the entry for `rollback()` (the change failed and could not clean up)."""
        self.inflight.discard(entry if isinstance(entry, str) else entry.id)

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
                    str(record["id"]),
                    str(record["kind"]),
                    dict(record.get("data") or {}),
                    float(record.get("created", 0)),
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
            if entry.kind not in KINDS:
                log.warning("gcp: dropping WAL entry %s of unknown kind %r", entry.id, entry.kind)
                await self.commit(entry)
                continue
            try:
                await undo(entry)
            except Exception as err:
                log.warning(
                    "gcp: rollback of %s entry %s failed, will retry: %s", entry.kind, entry.id, err
                )
                continue
            await self.commit(entry)
            log.info("gcp: rolled back a %s left by an unfinished change", entry.kind)
            done += 1
        return done
