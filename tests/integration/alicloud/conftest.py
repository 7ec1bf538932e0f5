"""Shared pieces of the Alibaba Cloud engine's integration tests.

* `fake_process`: the fake RAM/STS (`python -m tests.fakes.alicloud`) as a
  subprocess on a free loopback port, one for the whole package.
* `server`: a strongroom dev server process whose engine is pointed at that
  fake by the server settings STRONGROOM_ALICLOUD_{RAM,STS}_ENDPOINT; the
  official Alibaba Cloud SDK inside the server reaches it over HTTP.
* `fake`: the fake's control plane; faults and the call log are cleared
  around every test.
* `api`: a small HTTP client for the server, as root.
"""

from __future__ import annotations

import itertools
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

from tests.fakes.alicloud import DEFAULT_ROOT_KEY, DEFAULT_ROOT_SECRET
from tests.fakes.alicloud.control import FakeControl, ram_client
from tests.integration.server import ServerProcess, dev_server, free_port

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")
_names = itertools.count(1)

READ_RAM = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["ram:Get*"], "Resource": "*"}],
}


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def wait_for(check: Callable[[], T], timeout: float = 15.0, every: float = 0.1) -> T:
    """Poll until `check()` is truthy; a fake that is down (refusing) counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.TransportError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


@dataclass
class FakeProcess:
    url: str
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return self.url.split("://", 1)[1]


def start_fake(log_dir: Path) -> FakeProcess:
    port = free_port()
    log = (log_dir / "alicloud-fake.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.alicloud", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    control = FakeControl(url)
    try:
        control.wait_ready(timeout=20)
    except Exception:
        proc.kill()
        raise RuntimeError(f"the fake did not start; see {log_dir / 'alicloud-fake.log'}") from None
    finally:
        control.close()
    return FakeProcess(url, proc)


@pytest.fixture(scope="package")
def fake_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProcess]:
    fake = start_fake(tmp_path_factory.mktemp("alicloud-fake"))
    yield fake
    fake.proc.terminate()
    try:
        fake.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fake.proc.kill()
        fake.proc.wait()


def server_env(fake_url: str) -> dict[str, str]:
    """The server settings that point the engine at the fake."""
    return {
        "STRONGROOM_ALICLOUD_RAM_ENDPOINT": fake_url,
        "STRONGROOM_ALICLOUD_STS_ENDPOINT": fake_url,
    }


@pytest.fixture(scope="package")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_process: FakeProcess
) -> Iterator[ServerProcess]:
    proc = dev_server(tmp_path_factory.mktemp("alicloud-server"))
    proc.env = server_env(fake_process.url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def fake(fake_process: FakeProcess) -> Iterator[FakeControl]:
    control = FakeControl(fake_process.url)
    control.wait_ready()  # a test may have left it refusing for a few seconds
    control.clear_faults()
    control.clear_calls()
    yield control
    control.wait_ready()
    control.clear_faults()
    control.close()


class Api:
    """The strongroom HTTP API as root."""

    def __init__(self, addr: str, token: str = "root") -> None:
        self.addr = addr
        self.http = httpx.Client(
            base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}, timeout=60
        )

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {})

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def list(self, path: str) -> httpx.Response:
        return self.http.request("LIST", path)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.http.request(method, path, json=body)
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.status_code == 200 else {}

    def mount(
        self, path: str, key: str = DEFAULT_ROOT_KEY, secret: str = DEFAULT_ROOT_SECRET
    ) -> str:
        self.ok("POST", f"sys/mounts/{path}", {"type": "alicloud"})
        self.ok("POST", f"{path}/config", {"access_key": key, "secret_key": secret})
        return path

    def revoke(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/revoke", json={"lease_id": lease_id, "sync": True})

    def lease(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/lookup", json={"lease_id": lease_id})


@pytest.fixture(scope="package")
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.addr)
    yield client
    client.http.close()


def sts_role(fake: FakeControl, name: str) -> str:
    """A RAM role in the fake that this account may assume; returns its ARN."""
    from alibabacloud_ram20150501 import models

    account = fake.state()["AccountId"]
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"RAM": [f"acs:ram::{account}:root"]},
            }
        ],
    }
    ram = ram_client(fake.endpoint)
    ram.create_role(
        models.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(trust))
    )
    ram.attach_policy_to_role(
        models.AttachPolicyToRoleRequest(
            policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=name
        )
    )
    return f"acs:ram::{account}:role/{name}"


def owner_of(fake: FakeControl, access_key: str) -> dict[str, Any] | None:
    for user in fake.state()["Users"].values():
        if access_key in [k["AccessKeyId"] for k in user["AccessKeys"]]:
            return user
    return None
