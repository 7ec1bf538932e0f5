"""The write-ahead journal that keeps half-built Azure objects from being forgotten (spec §7).

Each record is written **before** the cloud call it guards and names what
that call may leave behind:

    appCreate      {display_name, app_object_id, app_id, expiration}
                   written before POST /applications (the object id is added
                   once known; until then the rollback finds the application
                   by its unique `vault-<uuid>` display name)
    appRoleAssign  {sp_id, assignment_ids, expiration}
                   written before the role assignment PUTs, with the
                   pre-generated assignment IDs
    rotateRoot     {app_object_id, display_name}
                   written before rotate-root's addPassword

A record goes when its work is complete (for credentials: once the core has
stored the lease) or undone. One left behind means a crash, or Azure failing
during the clean-up: `rollback()` undoes records older than `MIN_AGE`, at
start-up and then every `INTERVAL`; records past their `expiration` (24 h)
are dropped with a warning.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

log = logging.getLogger("strongroom.azure")

WAL_PREFIX = "wal/"
APP_CREATE = "appCreate"
ROLE_ASSIGN = "appRoleAssign"
ROTATE_ROOT = "rotateRoot"
MIN_AGE = 10 * 60.0  # younger records may belong to a request still running elsewhere
INTERVAL = 60.0
EXPIRATION = 24 * 3600.0


@dataclass
class WalEntry:
    id: str
    kind: str
    created: float  # unix seconds
    data: dict[str, Any] = field(default_factory=dict)


Undo = Callable[[WalEntry], Awaitable[None]]


class Wal:
    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self._storage = storage
        self._now = now
        # Records of requests running in this process: never rolled back under them.
        self.inflight: set[str] = set()

    async def begin(self, kind: str, **data: Any) -> WalEntry:
        entry = WalEntry(uuid.uuid4().hex, kind, self._now(), data)
        if kind != ROTATE_ROOT:
            entry.data.setdefault("expiration", entry.created + EXPIRATION)
        self.inflight.add(entry.id)
        try:
            await self._put(entry)
        except BaseException:
            self.inflight.discard(entry.id)
            raise
        return entry

    async def update(self, entry: WalEntry, **data: Any) -> None:
        entry.data.update(data)
        await self._put(entry)

    async def _put(self, entry: WalEntry) -> None:
        await self._storage.put(WAL_PREFIX + entry.id, jsonutil.dumps_compact(asdict(entry)))

    async def commit(self, *entries: WalEntry | None) -> None:
        """The guarded work is done (or undone): forget the records."""
        for entry in entries:
            if entry is None:
                continue
            await self._storage.delete(WAL_PREFIX + entry.id)
            self.inflight.discard(entry.id)

    def release(self, *entries: WalEntry | None) -> None:
        """Leave the records to `rollback()` (the clean-up could not finish)."""
        for entry in entries:
            if entry is not None:
                self.inflight.discard(entry.id)

    async def settle(self, entries: list[WalEntry], lease_stored: bool) -> None:
        """After the core stored the lease (or revoked the credential): done with the records."""
        if lease_stored:
            await self.commit(*entries)
        else:
            self.release(*entries)

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

    async def rollback(self, undo: dict[str, Undo], min_age: float = MIN_AGE) -> int:
        """Undo every record at least `min_age` old; how many were rolled back."""
        done = 0
        now = self._now()
        for entry in await self.entries():
            if entry.id in self.inflight or now - entry.created < min_age:
                continue
            handler = undo.get(entry.kind)
            if handler is None:
                log.warning(
                    "azure: dropping journal entry %s of unknown kind %r", entry.id, entry.kind
                )
                await self.commit(entry)
                continue
            expiration = float(entry.data.get("expiration") or 0)
            if expiration and now > expiration:
                log.warning(
                    "azure: giving up on journal entry %s (%s %s): past its expiration",
                    entry.id,
                    entry.kind,
                    _describe(entry),
                )
                await self.commit(entry)
                continue
            try:
                await handler(entry)
            except Exception as err:
                log.warning(
                    "azure: rollback of %s %s failed, will retry: %s",
                    entry.kind,
                    _describe(entry),
                    err,
                )
                continue
            await self.commit(entry)
            log.info(
                "azure: rolled back %s %s left by an unfinished request",
                entry.kind,
                _describe(entry),
            )
            done += 1
        return done


def _describe(entry: WalEntry) -> str:
    data = entry.data
    if entry.kind == APP_CREATE:
        return data.get("app_object_id") or data.get("display_name") or entry.id
    if entry.kind == ROLE_ASSIGN:
        return f"for {data.get('sp_id', '?')} ({len(data.get('assignment_ids') or [])} assignments)"
    return str(data.get("display_name") or entry.id)
