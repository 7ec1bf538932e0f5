"""Several strongroom server processes on one PostgreSQL database, for HA tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.ha.pgdb import scratch_database
from tests.integration.server import STRONGROOM, ServerProcess, free_port

PG_CONFIG = """
storage "postgresql" {{
  connection_url = "{url}"
  ha_enabled     = "true"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{port}"
"""


def pg_server(tmp: Path, url: str, port: int | None = None, extra: str = "") -> ServerProcess:
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "config.hcl"
    path.write_text(PG_CONFIG.format(url=url, port=port) + extra)
    return ServerProcess(
        args=[STRONGROOM, "server", f"-config={path}"],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "server.log",
    )


def wait_for(check: Callable[[], object], timeout: float, what: str, step: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


@dataclass
class Cluster:
    url: str
    nodes: list[ServerProcess]
    keys: list[str] = field(default_factory=list)
    root: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Vault-Token": self.root}

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def init(self, via: ServerProcess) -> None:
        r = httpx.put(f"{via.addr}/v1/sys/init", json={"secret_shares": 3, "secret_threshold": 2})
        assert r.status_code == 200, r.text
        self.keys, self.root = r.json()["keys"], r.json()["root_token"]

    def unseal(self, node: ServerProcess) -> None:
        for key in self.keys[:2]:
            status = httpx.put(f"{node.addr}/v1/sys/unseal", json={"key": key}).json()
        assert status["sealed"] is False, status

    def health(self, node: ServerProcess) -> int:
        return httpx.get(f"{node.addr}/v1/sys/health", timeout=2).status_code

    def live(self) -> list[ServerProcess]:
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    def active(self, timeout: float = 15.0) -> ServerProcess:
        """The one node whose health says active (and no other)."""

        def one() -> ServerProcess | None:
            codes = {n.addr: self.health(n) for n in self.live()}
            actives = [n for n in self.live() if codes[n.addr] == 200]
            if len(actives) == 1 and all(c in (200, 429) for c in codes.values()):
                return actives[0]
            return None

        return wait_for(one, timeout, "exactly one active node")  # type: ignore[return-value]

    def standbys(self) -> list[ServerProcess]:
        active = self.active()
        return [n for n in self.live() if n is not active]


@contextmanager
def cluster(tmp: Path, size: int) -> Iterator[Cluster]:
    with scratch_database() as url:
        nodes = [pg_server(tmp / f"node{i}", url) for i in range(size)]
        group = Cluster(url, nodes)
        try:
            yield group.start()
        finally:
            group.stop()
