"""Shared pieces of the AWS engine's integration tests.

* `moto`: moto's server (`python -m moto.server`) as a subprocess on a free
  loopback port, one per test module, with AWS-managed policies loaded. The
  engine reaches it over HTTP through `iam_endpoint`/`sts_endpoint`; nothing
  in boto3 is mocked.
* `proxy`: the fault-injecting proxy (tests/fakes/aws_proxy.py) in front of
  that moto; faults, delays and the call log are cleared after every test.
* `api`: a small HTTP client for the module's strongroom dev server.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.fakes.aws_proxy import AwsProxy
from tests.integration.server import ServerProcess, free_port

REGION = "us-east-1"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class Moto:
    url: str
    proc: subprocess.Popen[bytes]

    def client(self, service: str, key: str = "AKIATESTEXAMPLE", secret: str = "x") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    @property
    def iam(self) -> Any:
        return self.client("iam")

    def users(self, prefix: str = "") -> list[str]:
        names = [u["UserName"] for u in self.iam.list_users(MaxItems=1000)["Users"]]
        return [n for n in names if n.startswith(prefix)]

    def user_exists(self, name: str) -> bool:
        try:
            self.iam.get_user(UserName=name)
        except self.iam.exceptions.NoSuchEntityException:
            return False
        return True

    def owner_of(self, access_key: str) -> str | None:
        iam = self.iam
        for name in self.users():
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            if any(k["AccessKeyId"] == access_key for k in keys):
                return name
        return None

    def wait_gone(self, name: str, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.user_exists(name):
                return True
            time.sleep(0.2)
        return False

    def set_auth(self, enabled: bool) -> None:
        """Make moto check credentials (and IAM policies) from now on, or stop checking."""
        count = "0" if enabled else "inf"
        httpx.post(f"{self.url}/moto-api/reset-auth", content=count).raise_for_status()

    def admin_key(self, user: str) -> tuple[str, str]:
        """A real moto user with AdministratorAccess and a key (rotate-root needs one)."""
        iam = self.iam
        iam.create_user(UserName=user)
        iam.attach_user_policy(
            UserName=user, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]


def start_moto(log_dir: Path) -> Moto:
    port = free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    log = (log_dir / "moto.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto exited early; see {log_dir / 'moto.log'}")
        try:
            httpx.get(f"{url}/moto-api/", timeout=0.5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("moto did not start")
    moto = Moto(url, proc)
    moto.users()  # the first IAM call loads the managed policies: pay for it here
    return moto


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="module")
def module_proxy(moto: Moto) -> Iterator[AwsProxy]:
    proxy = AwsProxy(moto.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(module_proxy: AwsProxy) -> Iterator[AwsProxy]:
    module_proxy.reset()
    yield module_proxy
    module_proxy.reset()


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
            else self.http.request(method, path)
        )
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.status_code == 200 else {}

    def mount_aws(
        self,
        path: str,
        endpoint: str,
        key: str = "AKIAROOTEXAMPLE",
        secret: str = "root-secret",
        **config: Any,
    ) -> str:
        self.ok("POST", f"sys/mounts/{path}", {"type": "aws"})
        body = {
            "access_key": key,
            "secret_key": secret,
            "region": REGION,
            "iam_endpoint": endpoint,
            "sts_endpoint": endpoint,
            **config,
        }
        self.ok("POST", f"{path}/config/root", body)
        return path

    def revoke(self, lease_id: str) -> httpx.Response:
        return self.http.put("sys/leases/revoke", json={"lease_id": lease_id, "sync": True})


@pytest.fixture(scope="module")
def api(shared_dev: ServerProcess) -> Iterator[Api]:
    client = Api(shared_dev.addr)
    yield client
    client.http.close()
