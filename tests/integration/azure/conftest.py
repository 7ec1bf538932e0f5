"""Shared pieces of the Azure engine's integration tests.

* `fake`: the fake Azure (`python -m tests.fakes.azure`) as a subprocess on a
  free loopback port with a throw-away CA, one per test module. The engine
  reaches it over HTTPS through the official SDK (azure-identity for tokens,
  azure-core's pipeline for Graph and ARM); nothing is mocked in-process.
* `server`: a strongroom dev server process whose STRONGROOM_AZURE_* settings
  point at that fake (one per module; tests use distinct mounts).
* `api`: a small HTTP client for that server, as root.
"""

from __future__ import annotations

import itertools
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.azure import ROOT_APP_ID, ROOT_SECRET, SUBSCRIPTION_ID, TENANT_ID
from tests.integration.server import ServerProcess, dev_server, free_port

REPO = Path(__file__).resolve().parents[3]
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
RG_APP = f"{SUB}/resourceGroups/rg-app"
RG_DATA = f"{SUB}/resourceGroups/rg-data"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


class Fake:
    """The fake Azure process and its control API (/_fake/...)."""

    def __init__(self, url: str, ca: str, proc: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.ca = ca
        self.proc = proc
        self.http = httpx.Client(
            base_url=url, verify=ssl.create_default_context(cafile=ca), timeout=30
        )

    # ------------------------------------------------------------ control
    def state(self) -> dict[str, Any]:
        return self.http.get("/_fake/state").raise_for_status().json()

    def fail(self, operation: str, **fault: Any) -> None:
        self.http.post("/_fake/faults", json={"operation": operation, **fault}).raise_for_status()

    def down(self, seconds: float | None = None) -> None:
        body: dict[str, Any] = {"down": True}
        if seconds:
            body["seconds"] = seconds
        self.http.post("/_fake/faults", json=body).raise_for_status()

    def up(self) -> None:
        self.http.post("/_fake/faults", json={"down": False}).raise_for_status()

    def clear(self) -> None:
        self.http.delete("/_fake/faults").raise_for_status()
        self.http.delete("/_fake/calls").raise_for_status()
        self.settings(max_passwords=20, max_role_assignments=4000, propagation_delay=0)

    def settings(self, **values: Any) -> None:
        self.http.post("/_fake/settings", json=values).raise_for_status()

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        calls = self.http.get("/_fake/calls").raise_for_status().json()["calls"]
        return [c for c in calls if operation is None or c["operation"] == operation]

    def seed_app(self, name: str, **options: Any) -> dict[str, Any]:
        """An application made outside strongroom; `root=True` makes it a second root
        identity (service principal, Graph permissions, Owner, a password in "secret")."""
        body = {"displayName": name, **options}
        return self.http.post("/_fake/applications", json=body).raise_for_status().json()

    # ------------------------------------------------------------ looking inside
    def app_by_app_id(self, app_id: str) -> dict[str, Any] | None:
        return next((a for a in self.state()["applications"] if a["appId"] == app_id), None)

    def sp_by_app_id(self, app_id: str) -> dict[str, Any] | None:
        found = self.state()["service_principals"]
        return next((s for s in found if s["appId"] == app_id), None)

    def assignments_of(self, principal_id: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.state()["role_assignments"]
            if a["properties"]["principalId"] == principal_id
        ]

    def groups_of(self, principal_id: str) -> list[str]:
        return [g["displayName"] for g in self.state()["groups"] if principal_id in g["members"]]

    def group_id(self, name: str) -> str:
        return next(g["id"] for g in self.state()["groups"] if g["displayName"] == name)

    def identity_count(self) -> tuple[int, int, int, int]:
        """Applications, service principals, role assignments, deleted items."""
        s = self.state()
        return (
            len(s["applications"]),
            len(s["service_principals"]),
            len(s["role_assignments"]),
            len(s["deleted_items"]),
        )

    def token_status(self, client_id: str, secret: str) -> int:
        """Does the token service accept this client ID and secret (200) or not?"""
        resp = self.http.post(
            f"/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "client_id": client_id,
                "client_secret": secret,
                "grant_type": "client_credentials",
                "scope": "https://management.azure.com/.default",
            },
        )
        return resp.status_code

    def wait(self, check: Any, timeout: float = 15.0, step: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(step)
        return bool(check())


def start_fake(log_dir: Path) -> Fake:
    port = free_port()
    log = (log_dir / "fake-azure.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.azure",
            "--port",
            str(port),
            "--cert-dir",
            str(log_dir / "certs"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"the fake Azure did not start; see {log_dir / 'fake-azure.log'}")
    info = json.loads(line)
    return Fake(info["url"], info["ca"], proc)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    server = start_fake(tmp_path_factory.mktemp("fake-azure"))
    yield server
    server.http.close()
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").clear()


def azure_env(fake: Fake) -> dict[str, str]:
    """The server settings that point the engine at the fake."""
    return {
        "STRONGROOM_AZURE_LOGIN_ENDPOINT": fake.url,
        "STRONGROOM_AZURE_GRAPH_ENDPOINT": f"{fake.url}/v1.0",
        "STRONGROOM_AZURE_ARM_ENDPOINT": fake.url,
        "STRONGROOM_AZURE_CA_BUNDLE": fake.ca,
        "STRONGROOM_AZURE_MAX_RETRIES": "0",
        "STRONGROOM_AZURE_ROOT_ROTATION_DELAY": "1",
    }


def azure_server(tmp: Path, fake: Fake) -> ServerProcess:
    server = dev_server(tmp)
    server.env.update(azure_env(fake))
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: Fake) -> Iterator[ServerProcess]:
    proc = azure_server(tmp_path_factory.mktemp("azure-dev"), fake).start()
    yield proc
    proc.stop()


class Api:
    """The strongroom HTTP API as root."""

    def __init__(self, addr: str, token: str = "root") -> None:
        self.addr = addr
        self.http = httpx.Client(
            base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}, timeout=120
        )

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {})

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = (
            self.http.request(method, path, json=body)
            if body is not None
            else (self.http.request(method, path))
        )
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.status_code == 200 else {}

    def mount(self, path: str, **config: Any) -> str:
        self.ok("POST", f"sys/mounts/{path}", {"type": "azure"})
        body = {
            "subscription_id": SUBSCRIPTION_ID,
            "tenant_id": TENANT_ID,
            "client_id": ROOT_APP_ID,
            "client_secret": ROOT_SECRET,
            **config,
        }
        self.ok("POST", f"{path}/config", body)
        return path

    def revoke(self, lease_id: str, sync: bool = True) -> httpx.Response:
        return self.http.put("sys/leases/revoke", json={"lease_id": lease_id, "sync": sync})

    def lookup(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/lookup", json={"lease_id": lease_id})


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.addr)
    yield client
    client.http.close()


def roles_json(*items: dict[str, str]) -> str:
    return json.dumps(list(items))
