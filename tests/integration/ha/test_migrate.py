"""`strongroom operator migrate`: file storage to PostgreSQL, then a server on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from strongroom.migrate import MIGRATION_KEY
from strongroom.storage.file import FileStorage
from tests.integration.ha.cluster import pg_server
from tests.integration.ha.pgdb import scratch_database
from tests.integration.server import FILE_CONFIG, STRONGROOM, config_server, free_port

pytestmark = pytest.mark.timeout(90)

MIGRATE = """
storage_source "file" {{
  path = "{data}"
}}

storage_destination "postgresql" {{
  connection_url = "{url}"
  ha_enabled     = "true"
}}
"""


def migrate(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("PG_CONNECTION_URL")}
    return subprocess.run(
        [STRONGROOM, "operator", "migrate", f"-config={config}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _unseal(addr: str, keys: list[str]) -> None:
    for key in keys[:2]:
        status = httpx.put(f"{addr}/v1/sys/unseal", json={"key": key}).json()
    assert status["sealed"] is False, status


def _fill(addr: str, root: str) -> dict[str, dict]:
    """A few engines' worth of data; returns what kv v2 should read back."""
    hdr = {"X-Vault-Token": root}
    for body in (
        {"path": "kv", "type": "kv", "options": {"version": "2"}},
        {"path": "old", "type": "kv"},
    ):
        r = httpx.post(f"{addr}/v1/sys/mounts/{body.pop('path')}", headers=hdr, json=body)
        assert r.status_code == 204, r.text
    expected = {}
    with httpx.Client(headers=hdr) as http:
        for i in range(40):
            path = f"team{i % 4}/app{i}"
            data = {"password": f"secret-{i}", "n": str(i)}
            assert http.post(f"{addr}/v1/kv/data/{path}", json={"data": data}).status_code == 200
            expected[path] = data
        assert http.post(f"{addr}/v1/old/plain", json={"v": "one"}).status_code == 204
        assert (
            http.post(f"{addr}/v1/sys/auth/userpass", json={"type": "userpass"}).status_code == 204
        )
        r = http.put(
            f"{addr}/v1/sys/policies/acl/reader",
            json={"policy": 'path "kv/data/*" { capabilities = ["read"] }'},
        )
        assert r.status_code == 204
        r = http.post(
            f"{addr}/v1/auth/userpass/users/alice",
            json={"password": "pw", "policies": "reader"},
        )
        assert r.status_code == 204
    return expected


def _check(addr: str, root: str, expected: dict[str, dict]) -> None:
    hdr = {"X-Vault-Token": root}
    with httpx.Client(headers=hdr) as http:
        for path, data in expected.items():
            r = http.get(f"{addr}/v1/kv/data/{path}")
            assert r.status_code == 200, (path, r.text)
            assert r.json()["data"]["data"] == data
        assert http.get(f"{addr}/v1/old/plain").json()["data"] == {"v": "one"}
    login = httpx.post(f"{addr}/v1/auth/userpass/login/alice", json={"password": "pw"})
    assert login.status_code == 200, login.text
    alice = {"X-Vault-Token": login.json()["auth"]["client_token"]}
    assert httpx.get(f"{addr}/v1/kv/data/team1/app1", headers=alice).status_code == 200
    assert httpx.get(f"{addr}/v1/old/plain", headers=alice).status_code == 403


def test_migrate_file_to_postgresql_then_serve_from_it(tmp_path: Path) -> None:
    port = free_port()
    file_node = config_server(tmp_path / "file", FILE_CONFIG, port).start()
    data_dir = tmp_path / "file" / "data"
    with scratch_database() as url:
        config = tmp_path / "migrate.hcl"
        config.write_text(MIGRATE.format(data=data_dir, url=url))
        try:
            init = httpx.put(
                f"{file_node.addr}/v1/sys/init", json={"secret_shares": 3, "secret_threshold": 2}
            ).json()
            keys, root = init["keys"], init["root_token"]
            _unseal(file_node.addr, keys)
            expected = _fill(file_node.addr, root)

            # Not while a server holds the source.
            busy = migrate(config)
            assert busy.returncode == 2
            assert "Error migrating:" in busy.stderr and "in use" in busy.stderr
            # Nor may a second server open the same directory.
            second = config_server(tmp_path / "file2", FILE_CONFIG.replace("{data}", str(data_dir)))
            with pytest.raises(RuntimeError, match="in use"):
                second.start()
        finally:
            assert file_node.stop() == 0

        done = migrate(config)
        assert done.returncode == 0, done.stderr
        assert "Success! All of the keys have been migrated" in done.stdout
        copied = [
            line.split("copied key: ", 1)[1]
            for line in done.stderr.splitlines()
            if "copied key: " in line
        ]
        assert "core/keyring" in copied and "core/seal-config" in copied
        assert copied == sorted(copied) and MIGRATION_KEY not in copied
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT count(*) FROM vault_kv_store").fetchone()
        assert rows is not None and rows[0] == len(copied)

        # The file server still starts (the migration mark is gone again).
        file_node = config_server(tmp_path / "file", FILE_CONFIG, port).start()
        file_node.stop()

        # A server on PostgreSQL unseals with the same keys and reads everything.
        pg = pg_server(tmp_path / "pg", url).start()
        try:
            assert httpx.get(f"{pg.addr}/v1/sys/seal-status").json()["initialized"] is True
            _unseal(pg.addr, keys[1:])
            _wait_active(pg.addr)
            _check(pg.addr, root, expected)

            # PostgreSQL with HA as the source: refused while a server is active on it.
            back = tmp_path / "back.hcl"
            back.write_text(
                f'storage_source "postgresql" {{\n  connection_url = "{url}"\n'
                f'  ha_enabled = "true"\n}}\n'
                f'storage_destination "file" {{\n  path = "{tmp_path / "back"}"\n}}\n'
            )
            refused = migrate(back)
            assert refused.returncode == 2
            assert "a server is active on it" in refused.stderr, refused.stderr
        finally:
            pg.stop()
        # Once the server is gone the way back works too, and -start resumes mid-way.
        resumed = migrate(back, "-start=sys/")
        assert resumed.returncode == 0, resumed.stderr
        lines = [ln for ln in resumed.stderr.splitlines() if "copied key: " in ln]
        assert lines and all(ln.split("copied key: ")[1] >= "sys/" for ln in lines)


def _wait_active(addr: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while httpx.get(f"{addr}/v1/sys/health").status_code != 200:
        assert time.monotonic() < deadline, "the node did not become active"
        time.sleep(0.1)


def test_migration_mark_blocks_servers_and_migrations_until_reset(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    async def mark() -> None:
        store = FileStorage(str(data_dir))
        await store.put(MIGRATION_KEY, b'{"start":"2026-01-01T00:00:00Z"}')
        await store.close()

    asyncio.run(mark())
    server = config_server(tmp_path / "srv", FILE_CONFIG.replace("{data}", str(data_dir)))
    with pytest.raises(RuntimeError, match="storage migration in progress"):
        server.start()
    with scratch_database() as url:
        config = tmp_path / "m.hcl"
        config.write_text(MIGRATE.format(data=data_dir, url=url))
        again = migrate(config)
        assert again.returncode == 2
        assert "storage migration in progress (started: 2026-01-01T00:00:00Z)" in again.stderr
        reset = migrate(config, "-reset")
        assert reset.returncode == 0
        assert "Success! Migration lock reset (if it was set)." in reset.stdout
    server.start()
    server.stop()


def test_migrate_usage_errors(tmp_path: Path) -> None:
    missing = subprocess.run(
        [STRONGROOM, "operator", "migrate"], capture_output=True, text=True, timeout=30
    )
    assert missing.returncode == 1
    assert "Must specify exactly one config path using -config" in missing.stderr
    bad = tmp_path / "bad.hcl"
    bad.write_text('storage_source "file" { path = "/x" }\n')
    out = migrate(bad)
    assert out.returncode == 1
    assert 'exactly one "storage_destination" block is required' in out.stderr
