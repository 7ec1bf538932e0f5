"""Shared pieces of the gcp engine's integration tests.

* `fake`: the fake Google Cloud (`python -m tests.fakes.gcp --port N`) as a
  subprocess on a free loopback port, one for the gcp tests, driven through its
  /_fake/ control endpoints (`FakeGcp`). Each test works in its own project.
* `gcp_dev`: a strongroom dev server process whose environment points the
  engine at the fake (STRONGROOM_GCP_ENDPOINT) with a short retry budget; the
  official google-auth library and requests do every call over HTTP.
* `api`: a small HTTP client for that server; `Api.mount_gcp()` enables the
  engine at a fresh path and writes its config with root credentials for a new
  project (a key generated here, its public half registered with the fake).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.gcp import FakeGcp
from tests.integration.server import ServerProcess, dev_server, free_port

REPO = Path(__file__).resolve().parents[3]
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def gcp_env(fake_url: str, **extra: str) -> dict[str, str]:
    """The server settings that point the engine at the fake."""
    return {
        "STRONGROOM_GCP_ENDPOINT": fake_url,
        "STRONGROOM_GCP_RETRY_TIMEOUT": "3",
        "STRONGROOM_GCP_RETRY_BASE": "0.1",
        **extra,
    }


def start_fake(log_dir: Path) -> tuple[subprocess.Popen[bytes], FakeGcp]:
    port = free_port()
    log = (log_dir / "fake-gcp.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gcp", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fake GCP exited early; see {log_dir / 'fake-gcp.log'}")
        try:
            httpx.get(f"{url}/_fake/state", timeout=0.5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("fake GCP did not start")
    return proc, FakeGcp(url)


@pytest.fixture(scope="session")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcp]:
    proc, client = start_fake(tmp_path_factory.mktemp("fake-gcp"))
    yield client
    client.close()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults a test injected never leak into the next one."""
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").clear_faults()


@pytest.fixture(scope="session")
def gcp_dev(tmp_path_factory: pytest.TempPathFactory, fake: FakeGcp) -> Iterator[ServerProcess]:
    server = dev_server(tmp_path_factory.mktemp("gcp-dev"))
    server.env = gcp_env(fake.url)
    server.start()
    yield server
    server.stop()


class Api:
    """The strongroom HTTP API as root."""

    def __init__(self, addr: str, token: str = "root") -> None:
        self.addr = addr
        self.http = httpx.Client(
            base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}, timeout=60
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {})

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = (
            self.http.request(method, path, json=body)
            if body is not None
            else (self.http.request(method, path))
        )
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.status_code == 200 else {}

    def error(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
        resp = (
            self.http.request(method, path, json=body)
            if body is not None
            else (self.http.request(method, path))
        )
        assert resp.status_code >= 400, f"{method} {path}: {resp.status_code} {resp.text}"
        errors = resp.json().get("errors") or [""]
        return resp.status_code, "; ".join(errors)

    def mount_gcp(
        self, fake: FakeGcp, path: str = "", project: str = "", **config: Any
    ) -> tuple[str, str, dict[str, str]]:
        """(mount, project, root credentials): a fresh mount configured for a fresh project."""
        path = path or unique("gcp-")
        project = project or unique("proj-")
        fake.project(project)
        creds = fake.root_credentials(project)
        self.ok("POST", f"sys/mounts/{path}", {"type": "gcp"})
        self.ok("POST", f"{path}/config", {"credentials": json.dumps(creds), **config})
        return path, project, creds

    def revoke(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/revoke", json={"lease_id": lease_id, "sync": True})

    def lookup(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/lookup", json={"lease_id": lease_id})


@pytest.fixture(scope="session")
def api(gcp_dev: ServerProcess) -> Iterator[Api]:
    client = Api(gcp_dev.addr)
    yield client
    client.http.close()


def project_binding(project: str) -> str:
    return f"//cloudresourcemanager.googleapis.com/projects/{project}"


def hcl(bindings: dict[str, list[str]]) -> str:
    """A bindings document in HCL, with the trailing commas people write."""
    blocks = []
    for resource, roles in bindings.items():
        quoted = ", ".join(json.dumps(r) for r in roles)
        blocks.append(f'resource "{resource}" {{\n  roles = [{quoted}],\n}}\n')
    return "\n".join(blocks)


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
