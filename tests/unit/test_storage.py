"""Physical storage backends: the shared contract, then what only the file backend promises."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from strongroom.storage import Op, Storage, make_storage
from strongroom.storage.base import child_names
from strongroom.storage.file import DB_FILE, FileStorage
from strongroom.storage.inmem import InmemStorage


@pytest.fixture(params=["inmem", "file"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store = make_storage(request.param, {"path": str(tmp_path / "data")})
    yield store
    await store.close()


# --- the contract every backend meets ---------------------------------------


async def test_get_put_overwrite_delete(storage: Storage) -> None:
    assert await storage.get("a/b") is None
    await storage.put("a/b", b"one")
    assert await storage.get("a/b") == b"one"
    await storage.put("a/b", b"two")
    assert await storage.get("a/b") == b"two"
    await storage.delete("a/b")
    assert await storage.get("a/b") is None
    await storage.delete("a/b")  # deleting a missing key is fine


async def test_binary_values_round_trip(storage: Storage) -> None:
    value = bytes(range(256)) * 4
    await storage.put("bin", value)
    assert await storage.get("bin") == value
    await storage.put("empty", b"")
    assert await storage.get("empty") == b""


async def test_list_immediate_children_vault_style(storage: Storage) -> None:
    for key in ["a/b", "a/c/d", "a/c/e/f", "a/c", "a/b.txt", "b", "a-z", "ab/x"]:
        await storage.put(key, b"v")
    assert await storage.list("a/") == ["b", "b.txt", "c", "c/"]
    assert await storage.list("a/c/") == ["d", "e/"]
    assert await storage.list("") == ["a-z", "a/", "ab/", "b"]
    assert await storage.list("nothing/") == []


async def test_list_skips_key_equal_to_prefix(storage: Storage) -> None:
    await storage.put("dir/", b"v")
    await storage.put("dir/x", b"v")
    assert await storage.list("dir/") == ["x"]
    assert await storage.list("") == ["dir/"]


async def test_list_after_delete_drops_empty_folder(storage: Storage) -> None:
    await storage.put("p/q/r", b"v")
    assert await storage.list("p/") == ["q/"]
    await storage.delete("p/q/r")
    assert await storage.list("p/") == []


async def test_list_matches_reference_on_random_keys(storage: Storage) -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "ab", "a.b", "0", "z", "é", "-"]
    keys = sorted({"/".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(300)})
    await storage.batch([Op(k, b"v") for k in keys])
    for prefix in ["", "a/", "ab/", "a/b/", "a.b/", "é/", "z/z/"]:
        assert await storage.list(prefix) == child_names(prefix, keys), prefix


async def test_batch_applies_puts_and_deletes(storage: Storage) -> None:
    await storage.put("gone", b"x")
    await storage.batch([Op("k1", b"1"), Op("k2", b"2"), Op("gone", None), Op("k1", b"1b")])
    assert await storage.get("k1") == b"1b"
    assert await storage.get("k2") == b"2"
    assert await storage.get("gone") is None


async def test_batch_with_bad_value_changes_nothing(storage: Storage) -> None:
    with pytest.raises(TypeError):
        await storage.batch([Op("first", b"1"), Op("second", "not bytes")])  # type: ignore[arg-type]
    assert await storage.get("first") is None


# --- make_storage ---------------------------------------------------------------


def test_make_storage_kinds(tmp_path: Path) -> None:
    assert isinstance(make_storage("inmem", {}), InmemStorage)
    assert isinstance(make_storage("file", {"path": str(tmp_path)}), FileStorage)


def test_make_storage_unknown_kind() -> None:
    with pytest.raises(ValueError, match=r'^unknown storage type "x"$'):
        make_storage("x", {})


def test_make_storage_file_needs_path() -> None:
    with pytest.raises(ValueError, match="path"):
        make_storage("file", {})


# --- listing is a skip-scan, not a walk over every descendant ---------------------


async def test_inmem_list_orders_only_the_folder() -> None:
    store = InmemStorage()
    await store.batch([Op(f"big/sub/{i:06d}", b"") for i in range(20_000)])
    await store.batch([Op("big/a", b""), Op("big/z", b""), Op("big/sub2/x", b"")])
    assert await store.list("big/") == ["a", "sub/", "sub2/", "z"]
    # Only big/'s children were put in order; the 20,000 keys below sub/ were not.
    assert set(store._orders) == {"big/"}
    assert await store.scan("big/", "sub/000100", 2) == ["sub/000101", "sub/000102"]
    assert set(store._orders) == {"", "big/", "big/sub/"}


async def test_inmem_folders_of_keys_alone_are_not_tracked_by_the_gc() -> None:
    import gc

    store = InmemStorage()
    await store.batch([Op(f"token/{i}/lease", b"") for i in range(100)])
    await store.list("token/")
    await store.scan("token/5/")
    folder = store._root["token/"]
    assert isinstance(folder, dict)
    leaf_folder = folder["5/"]
    gc.collect()
    assert not gc.is_tracked(leaf_folder)


async def test_inmem_order_matches_a_sorted_list_of_keys() -> None:
    """The folder tree against the plain definition, on awkward keys."""
    rng = random.Random(7)
    alphabet = ["a", "b", "a-", "a0", "", "/", "x/", "é"]
    store = InmemStorage()
    model: dict[str, bytes] = {}
    for step in range(3000):
        key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.3 and model:
            key = rng.choice(sorted(model))
            await store.delete(key)
            model.pop(key, None)
        else:
            await store.put(key, b"v")
            model[key] = b"v"
        if step % 100 == 0:
            keys = sorted(model)
            # The folder index holds exactly the folders that have keys below them.
            folders = {k[: i + 1] for k in keys for i, c in enumerate(k) if c == "/"}
            assert set(store._folders) == {""} | folders
            for prefix in ("", "a", "a/", "a-", "x/", "/", "b/a"):
                below = [k[len(prefix) :] for k in keys if k.startswith(prefix)]
                assert await store.scan(prefix, "", 10_000) == below
                if below and below[len(below) // 2]:  # after="" means "from the start"
                    after = below[len(below) // 2]
                    expected = [k for k in below if k > after][:5]
                    assert await store.scan(prefix, after, 5) == expected
                if prefix == "" or prefix.endswith("/"):
                    assert await store.list(prefix) == child_names(prefix, keys)


async def test_file_list_skips_folder_subtrees(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    try:
        await store.batch([Op(f"big/sub/{i:06d}", b"") for i in range(20_000)])
        await store.batch([Op("big/a", b""), Op("big/z", b""), Op("big/sub2/x", b"")])
        steps: list[int] = []

        def count_steps() -> int:
            steps.append(1)
            return 0  # 0 = keep going

        # The progress handler fires every 10 SQLite VM instructions: a query that
        # stepped through the 20,000 descendants would fire it thousands of times.
        await store._run(lambda conn: conn.set_progress_handler(count_steps, 10))
        assert await store.list("big/") == ["a", "sub/", "sub2/", "z"]
        await store._run(lambda conn: conn.set_progress_handler(None, 10))
        assert len(steps) < 100
    finally:
        await store.close()


# --- the file backend --------------------------------------------------------------


async def test_file_persists_across_reopen(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path / "d"))
    await store.put("k", b"v")
    await store.batch([Op("b1", b"1"), Op("b2", b"2")])
    await store.close()
    reopened = FileStorage(str(tmp_path / "d"))
    try:
        assert await reopened.get("k") == b"v"
        assert await reopened.list("") == ["b1", "b2", "k"]
    finally:
        await reopened.close()


async def test_file_uses_wal_and_full_sync(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    try:
        mode = await store._run(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0])
        sync = await store._run(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
        assert mode == "wal"
        assert sync == 2  # FULL: fsync the WAL at every commit
    finally:
        await store.close()


async def test_file_creates_private_directory_and_db(tmp_path: Path) -> None:
    path = tmp_path / "new" / "vault"
    store = FileStorage(str(path))
    try:
        await store.put("k", b"v")
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert stat.S_IMODE((path / DB_FILE).stat().st_mode) == 0o600
    finally:
        await store.close()


async def test_file_runs_sqlite_off_the_event_loop_thread(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    try:
        name = await store._run(lambda conn: threading.current_thread().name)
        assert name.startswith("strongroom-sqlite")
        assert threading.current_thread().name != name
    finally:
        await store.close()


async def test_file_batch_is_one_transaction(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    try:
        await store.put("keep", b"old")
        # The NULL key violates the primary key half-way: the earlier ops roll back.
        with pytest.raises(Exception, match="NOT NULL"):
            await store.batch([Op("keep", b"new"), Op("added", b"x"), Op(None, b"y")])  # type: ignore[arg-type]
        assert await store.get("keep") == b"old"
        assert await store.get("added") is None
        await store.put("after", b"ok")  # no transaction left open
        assert await store.get("after") == b"ok"
    finally:
        await store.close()


async def test_file_close_is_idempotent_and_final(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    await store.put("k", b"v")
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get("k")


_CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from strongroom.storage import Op
    from strongroom.storage.file import FileStorage

    async def main():
        store = FileStorage(sys.argv[1])
        await store.put("crash/put", b"acknowledged")
        await store.batch([Op("crash/b1", b"1"), Op("crash/b2", b"2"), Op("before", None)])
        print("ok", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit, no flush

    asyncio.run(main())
    """
)


async def test_file_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = str(tmp_path / "crash")
    parent = FileStorage(path)
    try:
        await parent.put("before", b"from parent")
        proc = subprocess.run(
            [sys.executable, "-c", _CRASHING_WRITER, path],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.stdout == "ok\n", proc.stderr
        assert proc.returncode == -signal.SIGKILL
        # The parent's own connection sees the writes...
        assert await parent.get("crash/put") == b"acknowledged"
    finally:
        await parent.close()
    # ...and so does a fresh open that has to recover from the WAL.
    reopened = FileStorage(path)
    try:
        assert await reopened.get("crash/put") == b"acknowledged"
        assert await reopened.list("crash/") == ["b1", "b2", "put"]
        assert await reopened.get("before") is None
    finally:
        await reopened.close()
    assert os.path.exists(os.path.join(path, DB_FILE))


@pytest.mark.parametrize("kind", ["inmem", "file"])
async def test_scan_pages_through_keys_in_order(kind: str, tmp_path) -> None:
    from strongroom.storage import make_storage

    storage = make_storage(kind, {"path": str(tmp_path / "db")})
    keys = [f"exp/{i:04d}/lease{i}" for i in range(25)] + ["expx", "other/1", "exp"]
    await storage.batch([Op(k, b"v") for k in keys])
    seen: list[str] = []
    after = ""
    while True:
        page = await storage.scan("exp/", after, limit=10)
        if not page:
            break
        assert len(page) <= 10
        seen += page
        after = page[-1]
    assert seen == [k.removeprefix("exp/") for k in sorted(keys) if k.startswith("exp/")]
    await storage.close()


# --- group commit: concurrent writers share a transaction ---------------------------


async def test_file_concurrent_writes_share_commits_and_all_are_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from strongroom.storage import file as file_module

    commits: list[int] = []
    real = file_module._commit_group

    def counting(conn, writes):  # type: ignore[no-untyped-def]
        commits.append(len(writes))
        return real(conn, writes)

    monkeypatch.setattr(file_module, "_commit_group", counting)
    store = FileStorage(str(tmp_path))
    await asyncio.gather(
        *(store.put(f"k/{i:03d}", str(i).encode()) for i in range(200)),
        store.batch([Op("b/1", b"x"), Op("b/2", b"y")]),
        store.delete("k/000"),
    )
    await store.close()
    assert sum(commits) == 202
    assert len(commits) < 20  # one fsync per group, not per write
    reopened = FileStorage(str(tmp_path))
    try:
        assert await reopened.get("k/199") == b"199"
        assert await reopened.get("b/2") == b"y"
        assert await reopened.get("k/000") is None  # the delete came after the put
    finally:
        await reopened.close()


async def test_file_one_failed_write_does_not_undo_the_others_in_its_commit(
    tmp_path: Path,
) -> None:
    import asyncio
    import sqlite3

    store = FileStorage(str(tmp_path))
    try:
        await store.put("warm", b"1")
        await store._run(
            lambda conn: conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON kv WHEN NEW.key = 'bad' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
        results = await asyncio.gather(
            store.put("good/1", b"1"),
            store.batch([Op("good/2", b"2"), Op("bad", b"x")]),
            store.put("good/3", b"3"),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sqlite3.Error)
        assert await store.get("good/1") == b"1"
        assert await store.get("good/2") is None  # its batch failed as a whole
        assert await store.get("good/3") == b"3"
    finally:
        await store.close()
