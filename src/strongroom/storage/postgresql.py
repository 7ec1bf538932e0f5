"""PostgreSQL storage: Vault's table layout, a connection pool, an HA lock and write fencing.

Data table (Vault's layout, so an operator's existing schema works)::

    parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", key TEXT COLLATE "C",
    value BYTEA, PRIMARY KEY (path, key)

A key "a/b/c" is stored as parent_path "/a/", path "/a/b/", key "c"; "c" alone
as parent_path "", path "/", key "c". Unlike Vault, missing tables are created
(unless `skip_create_table`), plus one expression index on the full key
(`substr(path, 2) || key`) that serves the ordered, paged `scan`.

Listing a folder is two index walks on the primary key, in one statement: the
leaves are the rows whose `path` is the folder; the sub-folders are found with
a recursive "loose index scan" that jumps from one child folder to the next,
so its cost grows with the number of children, never with the number of keys
below them.

HA: the lock is one row of the HA table (`ha_key` "core/lock"), held by the
`ha_identity` that wrote it until `valid_until` (the database clock decides,
so the servers' clocks never have to agree). `core.ha` drives it. While a
`WriteFence` is installed every write is conditional on still holding that
lock, checked in the same statement or transaction with `FOR SHARE`: a node
taking the lock over has to wait for such a write to commit, and a write
arriving after the takeover finds another identity and is refused. Two
actives can therefore never both write, whatever their clocks or pauses.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from strongroom.storage.base import PREFIX_END, Op
from strongroom.storage.fence import LockHolder, NotActiveError, WriteFence

log = logging.getLogger("strongroom.storage.postgresql")

DEFAULT_TABLE = "vault_kv_store"
DEFAULT_HA_TABLE = "vault_ha_locks"
DEFAULT_MAX_PARALLEL = 128
LOCK_KEY = "core/lock"
ENV_URLS = ("BAO_PG_CONNECTION_URL", "VAULT_PG_CONNECTION_URL")
# Every key Vault or OpenBao documents for this stanza; anything else is a typo
# (a misspelt `ha_enabled` silently ignored would start a server without HA).
KNOWN_OPTIONS = frozenset(
    {
        "connection_url",
        "table",
        "ha_table",
        "ha_enabled",
        "max_parallel",
        "max_idle_connections",
        "max_connect_retries",
        "skip_create_table",
        "upsert_function",
    }
)
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"", "0", "f", "F", "false", "FALSE", "False"})
# How long a request waits for a pooled connection before failing.
POOL_TIMEOUT = 30.0
SCHEMA_LOCK_ID = 0x5354524F  # pg_advisory_xact_lock id: servers starting together create once

T = TypeVar("T")


def split_key(key: str) -> tuple[str, str, str]:
    """(parent_path, path, key) of a storage key, in Vault's layout."""
    pieces = key.split("/")
    name = pieces[-1]
    if len(pieces) == 1:
        return "", "/", name
    if len(pieces) == 2:
        return "/", "/" + pieces[0] + "/", name
    return "/" + "/".join(pieces[:-2]) + "/", "/" + "/".join(pieces[:-1]) + "/", name


def _bool(name: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'storage "postgresql": {name} must be "true" or "false", got "{value}"')


def _int(name: str, value: str, default: int) -> int:
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f'storage "postgresql": {name} must be an integer, got "{value}"'
        ) from None
    if number < 0:
        raise ValueError(f'storage "postgresql": {name} must not be negative')
    return number


def _identifier(name: str) -> sql.Identifier:
    """`table` or `schema.table`, quoted."""
    if not name:
        raise ValueError('storage "postgresql": table names must not be empty')
    return sql.Identifier(*name.split(".", 1))


class PostgreSQLStorage:
    """See the module docstring."""

    def __init__(
        self,
        connection_url: str,
        *,
        table: str = DEFAULT_TABLE,
        ha_table: str = DEFAULT_HA_TABLE,
        ha_enabled: bool = False,
        max_parallel: int = DEFAULT_MAX_PARALLEL,
        max_idle_connections: int = 0,
        skip_create_table: bool = False,
    ) -> None:
        if not connection_url:
            raise ValueError(
                'storage "postgresql": connection_url is required (or set VAULT_PG_CONNECTION_URL)'
            )
        self.connection_url = connection_url
        self.table = table
        self.ha_table = ha_table
        self.ha_enabled = ha_enabled
        self.max_parallel = max_parallel or DEFAULT_MAX_PARALLEL
        self.skip_create_table = skip_create_table
        # Connections kept open when idle: Go's database/sql keeps 2 unless told.
        idle = max_idle_connections or 2
        self._pool = AsyncConnectionPool(
            connection_url,
            min_size=min(idle, self.max_parallel),
            max_size=self.max_parallel,
            kwargs={"autocommit": True},
            open=False,
            timeout=POOL_TIMEOUT,
            name="strongroom-postgresql",
        )
        self._ready = False
        self._setup_lock = asyncio.Lock()
        self._closed = False
        # The HA lock has its own connection: a pool saturated by slow requests
        # must never delay a renewal.
        self._lock_conn: psycopg.AsyncConnection[Any] | None = None
        self._lock_conn_lock = asyncio.Lock()
        self.fence: WriteFence | None = None
        self._build_statements()

    @classmethod
    def from_options(
        cls, options: dict[str, str], environ: dict[str, str] | None = None
    ) -> PostgreSQLStorage:
        """Build from a `storage "postgresql" { ... }` stanza (values are strings)."""
        unknown = sorted(set(options) - KNOWN_OPTIONS)
        if unknown:
            raise ValueError(
                f'storage "postgresql": unknown option "{unknown[0]}" '
                f"(known: {', '.join(sorted(KNOWN_OPTIONS))})"
            )
        env = os.environ if environ is None else environ
        url = next((env[n] for n in ENV_URLS if env.get(n)), "") or options.get(
            "connection_url", ""
        )
        return cls(
            url,
            table=options.get("table") or DEFAULT_TABLE,
            ha_table=options.get("ha_table") or DEFAULT_HA_TABLE,
            ha_enabled=_bool("ha_enabled", options.get("ha_enabled", "false")),
            max_parallel=_int(
                "max_parallel", options.get("max_parallel", ""), DEFAULT_MAX_PARALLEL
            ),
            max_idle_connections=_int(
                "max_idle_connections", options.get("max_idle_connections", ""), 0
            ),
            skip_create_table=_bool("skip_create_table", options.get("skip_create_table", "")),
        )

    # ------------------------------------------------------------ statements
    def _build_statements(self) -> None:
        t = _identifier(self.table)
        ha = _identifier(self.ha_table)
        full = sql.SQL("(substr(path, 2) || key)")
        fence = sql.SQL(
            "SELECT 1 FROM {ha} WHERE ha_key = %(lock)s AND ha_identity = %(me)s "
            "AND valid_until > now() FOR SHARE"
        ).format(ha=ha)
        upsert = sql.SQL(
            "ON CONFLICT (path, key) DO UPDATE "
            "SET parent_path = EXCLUDED.parent_path, value = EXCLUDED.value"
        )
        self._q_get = sql.SQL("SELECT value FROM {t} WHERE path = %s AND key = %s").format(t=t)
        self._q_put = sql.SQL(
            "INSERT INTO {t} (parent_path, path, key, value) VALUES (%s, %s, %s, %s) {upsert}"
        ).format(t=t, upsert=upsert)
        self._q_delete = sql.SQL("DELETE FROM {t} WHERE path = %s AND key = %s").format(t=t)
        # One statement each, still one round trip: the lock row is share-locked
        # until the write commits, so a takeover waits for it (see the docstring).
        self._q_put_fenced = sql.SQL(
            "WITH fence AS MATERIALIZED ({fence}) "
            "INSERT INTO {t} (parent_path, path, key, value) "
            "SELECT %(parent)s, %(path)s, %(key)s, %(value)s FROM fence {upsert}"
        ).format(fence=fence, t=t, upsert=upsert)
        self._q_delete_fenced = sql.SQL(
            "WITH fence AS MATERIALIZED ({fence}), "
            "gone AS (DELETE FROM {t} WHERE path = %(path)s AND key = %(key)s "
            "AND EXISTS (SELECT 1 FROM fence)) "
            "SELECT count(*) FROM fence"
        ).format(fence=fence, t=t)
        self._q_fence = fence
        # Leaves of the folder, then its child folders by a loose index scan:
        # each step jumps past the whole subtree of the child it just found
        # ("/p/x" + "0" sorts right after every "/p/x/..." path).
        self._q_list = sql.SQL(
            "WITH RECURSIVE sub(path) AS ("
            " (SELECT path FROM {t} WHERE path > %(dir)s AND path < %(end)s"
            "  ORDER BY path LIMIT 1)"
            " UNION ALL"
            " SELECT (SELECT n.path FROM {t} n"
            "  WHERE n.path >= %(dir)s || split_part(substr(sub.path, length(%(dir)s) + 1),"
            " '/', 1) || '0' AND n.path < %(end)s ORDER BY n.path LIMIT 1)"
            " FROM sub WHERE sub.path IS NOT NULL)"
            " SELECT key, false FROM {t} WHERE path = %(dir)s"
            " UNION ALL"
            " SELECT split_part(substr(path, length(%(dir)s) + 1), '/', 1), true"
            " FROM sub WHERE path IS NOT NULL"
        ).format(t=t)
        self._q_scan_from = sql.SQL(
            "SELECT {full} FROM {t} WHERE {full} >= %s AND {full} < %s ORDER BY {full} LIMIT %s"
        ).format(full=full, t=t)
        self._q_scan_after = sql.SQL(
            "SELECT {full} FROM {t} WHERE {full} > %s AND {full} < %s ORDER BY {full} LIMIT %s"
        ).format(full=full, t=t)
        self._ddl = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                'parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", '
                'key TEXT COLLATE "C", value BYTEA, CONSTRAINT {pk} PRIMARY KEY (path, key))'
            ).format(t=t, pk=sql.Identifier(self._index_name("pkey"))),
            sql.SQL("CREATE INDEX IF NOT EXISTS {ix} ON {t} ({full})").format(
                ix=sql.Identifier(self._index_name("full_key_idx")), t=t, full=full
            ),
        ]
        if self.ha_enabled:
            self._ddl.append(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {ha} ("
                    'ha_key TEXT COLLATE "C" NOT NULL, ha_identity TEXT COLLATE "C" NOT NULL, '
                    'ha_value TEXT COLLATE "C", valid_until TIMESTAMP WITH TIME ZONE NOT NULL, '
                    "CONSTRAINT {pk} PRIMARY KEY (ha_key))"
                ).format(ha=ha, pk=sql.Identifier(self._index_name("pkey", self.ha_table)))
            )
        # HA lock statements. Taking the lock succeeds when nobody holds it, the
        # holder's time ran out (database clock), or the row is already ours.
        self._q_lock_acquire = sql.SQL(
            "INSERT INTO {ha} AS h (ha_key, ha_identity, ha_value, valid_until) "
            "VALUES (%(lock)s, %(me)s, %(value)s, now() + make_interval(secs => %(ttl)s)) "
            "ON CONFLICT (ha_key) DO UPDATE SET ha_identity = EXCLUDED.ha_identity, "
            "ha_value = EXCLUDED.ha_value, valid_until = EXCLUDED.valid_until "
            "WHERE h.valid_until < now() OR h.ha_identity = EXCLUDED.ha_identity "
            "RETURNING ha_identity"
        ).format(ha=ha)
        self._q_lock_renew = sql.SQL(
            "UPDATE {ha} SET valid_until = now() + make_interval(secs => %(ttl)s) "
            "WHERE ha_key = %(lock)s AND ha_identity = %(me)s"
        ).format(ha=ha)
        self._q_lock_release = sql.SQL(
            "DELETE FROM {ha} WHERE ha_key = %(lock)s AND ha_identity = %(me)s"
        ).format(ha=ha)
        self._q_lock_holder = sql.SQL(
            "SELECT ha_identity, ha_value, valid_until > now() FROM {ha} WHERE ha_key = %(lock)s"
        ).format(ha=ha)

    def _index_name(self, suffix: str, table: str | None = None) -> str:
        base = (table or self.table).rsplit(".", 1)[-1]
        return f"{base}_{suffix}"[:63]

    # ------------------------------------------------------------ lifecycle
    async def setup(self) -> None:
        """Connect and create the tables when missing. Idempotent; raises if unreachable."""
        if self._ready:
            return
        async with self._setup_lock:
            if self._ready:
                return
            if self._closed:
                raise RuntimeError("storage is closed")
            await self._pool.open(wait=False)
            if not self.skip_create_table:
                async with self._pool.connection() as conn:
                    await self._create_schema(conn)
            self._ready = True

    async def _create_schema(self, conn: psycopg.AsyncConnection[Any]) -> None:
        for statement in self._ddl:
            try:
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
                    await conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege as err:
                # An operator-made schema without our extra index still works;
                # `scan` is then a sort instead of an index walk.
                log.warning("postgresql: could not create schema object: %s", err)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._lock_conn is not None:
            await self._lock_conn.close()
            self._lock_conn = None
        await self._pool.close()

    async def _run(self, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run `fn` on a pooled connection; once more on a fresh one if it was dead."""
        if not self._ready:
            await self.setup()
        for attempt in (1, 2):
            conn_ref: list[psycopg.AsyncConnection[Any]] = []
            try:
                async with self._pool.connection() as conn:
                    conn_ref.append(conn)
                    return await fn(conn)
            except psycopg.OperationalError:
                # A connection killed under us (database restart, idle timeout)
                # is retried once, after weeding out the pool's other dead
                # connections; every operation here is idempotent.
                if attempt == 2 or not conn_ref or not conn_ref[0].broken:
                    raise
                await self._pool.check()
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ Storage
    async def get(self, key: str) -> bytes | None:
        _, path, name = split_key(key)

        async def go(conn: psycopg.AsyncConnection[Any]) -> bytes | None:
            cur = await conn.execute(self._q_get, (path, name))
            row = await cur.fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(go)

    async def put(self, key: str, value: bytes) -> None:
        value = bytes(value)
        parent, path, name = split_key(key)
        me = self._writer()
        if me is None:

            async def plain(conn: psycopg.AsyncConnection[Any]) -> None:
                await conn.execute(self._q_put, (parent, path, name, value))

            await self._run(plain)
            return
        params = {
            "lock": LOCK_KEY,
            "me": me,
            "parent": parent,
            "path": path,
            "key": name,
            "value": value,
        }

        async def fenced(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute(self._q_put_fenced, params)
            return cur.rowcount

        if await self._run(fenced) != 1:
            raise NotActiveError()

    async def delete(self, key: str) -> None:
        _, path, name = split_key(key)
        me = self._writer()
        if me is None:

            async def plain(conn: psycopg.AsyncConnection[Any]) -> None:
                await conn.execute(self._q_delete, (path, name))

            await self._run(plain)
            return
        params = {"lock": LOCK_KEY, "me": me, "path": path, "key": name}

        async def fenced(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute(self._q_delete_fenced, params)
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        if await self._run(fenced) != 1:
            raise NotActiveError()

    async def list(self, prefix: str) -> list[str]:
        folder = "/" + prefix
        # Every path below the folder sorts in [folder, folder-without-slash + "0").
        params = {"dir": folder, "end": folder[:-1] + "0"}

        async def go(conn: psycopg.AsyncConnection[Any]) -> list[str]:
            cur = await conn.execute(self._q_list, params)
            return [
                name + "/" if is_folder else name
                for name, is_folder in await cur.fetchall()
                if is_folder or name  # a key equal to the prefix is not a child
            ]

        return sorted(await self._run(go))

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        if after:
            query, low = self._q_scan_after, prefix + after
        else:
            query, low = self._q_scan_from, prefix
        args = (low, prefix + PREFIX_END, limit)

        async def go(conn: psycopg.AsyncConnection[Any]) -> list[str]:
            cur = await conn.execute(query, args)
            return [row[0] for row in await cur.fetchall()]

        n = len(prefix)
        return [key[n:] for key in await self._run(go)]

    async def batch(self, ops: list[Op]) -> None:
        # Convert first, so a bad op fails the batch before anything is sent.
        final: dict[str, bytes | None] = {}
        for op in ops:
            final[op.key] = None if op.value is None else bytes(op.value)
        puts = []
        deletes = []
        for key, value in final.items():
            parent, path, name = split_key(key)
            if value is None:
                deletes.append((path, name))
            else:
                puts.append((parent, path, name, value))
        me = self._writer()

        async def go(conn: psycopg.AsyncConnection[Any]) -> None:
            async with conn.transaction():
                cur = conn.cursor()
                if me is not None:
                    await cur.execute(self._q_fence, {"lock": LOCK_KEY, "me": me})
                    if await cur.fetchone() is None:
                        raise NotActiveError()
                if puts:
                    await cur.executemany(self._q_put, puts)
                if deletes:
                    await cur.executemany(self._q_delete, deletes)

        if puts or deletes:
            await self._run(go)

    def _writer(self) -> str | None:
        """None: write unconditionally; else the lock identity every write must hold."""
        fence = self.fence
        return None if fence is None else fence.check()

    # ------------------------------------------------------------ HA lock
    async def _lock_call(self, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run a lock statement on the dedicated lock connection (reconnecting if needed)."""
        if not self._ready:
            await self.setup()
        async with self._lock_conn_lock:
            conn = self._lock_conn
            if conn is None or conn.closed or conn.broken:
                if conn is not None:
                    await conn.close()
                self._lock_conn = None
                conn = await psycopg.AsyncConnection.connect(
                    self.connection_url, autocommit=True, connect_timeout=5
                )
                self._lock_conn = conn
            try:
                return await fn(conn)
            except BaseException:
                # A statement cut short (timeout, cancel) leaves the connection
                # in an unknown state: start over with a new one next time.
                self._lock_conn = None
                await conn.close()
                raise

    async def lock_acquire(self, identity: str, value: str, ttl: float) -> bool:
        params = {"lock": LOCK_KEY, "me": identity, "value": value, "ttl": float(ttl)}

        async def go(conn: psycopg.AsyncConnection[Any]) -> bool:
            cur = await conn.execute(self._q_lock_acquire, params)
            return await cur.fetchone() is not None

        return await self._lock_call(go)

    async def lock_renew(self, identity: str, ttl: float) -> bool:
        """Extend our lock; False when the row is no longer ours (taken over)."""
        params = {"lock": LOCK_KEY, "me": identity, "ttl": float(ttl)}

        async def go(conn: psycopg.AsyncConnection[Any]) -> bool:
            cur = await conn.execute(self._q_lock_renew, params)
            return cur.rowcount == 1

        return await self._lock_call(go)

    async def lock_release(self, identity: str) -> None:
        params = {"lock": LOCK_KEY, "me": identity}

        async def go(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(self._q_lock_release, params)

        await self._lock_call(go)

    async def lock_holder(self) -> LockHolder | None:
        async def go(conn: psycopg.AsyncConnection[Any]) -> LockHolder | None:
            cur = await conn.execute(self._q_lock_holder, {"lock": LOCK_KEY})
            row = await cur.fetchone()
            return None if row is None else LockHolder(row[0], row[1] or "", bool(row[2]))

        return await self._lock_call(go)
