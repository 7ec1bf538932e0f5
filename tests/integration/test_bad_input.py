"""Bad input gets the right status and a message a person understands, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.server import ServerProcess

ROOT = {"X-Vault-Token": "root"}


def _url(server: ServerProcess, path: str) -> str:
    return f"{server.addr}/v1/{path}"


def test_malformed_json(shared_dev: ServerProcess) -> None:
    r = httpx.put(_url(shared_dev, "secret/data/bad"), headers=ROOT, content=b'{"data": bogus}')
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json()["errors"][0].startswith("failed to decode JSON input: invalid character 'b'")
    assert httpx.get(_url(shared_dev, "secret/data/bad"), headers=ROOT).status_code == 404


def test_json_array_body(shared_dev: ServerProcess) -> None:
    r = httpx.put(_url(shared_dev, "secret/data/arr"), headers=ROOT, content=b"[1,2]")
    assert r.status_code == 400
    assert "cannot unmarshal array" in r.json()["errors"][0]


def test_field_of_wrong_type_names_the_field(shared_dev: ServerProcess) -> None:
    r = httpx.put(_url(shared_dev, "secret/data/typed"), headers=ROOT, json={"data": "str"})
    assert r.status_code == 400
    assert '"data"' in r.json()["errors"][0]
    r = httpx.post(
        _url(shared_dev, "sys/mounts/typed"), headers=ROOT, json={"type": "kv", "local": "notabool"}
    )
    assert r.status_code == 400
    assert '"local"' in r.json()["errors"][0]
    mounts = httpx.get(_url(shared_dev, "sys/mounts"), headers=ROOT).json()["data"]
    assert "typed/" not in mounts


def test_bad_ttl_string(shared_dev: ServerProcess) -> None:
    r = httpx.post(_url(shared_dev, "auth/token/create"), headers=ROOT, json={"ttl": "12x"})
    assert r.status_code == 400
    assert r.json()["errors"] == ['time: unknown unit "x" in duration "12x"']
    r = httpx.post(
        _url(shared_dev, "sys/mounts/ttlbad"),
        headers=ROOT,
        json={"type": "kv", "config": {"default_lease_ttl": "12x"}},
    )
    assert r.status_code == 400
    assert "12x" in r.json()["errors"][0]
    mounts = httpx.get(_url(shared_dev, "sys/mounts"), headers=ROOT).json()["data"]
    assert "ttlbad/" not in mounts


def test_path_outside_every_mount(shared_dev: ServerProcess) -> None:
    r = httpx.get(_url(shared_dev, "nonexist/foo"), headers=ROOT)
    assert r.status_code == 404
    assert r.json() == {"errors": ['no handler for route "nonexist/foo". route entry not found.']}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Vault-Token": "s.wrongwrongwrongwrongwron"}, {"Authorization": "Bearer nope"}],
)
def test_missing_or_wrong_token(shared_dev: ServerProcess, headers: dict[str, str]) -> None:
    r = httpx.put(
        _url(shared_dev, "secret/data/denied"), headers=headers, json={"data": {"a": "1"}}
    )
    assert r.status_code == 403
    assert r.json() == {"errors": ["permission denied"]}
    assert httpx.get(_url(shared_dev, "secret/data/denied"), headers=ROOT).status_code == 404


def test_bearer_token_is_accepted(shared_dev: ServerProcess) -> None:
    r = httpx.get(
        _url(shared_dev, "auth/token/lookup-self"), headers={"Authorization": "Bearer root"}
    )
    assert r.status_code == 200
    assert r.json()["data"]["policies"] == ["root"]


def test_body_too_large(tmp_path, shared_dev: ServerProcess) -> None:
    r = httpx.put(
        _url(shared_dev, "secret/data/big"),
        headers=ROOT,
        content=b'{"data":{"a":"' + b"x" * (33 * 1024 * 1024) + b'"}}',
    )
    assert r.status_code == 413
    assert r.json() == {"errors": ["http: request body too large"]}


def test_unsupported_method_and_operation(shared_dev: ServerProcess) -> None:
    assert httpx.request("HEAD", _url(shared_dev, "secret/data/x"), headers=ROOT).status_code == 405
    r = httpx.delete(_url(shared_dev, "secret/destroy/x"), headers=ROOT)
    assert r.status_code == 405
    assert r.json() == {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}
    r = httpx.get(_url(shared_dev, "sys/nonexistent-endpoint"), headers=ROOT)
    assert r.status_code == 404
    assert r.json() == {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}


def test_sealed_server_refuses_and_keeps_data(dev: ServerProcess) -> None:
    r = httpx.put(_url(dev, "secret/data/keep"), headers=ROOT, json={"data": {"a": "1"}})
    assert r.status_code == 200
    assert httpx.put(_url(dev, "sys/seal"), headers=ROOT).status_code == 204
    for method, path in [
        ("GET", "secret/data/keep"),
        ("PUT", "secret/data/keep"),
        ("GET", "sys/mounts"),
        ("GET", "auth/token/lookup-self"),
    ]:
        r = httpx.request(method, _url(dev, path), headers=ROOT, json={"data": {"a": "2"}})
        assert r.status_code == 503, (method, path)
        assert r.json() == {"errors": ["Vault is sealed"]}
    health = httpx.get(_url(dev, "sys/health"))
    assert health.status_code == 503
    assert health.json()["sealed"] is True


def test_health_query_parameters(shared_dev: ServerProcess) -> None:
    assert httpx.get(_url(shared_dev, "sys/health")).status_code == 200
    assert httpx.get(_url(shared_dev, "sys/health?activecode=218")).status_code == 218
    assert httpx.get(_url(shared_dev, "sys/health?activecode=abc")).status_code == 400
    assert httpx.head(_url(shared_dev, "sys/health")).status_code == 200


def test_unknown_namespace(shared_dev: ServerProcess) -> None:
    r = httpx.get(_url(shared_dev, "sys/mounts"), headers={**ROOT, "X-Vault-Namespace": "ns1"})
    assert r.status_code == 404
    assert r.json() == {"errors": ["namespace not found"]}


def test_envelope_shape(shared_dev: ServerProcess) -> None:
    r = httpx.get(_url(shared_dev, "sys/mounts/secret"), headers=ROOT)
    body = r.json()
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    envelope = [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
        "mount_type",
    ]
    assert list(body)[-len(envelope) :] == envelope
    assert body["mount_type"] == "system"
    assert body["type"] == "kv"  # legacy top-level copy of data for sys/mounts/*
    kv = httpx.post(_url(shared_dev, "secret/data/env"), headers=ROOT, json={"data": {"a": 1}})
    assert kv.json()["mount_type"] == "kv"
    empty = httpx.put(_url(shared_dev, "secret/config"), headers=ROOT, json={"max_versions": 3})
    assert empty.status_code == 204
    assert empty.content == b""
