"""hvac (the Python Vault client) against a strongroom process.

Expectations were observed by running the same hvac calls against a real OpenBao 2.7.2
server (`bao server -dev`, and `storage "inmem"` for init/unseal/seal).  hvac sends JSON
`null` for every optional argument it was not given (e.g. `description`, `plugin_name`
in `enable_secrets_engine`, the pgp fields in `initialize`); OpenBao treats a null field
as absent.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest
from hvac import exceptions

from tests.integration.server import FILE_CONFIG, ServerProcess, config_server

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# OpenBao 2.7.2 issues "s." + 24 base62 chars; strongroom chose Vault's "hvs." form.
TOKEN = re.compile(r"(?:s|hvs)\.[A-Za-z0-9]{24,}")
ACCESSOR = re.compile(r"[A-Za-z0-9]{24}")

_names = itertools.count()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def mount(client: hvac.Client, path: str, version: str | None = None) -> None:
    """Enable a KV engine with a plain API call (independent of hvac's enable helper)."""
    body: dict[str, Any] = {"type": "kv"}
    if version:
        body["options"] = {"version": version}
    resp = client.adapter.post(f"/v1/sys/mounts/{path}", json=body)
    assert resp.status_code == 204, resp.text


@pytest.fixture(scope="module")
def client(shared_dev: ServerProcess) -> hvac.Client:
    return hvac.Client(url=shared_dev.addr, token="root")


@pytest.fixture(scope="module")
def kv2(client: hvac.Client) -> str:
    path = "hvkv2"
    mount(client, path, "2")
    return path


@pytest.fixture(scope="module")
def kv1(client: hvac.Client) -> str:
    path = "hvkv1"
    mount(client, path)
    return path


# --------------------------------------------------------------------------- sys (dev)


def test_is_initialized_and_seal_status_dev(client: hvac.Client) -> None:
    assert client.sys.is_initialized() is True
    assert client.sys.is_sealed() is False
    status = client.sys.read_seal_status()
    assert status["type"] == "shamir"
    assert status["initialized"] is True
    assert status["sealed"] is False
    assert (status["t"], status["n"], status["progress"], status["nonce"]) == (1, 1, 0, "")
    assert status["storage_type"] == "inmem"
    assert UUID.fullmatch(status["cluster_id"])
    assert re.fullmatch(r"vault-cluster-[0-9a-f]{8}", status["cluster_name"])


def test_read_health_status_get(client: hvac.Client) -> None:
    health = client.sys.read_health_status(method="GET")
    assert isinstance(health, dict), health
    assert health["initialized"] is True
    assert health["sealed"] is False
    assert health["standby"] is False
    assert health["replication_performance_mode"] == "disabled"
    assert health["replication_dr_mode"] == "disabled"
    assert isinstance(health["server_time_utc"], int)
    assert health["cluster_id"] == client.sys.read_seal_status()["cluster_id"]


def test_enable_list_tune_disable_secrets_engine(client: hvac.Client) -> None:
    path = unique("hvmount")
    resp = client.sys.enable_secrets_engine(
        "kv", path=path, options={"version": "2"}, description="hvac test"
    )
    assert resp.status_code == 204

    mounts = client.sys.list_mounted_secrets_engines()["data"]
    entry = mounts[f"{path}/"]
    assert entry["type"] == "kv"
    assert entry["description"] == "hvac test"
    assert entry["options"] == {"version": "2"}
    assert re.fullmatch(r"kv_[0-9a-f]{8}", entry["accessor"])
    assert entry["config"]["default_lease_ttl"] == 0

    # the same path twice is refused with the server's message
    with pytest.raises(exceptions.InvalidRequest, match=f"path is already in use at {path}/"):
        client.sys.enable_secrets_engine("kv", path=path)

    resp = client.sys.tune_mount_configuration(path, default_lease_ttl="1h", max_lease_ttl="2h")
    assert resp.status_code == 204
    conf = client.sys.read_mount_configuration(path)["data"]
    assert conf["default_lease_ttl"] == 3600
    assert conf["max_lease_ttl"] == 7200
    assert conf["description"] == "hvac test"
    assert conf["force_no_cache"] is False
    assert conf["options"] == {"version": "2"}

    resp = client.sys.disable_secrets_engine(path)
    assert resp.status_code == 204
    assert f"{path}/" not in client.sys.list_mounted_secrets_engines()["data"]
    with pytest.raises(exceptions.InvalidRequest):
        client.sys.read_mount_configuration(path)


def test_enable_kv_v1_secrets_engine_without_options(client: hvac.Client) -> None:
    path = unique("hvmount1_")
    assert client.sys.enable_secrets_engine("kv", path=path).status_code == 204
    entry = client.sys.list_mounted_secrets_engines()["data"][f"{path}/"]
    assert entry["type"] == "kv"
    assert (entry["options"] or {}).get("version") in (None, "1")
    client.secrets.kv.v1.create_or_update_secret("x", secret={"a": "1"}, mount_point=path)
    assert client.secrets.kv.v1.read_secret("x", mount_point=path)["data"] == {"a": "1"}


def test_tune_mount_configuration_errors(client: hvac.Client) -> None:
    path = unique("hvtune")
    mount(client, path)
    with pytest.raises(exceptions.InvalidRequest, match=r'time: invalid duration "bogus"'):
        client.sys.tune_mount_configuration(path, default_lease_ttl="bogus")
    client.sys.tune_mount_configuration(path, max_lease_ttl="2h")
    with pytest.raises(
        exceptions.InvalidRequest,
        match="backend max lease TTL of 7200 would be less than backend default lease TTL of 36000",
    ):
        client.sys.tune_mount_configuration(path, default_lease_ttl="10h")
    assert client.sys.read_mount_configuration(path)["data"]["default_lease_ttl"] == 2764800


# --------------------------------------------------------------------------- KV v2


def test_kv2_create_and_read_versions(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("app")
    first = kv.create_or_update_secret(path, secret={"a": "1"}, mount_point=kv2)
    assert first["data"]["version"] == 1
    assert first["data"]["destroyed"] is False
    assert first["data"]["deletion_time"] == ""
    assert TS.fullmatch(first["data"]["created_time"])
    second = kv.create_or_update_secret(path, secret={"a": "2", "b": "x"}, mount_point=kv2)
    assert second["data"]["version"] == 2

    latest = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"a": "2", "b": "x"}
    assert latest["data"]["metadata"]["version"] == 2
    assert latest["data"]["metadata"]["created_time"] == second["data"]["created_time"]
    assert latest["lease_duration"] == 0

    old = kv.read_secret_version(path, version=1, mount_point=kv2, raise_on_deleted_version=True)
    assert old["data"]["data"] == {"a": "1"}
    assert old["data"]["metadata"]["version"] == 1


def test_kv2_cas_mismatch_is_invalid_request(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("cas")
    kv.create_or_update_secret(path, secret={"a": "1"}, mount_point=kv2)
    with pytest.raises(
        exceptions.InvalidRequest,
        match="check-and-set parameter did not match the current version",
    ):
        kv.create_or_update_secret(path, secret={"a": "2"}, cas=0, mount_point=kv2)
    assert (
        kv.create_or_update_secret(path, secret={"a": "2"}, cas=1, mount_point=kv2)["data"][
            "version"
        ]
        == 2
    )


def test_kv2_read_metadata(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("meta")
    kv.create_or_update_secret(path, secret={"a": "1"}, mount_point=kv2)
    kv.create_or_update_secret(path, secret={"a": "2"}, mount_point=kv2)
    meta = kv.read_secret_metadata(path, mount_point=kv2)["data"]
    assert meta["current_version"] == 2
    assert meta["oldest_version"] == 0
    assert meta["max_versions"] == 0
    assert meta["cas_required"] is False
    assert meta["delete_version_after"] == "0s"
    assert meta["custom_metadata"] is None
    assert sorted(meta["versions"]) == ["1", "2"]
    assert meta["versions"]["2"]["deletion_time"] == ""
    assert meta["versions"]["2"]["destroyed"] is False
    assert TS.fullmatch(meta["created_time"]) and TS.fullmatch(meta["updated_time"])

    kv.update_metadata(path, max_versions=5, custom_metadata={"owner": "ops"}, mount_point=kv2)
    meta = kv.read_secret_metadata(path, mount_point=kv2)["data"]
    assert meta["max_versions"] == 5
    assert meta["custom_metadata"] == {"owner": "ops"}
    latest = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    assert latest["data"]["metadata"]["custom_metadata"] == {"owner": "ops"}


def test_kv2_delete_latest_and_undelete(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("del")
    kv.create_or_update_secret(path, secret={"a": "1"}, mount_point=kv2)
    kv.create_or_update_secret(path, secret={"a": "2"}, mount_point=kv2)

    assert kv.delete_latest_version_of_secret(path, mount_point=kv2).status_code == 204

    deleted = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=False)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["version"] == 2
    assert TS.fullmatch(deleted["data"]["metadata"]["deletion_time"])
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    # version 1 is still readable
    v1 = kv.read_secret_version(path, version=1, mount_point=kv2, raise_on_deleted_version=True)
    assert v1["data"]["data"] == {"a": "1"}

    resp = kv.undelete_secret_versions(path, versions=[2], mount_point=kv2)
    assert resp.status_code == 204
    back = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    assert back["data"]["data"] == {"a": "2"}
    assert back["data"]["metadata"]["deletion_time"] == ""


def test_kv2_delete_and_destroy_versions(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("destroy")
    for value in ("1", "2", "3"):
        kv.create_or_update_secret(path, secret={"a": value}, mount_point=kv2)

    assert kv.destroy_secret_versions(path, versions=[1], mount_point=kv2).status_code == 204
    assert kv.delete_secret_versions(path, versions=[2], mount_point=kv2).status_code == 204

    # hvac raises InvalidPath for a destroyed version even with raise_on_deleted_version=False
    # (it only forgives a deletion_time); the 404 body still carries the metadata.
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path, version=1, mount_point=kv2, raise_on_deleted_version=False)
    resp = client.adapter.get(
        f"/v1/{kv2}/data/{path}", params={"version": 1}, raise_exception=False
    )
    assert resp.status_code == 404
    body = resp.json()
    assert body["data"]["data"] is None
    assert body["data"]["metadata"]["destroyed"] is True
    assert body["data"]["metadata"]["deletion_time"] == ""
    assert body["data"]["metadata"]["version"] == 1

    versions = kv.read_secret_metadata(path, mount_point=kv2)["data"]["versions"]
    assert versions["1"]["destroyed"] is True
    assert versions["2"]["destroyed"] is False
    assert TS.fullmatch(versions["2"]["deletion_time"])
    assert (versions["3"]["deletion_time"], versions["3"]["destroyed"]) == ("", False)

    # a destroyed version cannot be undeleted; a soft-deleted one can
    kv.undelete_secret_versions(path, versions=[1, 2], mount_point=kv2)
    versions = kv.read_secret_metadata(path, mount_point=kv2)["data"]["versions"]
    assert versions["1"]["destroyed"] is True
    assert versions["2"]["deletion_time"] == ""
    latest = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"a": "3"}


def test_kv2_list_secrets(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    folder = unique("list")
    kv.create_or_update_secret(f"{folder}/app", secret={"a": "1"}, mount_point=kv2)
    kv.create_or_update_secret(f"{folder}/dir/sub", secret={"a": "1"}, mount_point=kv2)

    assert kv.list_secrets(folder, mount_point=kv2)["data"]["keys"] == ["app", "dir/"]
    assert kv.list_secrets(f"{folder}/dir", mount_point=kv2)["data"]["keys"] == ["sub"]
    assert f"{folder}/" in kv.list_secrets("", mount_point=kv2)["data"]["keys"]
    with pytest.raises(exceptions.InvalidPath):
        kv.list_secrets(f"{folder}/nothing", mount_point=kv2)


def test_kv2_patch(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("patch")
    kv.create_or_update_secret(path, secret={"a": "1", "b": "2"}, mount_point=kv2)
    result = kv.patch(path, secret={"b": "two", "c": "3"}, mount_point=kv2)
    assert result["data"]["version"] == 2
    latest = kv.read_secret_version(path, mount_point=kv2, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"a": "1", "b": "two", "c": "3"}
    with pytest.raises(exceptions.InvalidPath):
        kv.patch(unique("missing"), secret={"a": "1"}, mount_point=kv2)


def test_kv2_delete_metadata_and_all_versions(client: hvac.Client, kv2: str) -> None:
    kv = client.secrets.kv.v2
    path = unique("purge")
    kv.create_or_update_secret(path, secret={"a": "1"}, mount_point=kv2)
    kv.create_or_update_secret(path, secret={"a": "2"}, mount_point=kv2)
    resp = kv.delete_metadata_and_all_versions(path, mount_point=kv2)
    assert resp.status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_metadata(path, mount_point=kv2)
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path, version=1, mount_point=kv2, raise_on_deleted_version=False)


# --------------------------------------------------------------------------- KV v1


def test_kv1_create_read_list_delete(client: hvac.Client, kv1: str) -> None:
    kv = client.secrets.kv.v1
    folder = unique("v1")
    resp = kv.create_or_update_secret(f"{folder}/app", secret={"x": "1"}, mount_point=kv1)
    assert resp.status_code == 204
    kv.create_or_update_secret(f"{folder}/dir/y", secret={"x": "2"}, mount_point=kv1)

    got = kv.read_secret(f"{folder}/app", mount_point=kv1)
    assert got["data"] == {"x": "1"}
    assert got["lease_duration"] == 2764800
    assert got["lease_id"] == ""
    assert got["renewable"] is False

    # an existing entry is replaced as a whole (hvac probes, then PUTs)
    kv.create_or_update_secret(f"{folder}/app", secret={"z": "9"}, mount_point=kv1)
    assert kv.read_secret(f"{folder}/app", mount_point=kv1)["data"] == {"z": "9"}

    assert kv.list_secrets(folder, mount_point=kv1)["data"]["keys"] == ["app", "dir/"]
    assert kv.list_secrets(f"{folder}/dir", mount_point=kv1)["data"]["keys"] == ["y"]

    assert kv.delete_secret(f"{folder}/app", mount_point=kv1).status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret(f"{folder}/app", mount_point=kv1)
    assert kv.list_secrets(folder, mount_point=kv1)["data"]["keys"] == ["dir/"]


def test_kv1_ttl_key_sets_lease_duration(client: hvac.Client, kv1: str) -> None:
    kv = client.secrets.kv.v1
    path = unique("ttl")
    kv.create_or_update_secret(path, secret={"x": "1", "ttl": "30m"}, mount_point=kv1)
    got = kv.read_secret(path, mount_point=kv1)
    assert got["data"] == {"x": "1", "ttl": "30m"}
    assert got["lease_duration"] == 1800


def test_kv1_empty_secret_is_invalid_request(client: hvac.Client, kv1: str) -> None:
    with pytest.raises(exceptions.InvalidRequest, match="missing data fields"):
        client.secrets.kv.v1.create_or_update_secret(unique("empty"), secret={}, mount_point=kv1)


# --------------------------------------------------------------------------- tokens


def test_token_create_lookup(client: hvac.Client, shared_dev: ServerProcess) -> None:
    created = client.auth.token.create(
        policies=["dev"], ttl="1h", meta={"app": "web"}, display_name="web"
    )
    auth = created["auth"]
    assert TOKEN.fullmatch(auth["client_token"])
    assert ACCESSOR.fullmatch(auth["accessor"])
    assert auth["policies"] == ["default", "dev"]
    assert auth["token_policies"] == ["default", "dev"]
    assert auth["metadata"] == {"app": "web"}
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is False
    assert auth["token_type"] == "service"
    assert created["data"] is None

    info = client.auth.token.lookup(auth["client_token"])["data"]
    assert info["id"] == auth["client_token"]
    assert info["accessor"] == auth["accessor"]
    assert info["policies"] == ["default", "dev"]
    assert info["display_name"] == "token-web"
    assert info["meta"] == {"app": "web"}
    assert info["path"] == "auth/token/create"
    assert info["creation_ttl"] == 3600
    assert 3590 <= info["ttl"] <= 3600
    assert info["orphan"] is False
    assert info["renewable"] is True
    assert info["type"] == "service"
    assert TS.fullmatch(info["expire_time"])

    other = hvac.Client(url=shared_dev.addr, token=auth["client_token"])
    me = other.auth.token.lookup_self()["data"]
    assert me["id"] == auth["client_token"]
    assert me["accessor"] == auth["accessor"]

    root = client.auth.token.lookup_self()["data"]
    assert root["id"] == "root"
    assert root["policies"] == ["root"]
    assert root["expire_time"] is None
    assert root["ttl"] == 0


def test_token_create_warns_about_unknown_policy(client: hvac.Client) -> None:
    created = client.auth.token.create(policies=["nosuchpolicy"], ttl="1h")
    assert created["warnings"] == ['Policy "nosuchpolicy" does not exist']


def test_token_create_bad_input(client: hvac.Client) -> None:
    with pytest.raises(exceptions.InvalidRequest, match='time: invalid duration "bogus"'):
        client.auth.token.create(ttl="bogus")
    with pytest.raises(exceptions.InvalidRequest, match="ttl must be positive"):
        client.auth.token.create(ttl="-1h")


def test_token_renew(client: hvac.Client, shared_dev: ServerProcess) -> None:
    auth = client.auth.token.create(policies=["dev"], ttl="1h")["auth"]
    token = auth["client_token"]

    renewed = client.auth.token.renew(token, increment="2h")["auth"]
    assert renewed["client_token"] == token
    assert renewed["accessor"] == auth["accessor"]
    assert renewed["lease_duration"] == 7200
    info = client.auth.token.lookup(token)["data"]
    assert info["ttl"] > 3600
    assert TS.fullmatch(info["last_renewal"])
    assert isinstance(info["last_renewal_time"], int)

    other = hvac.Client(url=shared_dev.addr, token=token)
    again = other.auth.token.renew_self(increment="30m")["auth"]
    assert again["client_token"] == token
    assert again["lease_duration"] == 1800


def test_token_revoke_and_is_authenticated(client: hvac.Client, shared_dev: ServerProcess) -> None:
    token = client.auth.token.create(policies=["dev"], ttl="1h")["auth"]["client_token"]
    other = hvac.Client(url=shared_dev.addr, token=token)
    assert other.is_authenticated() is True
    assert client.is_authenticated() is True

    assert client.auth.token.revoke(token).status_code == 204
    assert other.is_authenticated() is False
    with pytest.raises(exceptions.Forbidden, match="bad token"):
        client.auth.token.lookup(token)
    with pytest.raises(exceptions.Forbidden, match="permission denied"):
        other.auth.token.lookup_self()


def test_revoking_parent_revokes_child_but_not_orphan(
    client: hvac.Client, shared_dev: ServerProcess
) -> None:
    parent = client.auth.token.create(policies=["root"], ttl="1h")["auth"]
    assert parent["policies"] == ["root"]
    as_parent = hvac.Client(url=shared_dev.addr, token=parent["client_token"])
    child = as_parent.auth.token.create(policies=["dev"], ttl="10m")["auth"]
    assert child["orphan"] is False
    assert child["policies"] == ["default", "dev"]

    orphan = as_parent.auth.token.create_orphan(policies=["dev"], ttl="30m")["auth"]
    assert orphan["orphan"] is True
    assert orphan["lease_duration"] == 1800
    info = client.auth.token.lookup(orphan["client_token"])["data"]
    assert info["orphan"] is True
    assert info["path"] == "auth/token/create-orphan"

    client.auth.token.revoke(parent["client_token"])
    with pytest.raises(exceptions.Forbidden, match="bad token"):
        client.auth.token.lookup(child["client_token"])
    assert client.auth.token.lookup(orphan["client_token"])["data"]["id"] == orphan["client_token"]


def test_token_without_create_capability_is_forbidden(
    client: hvac.Client, shared_dev: ServerProcess
) -> None:
    dev = client.auth.token.create(policies=["dev"], ttl="1h")["auth"]["client_token"]
    with pytest.raises(exceptions.Forbidden) as err:
        hvac.Client(url=shared_dev.addr, token=dev).auth.token.create(ttl="10m")
    assert str(err.value).startswith("1 error occurred:\n\t* permission denied\n\n")


def test_token_accessor_lookup_and_revoke(client: hvac.Client) -> None:
    auth = client.auth.token.create(policies=["dev"], ttl="1h", meta={"k": "v"})["auth"]
    info = client.auth.token.lookup_accessor(auth["accessor"])["data"]
    assert info["id"] == ""
    assert info["accessor"] == auth["accessor"]
    assert info["policies"] == ["default", "dev"]
    assert info["meta"] == {"k": "v"}

    assert client.auth.token.revoke_accessor(auth["accessor"]).status_code == 204
    with pytest.raises(exceptions.Forbidden, match="bad token"):
        client.auth.token.lookup(auth["client_token"])
    with pytest.raises(exceptions.InvalidRequest, match="invalid accessor"):
        client.auth.token.lookup_accessor(auth["accessor"])

    unknown = client.auth.token.revoke_accessor("nosuchaccessornosuchacce")
    assert unknown["warnings"] == ["No token found with this accessor"]


# --------------------------------------------------------------------------- exceptions


def test_invalid_path_on_missing_secret(client: hvac.Client, kv2: str) -> None:
    with pytest.raises(exceptions.InvalidPath) as err:
        client.secrets.kv.v2.read_secret_version(
            "does/not/exist", mount_point=kv2, raise_on_deleted_version=True
        )
    assert "/v1/hvkv2/data/does/not/exist" in str(err.value)

    with pytest.raises(exceptions.InvalidPath) as err:
        client.secrets.kv.v2.read_secret_version(
            "x", mount_point="nosuchmount", raise_on_deleted_version=True
        )
    assert 'no handler for route "nosuchmount/data/x". route entry not found.' in str(err.value)


def test_forbidden_with_bad_token(shared_dev: ServerProcess) -> None:
    bad = hvac.Client(url=shared_dev.addr, token="not-a-real-token")
    assert bad.is_authenticated() is False
    with pytest.raises(exceptions.Forbidden, match="permission denied"):
        bad.secrets.kv.v2.read_secret_version(
            "x", mount_point="secret", raise_on_deleted_version=True
        )
    with pytest.raises(exceptions.Forbidden, match="permission denied"):
        bad.sys.list_mounted_secrets_engines()


def test_invalid_request_carries_server_message(client: hvac.Client, kv2: str) -> None:
    with pytest.raises(exceptions.InvalidRequest) as err:
        client.adapter.post(f"/v1/{kv2}/data/x", json={"data": "not-a-map"})
    assert (
        "error converting input for field \"data\": '' expected type "
        "'map[string]interface {}', got unconvertible type 'string'"
    ) in str(err.value)

    with pytest.raises(exceptions.InvalidRequest, match="no data provided"):
        client.adapter.post(f"/v1/{kv2}/data/x", json={"options": {}})


def test_enable_unknown_engine_type_is_invalid_request(client: hvac.Client) -> None:
    with pytest.raises(
        exceptions.InvalidRequest, match="plugin not found in the catalog: nosuchtype"
    ):
        client.sys.enable_secrets_engine("nosuchtype", path=unique("bad"))


# --------------------------------------------------------------------------- init/unseal/seal


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ServerProcess]:
    """A file-storage server, uninitialised and sealed."""
    server = config_server(tmp_path / "srv", FILE_CONFIG).start()
    yield server
    server.stop()


def test_initialize(fresh: ServerProcess) -> None:
    client = hvac.Client(url=fresh.addr)
    assert client.sys.is_initialized() is False
    with pytest.raises(
        exceptions.InvalidRequest,
        match="invalid seal configuration: threshold cannot be larger than shares",
    ):
        client.sys.initialize(3, 5)

    result = client.sys.initialize(5, 3)
    assert len(result["keys"]) == 5
    assert len(result["keys_base64"]) == 5
    for hx, b64 in zip(result["keys"], result["keys_base64"], strict=True):
        assert bytes.fromhex(hx) == base64.b64decode(b64)
    assert TOKEN.fullmatch(result["root_token"])
    assert client.sys.is_initialized() is True

    with pytest.raises(exceptions.InvalidRequest, match="Vault is already initialized"):
        client.sys.initialize(5, 3)


def test_unseal_and_seal(fresh: ServerProcess) -> None:
    client = hvac.Client(url=fresh.addr)

    health = client.sys.read_health_status(method="GET")
    assert health.status_code == 501
    assert health.json()["initialized"] is False
    with pytest.raises(exceptions.InvalidRequest, match="Vault is not initialized"):
        client.sys.submit_unseal_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

    # initialise with a plain API call so this test does not depend on hvac's initialize()
    init = httpx.put(
        f"{fresh.addr}/v1/sys/init", json={"secret_shares": 5, "secret_threshold": 3}
    ).json()
    keys, root = init["keys"], init["root_token"]
    client.token = root

    assert client.sys.is_sealed() is True
    health = client.sys.read_health_status(method="GET")
    assert health.status_code == 503
    assert health.json()["sealed"] is True
    with pytest.raises(exceptions.VaultDown, match="Vault is sealed"):
        client.is_authenticated()

    status = client.sys.submit_unseal_key(keys[0])
    assert (status["sealed"], status["t"], status["n"], status["progress"]) == (True, 3, 5, 1)
    assert UUID.fullmatch(status["nonce"])
    with pytest.raises(exceptions.InvalidRequest, match="'key' must be a valid hex or base64"):
        client.sys.submit_unseal_key("zz")
    assert client.sys.read_seal_status()["progress"] == 1

    status = client.sys.submit_unseal_keys(keys[1:3])
    assert (status["sealed"], status["progress"], status["nonce"]) == (False, 0, "")
    assert client.sys.is_sealed() is False
    assert client.is_authenticated() is True
    health = client.sys.read_health_status(method="GET")
    assert isinstance(health, dict) and health["sealed"] is False

    mount(client, "secret", "2")
    client.secrets.kv.v2.create_or_update_secret("app", secret={"pw": "x1"}, mount_point="secret")

    with pytest.raises(exceptions.Forbidden, match="permission denied"):
        hvac.Client(url=fresh.addr).sys.seal()
    assert client.sys.is_sealed() is False

    assert client.sys.seal().status_code == 204
    assert client.sys.is_sealed() is True
    with pytest.raises(exceptions.VaultDown, match="Vault is sealed"):
        client.secrets.kv.v2.read_secret_version(
            "app", mount_point="secret", raise_on_deleted_version=True
        )
    health = client.sys.read_health_status(method="GET")
    assert health.status_code == 503
    assert client.sys.seal().status_code == 204  # sealing twice is fine

    # base64 shares work too, and the data survived the seal
    status = client.sys.submit_unseal_keys(
        [base64.b64encode(bytes.fromhex(k)).decode() for k in keys[2:5]]
    )
    assert status["sealed"] is False
    got = client.secrets.kv.v2.read_secret_version(
        "app", mount_point="secret", raise_on_deleted_version=True
    )
    assert got["data"]["data"] == {"pw": "x1"}
