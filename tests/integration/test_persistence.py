"""File storage: data survives restarts and kill -9, and is never stored in plaintext."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.server import FILE_CONFIG, ServerProcess, config_server, free_port

SECRET = "plaintext-marker-7f3b9c"


def _init_and_unseal(server: ServerProcess) -> tuple[list[str], str]:
    init = httpx.put(
        f"{server.addr}/v1/sys/init", json={"secret_shares": 3, "secret_threshold": 2}
    ).json()
    _unseal(server, init["keys"])
    return init["keys"], init["root_token"]


def _unseal(server: ServerProcess, keys: list[str]) -> None:
    for key in keys[:2]:
        status = httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": key}).json()
    assert status["sealed"] is False


def _all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def test_secret_survives_restart_and_is_encrypted_at_rest(tmp_path: Path) -> None:
    port = free_port()
    server = config_server(tmp_path, FILE_CONFIG, port).start()
    try:
        keys, root = _init_and_unseal(server)
        hdr = {"X-Vault-Token": root}
        r = httpx.post(
            f"{server.addr}/v1/sys/mounts/kv",
            headers=hdr,
            json={"type": "kv", "options": {"version": "2"}},
        )
        assert r.status_code == 204, r.text
        r = httpx.post(
            f"{server.addr}/v1/kv/data/app", headers=hdr, json={"data": {"password": SECRET}}
        )
        assert r.status_code == 200, r.text
    finally:
        assert server.stop() == 0
    assert SECRET.encode() not in _all_bytes(tmp_path / "data")
    assert root.encode() not in _all_bytes(tmp_path / "data")

    server = config_server(tmp_path, FILE_CONFIG, port).start()
    try:
        sealed = httpx.get(f"{server.addr}/v1/kv/data/app", headers=hdr)
        assert sealed.status_code == 503
        assert sealed.json() == {"errors": ["Vault is sealed"]}
        _unseal(server, keys[1:])
        r = httpx.get(f"{server.addr}/v1/kv/data/app", headers=hdr)
        assert r.status_code == 200, r.text
        assert r.json()["data"]["data"] == {"password": SECRET}
    finally:
        server.stop()


def test_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    server = config_server(tmp_path, FILE_CONFIG, port).start()
    keys, root = _init_and_unseal(server)
    hdr = {"X-Vault-Token": root}
    r = httpx.post(f"{server.addr}/v1/sys/mounts/kv", headers=hdr, json={"type": "kv"})
    assert r.status_code == 204
    r = httpx.post(f"{server.addr}/v1/kv/last", headers=hdr, json={"v": "acknowledged"})
    assert r.status_code == 204
    server.kill9()

    server = config_server(tmp_path, FILE_CONFIG, port).start()
    try:
        _unseal(server, keys)
        r = httpx.get(f"{server.addr}/v1/kv/last", headers=hdr)
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"v": "acknowledged"}
    finally:
        server.stop()
