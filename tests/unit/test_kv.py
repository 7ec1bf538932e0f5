"""The KV secrets engine, versions 1 and 2, driven through Backend.handle (spec §6.1, §6.2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest, NotFound, UnsupportedOperation, VaultError
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.kv import factory
from strongroom.engines.kv.backend import KVBackend
from strongroom.engines.kv.timestamps import rfc3339, rfc3339_micros
from strongroom.framework.backend import Backend
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Op
from strongroom.storage.inmem import InmemStorage

R, L, C, U, P, D = (
    Operation.READ,
    Operation.LIST,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.PATCH,
    Operation.DELETE,
)
T0 = datetime(2026, 11, 25, 5, 48, 26, 342676, tzinfo=UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
EXACT_NUMBERS = b'{"a":1.50,"b":-0.0,"c":1e21,"d":12345678901234567890,"e":[1.0,{"f":2.50}]}'


class CountingStorage(InmemStorage):
    """InmemStorage that counts reads, to hold the engine to its storage budget."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await super().get(key)

    def stored_keys(self) -> list[str]:
        return sorted(self._data)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Env:
    def __init__(self, version: str | None, default_ttl: int = 0) -> None:
        self.storage = CountingStorage()
        self.clock = Clock()
        options = {"version": version} if version else None
        mount = MountEntry.new(
            "secret/", "kv", options=options, config=MountConfig(default_lease_ttl=default_ttl)
        )
        self.ctx = BackendContext(
            storage=self.storage, mount=mount, system=SystemView(clock=self.clock)
        )
        self.backend = factory(self.ctx)

    async def __call__(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> Response | None:
        req = Request(operation=op, path="secret/" + rel, rel_path=rel, data=data or {})
        return await self.backend.handle(req)

    async def ok(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        resp = await self(op, rel, data)
        assert resp is not None and resp.status == 0 and resp.data is not None, resp
        return resp.data

    async def status(self, op: Operation, rel: str, data: dict[str, Any] | None = None) -> int:
        resp = await self(op, rel, data)
        assert resp is not None
        return resp.status

    async def exists(self, op: Operation, rel: str) -> bool | None:
        req = Request(operation=op, path="secret/" + rel, rel_path=rel)
        return await self.backend.exists(req)

    async def error(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> VaultError:
        with pytest.raises(VaultError) as info:
            await self(op, rel, data)
        return info.value


@pytest.fixture
def v1() -> Env:
    return Env(None)


@pytest.fixture
def v2() -> Env:
    return Env("2")


async def bad_request(env: Env, op: Operation, rel: str, data: dict[str, Any] | None = None) -> str:
    err = await env.error(op, rel, data)
    assert isinstance(err, BadRequest), err
    return err.messages[0]


# --- factory and helpers ------------------------------------------------------


def test_factory_picks_version_by_mount_option() -> None:
    assert isinstance(Env(None).backend, KVBackend)
    v1_paths = [p.pattern for p in Env(None).backend.paths]
    v2_paths = [p.pattern for p in Env("2").backend.paths]
    assert v1_paths == [".*"]
    assert "config" in v2_paths and v2_paths[-1] == ".*"
    assert [p.pattern for p in Env("1").backend.paths] == v1_paths


def test_rfc3339_drops_trailing_zeros() -> None:
    assert rfc3339(T0) == "2026-11-25T05:48:26.342676Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.12Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert rfc3339_micros(0) == "1970-01-01T00:00:00Z"


# --- KV version 1 (§6.1) -------------------------------------------------------


async def test_v1_write_read_delete(v1: Env) -> None:
    assert await v1(U, "app/db", {"user": "u", "n": 3}) is None
    resp = await v1(R, "app/db")
    assert resp is not None
    assert resp.data == {"user": "u", "n": 3}
    assert resp.secret is None
    assert resp.lease_duration == 2764800  # system default with an untuned mount
    assert await v1(D, "app/db") is None
    assert isinstance(await v1.error(R, "app/db"), NotFound)
    assert await v1(D, "app/db") is None  # deleting an absent entry is fine


async def test_v1_read_costs_one_storage_get(v1: Env) -> None:
    await v1(U, "k", {"a": "b"})
    v1.storage.gets = 0
    await v1(R, "k")
    assert v1.storage.gets == 1


async def test_v1_empty_write_is_rejected(v1: Env) -> None:
    assert await bad_request(v1, U, "k", {}) == "missing data fields"
    assert await bad_request(v1, C, "k") == "missing data fields"


async def test_v1_write_to_folder_is_rejected(v1: Env) -> None:
    assert await bad_request(v1, U, "dir/", {"a": 1}) == "cannot write to a path ending in '/'"
    assert await bad_request(v1, C, "", {"a": 1}) == "cannot write to a path ending in '/'"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"ttl": "1h"}, 3600),
        ({"ttl": 90}, 90),
        ({"ttl": "90"}, 90),
        ({"lease": "30m"}, 1800),
        ({"ttl": "2h", "lease": "30m"}, 7200),
        ({"ttl": "bogus"}, 2764800),
        ({"ttl": "0s"}, 2764800),
        ({"ttl": "10000h"}, 2764800),  # capped at the max TTL
    ],
)
async def test_v1_refresh_hint_from_ttl(v1: Env, entry: dict[str, Any], expected: int) -> None:
    await v1(U, "k", {"v": "x", **entry})
    resp = await v1(R, "k")
    assert resp is not None and resp.lease_duration == expected


async def test_v1_refresh_hint_follows_tuned_mount_default() -> None:
    env = Env(None, default_ttl=3600)
    await env(U, "k", {"v": "x"})
    resp = await env(R, "k")
    assert resp is not None and resp.lease_duration == 3600


async def test_v1_list(v1: Env) -> None:
    for path in ("b", "a", "dir/x", "dir/sub/y", "dir"):
        await v1(U, path, {"v": 1})
    assert await v1.ok(L, "") == {"keys": ["a", "b", "dir", "dir/"]}
    assert await v1.ok(L, "dir/") == {"keys": ["sub/", "x"]}
    assert await v1.ok(L, "dir") == {"keys": ["sub/", "x"]}
    assert isinstance(await v1.error(L, "nothing/"), NotFound)


async def test_v1_existence_check(v1: Env) -> None:
    assert await v1.exists(U, "k") is False
    await v1(U, "k", {"v": 1})
    assert await v1.exists(U, "k") is True


async def test_v1_preserves_number_literals(v1: Env) -> None:
    await v1(U, "k", loads(EXACT_NUMBERS))
    resp = await v1(R, "k")
    assert resp is not None and dumps_compact(resp.data) == EXACT_NUMBERS


async def test_v1_has_no_patch(v1: Env) -> None:
    assert isinstance(await v1.error(P, "k", {"a": 1}), UnsupportedOperation)


# --- KV version 2: data/ ---------------------------------------------------------


async def test_v2_write_returns_version_metadata(v2: Env) -> None:
    data = await v2.ok(U, "data/app", {"data": {"user": "u"}})
    assert data == {
        "created_time": "2026-11-25T05:48:26.342676Z",
        "custom_metadata": None,
        "deletion_time": "",
        "destroyed": False,
        "version": 1,
    }
    v2.clock.advance(seconds=1)
    assert (await v2.ok(C, "data/app", {"data": {"user": "w"}}))["version"] == 2


async def test_v2_read_latest_and_old_versions(v2: Env) -> None:
    await v2(U, "data/app", {"data": {"v": "one"}})
    v2.clock.advance(seconds=5)
    await v2(U, "data/app", {"data": {"v": "two"}})
    latest = await v2.ok(R, "data/app")
    assert latest["data"] == {"v": "two"}
    assert latest["metadata"] == {
        "created_time": "2026-11-25T05:48:31.342676Z",
        "custom_metadata": None,
        "deletion_time": "",
        "destroyed": False,
        "version": 2,
    }
    old = await v2.ok(R, "data/app", {"version": "1"})
    assert old["data"] == {"v": "one"}
    assert old["metadata"]["version"] == 1
    assert (await v2.ok(R, "data/app", {"version": 2}))["data"] == {"v": "two"}


async def test_v2_read_latest_costs_one_storage_get(v2: Env) -> None:
    for i in range(5):
        await v2(U, "data/app", {"data": {"i": i}})
    v2.storage.gets = 0
    assert (await v2.ok(R, "data/app"))["data"] == {"i": 4}
    assert v2.storage.gets == 1


async def test_v2_read_missing(v2: Env) -> None:
    assert isinstance(await v2.error(R, "data/nope"), NotFound)
    await v2(U, "data/app", {"data": {"a": 1}})
    assert isinstance(await v2.error(R, "data/app", {"version": 7}), NotFound)
    assert isinstance(await v2.error(R, "data/"), NotFound)


async def test_v2_write_errors(v2: Env) -> None:
    assert await bad_request(v2, U, "data/app", {}) == "no data provided"
    assert await bad_request(v2, U, "data/app", {"options": {"cas": 0}}) == "no data provided"
    assert await bad_request(v2, U, "data/app", {"data": "text"}) == (
        "error converting input for field \"data\": '' expected type "
        "'map[string]interface {}', got unconvertible type 'string'"
    )
    assert (
        await bad_request(v2, U, "data/dir/", {"data": {"a": 1}})
        == "cannot write to a path ending in '/'"
    )
    assert (
        await bad_request(v2, U, "data/app", {"data": {}, "options": {"cas": "x"}})
        == "error parsing check-and-set parameter"
    )


async def test_v2_empty_data_is_a_valid_version(v2: Env) -> None:
    assert (await v2.ok(U, "data/app", {"data": {}}))["version"] == 1
    assert (await v2.ok(R, "data/app"))["data"] == {}


async def test_v2_cas(v2: Env) -> None:
    mismatch = "check-and-set parameter did not match the current version"
    # cas=0: only when the key does not exist yet
    assert (await v2.ok(U, "data/k", {"data": {"a": 1}, "options": {"cas": 0}}))["version"] == 1
    assert await bad_request(v2, U, "data/k", {"data": {"a": 2}, "options": {"cas": 0}}) == mismatch
    assert await bad_request(v2, U, "data/k", {"data": {"a": 2}, "options": {"cas": 2}}) == mismatch
    assert (await v2.ok(U, "data/k", {"data": {"a": 2}, "options": {"cas": 1}}))["version"] == 2
    assert (await v2.ok(U, "data/k", {"data": {"a": 3}, "options": {"cas": "2"}}))["version"] == 3
    # without options there is no check unless required
    assert (await v2.ok(U, "data/k", {"data": {"a": 4}}))["version"] == 4


async def test_v2_cas_required_by_mount_config(v2: Env) -> None:
    required = "check-and-set parameter required for this call"
    await v2(U, "config", {"cas_required": True})
    assert await bad_request(v2, U, "data/k", {"data": {"a": 1}}) == required
    assert await bad_request(v2, U, "data/k", {"data": {"a": 1}, "options": {}}) == required
    assert (await v2.ok(U, "data/k", {"data": {"a": 1}, "options": {"cas": 0}}))["version"] == 1
    assert await bad_request(v2, P, "data/k", {"data": {"a": 2}}) == required


async def test_v2_cas_required_by_key_metadata(v2: Env) -> None:
    await v2(U, "data/free", {"data": {"a": 1}})
    await v2(U, "data/free", {"data": {"a": 2}})  # other keys are unaffected
    assert await v2(U, "metadata/k", {"cas_required": True}) is None
    assert (
        await bad_request(v2, U, "data/k", {"data": {"a": 1}})
        == "check-and-set parameter required for this call"
    )
    assert (await v2.ok(U, "data/k", {"data": {"a": 1}, "options": {"cas": 0}}))["version"] == 1


async def test_v2_cas_required_false_on_key_warns_when_mount_requires(v2: Env) -> None:
    await v2(U, "config", {"cas_required": True})
    resp = await v2(U, "metadata/k", {"cas_required": False})
    assert resp is not None and resp.data is None
    assert resp.warnings == [
        '"cas_required" set to false, but is mandated by backend config. '
        "This value will be ignored."
    ]


async def write_versions(env: Env, key: str, count: int) -> None:
    for i in range(count):
        await env(U, f"data/{key}", {"data": {"i": i + 1}})
        env.clock.advance(seconds=1)


def version_keys(env: Env) -> list[str]:
    return [k for k in env.storage.stored_keys() if k.startswith("versions/")]


async def test_v2_default_max_versions_is_ten(v2: Env) -> None:
    await write_versions(v2, "k", 12)
    meta = await v2.ok(R, "metadata/k")
    assert meta["current_version"] == 12
    assert meta["oldest_version"] == 3
    assert sorted(map(int, meta["versions"])) == list(range(3, 13))
    assert isinstance(await v2.error(R, "data/k", {"version": 2}), NotFound)
    assert (await v2.ok(R, "data/k", {"version": 3}))["data"] == {"i": 3}
    # the pruned versions' data is gone from storage: 9 older versions + current inline
    assert len(version_keys(v2)) == 9


async def test_v2_oldest_version_starts_at_zero(v2: Env) -> None:
    await write_versions(v2, "k", 3)
    assert (await v2.ok(R, "metadata/k"))["oldest_version"] == 0
    await write_versions(v2, "full", 10)
    assert (await v2.ok(R, "metadata/full"))["oldest_version"] == 1


async def test_v2_mount_max_versions(v2: Env) -> None:
    await v2(U, "config", {"max_versions": 3})
    await write_versions(v2, "k", 5)
    meta = await v2.ok(R, "metadata/k")
    assert (meta["oldest_version"], sorted(meta["versions"])) == (3, ["3", "4", "5"])
    assert len(version_keys(v2)) == 2


async def test_v2_key_max_versions_overrides_mount(v2: Env) -> None:
    await v2(U, "config", {"max_versions": 5})
    await v2(U, "metadata/k", {"max_versions": 2})
    await write_versions(v2, "k", 4)
    meta = await v2.ok(R, "metadata/k")
    assert sorted(meta["versions"]) == ["3", "4"]
    assert meta["max_versions"] == 2
    # lowering max_versions prunes several versions on the next write
    await write_versions(v2, "other", 6)
    await v2(U, "metadata/other", {"max_versions": 1})
    await write_versions(v2, "other", 1)
    assert list((await v2.ok(R, "metadata/other"))["versions"]) == ["7"]
    assert (await v2.ok(R, "data/other"))["data"] == {"i": 1}


async def test_v2_max_versions_one_keeps_only_latest(v2: Env) -> None:
    await v2(U, "metadata/k", {"max_versions": 1})
    await write_versions(v2, "k", 3)
    assert (await v2.ok(R, "data/k"))["data"] == {"i": 3}
    assert version_keys(v2) == []


async def test_v2_delete_version_after_from_mount(v2: Env) -> None:
    await v2(U, "config", {"delete_version_after": "1h"})
    written = await v2.ok(U, "data/k", {"data": {"a": 1}})
    assert written["deletion_time"] == "2026-11-25T06:48:26.342676Z"
    v2.clock.advance(minutes=59)
    assert (await v2.ok(R, "data/k"))["data"] == {"a": 1}  # deletion still in the future
    v2.clock.advance(minutes=2)
    resp = await v2(R, "data/k")
    assert resp is not None and resp.status == 404
    assert resp.data is not None and resp.data["data"] is None
    assert resp.data["metadata"]["deletion_time"] == "2026-11-25T06:48:26.342676Z"


async def test_v2_delete_version_after_shorter_of_key_and_mount(v2: Env) -> None:
    await v2(U, "config", {"delete_version_after": "2h"})
    await v2(U, "metadata/short", {"delete_version_after": "30m"})
    await v2(U, "metadata/long", {"delete_version_after": 36000})
    short = await v2.ok(U, "data/short", {"data": {"a": 1}})
    long = await v2.ok(U, "data/long", {"data": {"a": 1}})
    assert short["deletion_time"] == "2026-11-25T06:18:26.342676Z"
    assert long["deletion_time"] == "2026-11-25T07:48:26.342676Z"
    meta = await v2.ok(R, "metadata/short")
    assert meta["delete_version_after"] == "30m0s"


async def test_v2_undelete_cancels_pending_deletion(v2: Env) -> None:
    await v2(U, "metadata/k", {"delete_version_after": "1h"})
    await v2(U, "data/k", {"data": {"a": 1}})
    await v2(U, "undelete/k", {"versions": [1]})
    v2.clock.advance(hours=2)
    assert (await v2.ok(R, "data/k"))["metadata"]["deletion_time"] == ""


async def test_v2_soft_delete_latest(v2: Env) -> None:
    await write_versions(v2, "k", 2)
    assert await v2(D, "data/k") is None
    v2.clock.advance(seconds=1)
    resp = await v2(R, "data/k")
    assert resp is not None and resp.status == 404
    assert resp.data == {
        "data": None,
        "metadata": {
            "created_time": "2026-11-25T05:48:27.342676Z",
            "custom_metadata": None,
            "deletion_time": "2026-11-25T05:48:28.342676Z",
            "destroyed": False,
            "version": 2,
        },
    }
    assert (await v2.ok(R, "data/k", {"version": 1}))["data"] == {"i": 1}
    # deleting again keeps the first deletion time
    v2.clock.advance(seconds=1)
    await v2(D, "data/k")
    meta = await v2.ok(R, "metadata/k")
    assert meta["versions"]["2"]["deletion_time"] == "2026-11-25T05:48:28.342676Z"
    assert await v2(D, "data/absent") is None


async def test_v2_delete_undelete_destroy_versions(v2: Env) -> None:
    await write_versions(v2, "k", 3)
    assert await v2(U, "delete/k", {"versions": "1,2"}) is None
    v2.clock.advance(seconds=1)
    assert (await v2.status(R, "data/k", {"version": 1})) == 404
    assert (await v2.status(R, "data/k", {"version": 2})) == 404
    assert (await v2.ok(R, "data/k"))["data"] == {"i": 3}

    assert await v2(C, "undelete/k", {"versions": ["1"]}) is None
    assert (await v2.ok(R, "data/k", {"version": 1}))["data"] == {"i": 1}

    assert await v2(U, "destroy/k", {"versions": [1, 3]}) is None
    for version in (1, 3):
        resp = await v2(R, "data/k", {"version": version})
        assert resp is not None and resp.status == 404
        assert resp.data is not None and resp.data["data"] is None
        assert resp.data["metadata"]["destroyed"] is True
        assert resp.data["metadata"]["deletion_time"] == ""
    # a destroyed version cannot be undeleted, and its data is gone from storage
    await v2(U, "undelete/k", {"versions": [1]})
    assert (await v2.status(R, "data/k", {"version": 1})) == 404
    assert len(version_keys(v2)) == 1  # only version 2 is left outside the record
    # acting on unknown keys or versions is a silent no-op
    assert await v2(U, "destroy/nope", {"versions": [1]}) is None
    assert await v2(U, "delete/k", {"versions": [99]}) is None


async def test_v2_version_actions_need_versions(v2: Env) -> None:
    for action in ("delete", "undelete", "destroy"):
        assert await bad_request(v2, U, f"{action}/k", {}) == "No version number provided"
        assert await bad_request(v2, U, f"{action}/k", {"versions": []}) == (
            "No version number provided"
        )


async def test_v2_destroy_has_no_delete(v2: Env) -> None:
    assert isinstance(await v2.error(D, "destroy/k"), UnsupportedOperation)
    assert isinstance(await v2.error(R, "delete/k"), UnsupportedOperation)


async def test_v2_writing_after_destroying_current(v2: Env) -> None:
    await write_versions(v2, "k", 2)
    await v2(U, "destroy/k", {"versions": [2]})
    assert (await v2.ok(U, "data/k", {"data": {"n": "new"}}))["version"] == 3
    assert (await v2.ok(R, "data/k"))["data"] == {"n": "new"}
    assert (await v2.ok(R, "data/k", {"version": 1}))["data"] == {"i": 1}


# --- data PATCH --------------------------------------------------------------------


async def test_v2_patch_merges_into_latest(v2: Env) -> None:
    await v2(U, "data/k", {"data": {"a": 1, "b": {"c": 2, "d": 3}, "e": "x"}})
    patched = await v2.ok(P, "data/k", {"data": {"a": 10, "b": {"c": None, "z": 1}, "e": None}})
    assert patched["version"] == 2
    assert (await v2.ok(R, "data/k"))["data"] == {"a": 10, "b": {"d": 3, "z": 1}}
    assert (await v2.ok(R, "data/k", {"version": 1}))["data"] == {
        "a": 1,
        "b": {"c": 2, "d": 3},
        "e": "x",
    }


async def test_v2_patch_absent_or_deleted_is_empty_404(v2: Env) -> None:
    resp = await v2(P, "data/nope", {"data": {"a": 1}})
    assert resp is not None and (resp.status, resp.raw) == (404, b"")
    await v2(U, "data/k", {"data": {"a": 1}})
    await v2(D, "data/k")
    v2.clock.advance(seconds=1)
    resp = await v2(P, "data/k", {"data": {"a": 2}})
    assert resp is not None and (resp.status, resp.raw) == (404, b"")
    assert await bad_request(v2, P, "data/k", {}) == "no data provided"


async def test_v2_patch_checks_cas(v2: Env) -> None:
    await v2(U, "data/k", {"data": {"a": 1}})
    assert (
        await bad_request(v2, P, "data/k", {"data": {"a": 2}, "options": {"cas": 0}})
        == "check-and-set parameter did not match the current version"
    )
    assert (await v2.ok(P, "data/k", {"data": {"a": 2}, "options": {"cas": 1}}))["version"] == 2


# --- metadata/ ----------------------------------------------------------------------


async def test_v2_metadata_read_shape(v2: Env) -> None:
    await v2(U, "metadata/k", {"max_versions": 3, "delete_version_after": "1h"})
    await v2(U, "metadata/k", {"custom_metadata": {"team": "x", "owner": "ops"}})
    for i in range(5):
        await v2(U, "data/k", {"data": {"i": i}})
        v2.clock.advance(seconds=1)
    meta = await v2.ok(R, "metadata/k")
    assert list(meta) == sorted(meta)
    assert meta == {
        "cas_required": False,
        "created_time": "2026-11-25T05:48:26.342676Z",
        "current_metadata_version": 2,
        "current_version": 5,
        "custom_metadata": {"owner": "ops", "team": "x"},
        "delete_version_after": "1h0m0s",
        "max_versions": 3,
        "metadata_cas_required": False,
        "oldest_version": 3,
        "updated_time": "2026-11-25T05:48:30.342676Z",
        "versions": {
            str(n): {
                "created_time": f"2026-11-25T05:48:{25 + n}.342676Z",
                "deletion_time": f"2026-11-25T06:48:{25 + n}.342676Z",
                "destroyed": False,
            }
            for n in (3, 4, 5)
        },
    }
    for version in meta["versions"].values():
        assert TIMESTAMP.match(version["created_time"])


async def test_v2_metadata_write_creates_empty_record(v2: Env) -> None:
    assert isinstance(await v2.error(R, "metadata/k"), NotFound)
    assert await v2(U, "metadata/k", {}) is None  # nothing to set: nothing created
    assert isinstance(await v2.error(R, "metadata/k"), NotFound)
    await v2(C, "metadata/k", {"max_versions": 4})
    meta = await v2.ok(R, "metadata/k")
    assert (meta["current_version"], meta["created_time"], meta["versions"]) == (0, "", {})
    assert meta["delete_version_after"] == "0s"
    assert meta["custom_metadata"] is None
    # the key exists now, but there is no version to read
    assert isinstance(await v2.error(R, "data/k"), NotFound)


async def test_v2_metadata_write_replaces_custom_metadata(v2: Env) -> None:
    await v2(U, "metadata/k", {"custom_metadata": {"a": "1", "b": "2"}})
    await v2(U, "metadata/k", {"custom_metadata": {"c": "3"}})
    assert (await v2.ok(R, "metadata/k"))["custom_metadata"] == {"c": "3"}
    written = await v2.ok(U, "data/k", {"data": {"x": 1}})
    assert written["custom_metadata"] == {"c": "3"}
    assert (await v2.ok(R, "data/k"))["metadata"]["custom_metadata"] == {"c": "3"}


async def test_v2_metadata_patch_merges(v2: Env) -> None:
    await v2(U, "data/k", {"data": {"x": 1}})
    await v2(U, "metadata/k", {"custom_metadata": {"a": "1", "b": "2"}, "max_versions": 5})
    assert await v2(P, "metadata/k", {"custom_metadata": {"b": None, "c": "3"}}) is None
    meta = await v2.ok(R, "metadata/k")
    assert meta["custom_metadata"] == {"a": "1", "c": "3"}
    assert meta["max_versions"] == 5  # untouched settings stay
    await v2(P, "metadata/k", {"cas_required": True})
    meta = await v2.ok(R, "metadata/k")
    assert meta["cas_required"] is True and meta["custom_metadata"] == {"a": "1", "c": "3"}
    resp = await v2(P, "metadata/absent", {"max_versions": 1})
    assert resp is not None and (resp.status, resp.raw) == (404, b"")


async def test_v2_custom_metadata_validation(v2: Env) -> None:
    message = await bad_request(v2, U, "metadata/k", {"custom_metadata": {"k": "v" * 513}})
    assert message == (
        "1 error occurred:\n\t* custom_metadata validation errors: length of value for key "
        '"k" is 513 but must be <= 512\n\n'
    )
    too_many = {f"k{i}": "v" for i in range(65)}
    message = await bad_request(v2, U, "metadata/k", {"custom_metadata": too_many})
    assert "payload must contain at most 64 keys, provided 65" in message
    assert "must be a string" in await bad_request(
        v2, U, "metadata/k", {"custom_metadata": {"n": 1}}
    )


async def test_v2_metadata_delete_removes_everything(v2: Env) -> None:
    await write_versions(v2, "k", 4)
    await write_versions(v2, "keep", 2)
    assert await v2(D, "metadata/k") is None
    assert isinstance(await v2.error(R, "data/k"), NotFound)
    assert isinstance(await v2.error(R, "metadata/k"), NotFound)
    assert len(version_keys(v2)) == 1  # only "keep" version 1 remains
    assert await v2(D, "metadata/absent") is None
    # the key starts over at version 1
    assert (await v2.ok(U, "data/k", {"data": {"a": 1}}))["version"] == 1


async def test_v2_metadata_list(v2: Env) -> None:
    for key in ("b", "a", "dir/x", "dir/sub/y"):
        await v2(U, f"data/{key}", {"data": {"v": 1}})
    assert await v2.ok(L, "metadata/") == {"keys": ["a", "b", "dir/"]}
    assert await v2.ok(L, "metadata/dir/") == {"keys": ["sub/", "x"]}
    assert await v2.ok(L, "metadata/dir") == {"keys": ["sub/", "x"]}
    assert isinstance(await v2.error(L, "metadata/none/"), NotFound)
    assert isinstance(await Env("2").error(L, "metadata/"), NotFound)


async def test_v2_metadata_cas(v2: Env) -> None:
    await v2(U, "metadata/k", {"max_versions": 2})
    assert (
        await bad_request(v2, U, "metadata/k", {"max_versions": 3, "cas": 0})
        == "check-and-set parameter did not match the current version"
    )
    assert await v2(U, "metadata/k", {"max_versions": 3, "cas": 1}) is None
    await v2(U, "metadata/k", {"metadata_cas_required": True, "cas": 2})
    assert (
        await bad_request(v2, U, "metadata/k", {"max_versions": 4})
        == "check-and-set parameter required for this call"
    )


async def test_v2_existence_checks(v2: Env) -> None:
    assert await v2.exists(U, "data/k") is False
    assert await v2.exists(U, "metadata/k") is False
    await v2(U, "data/k", {"data": {"a": 1}})
    assert await v2.exists(U, "data/k") is True
    assert await v2.exists(U, "metadata/k") is True
    assert await v2.exists(U, "config") is None


# --- subkeys/ and config ---------------------------------------------------------------


async def test_v2_subkeys(v2: Env) -> None:
    nested = {"a": {"b": {"c": 1}, "l": [1, 2]}, "d": "x", "e": {}}
    await v2(U, "data/k", {"data": nested})
    full = await v2.ok(R, "subkeys/k")
    assert full["subkeys"] == {"a": {"b": {"c": None}, "l": None}, "d": None, "e": {}}
    assert full["metadata"]["version"] == 1
    assert (await v2.ok(R, "subkeys/k", {"depth": 1}))["subkeys"] == {
        "a": None,
        "d": None,
        "e": None,
    }
    assert (await v2.ok(R, "subkeys/k", {"depth": "2"}))["subkeys"] == {
        "a": {"b": None, "l": None},
        "d": None,
        "e": {},
    }
    await v2(U, "data/k", {"data": {"only": 1}})
    assert (await v2.ok(R, "subkeys/k", {"version": 1}))["subkeys"]["d"] is None
    assert isinstance(await v2.error(R, "subkeys/none"), NotFound)
    await v2(U, "destroy/k", {"versions": [2]})
    resp = await v2(R, "subkeys/k")
    assert resp is not None and resp.status == 404 and resp.data is not None
    assert resp.data["subkeys"] is None and resp.data["metadata"]["destroyed"] is True


async def test_v2_config(v2: Env) -> None:
    assert await v2.ok(R, "config") == {
        "cas_required": False,
        "delete_version_after": "0s",
        "max_versions": 0,
        "metadata_cas_required": False,
    }
    assert await v2(U, "config", {"max_versions": 7, "delete_version_after": "2h"}) is None
    assert await v2(U, "config", {"cas_required": "true"}) is None
    assert await v2.ok(R, "config") == {
        "cas_required": True,
        "delete_version_after": "2h0m0s",
        "max_versions": 7,
        "metadata_cas_required": False,
    }
    # persisted, not only cached: a new backend over the same storage sees it
    again = factory(v2.ctx)
    resp = await again.handle(Request(operation=R, path="secret/config", rel_path="config"))
    assert resp is not None and resp.data is not None and resp.data["max_versions"] == 7


async def test_v2_config_rejects_bad_duration(v2: Env) -> None:
    message = await bad_request(v2, U, "config", {"delete_version_after": "1d12h"})
    assert message.endswith('time: unknown unit "d" in duration "1d12h"')


# --- routing edges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "rel", "verb"),
    [
        (R, "foo", "get"),
        (U, "foo", "put"),
        (C, "foo/bar", "put"),
        (L, "foo/", "list"),
        (R, "", "get"),
        (R, "data", "get"),
        (R, "config/x", "get"),
        (D, "foo", "delete"),
    ],
)
async def test_v2_invalid_path(v2: Env, op: Operation, rel: str, verb: str) -> None:
    resp = await v2(op, rel)
    assert resp is not None
    assert resp.status == 404 and resp.data is None
    assert resp.warnings == [
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate "
        "API endpoints to use. If using the OpenBao CLI, use "
        f"'bao kv {verb}' for this operation."
    ]


async def test_v2_list_data_is_unsupported(v2: Env) -> None:
    assert isinstance(await v2.error(L, "data/"), UnsupportedOperation)
    assert isinstance(await v2.error(L, "data/dir/"), UnsupportedOperation)


async def test_v2_preserves_number_literals(v2: Env) -> None:
    body = loads(b'{"data":' + EXACT_NUMBERS + b"}")
    await v2(U, "data/k", body)
    assert dumps_compact((await v2.ok(R, "data/k"))["data"]) == EXACT_NUMBERS
    await v2(U, "data/k", {"data": {"next": 1}})  # version 1 moves out of the record
    old = await v2.ok(R, "data/k", {"version": 1})
    assert dumps_compact(old["data"]) == EXACT_NUMBERS
    patched = await v2.ok(P, "data/k", {"data": {"n": loads(b"[2.50]")}})
    assert patched["version"] == 3
    assert dumps_compact((await v2.ok(R, "data/k"))["data"]) == b'{"next":1,"n":[2.50]}'


async def test_v2_writes_are_atomic_batches() -> None:
    """A write that moves data out of the record does so in one storage batch."""
    env = Env("2")
    batches: list[list[Op]] = []
    original: Callable[[list[Op]], Any] = env.storage.batch

    async def recording(ops: list[Op]) -> None:
        batches.append(list(ops))
        await original(ops)

    env.storage.batch = recording  # type: ignore[method-assign]
    await env(U, "data/k", {"data": {"a": 1}})
    await env(U, "data/k", {"data": {"a": 2}})
    assert len(batches) == 1
    assert sorted(op.key.split("/")[0] for op in batches[0]) == ["metadata", "versions"]


def test_backend_is_a_framework_backend() -> None:
    assert isinstance(Env("2").backend, Backend)
