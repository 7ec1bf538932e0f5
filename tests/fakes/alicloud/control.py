"""Talking to a running fake: its control plane, and its API through the official SDK.

fake = FakeControl("http://127.0.0.1:9000")
fake.state()["Users"]                      # what exists now
fake.fail("CreateAccessKey", times=1)      # the next CreateAccessKey fails
ram = ram_client(fake.endpoint, key, secret)
ram.get_user(ram_models.GetUserRequest(user_name="alice"))
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from .models import DEFAULT_ROOT_KEY, DEFAULT_ROOT_SECRET


class FakeControl:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url + "/_fake/", timeout=10)

    @property
    def endpoint(self) -> str:
        return self.url.split("://", 1)[-1]

    def _ok(self, resp: httpx.Response) -> Any:
        if resp.status_code != 200:
            raise RuntimeError(f"fake control: {resp.status_code} {resp.text}")
        return resp.json()

    def state(self) -> dict[str, Any]:
        return self._ok(self.http.get("state"))

    def users(self, prefix: str = "") -> dict[str, Any]:
        return {k: v for k, v in self.state()["Users"].items() if k.startswith(prefix)}

    def custom_policies(self, prefix: str = "") -> dict[str, Any]:
        return {k: v for k, v in self.state()["Policies"].items() if k.startswith(prefix)}

    def calls(self, action: str | None = None) -> list[dict[str, Any]]:
        calls = self._ok(self.http.get("calls"))
        return [c for c in calls if action is None or c["action"] == action]

    def clear_calls(self) -> None:
        self._ok(self.http.delete("calls"))

    def fail(self, action: str = "*", **fault: Any) -> dict[str, Any]:
        return self._ok(self.http.post("faults", json={"action": action, **fault}))

    def throttle(self, action: str = "*", times: int | None = 1) -> dict[str, Any]:
        return self.fail(action, throttle=True, times=times)

    def down(self, mode: str = "reset", seconds: float | None = None) -> None:
        self._ok(self.http.post("faults", json={"down": mode, "seconds": seconds}))

    def up(self) -> None:
        self._ok(self.http.post("faults", json={"up": True}))

    def clear_faults(self) -> None:
        self._ok(self.http.delete("faults"))

    def quotas(self, **values: int) -> dict[str, int]:
        return self._ok(self.http.post("quotas", json=values))

    def reset(self) -> None:
        self._ok(self.http.post("reset"))

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._ok(self.http.get("health"))
                return
            except (httpx.TransportError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


def _config(endpoint: str, key: str, secret: str, token: str | None, signature: str) -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    return Config(
        access_key_id=key,
        access_key_secret=secret,
        security_token=token,
        endpoint=endpoint,
        protocol="http",
        region_id="us-east-1",
        signature_algorithm="v2" if signature == "v1" else None,
        read_timeout=10000,
        connect_timeout=5000,
    )


def ram_client(
    endpoint: str,
    key: str = DEFAULT_ROOT_KEY,
    secret: str = DEFAULT_ROOT_SECRET,
    token: str | None = None,
    signature: str = "v3",
) -> Any:
    """The official RAM SDK client, pointed at the fake (`signature`: "v1" or "v3")."""
    from alibabacloud_ram20150501.client import Client

    return Client(_config(endpoint, key, secret, token, signature))


def sts_client(
    endpoint: str,
    key: str = DEFAULT_ROOT_KEY,
    secret: str = DEFAULT_ROOT_SECRET,
    token: str | None = None,
    signature: str = "v3",
) -> Any:
    """The official STS SDK client, pointed at the fake."""
    from alibabacloud_sts20150401.client import Client

    return Client(_config(endpoint, key, secret, token, signature))
