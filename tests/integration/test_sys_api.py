"""sys/ endpoints over HTTP: init/unseal, mounts, keys, help and OpenAPI."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.server import FILE_CONFIG, ServerProcess, config_server

ROOT = {"X-Vault-Token": "root"}


def _url(server: ServerProcess, path: str) -> str:
    return f"{server.addr}/v1/{path}"


def test_init_validation_and_unseal_progress(tmp_path: Path) -> None:
    server = config_server(tmp_path, FILE_CONFIG).start()
    try:
        assert httpx.get(_url(server, "sys/init")).json() == {"initialized": False}
        assert httpx.get(_url(server, "sys/health")).status_code == 501
        r = httpx.put(_url(server, "sys/init"), json={"secret_shares": 3, "secret_threshold": 4})
        assert r.status_code == 400
        assert r.json() == {
            "errors": ["invalid seal configuration: threshold cannot be larger than shares"]
        }
        r = httpx.put(_url(server, "sys/unseal"), json={"key": "00" * 32})
        assert r.json() == {"errors": ["Vault is not initialized"]}

        init = httpx.put(
            _url(server, "sys/init"), json={"secret_shares": 5, "secret_threshold": 3}
        ).json()
        assert len(init["keys"]) == 5 and len(init["keys_base64"]) == 5
        assert all(len(bytes.fromhex(k)) == 33 for k in init["keys"])
        again = httpx.put(
            _url(server, "sys/init"), json={"secret_shares": 1, "secret_threshold": 1}
        )
        assert again.json() == {"errors": ["Vault is already initialized"]}

        first = httpx.put(_url(server, "sys/unseal"), json={"key": init["keys"][0]}).json()
        assert (first["sealed"], first["t"], first["n"], first["progress"]) == (True, 3, 5, 1)
        assert first["nonce"]
        dup = httpx.put(_url(server, "sys/unseal"), json={"key": init["keys"][0]}).json()
        assert dup["progress"] == 1
        reset = httpx.put(_url(server, "sys/unseal"), json={"reset": True}).json()
        assert (reset["progress"], reset["nonce"]) == (0, "")
        bad = httpx.put(_url(server, "sys/unseal"), json={"key": "not-a-key!"})
        assert bad.status_code == 400
        assert bad.json() == {"errors": ["'key' must be a valid hex or base64 string"]}

        for key in init["keys_base64"][2:5]:
            status = httpx.put(_url(server, "sys/unseal"), json={"key": key}).json()
        assert status["sealed"] is False and status["progress"] == 0
        assert status["cluster_name"].startswith("vault-cluster-")
        health = httpx.get(_url(server, "sys/health"))
        assert health.status_code == 200 and health.json()["standby"] is False
        assert httpx.get(_url(server, "sys/leader")).json() == {"ha_enabled": False}

        # Three wrong shares: the attempt fails with a key error and progress starts over.
        hdr = {"X-Vault-Token": init["root_token"]}
        assert httpx.put(_url(server, "sys/seal"), headers=hdr).status_code == 204
        for i in range(2):
            httpx.put(_url(server, "sys/unseal"), json={"key": f"{i + 1:02x}" * 33})
        wrong = httpx.put(_url(server, "sys/unseal"), json={"key": "03" * 33})
        assert wrong.status_code == 400
        assert wrong.json()["errors"][0].startswith("invalid key")
        assert httpx.get(_url(server, "sys/seal-status")).json()["progress"] == 0
    finally:
        server.stop()


def test_mount_lifecycle(shared_dev: ServerProcess) -> None:
    r = httpx.post(
        _url(shared_dev, "sys/mounts/team/kv"),
        headers=ROOT,
        json={
            "type": "kv-v2",
            "description": "team kv",
            "config": {"default_lease_ttl": "1h", "max_lease_ttl": "24h"},
        },
    )
    assert r.status_code == 204, r.text
    mounts = httpx.get(_url(shared_dev, "sys/mounts"), headers=ROOT).json()
    entry = mounts["data"]["team/kv/"]
    assert mounts["team/kv/"] == entry  # Vault's legacy top-level copy
    assert entry["type"] == "kv" and entry["options"] == {"version": "2"}
    assert entry["config"]["default_lease_ttl"] == 3600
    assert entry["accessor"].startswith("kv_")
    nested = httpx.post(
        _url(shared_dev, "sys/mounts/team/kv/inner"), headers=ROOT, json={"type": "kv"}
    )
    assert nested.json() == {"errors": ["path is already in use at team/kv/"]}
    reserved = httpx.post(_url(shared_dev, "sys/mounts/sys/x"), headers=ROOT, json={"type": "kv"})
    assert reserved.status_code == 400
    unknown = httpx.post(_url(shared_dev, "sys/mounts/x"), headers=ROOT, json={"type": "nosuch"})
    assert unknown.json() == {"errors": ["plugin not found in the catalog: nosuch"]}

    r = httpx.post(
        _url(shared_dev, "sys/mounts/team/kv/tune"), headers=ROOT, json={"default_lease_ttl": "48h"}
    )
    assert r.status_code == 400
    assert "would be less than backend default lease TTL" in r.json()["errors"][0]
    r = httpx.post(
        _url(shared_dev, "sys/mounts/team/kv/tune"),
        headers=ROOT,
        json={"default_lease_ttl": "2h", "max_lease_ttl": "system"},
    )
    assert r.status_code == 204
    tune = httpx.get(_url(shared_dev, "sys/mounts/team/kv/tune"), headers=ROOT).json()["data"]
    assert tune["default_lease_ttl"] == 7200 and tune["max_lease_ttl"] == 768 * 3600

    httpx.post(_url(shared_dev, "team/kv/data/a"), headers=ROOT, json={"data": {"x": "1"}})
    ui = httpx.get(_url(shared_dev, "sys/internal/ui/mounts/team/kv/data/a"), headers=ROOT).json()
    assert ui["data"]["path"] == "team/kv/" and ui["data"]["options"] == {"version": "2"}

    moved = httpx.post(
        _url(shared_dev, "sys/remount"), headers=ROOT, json={"from": "team/kv", "to": "team/kv2"}
    )
    assert moved.status_code == 200
    assert httpx.get(_url(shared_dev, "team/kv2/data/a"), headers=ROOT).json()["data"]["data"] == {
        "x": "1"
    }

    assert httpx.delete(_url(shared_dev, "sys/mounts/team/kv2"), headers=ROOT).status_code == 204
    assert "team/kv2/" not in httpx.get(_url(shared_dev, "sys/mounts"), headers=ROOT).json()["data"]
    # Data of a disabled mount is gone: mounting again starts empty.
    httpx.post(_url(shared_dev, "sys/mounts/team/kv2"), headers=ROOT, json={"type": "kv-v2"})
    assert httpx.get(_url(shared_dev, "team/kv2/data/a"), headers=ROOT).status_code == 404


def test_auth_mount_table_has_token(shared_dev: ServerProcess) -> None:
    auth = httpx.get(_url(shared_dev, "sys/auth"), headers=ROOT).json()["data"]
    assert auth["token/"]["type"] == "token"
    assert auth["token/"]["config"]["token_type"] == "default-service"
    r = httpx.delete(_url(shared_dev, "sys/auth/token"), headers=ROOT)
    assert r.json() == {"errors": ["token credential backend cannot be disabled"]}


def test_key_rotation(dev: ServerProcess) -> None:
    before = httpx.get(_url(dev, "sys/key-status"), headers=ROOT).json()
    assert before["data"]["term"] == 1 and before["term"] == 1
    httpx.post(_url(dev, "secret/data/old"), headers=ROOT, json={"data": {"v": "before"}})
    assert httpx.put(_url(dev, "sys/rotate"), headers=ROOT).status_code == 204
    assert httpx.put(_url(dev, "sys/rotate/keyring"), headers=ROOT).status_code == 204
    after = httpx.get(_url(dev, "sys/key-status"), headers=ROOT).json()["data"]
    assert after["term"] == 3
    old = httpx.get(_url(dev, "secret/data/old"), headers=ROOT).json()
    assert old["data"]["data"] == {"v": "before"}


def test_path_help_and_openapi(shared_dev: ServerProcess) -> None:
    r = httpx.get(_url(shared_dev, "secret/data/x?help=1"), headers=ROOT)
    assert r.status_code == 200
    assert "## PARAMETERS" in r.json()["help"]
    assert "options" in r.json()["help"]
    doc = httpx.get(_url(shared_dev, "sys/internal/specs/openapi")).json()
    assert doc["openapi"].startswith("3.")
    assert "/secret/data/{path}" in doc["paths"]
    create = doc["paths"]["/auth/token/create"]["post"]
    props = create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "ttl" in props
    assert props["policies"]["type"] == "array"
    config = doc["paths"]["/secret/config"]["post"]["requestBody"]["content"]
    assert config["application/json"]["schema"]["properties"]["max_versions"]["type"] == "integer"
