"""Everything the request path keeps in memory follows a change on the very next request.

The server runs on `file` storage, so the physical read cache is on as well as
the in-memory tokens, compiled policies and mount table.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.server import FILE_CONFIG, ServerProcess, config_server

POLICY = 'path "kv/app" { capabilities = ["read"] }'


class Api:
    def __init__(self, addr: str, token: str, unseal_key: str) -> None:
        self.addr = addr
        self.token = token
        self.unseal_key = unseal_key

    def __call__(
        self, method: str, path: str, body: dict | None = None, token: str | None = None
    ) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.addr}/v1/{path}",
            json=body,
            headers={"X-Vault-Token": token or self.token},
            timeout=10,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Api]]:
    srv = config_server(tmp_path_factory.mktemp("caches"), FILE_CONFIG).start()
    try:
        init = httpx.post(
            f"{srv.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
        ).json()
        httpx.post(f"{srv.addr}/v1/sys/unseal", json={"key": init["keys"][0]})
        api = Api(srv.addr, init["root_token"], init["keys"][0])
        assert api("POST", "sys/mounts/kv", {"type": "kv"}).status_code == 204
        assert api("PUT", "kv/app", {"v": "1"}).status_code == 204
        yield srv, api
    finally:
        srv.stop()


def _token(api: Api, **body: object) -> str:
    resp = api("POST", "auth/token/create", {"no_default_policy": True, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["auth"]["client_token"]


def test_a_policy_change_applies_to_the_next_request(server: tuple[ServerProcess, Api]) -> None:
    _, api = server
    assert api("PUT", "sys/policies/acl/reader", {"policy": POLICY}).status_code == 204
    token = _token(api, policies=["reader"])
    assert api("GET", "kv/app", token=token).status_code == 200
    deny = 'path "kv/app" { capabilities = ["deny"] }'
    assert api("PUT", "sys/policies/acl/reader", {"policy": deny}).status_code == 204
    assert api("GET", "kv/app", token=token).status_code == 403
    assert api("PUT", "sys/policies/acl/reader", {"policy": POLICY}).status_code == 204
    assert api("GET", "kv/app", token=token).status_code == 200
    assert api("DELETE", "sys/policies/acl/reader").status_code == 204
    assert api("GET", "kv/app", token=token).status_code == 403


def test_a_token_change_applies_to_the_next_request(server: tuple[ServerProcess, Api]) -> None:
    _, api = server
    api("PUT", "sys/policies/acl/reader2", {"policy": POLICY})
    token = _token(api, policies=["reader2"])
    assert api("GET", "kv/app", token=token).status_code == 200
    assert api("POST", "auth/token/revoke", {"token": token}).status_code == 204
    assert api("GET", "kv/app", token=token).status_code == 403
    limited = _token(api, policies=["reader2"], num_uses=2)
    assert api("GET", "kv/app", token=limited).status_code == 200
    assert api("GET", "kv/app", token=limited).status_code == 200
    assert api("GET", "kv/app", token=limited).status_code == 403


def test_a_mount_change_applies_to_the_next_request(server: tuple[ServerProcess, Api]) -> None:
    _, api = server
    assert api("POST", "sys/mounts/moving", {"type": "kv"}).status_code == 204
    assert api("PUT", "moving/x", {"v": "here"}).status_code == 204
    assert api("POST", "sys/remount", {"from": "moving", "to": "moved"}).status_code == 200
    assert api("GET", "moving/x").status_code == 404
    assert api("GET", "moved/x").json()["data"] == {"v": "here"}
    assert api("DELETE", "sys/mounts/moved").status_code == 204
    assert api("GET", "moved/x").status_code == 404
    assert api("POST", "sys/mounts/moved", {"type": "kv"}).status_code == 204
    assert api("GET", "moved/x").status_code == 404  # a new mount starts empty
    tune = {"max_lease_ttl": "1h"}
    assert api("POST", "sys/mounts/auth/token/tune", tune).status_code == 204
    created = api("POST", "auth/token/create", {"ttl": "5h"}).json()
    assert created["auth"]["lease_duration"] == 3600
    api("POST", "sys/mounts/auth/token/tune", {"max_lease_ttl": "0"})


def test_a_value_change_is_read_back_and_survives_a_restart(
    server: tuple[ServerProcess, Api],
) -> None:
    srv, api = server
    for value in ("2", "3", "4"):
        assert api("PUT", "kv/changing", {"v": value}).status_code == 204
        assert api("GET", "kv/changing").json()["data"] == {"v": value}
    assert api("DELETE", "kv/changing").status_code == 204
    assert api("GET", "kv/changing").status_code == 404
    assert api("PUT", "kv/changing", {"v": "5"}).status_code == 204
    srv.stop()
    srv.start()
    httpx.post(f"{srv.addr}/v1/sys/unseal", json={"key": api.unseal_key})
    assert api("GET", "kv/changing").json()["data"] == {"v": "5"}
