"""PostgreSQL storage: the Storage contract, Vault's layout, the HA lock and write fencing.

Runs against the local PostgreSQL in a scratch database (skipped without one);
every test gets its own tables.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from strongroom.storage import Op, make_storage
from strongroom.storage.base import child_names
from strongroom.storage.fence import NotActiveError, WriteFence
from strongroom.storage.postgresql import (
    DEFAULT_HA_TABLE,
    DEFAULT_TABLE,
    LOCK_KEY,
    PostgreSQLStorage,
    split_key,
)
from tests.integration.ha.pgdb import scratch_database


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    with scratch_database("strongroom_unit") as url:
        yield url


def _names() -> tuple[str, str]:
    suffix = secrets.token_hex(4)
    return f"kv_{suffix}", f"ha_{suffix}"


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[PostgreSQLStorage]:
    table, ha_table = _names()
    store = PostgreSQLStorage(
        db_url, table=table, ha_table=ha_table, ha_enabled=True, max_parallel=8
    )
    yield store
    await store.close()


def _sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


# --- the contract every backend meets -------------------------------------------


# The backend-independent contract tests, run here against PostgreSQL through
# this module's `storage` fixture.
from tests.unit.test_storage import (  # noqa: E402
    test_binary_values_round_trip,
    test_get_put_overwrite_delete,
    test_list_after_delete_drops_empty_folder,
    test_list_immediate_children_vault_style,
    test_list_skips_key_equal_to_prefix,
)

__all__ = [
    "test_binary_values_round_trip",
    "test_get_put_overwrite_delete",
    "test_list_after_delete_drops_empty_folder",
    "test_list_immediate_children_vault_style",
    "test_list_skips_key_equal_to_prefix",
]


async def test_list_and_scan_match_reference_on_random_keys(storage: PostgreSQLStorage) -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "ab", "a.b", "0", "z", "é", "-", "", "x y"]
    keys = sorted({"/".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(400)})
    await storage.batch([Op(k, b"v") for k in keys])
    for prefix in ["", "a/", "ab/", "a/b/", "a.b/", "é/", "z/z/", "/", "a//"]:
        assert await storage.list(prefix) == child_names(prefix, keys), prefix
        below = [k[len(prefix) :] for k in keys if k.startswith(prefix)]
        assert await storage.scan(prefix, limit=100000) == below, prefix


async def test_scan_pages_in_order(storage: PostgreSQLStorage) -> None:
    keys = [f"exp/{n:010d}/id{m}" for n in range(30) for m in range(3)] + ["exp0", "ex/p"]
    await storage.batch([Op(k, b"") for k in keys])
    seen: list[str] = []
    after = ""
    while page := await storage.scan("exp/", after, 7):
        seen += page
        after = page[-1]
    assert seen == sorted(k[4:] for k in keys if k.startswith("exp/"))
    assert await storage.scan("exp/", "0000000029/id1", 10) == ["0000000029/id2"]


async def test_batch_applies_puts_and_deletes(storage: PostgreSQLStorage) -> None:
    await storage.put("gone", b"x")
    await storage.batch([Op("k1", b"1"), Op("k2", b"2"), Op("gone", None), Op("k1", b"1b")])
    assert await storage.get("k1") == b"1b"
    assert await storage.get("k2") == b"2"
    assert await storage.get("gone") is None


async def test_batch_with_bad_value_changes_nothing(storage: PostgreSQLStorage) -> None:
    with pytest.raises(TypeError):
        await storage.batch([Op("first", b"1"), Op("second", "not bytes")])  # type: ignore[arg-type]
    assert await storage.get("first") is None


async def test_batch_is_one_transaction(storage: PostgreSQLStorage, db_url: str) -> None:
    # A value too large for a PostgreSQL bytea (1 GB) is impossible to send cheaply;
    # a NUL byte in a key is refused by the server mid-batch instead.
    with pytest.raises(psycopg.Error):
        await storage.batch([Op("ok/1", b"1"), Op("bad\x00key", b"2")])
    assert await storage.get("ok/1") is None


async def test_concurrent_writes_share_the_pool(storage: PostgreSQLStorage) -> None:
    await asyncio.gather(*(storage.put(f"c/{i}", str(i).encode()) for i in range(200)))
    assert len(await storage.list("c/")) == 200
    values = await asyncio.gather(*(storage.get(f"c/{i}") for i in range(200)))
    assert values == [str(i).encode() for i in range(200)]


async def test_reconnects_after_connections_are_killed(
    storage: PostgreSQLStorage, db_url: str
) -> None:
    await storage.put("k", b"v")
    _sql(
        db_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    await asyncio.sleep(0.1)
    assert await storage.get("k") == b"v"
    await storage.put("k", b"w")
    assert await storage.get("k") == b"w"


# --- Vault's layout ------------------------------------------------------------------


def test_split_key_is_vaults_layout() -> None:
    assert split_key("c") == ("", "/", "c")
    assert split_key("a/c") == ("/", "/a/", "c")
    assert split_key("a/b/c") == ("/a/", "/a/b/", "c")
    assert split_key("dir/") == ("/", "/dir/", "")


async def test_rows_use_vaults_columns(storage: PostgreSQLStorage, db_url: str) -> None:
    await storage.put("logical/abc/secret", b"\x01\x02")
    rows = _sql(db_url, f"SELECT parent_path, path, key, value FROM {storage.table}")
    assert rows == [("/logical/", "/logical/abc/", "secret", b"\x01\x02")]


async def test_reads_a_table_made_with_vaults_ddl(db_url: str) -> None:
    table = f"vault_{secrets.token_hex(4)}"
    # The schema from Vault's documentation, constraint names included.
    _sql(
        db_url,
        f"""CREATE TABLE {table} (
          parent_path TEXT COLLATE "C" NOT NULL,
          path        TEXT COLLATE "C",
          key         TEXT COLLATE "C",
          value       BYTEA,
          CONSTRAINT {table}_pk PRIMARY KEY (path, key)
        );
        CREATE INDEX {table}_parent ON {table} (parent_path);
        INSERT INTO {table} VALUES ('/core/', '/core/x/', 'y', 'v1'), ('', '/', 'top', 'v2'),
                                   ('/', '/core/', 'seal-config', 'v3')""",
    )
    store = PostgreSQLStorage(db_url, table=table, skip_create_table=True)
    try:
        assert await store.get("core/x/y") == b"v1"
        assert await store.list("") == ["core/", "top"]
        assert await store.list("core/") == ["seal-config", "x/"]
        assert await store.scan("") == ["core/seal-config", "core/x/y", "top"]
        await store.put("core/x/z", b"new")
        rows = _sql(db_url, f"SELECT parent_path, path, key FROM {table} WHERE key = 'z'")
        assert rows == [("/core/", "/core/x/", "z")]
    finally:
        await store.close()


async def test_creates_missing_tables_with_default_names(db_url: str) -> None:
    store = PostgreSQLStorage(db_url, ha_enabled=True)
    try:
        await store.setup()
        await store.setup()  # idempotent
        tables = {
            r[0]
            for r in _sql(db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {DEFAULT_TABLE, DEFAULT_HA_TABLE} <= tables
        columns = _sql(
            db_url,
            "SELECT column_name, data_type, collation_name FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            (DEFAULT_HA_TABLE,),
        )
        assert columns == [
            ("ha_key", "text", "C"),
            ("ha_identity", "text", "C"),
            ("ha_value", "text", "C"),
            ("valid_until", "timestamp with time zone", None),
        ]
    finally:
        await store.close()


async def test_servers_starting_together_create_the_schema_once(db_url: str) -> None:
    table, ha_table = _names()
    stores = [
        PostgreSQLStorage(db_url, table=table, ha_table=ha_table, ha_enabled=True) for _ in range(4)
    ]
    try:
        await asyncio.gather(*(s.setup() for s in stores))
        await stores[0].put("x", b"1")
        assert await stores[3].get("x") == b"1"
    finally:
        for s in stores:
            await s.close()


async def test_list_and_scan_walk_indexes(storage: PostgreSQLStorage, db_url: str) -> None:
    # 30 folders of 300 keys: listing must jump folder to folder, not read 9000 rows.
    await storage.batch([Op(f"big/f{f:02d}/sub/k{k}", b"") for f in range(30) for k in range(300)])
    _sql(db_url, f"ANALYZE {storage.table}")
    assert await storage.list("big/") == [f"f{f:02d}/" for f in range(30)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a plan that still sorts would show it
        params = {"dir": "/big/", "end": "/big0"}
        explain = b"EXPLAIN " + _render(storage._q_list, conn)
        plan = "\n".join(r[0] for r in conn.execute(explain, params))
        assert "Seq Scan" not in plan and "Sort" not in plan, plan
        scan = "\n".join(
            r[0]
            for r in conn.execute(
                b"EXPLAIN " + _render(storage._q_scan_after, conn), ("big/", "big0", 10)
            )
        )
        assert "full_key_idx" in scan and "Sort" not in scan, scan
    start = time.perf_counter()
    for _ in range(20):
        await storage.list("big/")
    assert time.perf_counter() - start < 2.0


def _render(query: psycopg.sql.Composable, conn: psycopg.Connection) -> bytes:
    return query.as_bytes(conn)


# --- options -----------------------------------------------------------------------


def test_options_and_environment_override() -> None:
    store = make_storage(
        "postgresql",
        {
            "connection_url": "postgres://u@h/db",
            "table": "t",
            "ha_table": "h",
            "ha_enabled": "true",
            "max_parallel": "7",
            "max_idle_connections": "3",
        },
    )
    assert isinstance(store, PostgreSQLStorage)
    assert (store.table, store.ha_table, store.ha_enabled, store.max_parallel) == (
        "t",
        "h",
        True,
        7,
    )
    defaults = PostgreSQLStorage.from_options({"connection_url": "postgres://u@h/db"}, {})
    assert (defaults.table, defaults.ha_table, defaults.ha_enabled) == (
        "vault_kv_store",
        "vault_ha_locks",
        False,
    )
    assert defaults.max_parallel == 128
    env = {"VAULT_PG_CONNECTION_URL": "postgres://env@h/db"}
    assert PostgreSQLStorage.from_options({}, env).connection_url == "postgres://env@h/db"
    assert (
        PostgreSQLStorage.from_options(
            {"connection_url": "postgres://cfg@h/db"}, env
        ).connection_url
        == "postgres://env@h/db"
    )
    bao = {"BAO_PG_CONNECTION_URL": "postgres://bao@h/db", **env}
    assert PostgreSQLStorage.from_options({}, bao).connection_url == "postgres://bao@h/db"


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="connection_url is required"):
        PostgreSQLStorage.from_options({}, {})
    with pytest.raises(ValueError, match='unknown option "ha_enable"'):
        PostgreSQLStorage.from_options({"connection_url": "x", "ha_enable": "true"}, {})
    with pytest.raises(ValueError, match="ha_enabled"):
        PostgreSQLStorage.from_options({"connection_url": "x", "ha_enabled": "yes"}, {})
    with pytest.raises(ValueError, match="max_parallel"):
        PostgreSQLStorage.from_options({"connection_url": "x", "max_parallel": "many"}, {})


async def test_unreachable_database_fails_setup() -> None:
    store = PostgreSQLStorage("postgresql://postgres@127.0.0.1:1/none?connect_timeout=1")
    store._pool.timeout = 2.0
    try:
        with pytest.raises(psycopg.OperationalError):
            await store.setup()
    finally:
        await store.close()


# --- the HA lock -------------------------------------------------------------------


async def test_lock_is_exclusive_until_it_expires(db_url: str) -> None:
    table, ha_table = _names()
    a = PostgreSQLStorage(db_url, table=table, ha_table=ha_table, ha_enabled=True)
    b = PostgreSQLStorage(db_url, table=table, ha_table=ha_table, ha_enabled=True)
    try:
        assert await a.lock_holder() is None
        assert await a.lock_acquire("A", '{"api_addr":"http://a"}', 0.6)
        assert not await b.lock_acquire("B", "", 0.6)
        holder = await b.lock_holder()
        assert holder is not None and (holder.identity, holder.live) == ("A", True)
        assert holder.value == '{"api_addr":"http://a"}'
        assert await a.lock_renew("A", 0.6)
        assert not await b.lock_renew("B", 0.6)
        await asyncio.sleep(0.8)
        holder = await b.lock_holder()
        assert holder is not None and not holder.live
        assert await b.lock_acquire("B", "", 5)
        assert not await a.lock_renew("A", 5)  # taken over: the renewal says so
        await a.lock_release("A")  # not ours: no effect
        assert (await a.lock_holder()).identity == "B"  # type: ignore[union-attr]
        await b.lock_release("B")
        assert await a.lock_holder() is None
        assert await a.lock_acquire("A2", "", 5)
        assert await a.lock_acquire("A2", "", 5)  # re-taking our own row works
    finally:
        await a.close()
        await b.close()


# --- fencing -----------------------------------------------------------------------


async def _fenced(db_url: str) -> tuple[PostgreSQLStorage, WriteFence]:
    table, ha_table = _names()
    store = PostgreSQLStorage(db_url, table=table, ha_table=ha_table, ha_enabled=True)
    fence = WriteFence()
    store.fence = fence
    return store, fence


async def test_writes_need_the_lock(db_url: str) -> None:
    store, fence = await _fenced(db_url)
    try:
        # No identity yet (a standby): every write is refused, reads work.
        for write in (store.put("k", b"v"), store.delete("k"), store.batch([Op("k", b"v")])):
            with pytest.raises(NotActiveError):
                await write
        assert await store.get("k") is None
        assert await store.lock_acquire("me", "", 5)
        fence.grant("me", time.monotonic() + 4)
        await store.put("k", b"v")
        await store.batch([Op("k2", b"v2"), Op("k", None)])
        await store.delete("k2")
        assert await store.get("k") is None and await store.get("k2") is None
        await store.put("kept", b"1")
        # Another node took the lock (as after our lock expired): the database refuses,
        # even though our local deadline still says yes.
        await store.lock_release("me")
        assert await store.lock_acquire("other", "", 5)
        for write in (
            store.put("kept", b"2"),
            store.delete("kept"),
            store.batch([Op("kept", b"3"), Op("new", b"n")]),
        ):
            with pytest.raises(NotActiveError) as info:
                await write
            assert info.value.status == 503
        assert await store.get("kept") == b"1" and await store.get("new") is None
    finally:
        await store.close()


async def test_expired_lock_refuses_writes_in_the_database(db_url: str) -> None:
    store, fence = await _fenced(db_url)
    try:
        assert await store.lock_acquire("me", "", 0.3)
        fence.grant("me", time.monotonic() + 60)  # a (wrong) local clock saying yes
        await store.put("a", b"1")
        await asyncio.sleep(0.5)
        with pytest.raises(NotActiveError):
            await store.put("a", b"2")
        assert await store.get("a") == b"1"
    finally:
        await store.close()


async def test_local_deadline_stops_writes_before_the_database(db_url: str) -> None:
    store, fence = await _fenced(db_url)
    try:
        assert await store.lock_acquire("me", "", 30)
        fence.grant("me", time.monotonic() + 0.2)
        await store.put("a", b"1")
        await asyncio.sleep(0.3)
        assert not fence.holds()
        with pytest.raises(NotActiveError):
            await store.put("a", b"2")
        fence.extend("me", time.monotonic() + 5)  # a renewal moves it again
        await store.put("a", b"3")
        assert await store.get("a") == b"3"
    finally:
        await store.close()


async def test_takeover_waits_for_a_write_in_flight(db_url: str) -> None:
    """The FOR SHARE check: a write that passed the check commits before any takeover."""
    store, _ = await _fenced(db_url)
    other, _ = await _fenced(db_url)
    other.ha_table = store.ha_table
    other._build_statements()
    try:
        assert await store.lock_acquire("old", "", 0.5)
        with psycopg.connect(db_url) as slow:  # the old active's write, mid-transaction
            row = slow.execute(
                f"SELECT 1 FROM {store.ha_table} WHERE ha_key = %s AND ha_identity = 'old' "
                "AND valid_until > now() FOR SHARE",
                (LOCK_KEY,),
            ).fetchone()
            assert row is not None
            await asyncio.sleep(0.7)  # the lock is now expired
            takeover = asyncio.create_task(other.lock_acquire("new", "", 5))
            await asyncio.sleep(0.5)
            assert not takeover.done()  # blocked behind the write's share lock
            slow.commit()
        assert await asyncio.wait_for(takeover, 5)
    finally:
        await store.close()
        await other.close()


# --- the HA manager, in process: two cores on one database, short timings ----------


async def _ha_core(db_url: str, table: str, ha_table: str, name: str):  # type: ignore[no-untyped-def]
    from strongroom.core.core import Core, CoreConfig
    from strongroom.core.ha import HAManager
    from strongroom.engines import register_builtin

    store = PostgreSQLStorage(db_url, table=table, ha_table=ha_table, ha_enabled=True)
    core = Core(store, CoreConfig(storage_type="postgresql"))
    register_builtin(core)
    core.ha = HAManager(
        core,
        store,
        api_addr=f"http://{name}:8200",
        cluster_addr=f"https://{name}:8201",
        lock_ttl=1.2,
        renew_interval=0.2,
        retry_interval=0.1,
        fence_margin=0.4,
        step_down_hold=0.5,
    )
    return core, store


async def _until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_ha_manager_elects_fails_over_and_steps_down(db_url: str) -> None:
    from strongroom.core.ha import StandbyError
    from strongroom.core.mounts import MountEntry
    from strongroom.core.request import Operation, Request
    from strongroom.http.forward import sign, verified_client

    table, ha_table = _names()
    a, store_a = await _ha_core(db_url, table, ha_table, "a")
    b, store_b = await _ha_core(db_url, table, ha_table, "b")
    try:
        keys, root = await a.initialize(1, 1)
        await a.unseal_with_shares(keys)
        await _until(lambda: a.ha.is_active)
        await b.unseal_with_shares(keys)
        await _until(lambda: b.ha.leader() is not None)
        assert not b.ha.is_active and b.routes == {} and b.tokens is None  # builds nothing
        assert b.cluster_id == a.cluster_id != ""
        assert b.ha.leader_status()["leader_address"] == "http://a:8200"
        await a.enable_mount(MountEntry.new("kv/", "kv"))

        def write(core, value: str):  # type: ignore[no-untyped-def]
            return core.handle(Request(Operation.UPDATE, "kv/x", {"v": value}, client_token=root))

        term = await a.barrier.rotate()  # b's keyring (read at unseal) lacks this term
        await write(a, "1")
        with pytest.raises(StandbyError) as standby:
            await write(b, "2")
        assert standby.value.leader is not None and standby.value.leader.api_addr == "http://a:8200"
        # Both hold the same forwarding key: a's signature on a client address checks out on b.
        await _until(lambda: b.ha.forward_key is not None)
        assert a.ha.forward_key == b.ha.forward_key
        stamp = int(time.time())
        value = f"{stamp};10.1.2.3;{sign(a.ha.forward_key, stamp, '10.1.2.3', 'GET', '/v1/x')}"
        assert verified_client(b.ha.forward_key, value, "GET", "/v1/x") == "10.1.2.3"
        assert verified_client(b.ha.forward_key, value, "PUT", "/v1/x") is None
        assert verified_client(b"other key", value, "GET", "/v1/x") is None

        # Someone else takes the row (as after an expiry): a stops at once, b takes over.
        _sql(db_url, f"UPDATE {ha_table} SET ha_identity = 'intruder', valid_until = now()")
        await _until(lambda: not a.ha.is_active, 3)
        with pytest.raises(NotActiveError):
            await store_a.put("direct", b"x")  # a's storage refuses writes
        await _until(lambda: b.ha.is_active, 5)
        assert a.routes == {} and a._leases is None  # a dropped its state and lease manager
        resp = await b.handle(Request(Operation.READ, "kv/x", client_token=root))
        assert resp.data == {"v": "1"}  # b rebuilt mounts and tokens from storage
        assert b.barrier.key_status()["term"] == term  # and reloaded the rotated keyring
        await write(b, "3")
        await _until(
            lambda: a.ha.leader() is not None and a.ha.leader().api_addr == "http://b:8200"
        )

        # Step-down hands the lock back; a seal releases it at once.
        b.ha.request_step_down()
        await _until(lambda: a.ha.is_active, 5)
        resp = await a.handle(Request(Operation.READ, "kv/x", client_token=root))
        assert resp.data == {"v": "3"}
        await a.seal()
        await _until(lambda: b.ha.is_active, 3)
        holder = await store_b.lock_holder()
        assert holder is not None and "http://b:8200" in holder.value
    finally:
        for core, store in ((a, store_a), (b, store_b)):
            await core.seal()
            await store.close()


def test_advertised_addresses() -> None:
    from strongroom.core.ha import advertised_addresses

    assert advertised_addresses("", "", "127.0.0.1:8200", False) == (
        "http://127.0.0.1:8200",
        "https://127.0.0.1:8201",
    )
    assert advertised_addresses("https://v:1", "https://v:2", "0.0.0.0:8200", True) == (
        "https://v:1",
        "https://v:2",
    )
    assert advertised_addresses("", "", "10.0.0.1:8200", True, "10.0.0.1:9201")[1] == (
        "https://10.0.0.1:9201"
    )
