"""The embedded default backend: one SQLite database in WAL mode.

Durability: `synchronous=FULL` in WAL mode fsyncs the log on every commit, so a
write acknowledged to a client survives `kill -9` and power loss.

Threading: sqlite calls block on disk, and the event loop must never block. All
of them run on one dedicated worker thread that alone owns the connection, so
calls are serialised (SQLite allows one writer anyway) and no locking is needed.

Group commit: writes that arrive while a commit is on disk wait for it, then
all go in the next transaction, each in its own savepoint (one write failing
does not undo another) and each acknowledged only once that transaction is
durable. Concurrent writers share an fsync instead of queueing for one each.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from strongroom.storage.base import PREFIX_END, Op, folder_skip_scan

DB_FILE = "strongroom.db"

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
_GET = "SELECT value FROM kv WHERE key = ?"
_PUT = (
    "INSERT INTO kv (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_DELETE = "DELETE FROM kv WHERE key = ?"
_FIRST_AT_OR_AFTER = "SELECT key FROM kv WHERE key >= ? ORDER BY key LIMIT 1"

T = TypeVar("T")
_Staged = list[tuple[str, bytes | None]]  # one atomic write: (key, value or None = delete)


class FileStorage:
    """Keys and values in `<path>/strongroom.db`; see the module docstring."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db_path = os.path.join(path, DB_FILE)
        # Create the directory now so a bad path fails at startup, not on the first
        # request. 0700: the files hold (encrypted) secrets and nobody else needs them.
        if not os.path.isdir(path):
            os.makedirs(path, mode=0o700, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strongroom-sqlite")
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread
        self._closed = False
        # Writes waiting for the next group commit, and the task committing them.
        self._pending: list[tuple[_Staged, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def get(self, key: str) -> bytes | None:
        return await self._run(_get, key)

    async def put(self, key: str, value: bytes) -> None:
        await self._write([(key, bytes(value))])

    async def delete(self, key: str) -> None:
        await self._write([(key, None)])

    async def list(self, prefix: str) -> list[str]:
        # The whole scan runs in one trip to the worker thread; each step is an
        # indexed lookup, so cost grows with the number of children only.
        return await self._run(_list, prefix)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        return await self._run(_scan, prefix, after, limit)

    async def batch(self, ops: list[Op]) -> None:
        await self._write([(op.key, None if op.value is None else bytes(op.value)) for op in ops])

    async def _write(self, staged: _Staged) -> None:
        if self._closed:
            raise RuntimeError("storage is closed")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((staged, done))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_pending())
        # shield: a cancelled caller must not cancel the commit the others share.
        await asyncio.shield(done)

    async def _commit_pending(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    errors = await self._submit(_commit_group, [staged for staged, _ in group])
                except Exception as err:  # the transaction failed: nothing is durable
                    errors = [err] * len(group)
                except BaseException:
                    self._pending = group + self._pending
                    raise
                for (_, done), error in zip(group, errors, strict=True):
                    if done.done():
                        continue
                    if error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(error)
        finally:
            self._committer = None
            for _, done in self._pending:  # only left over when cancelled (shutdown)
                done.cancel()
            self._pending = []

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._committer is not None:
            await asyncio.shield(self._committer)  # acknowledge what was accepted
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close_conn)
        finally:
            # The queue is empty now, so the worker exits on its own; don't block
            # the loop joining it.
            self._executor.shutdown(wait=False)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(conn, *args)` on the worker thread."""
        if self._closed:
            raise RuntimeError("storage is closed")
        return await self._submit(fn, *args)

    async def _submit(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        if self._conn is None:
            self._conn = _open(self.db_path)
        return fn(self._conn, *args)

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _open(db_path: str) -> sqlite3.Connection:
    """Open (creating if needed) the database with the durability settings."""
    # Create the file ourselves so it is 0600 from the first byte; SQLite gives
    # the -wal and -shm files the same permissions as the database.
    os.close(os.open(db_path, os.O_RDWR | os.O_CREAT, 0o600))
    # isolation_level=None: autocommit, so each put is its own durable transaction
    # and batch() controls BEGIN/COMMIT explicitly.
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=True)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _get(conn: sqlite3.Connection, key: str) -> bytes | None:
    row = conn.execute(_GET, (key,)).fetchone()
    return None if row is None else bytes(row[0])


def _list(conn: sqlite3.Connection, prefix: str) -> list[str]:
    def first_at_or_after(key: str) -> str | None:
        row = conn.execute(_FIRST_AT_OR_AFTER, (key,)).fetchone()
        return None if row is None else row[0]

    return folder_skip_scan(prefix, first_at_or_after)


def _scan(conn: sqlite3.Connection, prefix: str, after: str, limit: int) -> list[str]:
    # Lower bound exclusive of prefix+after (when paging), upper bound past every
    # key below the prefix; the primary key index serves it in order.
    low, op = (prefix + after, ">") if after else (prefix, ">=")
    rows = conn.execute(
        f"SELECT key FROM kv WHERE key {op} ? AND key < ? ORDER BY key LIMIT ?",
        (low, prefix + PREFIX_END, limit),
    ).fetchall()
    n = len(prefix)
    return [row[0][n:] for row in rows]


def _commit_group(conn: sqlite3.Connection, writes: list[_Staged]) -> list[Exception | None]:
    """Commit several independent atomic writes in one transaction (one fsync).

    Returns, per write, None or the error that undid it (its savepoint rolled
    back). Raises if the transaction as a whole fails: then none is durable.
    """
    # IMMEDIATE takes the write lock up front, so nothing fails half-way on a
    # lock upgrade.
    conn.execute("BEGIN IMMEDIATE")
    try:
        errors: list[Exception | None] = []
        for ops in writes:
            conn.execute("SAVEPOINT write")
            try:
                for key, value in ops:
                    if value is None:
                        conn.execute(_DELETE, (key,))
                    else:
                        conn.execute(_PUT, (key, value))
            except sqlite3.Error as err:
                conn.execute("ROLLBACK TO write")
                errors.append(err)
            else:
                errors.append(None)
            conn.execute("RELEASE write")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT can leave it open too
            conn.execute("ROLLBACK")
        raise
    return errors
