"""Response wrapping, audit devices, rekey, generate-root and remount against a real process.

Driven by the real `bao` CLI (OpenBao 2.7.2), the strongroom CLI and hvac.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest

from tests.integration.server import (
    BAO,
    FILE_CONFIG,
    STRONGROOM,
    ServerProcess,
    config_server,
    dev_server,
)

INVALID = "wrapping token is not valid or does not exist"


def cli(
    binary: str, server: ServerProcess, *args: str, token: str = "root", stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(server.home),
        "BAO_ADDR": server.addr,
        "BAO_TOKEN": token,
    }
    return subprocess.run(
        [binary, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def api(server: ServerProcess, token: str = "root") -> httpx.Client:
    headers = {"X-Vault-Token": token} if token else {}
    return httpx.Client(base_url=f"{server.addr}/v1/", headers=headers, timeout=10)


def unseal_key(server: ServerProcess) -> str:
    """The dev server's unseal key, from its banner (printed once it listens)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in server.output().splitlines():
            if line.startswith("Unseal Key:"):
                return line.split(": ", 1)[1]
        time.sleep(0.05)
    raise AssertionError("no unseal key in the dev banner")


def entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = dev_server(tmp_path_factory.mktemp("wrap-dev")).start()
    client = hvac.Client(url=proc.addr, token="root")
    client.secrets.kv.v2.create_or_update_secret(
        "app", {"password": "hunter2"}, mount_point="secret"
    )
    yield proc
    proc.stop()


# --------------------------------------------------------------------------- wrapping


@pytest.mark.parametrize("binary", [BAO, STRONGROOM])
def test_wrap_a_kv_read_and_unwrap_it_once(server: ServerProcess, binary: str) -> None:
    shown = cli(binary, server, "kv", "get", "-wrap-ttl=2m", "-format=json", "secret/app")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["data"] is None and "hunter2" not in shown.stdout
    info = doc["wrap_info"]
    assert info["ttl"] == 120 and info["creation_path"] == "secret/data/app"
    first = cli(binary, server, "unwrap", "-format=json", info["token"])
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["data"]["data"] == {"password": "hunter2"}
    second = cli(binary, server, "unwrap", info["token"])
    assert second.returncode == 2 and INVALID in second.stderr


@pytest.mark.parametrize("binary", [BAO, STRONGROOM])
def test_wrap_ttl_flag_on_writes_and_unwrap_as_the_client_token(
    server: ServerProcess, binary: str
) -> None:
    token = cli(
        binary,
        server,
        "token",
        "create",
        "-wrap-ttl=60",
        "-field=wrapping_token",
        "-policy=default",
    ).stdout
    assert token.startswith("hvs.")
    table = cli(binary, server, "unwrap", token=token)  # BAO_TOKEN is the wrapping token
    assert table.returncode == 0, table.stderr
    assert 'token_policies       ["default"]' in table.stdout
    written = cli(binary, server, "write", "-wrap-ttl=30s", "sys/wrapping/wrap", "k=v")
    assert (
        "wrapping_token:" in written.stdout
        and "wrapping_token_ttl:              30s" in written.stdout
    )


def test_wrap_approle_secret_id_lookup_rewrap(server: ServerProcess) -> None:
    client = hvac.Client(url=server.addr, token="root")
    client.sys.enable_auth_method("approle", path="approle-wrap")
    client.write_data("auth/approle-wrap/role/web", data={"token_policies": "default"})
    role_id = client.read("auth/approle-wrap/role/web/role-id")["data"]["role_id"]
    wrapped = client.write_data("auth/approle-wrap/role/web/secret-id", wrap_ttl="60s")
    info = wrapped["wrap_info"]
    assert info["creation_path"] == "auth/approle-wrap/role/web/secret-id"
    assert wrapped["data"] is None
    lookup = httpx.post(f"{server.addr}/v1/sys/wrapping/lookup", json={"token": info["token"]})
    assert lookup.status_code == 200
    assert lookup.json()["data"]["creation_ttl"] == 60
    rewrapped = client.sys.rewrap(info["token"]) if hasattr(client.sys, "rewrap") else None
    if rewrapped is None:
        rewrapped = client.adapter.post("/v1/sys/wrapping/rewrap", json={"token": info["token"]})
    new = rewrapped["wrap_info"]
    assert new["token"] != info["token"] and new["creation_path"] == info["creation_path"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match=INVALID):
        client.sys.unwrap(info["token"])
    secret = client.sys.unwrap(new["token"])["data"]
    assert info["wrapped_accessor"] == secret["secret_id_accessor"]
    login = hvac.Client(url=server.addr).auth.approle.login(
        role_id, secret["secret_id"], mount_point="approle-wrap"
    )
    assert login["auth"]["policies"] == ["default"]


def test_hvac_wrap_unwrap_and_bad_tokens(server: ServerProcess) -> None:
    client = hvac.Client(url=server.addr, token="root")
    wrapped = client.sys.wrap(payload={"colour": "blue"}, ttl=60)
    token = wrapped["wrap_info"]["token"]
    assert client.sys.unwrap(token)["data"] == {"colour": "blue"}
    for bad in (token, "hvs.doesnotexist"):
        with pytest.raises(hvac.exceptions.InvalidRequest, match=INVALID):
            client.sys.unwrap(bad)
    anonymous = httpx.post(f"{server.addr}/v1/sys/wrapping/unwrap")
    assert anonymous.status_code == 400
    assert anonymous.json() == {"errors": ["error validating wrapping token: token is empty"]}
    fresh = client.sys.wrap(payload={"a": "b"}, ttl=60)["wrap_info"]["token"]
    third_party = httpx.post(f"{server.addr}/v1/sys/wrapping/unwrap", json={"token": fresh})
    assert third_party.status_code == 403
    no_ttl = httpx.post(
        f"{server.addr}/v1/sys/wrapping/wrap", json={"a": "b"}, headers={"X-Vault-Token": "root"}
    )
    assert no_ttl.status_code == 400
    assert no_ttl.json() == {"errors": ["endpoint requires response wrapping to be used"]}
    # The wrapping token itself: single use, response-wrapping policy, the wrap TTL.
    with api(server) as root:
        looked = root.post(
            "auth/token/lookup-accessor",
            json={"accessor": client.sys.wrap(payload={"x": "y"}, ttl=45)["wrap_info"]["accessor"]},
        ).json()["data"]
    assert looked["policies"] == ["response-wrapping"] and looked["num_uses"] == 1
    assert looked["creation_ttl"] == 45


def test_wrapping_token_expires(server: ServerProcess) -> None:
    client = hvac.Client(url=server.addr, token="root")
    token = client.sys.wrap(payload={"a": "b"}, ttl=1)["wrap_info"]["token"]
    time.sleep(2.2)
    with pytest.raises(hvac.exceptions.InvalidRequest, match=INVALID):
        client.sys.unwrap(token)


def test_policy_min_wrapping_ttl_forces_wrapping(server: ServerProcess) -> None:
    client = hvac.Client(url=server.addr, token="root")
    client.sys.create_or_update_acl_policy(
        "must-wrap",
        'path "secret/data/*" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1m"\n}',
    )
    token = client.auth.token.create(policies=["must-wrap"])["auth"]["client_token"]
    user = hvac.Client(url=server.addr, token=token)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.read("secret/data/app")
    with pytest.raises(hvac.exceptions.Forbidden):
        user.read("secret/data/app", wrap_ttl="30s")
    wrapped = user.read("secret/data/app", wrap_ttl="2m")
    assert wrapped["wrap_info"]["ttl"] == 120
    assert user.sys.unwrap(wrapped["wrap_info"]["token"])["data"]["data"]["password"] == "hunter2"


# --------------------------------------------------------------------------- audit


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = dev_server(tmp_path / "dev").start()
    yield proc
    proc.stop()


def test_audit_file_records_kv_write_and_read_hashed(dev: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    client = hvac.Client(url=dev.addr, token="root")
    client.sys.enable_audit_device("file", options={"file_path": str(log)})
    listed = client.sys.list_enabled_audit_devices()["data"]
    assert listed["file/"]["options"] == {"file_path": str(log)}
    assert cli(BAO, dev, "kv", "put", "secret/audited", "password=hunter2").returncode == 0
    assert "hunter2" in cli(BAO, dev, "kv", "get", "secret/audited").stdout
    text = log.read_text()
    assert "hunter2" not in text and '"client_token":"root"' not in text
    got = [e for e in entries(log) if e["request"]["path"] == "secret/data/audited"]
    assert [(e["type"], e["request"]["operation"]) for e in got] == [
        ("request", "create"),
        ("response", "create"),
        ("request", "read"),
        ("response", "read"),
    ] or [(e["type"], e["request"]["operation"]) for e in got] == [
        ("request", "update"),
        ("response", "update"),
        ("request", "read"),
        ("response", "read"),
    ]
    token_hash = client.sys.calculate_hash("file", "root")["data"]["hash"]
    assert all(e["auth"]["client_token"] == token_hash for e in got)
    secret_hash = client.sys.calculate_hash("file", "hunter2")["data"]["hash"]
    assert got[0]["request"]["data"]["data"]["password"] == secret_hash
    assert got[3]["response"]["data"]["data"]["password"] == secret_hash
    assert got[0]["request"]["id"] == got[1]["request"]["id"]
    listing = cli(STRONGROOM, dev, "audit", "list", "-detailed")
    assert f"file/    file    n/a            replicated     file_path={log}" in listing.stdout
    verified = subprocess.run(
        [STRONGROOM, "audit", "verify", str(log)], capture_output=True, text=True
    )
    assert verified.returncode == 0 and "hash chain is intact" in verified.stdout
    client.sys.disable_audit_device("file")
    assert client.sys.list_enabled_audit_devices()["data"] == {}


def test_audit_fails_closed_and_recovers(dev: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    client = hvac.Client(url=dev.addr, token="root")
    client.sys.enable_audit_device("file", options={"file_path": str(log)})
    client.secrets.kv.v2.create_or_update_secret("fc", {"v": "1"}, mount_point="secret")
    log.chmod(0o444)
    refused = httpx.post(
        f"{dev.addr}/v1/secret/data/fc",
        json={"data": {"v": "2"}},
        headers={"X-Vault-Token": "root"},
    )
    assert refused.status_code == 500
    assert "audit" in refused.json()["errors"][0]
    assert (
        httpx.get(f"{dev.addr}/v1/secret/data/fc", headers={"X-Vault-Token": "root"}).status_code
        == 500
    )
    log.chmod(0o600)
    read = client.secrets.kv.v2.read_secret_version(
        "fc", mount_point="secret", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"v": "1"}  # the refused write never ran
    assert subprocess.run([STRONGROOM, "audit", "verify", str(log)]).returncode == 0


def test_sighup_after_rename_starts_a_new_file(dev: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    rotated = tmp_path / "audit.log.1"
    assert cli(BAO, dev, "audit", "enable", "file", f"file_path={log}").returncode == 0
    cli(BAO, dev, "token", "lookup")
    os.rename(log, rotated)
    cli(BAO, dev, "token", "lookup")  # still written to the renamed file
    assert dev.proc is not None
    dev.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        cli(BAO, dev, "token", "lookup")
        if log.exists() and log.read_text():
            break
        time.sleep(0.1)
    assert entries(log)[0]["seq"] == 1
    assert all(e["request"]["path"] == "auth/token/lookup-self" for e in entries(log))
    both = subprocess.run(
        [STRONGROOM, "audit", "verify", str(rotated), str(log)], capture_output=True, text=True
    )
    assert both.returncode == 0, both.stderr
    assert "2 files" in both.stdout


def test_audit_verify_names_an_edited_or_deleted_line(dev: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    cli(BAO, dev, "audit", "enable", "file", f"file_path={log}")
    for _ in range(4):
        cli(BAO, dev, "kv", "get", "secret/nothing")
    lines = log.read_text().splitlines(keepends=True)
    edited = tmp_path / "edited.log"
    edited.write_text("".join([*lines[:3], lines[3].replace('"read"', '"list"'), *lines[4:]]))
    result = subprocess.run(
        [STRONGROOM, "audit", "verify", str(edited)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{edited}:4: altered" in result.stderr
    deleted = tmp_path / "deleted.log"
    deleted.write_text("".join(lines[:5] + lines[6:]))
    result = subprocess.run(
        [STRONGROOM, "audit", "verify", str(deleted)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{deleted}:6: 1 entry missing before this line" in result.stderr
    clean = subprocess.run(
        [STRONGROOM, "audit", "verify", str(log)], capture_output=True, text=True
    )
    assert clean.returncode == 0


def test_audit_bad_input_is_a_clear_400(dev: ServerProcess, tmp_path: Path) -> None:
    with api(dev) as root:
        ok = root.put(
            "sys/audit/file",
            json={"type": "file", "options": {"file_path": str(tmp_path / "a.log")}},
        )
        assert ok.status_code == 204
        cases = [
            (
                "file",
                {"type": "file", "options": {"file_path": str(tmp_path / "b.log")}},
                "path already in use",
            ),
            (
                "other",
                {"type": "file", "options": {"file_path": str(tmp_path / "missing" / "c.log")}},
                "does not exist",
            ),
            ("weird", {"type": "nosuch"}, 'unknown backend type: "nosuch"'),
        ]
        for path, body, message in cases:
            resp = root.put(f"sys/audit/{path}", json=body)
            assert resp.status_code == 400 and message in resp.json()["errors"][0]
        assert list(root.get("sys/audit").json()["data"]) == ["file/"]
        assert not (tmp_path / "b.log").exists() and not (tmp_path / "missing").exists()
        bad_hash = root.put("sys/audit-hash/nope", json={"input": "x"})
        assert bad_hash.status_code == 400
        assert bad_hash.json() == {"errors": ['unknown audit backend "nope/"']}


def test_audit_socket_device(dev: ServerProcess) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def collect() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            while b'"type":"response"' not in b"".join(received):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received.append(chunk)

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    enabled = cli(
        STRONGROOM, dev, "audit", "enable", "socket", f"address=127.0.0.1:{port}", "socket_type=tcp"
    )
    assert enabled.returncode == 0, enabled.stderr
    cli(BAO, dev, "token", "lookup")
    thread.join(10)
    listener.close()
    lines = [json.loads(x) for x in b"".join(received).decode().splitlines()]
    assert [x["type"] for x in lines[:2]] == ["request", "response"]
    assert lines[0]["auth"]["client_token"].startswith("hmac-sha256:")


def test_audit_devices_survive_a_restart(tmp_path: Path) -> None:
    server = config_server(tmp_path / "srv", FILE_CONFIG).start()
    log = tmp_path / "audit.log"
    try:
        init = httpx.put(
            f"{server.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
        ).json()
        key, root = init["keys"][0], init["root_token"]
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": key})
        client = hvac.Client(url=server.addr, token=root)
        client.sys.enable_audit_device("file", options={"file_path": str(log), "format": "jsonx"})
        client.sys.list_mounted_secrets_engines()
        server.stop()
        server.start()
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": key})
        assert list(client.sys.list_enabled_audit_devices()["data"]) == ["file/"]
        client.sys.list_mounted_secrets_engines()
        text = log.read_text()
        assert text.count("<?xml") == 6
        assert subprocess.run([STRONGROOM, "audit", "verify", str(log)]).returncode == 0
    finally:
        server.stop()


# --------------------------------------------------------------------------- rekey / generate-root


def test_rekey_5_3_to_3_2_then_unseal_with_new_keys(tmp_path: Path) -> None:
    server = config_server(tmp_path / "srv", FILE_CONFIG).start()
    try:
        init = httpx.put(
            f"{server.addr}/v1/sys/init", json={"secret_shares": 5, "secret_threshold": 3}
        ).json()
        client = hvac.Client(url=server.addr, token=init["root_token"])
        client.sys.submit_unseal_keys(init["keys"][:3])
        assert client.sys.read_rekey_progress()["started"] is False
        started = client.sys.start_rekey(secret_shares=3, secret_threshold=2)
        nonce = started["nonce"]
        assert (started["n"], started["t"], started["required"]) == (3, 2, 3)
        with pytest.raises(hvac.exceptions.InvalidRequest, match="incorrect nonce"):
            client.sys.rekey(init["keys"][0], nonce="wrong")
        assert client.sys.read_rekey_progress()["progress"] == 0
        result = client.sys.rekey_multi(init["keys"][1:4], nonce=nonce)
        assert result["complete"] is True and len(result["keys"]) == 3
        new = result["keys_base64"]
        status = client.sys.read_seal_status()
        assert (status["n"], status["t"]) == (3, 2)
        client.sys.seal()
        client.sys.submit_unseal_keys([new[2], new[0]])
        assert not client.sys.is_sealed()
        server.stop()  # and after a restart
        server.start()
        unsealed = httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": init["keys"][0]}).json()
        assert unsealed["progress"] == 1
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"reset": True})
        client.sys.submit_unseal_keys(new[1:])
        assert not client.sys.is_sealed()
        assert client.auth.token.lookup_self()["data"]["policies"] == ["root"]
        client.sys.start_rekey(secret_shares=1, secret_threshold=1)
        cancelled = client.sys.cancel_rekey()
        assert cancelled.status_code == 204
    finally:
        server.stop()


def test_rekey_with_verification_via_the_cli(dev: ServerProcess) -> None:
    key = unseal_key(dev)
    start = cli(
        STRONGROOM,
        dev,
        "operator",
        "rekey",
        "-init",
        "-key-shares=3",
        "-key-threshold=2",
        "-verify",
    )
    assert start.returncode == 0, start.stderr
    assert "Verification Required    true" in start.stdout
    nonce = json.loads(cli(BAO, dev, "operator", "rekey", "-status", "-format=json").stdout)[
        "nonce"
    ]
    done = cli(BAO, dev, "operator", "rekey", f"-nonce={nonce}", key)
    assert done.returncode == 0, done.stderr
    shares = [
        line.split(": ")[1]
        for line in done.stdout.splitlines()
        if line.startswith("Key ") and ": " in line
    ]
    assert len(shares) == 3 and "Verification Nonce" in done.stdout
    status = json.loads(
        cli(STRONGROOM, dev, "operator", "rekey", "-status", "-verify", "-format=json").stdout
    )
    vnonce = status["nonce"]
    for share in shares[:2]:
        step = cli(STRONGROOM, dev, "operator", "rekey", "-verify", f"-nonce={vnonce}", share)
        assert step.returncode == 0, step.stderr
    assert "Rekey verification successful" in step.stdout
    cli(BAO, dev, "operator", "seal")
    for share in shares[1:]:
        cli(BAO, dev, "operator", "unseal", share)
    assert cli(BAO, dev, "status").returncode == 0


def test_generate_root_hvac_and_cli(dev: ServerProcess) -> None:
    key = unseal_key(dev)
    client = hvac.Client(url=dev.addr, token="root")
    progress = client.sys.read_root_generation_progress()
    assert progress["started"] is False and progress["otp_length"] == 37
    otp = cli(STRONGROOM, dev, "operator", "generate-root", "-generate-otp").stdout
    assert len(otp) == 37
    started = client.sys.start_root_token_generation(otp=otp)
    done = client.sys.generate_root(key, started["nonce"])
    assert done["complete"] is True
    decoded = cli(
        STRONGROOM,
        dev,
        "operator",
        "generate-root",
        f"-decode={done['encoded_token']}",
        f"-otp={otp}",
    ).stdout
    new_root = hvac.Client(url=dev.addr, token=decoded)
    assert new_root.auth.token.lookup_self()["data"]["policies"] == ["root"]
    # And with the bao CLI (its generate-root speaks OpenBao's generate-root-token routes).
    otp = cli(BAO, dev, "operator", "generate-root", "-generate-otp").stdout
    assert cli(BAO, dev, "operator", "generate-root", "-init", f"-otp={otp}").returncode == 0
    nonce = json.loads(
        cli(BAO, dev, "operator", "generate-root", "-status", "-format=json").stdout
    )["nonce"]
    final = cli(BAO, dev, "operator", "generate-root", "-format=json", f"-nonce={nonce}", key)
    encoded = json.loads(final.stdout)["encoded_token"]
    token = cli(BAO, dev, "operator", "generate-root", f"-decode={encoded}", f"-otp={otp}").stdout
    assert hvac.Client(url=dev.addr, token=token).is_authenticated()
    client.sys.start_root_token_generation(otp=otp)
    assert client.sys.cancel_root_generation().status_code == 204
    assert client.sys.read_root_generation_progress()["started"] is False


# --------------------------------------------------------------------------- remount


@pytest.mark.parametrize("binary", [BAO, STRONGROOM])
def test_secrets_move_keeps_the_data(dev: ServerProcess, binary: str) -> None:
    assert cli(binary, dev, "secrets", "enable", "-path=before", "-version=2", "kv").returncode == 0
    cli(binary, dev, "kv", "put", "before/app", "a=1")
    moved = cli(binary, dev, "secrets", "move", "before", "after")
    assert moved.returncode == 0, moved.stderr
    assert "Success! Finished moving secrets engine before/ to after/" in moved.stdout
    assert cli(binary, dev, "kv", "get", "-field=a", "after/app").stdout == "1"


def test_auth_move_keeps_login_leases(dev: ServerProcess) -> None:
    client = hvac.Client(url=dev.addr, token="root")
    client.sys.enable_auth_method("userpass", path="people")
    client.write_data("auth/people/users/al", data={"password": "pw"})
    token = client.auth.userpass.login("al", "pw", mount_point="people")["auth"]["client_token"]
    client.token = "root"
    client.sys.move_backend("auth/people", "auth/staff")
    keys = client.list("sys/leases/lookup/auth/staff/login/al")["data"]["keys"]
    assert len(keys) == 1
    user = hvac.Client(url=dev.addr, token=token)
    assert user.auth.token.renew_self(increment="1h")["auth"]["lease_duration"] == 3600
    client.auth.token.revoke(token)
    assert client.list("sys/leases/lookup/auth/staff/login/al") is None


def test_operator_rekey_and_generate_root_output_matches_bao(dev: ServerProcess) -> None:
    """Both CLIs against the same server print the same (nonces and program name aside)."""
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

    def run(binary: str, *args: str) -> tuple[str, str, int]:
        done = cli(binary, dev, *args)
        norm = [
            uuid.sub("<NONCE>", t).replace("strongroom", "bao") for t in (done.stdout, done.stderr)
        ]
        # Messages are wrapped at 78 columns, so the longer program name moves line breaks.
        norm[1] = " ".join(norm[1].split())
        return norm[0], norm[1], done.returncode

    steps = [
        ("operator", "rekey", "-status"),
        ("operator", "rekey", "-status", "-format=json"),
        ("operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2"),
        ("operator", "rekey", "-init"),
        ("operator", "rekey", "-status", "-format=yaml"),
        ("operator", "rekey", "-nonce=wrong", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("operator", "rekey", "-cancel"),
        ("operator", "rekey", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("operator", "generate-root", "-status"),
        ("operator", "generate-root", "-status", "-format=json"),
        ("operator", "generate-root", "-decode=abc", "-otp=x"),
        ("operator", "generate-root", "-decode=abc"),
        ("operator", "generate-root", "-cancel"),
    ]
    transcripts = []
    for binary in (BAO, STRONGROOM):  # each from a clean state: the steps change it
        cli(BAO, dev, "operator", "rekey", "-cancel")
        transcripts.append([(step, *run(binary, *step)) for step in steps])
    for bao_step, ours_step in zip(*transcripts, strict=True):
        assert ours_step == bao_step
