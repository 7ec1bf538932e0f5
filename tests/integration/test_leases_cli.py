"""Leases through the real `bao` CLI, against a real strongroom process with `counting`.

The server is `python -m tests.support.run_server`, the same `strongroom server`
plus the counting test engine, whose `revoked` path shows every revocation. The
expiration scheduler runs on the real clock here, so TTLs are a few seconds and
every wait polls against a deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.server import BAO, ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = [sys.executable, "-m", "tests.support.run_server", "server"]
T = TypeVar("T")


def counting_server(tmp: Path, *args: str, port: int | None = None) -> ServerProcess:
    """A server with the counting engine: dev mode by default, else the given flags."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    flags = list(args) or [
        "-dev",
        "-dev-root-token-id=root",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    return ServerProcess(
        args=[*LAUNCHER, *flags],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "server.log",
        env={"PYTHONPATH": str(REPO)},
    )


@dataclass
class Bao:
    addr: str
    home: Path
    token: str = "root"

    def __call__(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "BAO_ADDR": self.addr,
            "BAO_TOKEN": self.token if token is None else token,
        }
        return subprocess.run(
            [BAO, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ok(self, *args: str, token: str | None = None) -> str:
        res = self(*args, token=token)
        assert res.returncode == 0, f"bao {' '.join(args)} -> {res.returncode}\n{res.stderr}"
        assert res.stderr == "", f"bao {' '.join(args)} stderr:\n{res.stderr}"
        return res.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args))


def table(text: str) -> dict[str, str]:
    """A Key/Value table as a dict."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split() == ["Key", "Value"], text
    out = {}
    for line in lines[2:]:
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


def wait_for(check: Callable[[], T], timeout: float = 15.0, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(every)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = counting_server(tmp_path_factory.mktemp("leases-dev")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def bao(server: ServerProcess) -> Bao:
    cli = Bao(server.addr, server.home)
    cli.ok("secrets", "enable", "counting")
    return cli


_mounts = iter(range(1000))


@pytest.fixture
def mount(bao: Bao) -> str:
    """A fresh counting mount per test, so counts and failures don't mix."""
    path = f"c{next(_mounts)}"
    bao.ok("secrets", "enable", f"-path={path}", "counting")
    return path


def counts(bao: Bao, mount: str) -> dict[str, int]:
    return bao.json("read", "-format=json", f"{mount}/revoked")["data"]["counts"]


def token_leases(bao: Bao) -> set[str]:
    res = bao("list", "-format=json", "sys/leases/lookup/auth/token/create/")
    if res.returncode == 2:  # 404: none
        return set()
    assert res.returncode == 0, res.stderr
    return {f"auth/token/create/{key}" for key in json.loads(res.stdout)}


def create_token(bao: Bao, *flags: str) -> tuple[str, str]:
    """A new token and its lease id (`auth/token/create/h<hash>`, found by listing)."""
    before = token_leases(bao)
    token = bao.ok("token", "create", "-field=token", *flags).strip()
    (lease_id,) = token_leases(bao) - before
    return token, lease_id


# --------------------------------------------------------------------- tokens


def test_a_token_with_a_short_ttl_is_rejected_once_it_expires(bao: Bao, server: ServerProcess):
    token, lease_id = create_token(bao, "-ttl=3s")
    assert bao.json("token", "lookup", "-format=json", token)["data"]["ttl"] <= 3
    time.sleep(4)
    res = bao("token", "lookup", token)
    assert res.returncode == 2, res
    assert "bad token" in res.stderr
    used = httpx.get(
        f"{server.addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5
    )
    assert used.status_code == 403
    assert used.json() == {"errors": ["permission denied"]}
    res = bao("read", "sys/mounts", token=token)
    assert res.returncode == 2
    assert "Code: 403" in res.stderr
    # Its lease went with it.
    assert bao("lease", "lookup", lease_id).returncode == 2


def test_lease_lookup_renew_revoke_on_a_token_lease(bao: Bao):
    token, lease_id = create_token(bao, "-ttl=10m")
    assert lease_id.startswith("auth/token/create/h")

    info = table(bao.ok("lease", "lookup", lease_id))
    assert list(info) == [
        "expire_time",
        "id",
        "issue_time",
        "last_renewal",
        "path",
        "renewable",
        "ttl",
    ]
    assert info["id"] == lease_id
    assert info["last_renewal"] == "<nil>"
    assert info["path"] == "auth/token/create"
    assert info["renewable"] == "true"
    assert info["ttl"] in ("9m59s", "10m")

    res = bao("lease", "renew", lease_id)
    assert res.returncode == 2
    assert f"Error renewing {lease_id}:" in res.stderr
    assert "tokens cannot be renewed through this endpoint" in res.stderr

    out = bao.ok("lease", "revoke", "-sync", lease_id)
    assert out == f"Success! Revoked lease: {lease_id}\n"
    res = bao("token", "lookup", token)
    assert res.returncode == 2
    res = bao("lease", "lookup", lease_id)
    assert res.returncode == 2
    assert f"error looking up lease id {lease_id}:" in res.stderr
    assert "invalid lease" in res.stderr


# --------------------------------------------------------------------- dynamic secrets


def test_lease_lookup_renew_revoke_on_a_dynamic_secret(bao: Bao, mount: str):
    bao.ok("write", f"{mount}/roles/x", "ttl=1m", "max_ttl=2m")
    secret = table(bao.ok("read", f"{mount}/creds/x"))
    lease_id = secret["lease_id"]
    assert lease_id.startswith(f"{mount}/creds/x/")
    assert len(lease_id.rsplit("/", 1)[1]) == 24
    assert secret["lease_duration"] == "1m"
    assert secret["lease_renewable"] == "true"
    assert secret["value"] == "counter-1"

    info = table(bao.ok("lease", "lookup", lease_id))
    assert list(info) == ["expire_time", "id", "issue_time", "last_renewal", "renewable", "ttl"]
    assert info["id"] == lease_id
    assert info["renewable"] == "true"

    renewed = table(bao.ok("lease", "renew", "-increment=30s", lease_id))
    assert renewed == {
        "lease_id": lease_id,
        "lease_duration": "30s",
        "lease_renewable": "true",
    }
    assert table(bao.ok("lease", "lookup", lease_id))["last_renewal"] != "<nil>"

    # Beyond max_ttl: capped, with Vault's warning on stderr.
    res = bao("lease", "renew", "-increment=1h", lease_id)
    assert res.returncode == 0
    assert table(res.stdout)["lease_duration"] in ("1m59s", "2m")
    assert "exceeded the effective max_ttl of" in " ".join(res.stderr.split())

    out = bao.ok("lease", "revoke", lease_id)
    assert out == "All revocation operations queued successfully!\n"
    assert wait_for(lambda: counts(bao, mount)) == {"1": 1}
    res = bao("lease", "lookup", lease_id)
    assert res.returncode == 2 and "invalid lease" in res.stderr


def test_a_non_renewable_secret_refuses_renew(bao: Bao, mount: str):
    bao.ok("write", f"{mount}/roles/fixed", "ttl=1m", "renewable=false")
    lease_id = table(bao.ok("read", f"{mount}/creds/fixed"))["lease_id"]
    res = bao("lease", "renew", lease_id)
    assert res.returncode == 2
    assert "lease is not renewable" in res.stderr


def test_an_expired_secret_is_revoked_once_by_the_scheduler(bao: Bao, mount: str):
    bao.ok("write", f"{mount}/roles/short", "ttl=2s")
    lease_ids = [table(bao.ok("read", f"{mount}/creds/short"))["lease_id"] for _ in range(3)]
    assert wait_for(lambda: len(counts(bao, mount)) == 3, timeout=15)
    time.sleep(1)
    assert counts(bao, mount) == {"1": 1, "2": 1, "3": 1}
    for lease_id in lease_ids:
        assert bao("lease", "lookup", lease_id).returncode == 2


def test_lease_revoke_prefix(bao: Bao, mount: str):
    for role in ("a", "a", "b"):
        bao.ok("read", f"{mount}/creds/{role}")
    keep = table(bao.ok("read", f"{mount}/creds/a-keep"))["lease_id"]
    assert bao.json("list", "-format=json", f"sys/leases/lookup/{mount}/creds/") == [
        "a-keep/",
        "a/",
        "b/",
    ]
    out = bao.ok("lease", "revoke", "-sync", "-prefix", f"{mount}/creds/a")
    assert out == f"Success! Revoked any leases with prefix: {mount}/creds/a\n"
    assert counts(bao, mount) == {"1": 1, "2": 1}
    out = bao.ok("lease", "revoke", "-prefix", f"{mount}/creds/")
    assert out == "All revocation operations queued successfully!\n"
    assert wait_for(lambda: len(counts(bao, mount)) == 4)
    assert bao("lease", "lookup", keep).returncode == 2
    res = bao("list", f"sys/leases/lookup/{mount}/creds/")
    assert res.returncode == 2


def test_a_failing_revocation_is_visible_and_can_be_forced(bao: Bao, mount: str):
    bao.ok("write", f"{mount}/roles/r", "ttl=1s")
    lease_id = table(bao.ok("read", f"{mount}/creds/r"))["lease_id"]
    bao.ok("write", f"{mount}/fail", "mode=error", "times=1000")

    def revocation() -> dict[str, Any] | None:
        data = bao.json("lease", "lookup", "-format=json", lease_id)["data"]
        return data.get("revocation")

    state = wait_for(revocation, timeout=15)
    assert state["attempts"] >= 1
    assert state["last_error"] == "counting: backend unavailable (serial 1)"
    assert state["next_attempt"].endswith("Z")
    # Retried with backoff: a second attempt comes 1-2 s after the first.
    state = wait_for(lambda: (s := revocation()) and s["attempts"] >= 2 and s, timeout=10)
    info = table(bao.ok("lease", "lookup", lease_id))
    assert info["renewable"] == "false"
    # Still listed while its credential may exist.
    assert bao.json("list", "-format=json", f"sys/leases/lookup/{mount}/creds/r/") == [
        lease_id.rsplit("/", 1)[1]
    ]
    count = bao.json("read", "-format=json", "sys/leases/count", "type=irrevocable")
    assert count["data"]["lease_count"] >= 1

    res = bao("lease", "revoke", "-force", "-prefix", f"{mount}/creds/")
    assert res.returncode == 0, res.stderr
    assert "Warning! Force-removing leases can cause" in res.stderr
    assert res.stdout == f"Success! Force revoked any leases with prefix: {mount}/creds/\n"
    assert bao("lease", "lookup", lease_id).returncode == 2
    assert counts(bao, mount) == {}


def test_a_throttled_revocation_recovers(bao: Bao, mount: str):
    bao.ok("write", f"{mount}/roles/r", "ttl=1s")
    for _ in range(5):
        bao.ok("read", f"{mount}/creds/r")
    bao.ok("write", f"{mount}/fail", "mode=throttle", "times=2")
    assert wait_for(lambda: len(counts(bao, mount)) == 5, timeout=30)
    stats = bao.json("read", "-format=json", f"{mount}/revoked")["data"]
    assert stats["fail"]["times"] == 0
    assert set(stats["counts"].values()) == {1}


# --------------------------------------------------------------------- restart


INIT_CONFIG = """
storage "file" {{
  path = "{data}"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
"""


def test_leases_that_expire_while_the_server_is_down_are_revoked_after_unseal(tmp_path: Path):
    port = free_port()
    config = tmp_path / "config.hcl"
    config.write_text(INIT_CONFIG.format(data=tmp_path / "data", port=port))
    proc = counting_server(tmp_path, f"-config={config}", port=port).start()
    addr = proc.addr
    try:
        init = httpx.put(
            f"{addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
        ).json()
        key, root = init["keys_base64"][0], init["root_token"]
        httpx.put(f"{addr}/v1/sys/unseal", json={"key": key}).raise_for_status()
        cli = Bao(addr, tmp_path, token=root)
        cli.ok("secrets", "enable", "counting")
        cli.ok("write", "counting/roles/short", "ttl=3s")
        cli.ok("write", "counting/roles/long", "ttl=1h")
        for _ in range(5):
            cli.ok("read", "counting/creds/short")
        long_lease = table(cli.ok("read", "counting/creds/long"))["lease_id"]
    finally:
        proc.stop()

    time.sleep(4)  # every short lease expires while the server is down
    proc = counting_server(tmp_path, f"-config={config}", port=port).start()
    try:
        began = time.monotonic()
        httpx.put(f"{addr}/v1/sys/unseal", json={"key": key}).raise_for_status()
        wait_for(lambda: cli("read", "counting/revoked").returncode == 0, timeout=5, every=0.02)
        assert time.monotonic() - began < 5
        assert wait_for(lambda: len(counts(cli, "counting")) == 5, timeout=5, every=0.1)
        assert counts(cli, "counting") == {str(n): 1 for n in range(1, 6)}
        assert table(cli.ok("lease", "lookup", long_lease))["renewable"] == "true"
    finally:
        proc.stop()


def test_a_crash_in_the_middle_of_a_mass_expiry_loses_nothing(tmp_path: Path):
    port = free_port()
    config = tmp_path / "config.hcl"
    config.write_text(INIT_CONFIG.format(data=tmp_path / "data", port=port))
    proc = counting_server(tmp_path, f"-config={config}", port=port).start()
    api = httpx.Client(base_url=proc.addr, timeout=10)
    try:
        init = api.put("/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}).json()
        key = init["keys_base64"][0]
        api.headers["X-Vault-Token"] = init["root_token"]
        api.put("/v1/sys/unseal", json={"key": key}).raise_for_status()
        api.post("/v1/sys/mounts/counting", json={"type": "counting"}).raise_for_status()
        api.post("/v1/counting/roles/r", json={"ttl": "3s"}).raise_for_status()
        api.post("/v1/counting/config", json={"revoke_delay": 0.05}).raise_for_status()
        n = 300
        for _ in range(n):
            api.get("/v1/counting/creds/r").raise_for_status()

        def revoked() -> dict[str, int]:
            return api.get("/v1/counting/revoked").json()["data"]["counts"]

        # The scheduler revokes 16 at a time, 50 ms each: kill -9 part-way through.
        before = wait_for(lambda: (k := len(revoked())) >= 60 and k, timeout=20, every=0.05)
        proc.kill9()
        assert before < n
        proc.start()
        api.put("/v1/sys/unseal", json={"key": key}).raise_for_status()
        assert wait_for(lambda: len(revoked()) == n, timeout=30)
        counts = revoked()
        assert sorted(map(int, counts)) == list(range(1, n + 1))  # nothing lost
        # Revoked but not yet recorded at the kill: revoked again, at most one commit's worth.
        repeated = [s for s, c in counts.items() if c > 1]
        assert len(repeated) <= 64, repeated
        assert max(counts.values()) <= 2
        assert wait_for(lambda: api.get("/v1/sys/leases/count").json()["data"]["lease_count"] == 0)
    finally:
        api.close()
        proc.stop()
