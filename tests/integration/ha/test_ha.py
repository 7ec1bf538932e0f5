"""High availability on PostgreSQL: real server processes sharing one scratch database.

One node holds the lock and serves; the others are standby and forward every
request to it. Failover after kill -9, fencing of a paused active node, leases
after failover, and clients (bao, hvac) pointed at a standby.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import hvac
import psycopg
import pytest

from tests.integration.ha.cluster import Cluster, cluster, wait_for
from tests.integration.server import BAO

pytestmark = pytest.mark.timeout(90)


def _kv2(c: Cluster, node_addr: str) -> None:
    r = httpx.post(
        f"{node_addr}/v1/sys/mounts/kv",
        headers=c.headers,
        json={"type": "kv", "options": {"version": "2"}},
    )
    assert r.status_code == 204, r.text


def _put(addr: str, c: Cluster, path: str, data: dict, timeout: float = 10) -> httpx.Response:
    return httpx.post(
        f"{addr}/v1/kv/data/{path}", headers=c.headers, json={"data": data}, timeout=timeout
    )


def _get(addr: str, c: Cluster, path: str) -> dict | None:
    r = httpx.get(f"{addr}/v1/kv/data/{path}", headers=c.headers, timeout=10)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()["data"]["data"]


def test_standby_forwards_every_request_to_the_active_node(tmp_path: Path) -> None:
    with cluster(tmp_path, 2) as c:
        c.init(c.nodes[1])
        for node in c.nodes:
            c.unseal(node)
        active = c.active()
        (standby,) = c.standbys()

        # sys/health: 429 on the standby unless standbyok; perfstandbyok alone is not enough.
        health = httpx.get(f"{standby.addr}/v1/sys/health")
        assert health.status_code == 429
        body = health.json()
        assert (body["standby"], body["sealed"], body["initialized"]) == (True, False, True)
        assert body["cluster_id"] == httpx.get(f"{active.addr}/v1/sys/health").json()["cluster_id"]
        assert httpx.get(f"{standby.addr}/v1/sys/health?standbyok=true").status_code == 200
        assert httpx.get(f"{standby.addr}/v1/sys/health?perfstandbyok=true").status_code == 429
        assert httpx.get(f"{standby.addr}/v1/sys/health?standbycode=299").status_code == 299
        assert httpx.head(f"{standby.addr}/v1/sys/health").status_code == 429
        assert httpx.get(f"{active.addr}/v1/sys/health").json()["standby"] is False

        # sys/leader on both names the active node's api_addr.
        on_standby = httpx.get(f"{standby.addr}/v1/sys/leader").json()
        on_active = httpx.get(f"{active.addr}/v1/sys/leader").json()
        assert on_standby["ha_enabled"] is on_active["ha_enabled"] is True
        assert (on_standby["is_self"], on_active["is_self"]) == (False, True)
        assert on_standby["leader_address"] == on_active["leader_address"] == active.addr
        port = int(active.addr.rsplit(":", 1)[1])
        assert on_standby["leader_cluster_address"] == f"https://127.0.0.1:{port + 1}"
        assert on_standby["active_time"] == on_active["active_time"] != "0001-01-01T00:00:00Z"

        # Writes through the standby, reads through the active, and the reverse.
        _kv2(c, standby.addr)
        assert _put(standby.addr, c, "via-standby", {"v": "1"}).status_code == 200
        assert _get(active.addr, c, "via-standby") == {"v": "1"}
        assert _put(active.addr, c, "via-active", {"v": "2"}).status_code == 200
        assert _get(standby.addr, c, "via-active") == {"v": "2"}
        listed = httpx.request("LIST", f"{standby.addr}/v1/kv/metadata/", headers=c.headers).json()[
            "data"
        ]["keys"]
        assert listed == ["via-active", "via-standby"]
        # Errors, status codes and empty answers are relayed as they are.
        assert _get(standby.addr, c, "missing") is None
        denied = httpx.get(f"{standby.addr}/v1/kv/data/x", headers={"X-Vault-Token": "nope"})
        assert (denied.status_code, denied.json()) == (403, {"errors": ["permission denied"]})
        assert httpx.head(f"{standby.addr}/v1/kv/data/via-active", headers=c.headers).content == b""

        # A request that was already forwarded once is not forwarded again: 307.
        hop = httpx.get(
            f"{standby.addr}/v1/kv/data/via-active?x=1",
            headers={**c.headers, "X-Strongroom-Forwarded": "0;127.0.0.1;"},
        )
        assert hop.status_code == 307
        assert hop.headers["location"] == f"{active.addr}/v1/kv/data/via-active?x=1"

        # Sealing a standby is refused (as in Vault: restart it instead).
        sealed = httpx.put(f"{standby.addr}/v1/sys/seal", headers=c.headers)
        assert sealed.status_code == 500
        assert "standby" in sealed.json()["errors"][0]

        # step-down through the standby: the other node takes over, nothing is lost.
        assert httpx.put(f"{standby.addr}/v1/sys/step-down", headers=c.headers).status_code == 204
        wait_for(lambda: c.health(standby) == 200, 10, "the standby to take over")
        assert c.active() is standby
        assert _get(active.addr, c, "via-standby") == {"v": "1"}
        assert _put(active.addr, c, "after-step-down", {"v": "3"}).status_code == 200
        assert _get(standby.addr, c, "after-step-down") == {"v": "3"}
        # No token, no step-down.
        assert httpx.put(f"{standby.addr}/v1/sys/step-down").status_code == 403


def test_bao_and_hvac_pointed_at_a_standby(tmp_path: Path) -> None:
    with cluster(tmp_path, 2) as c:
        c.init(c.nodes[0])
        for node in c.nodes:
            c.unseal(node)
        (standby,) = c.standbys()
        env = {
            **os.environ,
            "VAULT_ADDR": standby.addr,
            "VAULT_TOKEN": c.root,
            "HOME": str(tmp_path),
        }

        def bao(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([BAO, *args], env=env, capture_output=True, text=True, timeout=30)

        assert bao("secrets", "enable", "-version=2", "kv").returncode == 0
        out = bao("kv", "put", "-mount=kv", "app", "password=hunter2")
        assert out.returncode == 0, out.stderr
        out = bao("kv", "get", "-mount=kv", "-field=password", "app")
        assert (out.returncode, out.stdout) == (0, "hunter2"), out.stderr
        status = bao("status")
        assert status.returncode == 0, status.stderr
        assert "HA Enabled             true" in status.stdout
        assert "HA Mode                standby" in status.stdout
        assert f"Active Node Address    {c.active().addr}" in status.stdout
        token = bao("token", "create", "-ttl=1h", "-field=token")
        assert token.returncode == 0, token.stderr

        client = hvac.Client(url=standby.addr, token=c.root)
        assert client.is_authenticated()
        client.secrets.kv.v2.create_or_update_secret(path="hv", secret={"k": "v"}, mount_point="kv")
        read = client.secrets.kv.v2.read_secret_version(
            path="app", mount_point="kv", raise_on_deleted_version=True
        )
        assert read["data"]["data"] == {"password": "hunter2"}
        assert "kv/" in client.sys.list_mounted_secrets_engines()["data"]
        new = client.auth.token.create(policies=["default"], ttl="10m")
        assert hvac.Client(url=standby.addr, token=new["auth"]["client_token"]).is_authenticated()
        assert hvac.Client(url=c.active().addr, token=token.stdout).is_authenticated()
        client.sys.create_or_update_acl_policy("p", 'path "kv/*" { capabilities = ["read"] }')
        assert "p" in client.sys.list_acl_policies()["data"]["keys"]
        assert client.sys.read_health_status(method="GET", standby_ok=True)["standby"] is True


class _Load:
    """Writers spread over the nodes; each remembers the writes that were acknowledged."""

    def __init__(self, c: Cluster, threads: int = 6) -> None:
        self.c = c
        self.stop = threading.Event()
        self.acked: dict[str, str] = {}
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, index: int) -> None:
        target = index % len(self.c.nodes)
        with httpx.Client(timeout=5, headers=self.c.headers) as http:
            n = 0
            while not self.stop.is_set():
                node = self.c.nodes[target]
                key, value = f"load/{index}-{n}", f"v{index}-{n}"
                n += 1
                try:
                    r = http.post(f"{node.addr}/v1/kv/data/{key}", json={"data": {"v": value}})
                except httpx.TransportError:
                    target = (target + 1) % len(self.c.nodes)
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    with self.lock:
                        self.acked[key] = value
                else:
                    time.sleep(0.05)

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)


def _token(c: Cluster, addr: str, ttl: str) -> tuple[str, str]:
    r = httpx.post(
        f"{addr}/v1/auth/token/create",
        headers=c.headers,
        json={"ttl": ttl, "policies": ["default"]},
    )
    assert r.status_code == 200, r.text
    return r.json()["auth"]["client_token"], r.json()["auth"]["accessor"]


def _token_leases(c: Cluster, addr: str) -> list[str]:
    r = httpx.request("LIST", f"{addr}/v1/sys/leases/lookup/auth/token/create/", headers=c.headers)
    return r.json()["data"]["keys"] if r.status_code == 200 else []


def test_kill_9_of_the_active_node_mid_load(tmp_path: Path) -> None:
    with cluster(tmp_path, 3) as c:
        c.init(c.nodes[1])
        for node in c.nodes:
            c.unseal(node)
        old = c.active()
        _kv2(c, c.nodes[2].addr)
        short, _ = _token(c, c.nodes[0].addr, "4s")  # expires during the failover
        long, _ = _token(c, c.nodes[2].addr, "16s")  # expires well after it
        issued = time.monotonic()
        assert len(_token_leases(c, old.addr)) == 2

        with _Load(c) as load:
            wait_for(lambda: len(load.acked) >= 60, 20, "some acknowledged writes")
            old.kill9()
            killed = time.monotonic()
            survivors = c.live()
            assert len(survivors) == 2

            def serving() -> bool:
                return any(
                    _put(n.addr, c, "probe", {"t": str(time.time())}, timeout=2).status_code == 200
                    for n in survivors
                )

            wait_for(serving, 10, "a standby to serve after kill -9", step=0.2)
            failover = time.monotonic() - killed
            print(f"failover after kill -9: {failover:.2f}s")
            assert failover < 10, failover
            wait_for(lambda: len(load.acked) >= 120, 20, "writes after the failover")
        new = c.active()
        assert new is not old

        # Every acknowledged write is there, whichever node is asked.
        for node in survivors:
            with httpx.Client(headers=c.headers, timeout=10) as http:
                for key, value in load.acked.items():
                    r = http.get(f"{node.addr}/v1/kv/data/{key}")
                    assert r.status_code == 200, (key, r.text)
                    assert r.json()["data"]["data"] == {"v": value}

        # Leases keep expiring: the new active revokes both tokens at their expiry.
        lookup = f"{new.addr}/v1/auth/token/lookup"
        wait_for(lambda: len(_token_leases(c, new.addr)) == 1, 8, "the short token's lease to go")
        assert httpx.post(lookup, headers=c.headers, json={"token": short}).status_code == 403
        assert httpx.post(lookup, headers=c.headers, json={"token": long}).status_code == 200
        wait_for(lambda: _token_leases(c, new.addr) == [], 20, "the long token's lease to go")
        assert time.monotonic() - issued >= 15
        gone = httpx.post(lookup, headers=c.headers, json={"token": long})
        assert (gone.status_code, gone.json()) == (403, {"errors": ["bad token"]})
        # Only the active node runs the lease manager: no revocation errors anywhere.
        for node in survivors:
            assert "Traceback" not in node.output()


def test_paused_active_node_is_fenced_and_steps_down(tmp_path: Path) -> None:
    with cluster(tmp_path, 2) as c:
        c.init(c.nodes[0])
        for node in c.nodes:
            c.unseal(node)
        old = c.active()
        (other,) = c.standbys()
        _kv2(c, old.addr)
        assert _put(old.addr, c, "before", {"v": "0"}).status_code == 200
        assert old.proc is not None
        pid = old.proc.pid

        os.kill(pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            wait_for(lambda: c.health(other) == 200, 15, "the standby to take over")
            took_over = time.monotonic() - stopped
            assert took_over >= 6  # not before the lock could have expired
            assert _put(other.addr, c, "during", {"v": "new"}).status_code == 200
            # Requests reach the paused node now and wait in its socket backlog.
            results: dict[str, int] = {}

            def write(i: int) -> None:
                try:
                    r = _put(old.addr, c, f"queued{i}", {"v": str(i)}, timeout=20)
                    results[f"queued{i}"] = r.status_code
                except httpx.TransportError:
                    results[f"queued{i}"] = 0

            writers = [threading.Thread(target=write, args=(i,)) for i in range(5)]
            for w in writers:
                w.start()
            time.sleep(0.5)
        finally:
            os.kill(pid, signal.SIGCONT)
        for w in writers:
            w.join(30)
        # The resumed node wrote nothing itself: whatever it acknowledged was
        # forwarded to the new active node (and so is there); the rest failed.
        print(f"took over after {took_over:.2f}s; queued writes to the paused node: {results}")
        for key, status in results.items():
            if status == 200:
                assert _get(other.addr, c, key) is not None, key
        with psycopg.connect(c.url) as conn:
            holder = conn.execute("SELECT ha_value FROM vault_ha_locks").fetchone()
        assert holder is not None and other.addr in holder[0]
        # It noticed and became a standby that forwards to the new active node.
        wait_for(lambda: c.health(old) == 429, 10, "the old active to step down")
        leader = httpx.get(f"{old.addr}/v1/sys/leader").json()
        assert (leader["is_self"], leader["leader_address"]) == (False, other.addr)
        assert _put(old.addr, c, "after", {"v": "1"}).status_code == 200
        for key in ("before", "during", "after"):
            assert _get(other.addr, c, key) is not None
        assert "leaving active duty" in old.output()
        assert c.active() is other
