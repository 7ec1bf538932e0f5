"""The alicloud backend without a server: its paths, issue, revoke, renew and WAL rollback.

The cloud is the fake (tests/fakes/alicloud) in a thread on a loopback port,
reached by the official SDK through the engine's endpoint settings, so the
engine's procedures run exactly as in production.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as R

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.leases import is_throttling
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.core.tokens import TokenEntry
from strongroom.engines.alicloud import AliCloudBackend
from strongroom.engines.alicloud.errors import RevocationFailed
from strongroom.engines.alicloud.settings import Endpoint, Settings
from strongroom.framework.backend import LeaseRequest
from strongroom.storage.inmem import InmemStorage
from tests.fakes.alicloud import DEFAULT_ROOT_KEY, DEFAULT_ROOT_SECRET, FakeAliCloud
from tests.fakes.alicloud.control import ram_client

R_, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:Get*"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def cloud() -> Iterator[FakeAliCloud]:
    fake = FakeAliCloud().start()
    yield fake
    fake.stop()


class Env:
    def __init__(self, fake: FakeAliCloud, signature: str = "v1", max_ttl: int = 0) -> None:
        self.fake = fake
        self.storage = InmemStorage()
        endpoint = Endpoint(fake.endpoint, "http")
        mount = MountEntry.new("alicloud/", "alicloud", config=MountConfig(max_lease_ttl=max_ttl))
        self.backend = AliCloudBackend(
            BackendContext(storage=self.storage, mount=mount, system=SystemView()),
            Settings(ram=endpoint, sts=endpoint, signature=signature),
        )
        self.token = TokenEntry("acc", ["default"], "auth/userpass/login/alice")
        self.token.display_name = "userpass-alice@example.com"

    async def __call__(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> Response | None:
        req = Request(
            operation=op, path="alicloud/" + rel, rel_path=rel, data=data or {}, token=self.token
        )
        return await self.backend.handle(req)

    async def creds(self, role: str) -> Response:
        resp = await self(R_, f"creds/{role}")
        assert resp is not None and resp.secret is not None
        return resp

    def lease(self, resp: Response) -> LeaseRequest:
        assert resp.secret is not None
        return LeaseRequest(
            "alicloud/creds/x/y", resp.secret.internal, self.storage, self.backend.ctx.mount, 0
        )

    def users(self) -> dict[str, Any]:
        return self.fake.account.snapshot()["Users"]

    def policies(self) -> dict[str, Any]:
        return self.fake.account.snapshot()["Policies"]

    async def wal(self) -> list[str]:
        return await self.storage.list("wal/")


@pytest.fixture
async def env(cloud: FakeAliCloud) -> AsyncIterator[Env]:
    cloud.reset()
    e = Env(cloud)
    await e(U, "config", {"access_key": DEFAULT_ROOT_KEY, "secret_key": DEFAULT_ROOT_SECRET})
    await e(
        U,
        "role/full",
        {
            "inline_policies": json.dumps([DOC]),
            "remote_policies": ["name:AliyunOSSReadOnlyAccess,type:System"],
        },
    )
    yield e
    await e.backend.cleanup()


async def test_role_paths(env: Env) -> None:
    assert (
        await env(U, "role/ReadOnly", {"remote_policies": "name:ReadOnlyAccess,type:System"})
        is None
    )
    role = await env(R_, "role/readonly")
    assert role is not None and role.data is not None
    assert role.data["remote_policies"] == [{"name": "ReadOnlyAccess", "type": "System"}]
    listed = await env(L, "role/")
    assert listed is not None and listed.data == {"keys": ["full", "readonly"]}
    with pytest.raises(BadRequest, match="invalid character 'x' looking for beginning of value"):
        await env(U, "role/bad", {"inline_policies": "x"})
    with pytest.raises(BadRequest, match="cannot unmarshal string into Go value of type map"):
        await env(U, "role/bad", {"inline_policies": '["a"]'})
    with pytest.raises(BadRequest, match="unexpected end of JSON input"):
        await env(U, "role/bad", {"inline_policies": ""})
    # A JSON client may send the array itself.
    await env(U, "role/native", {"inline_policies": [DOC]})
    await env(D, "role/native")
    with pytest.raises(NotFound):
        await env(R_, "role/native")


async def test_ttl_above_the_system_max_warns_in_nanoseconds(cloud: FakeAliCloud) -> None:
    e = Env(cloud, max_ttl=3600)
    resp = await e(U, "role/long", {"remote_policies": "name:A,type:System", "ttl": "2h"})
    assert resp is not None
    assert resp.warnings == [
        "ttl of 7200000000000 exceeds the system max ttl of 3600000000000, the latter will be "
        "used during login"
    ]
    await e.backend.cleanup()


async def test_issue_settles_the_wal_only_once_the_lease_is_stored(env: Env) -> None:
    resp = await env.creds("full")
    internal = resp.secret.internal
    username = internal["username"]
    # userpass-alice@example.com: the `@` is not allowed in RAM user names.
    assert username.startswith("userpass-alice-example.com-full-")
    [policy] = internal["inline_policies"]
    assert policy["name"].startswith(username.replace(".", "-") + "-")
    assert internal["remote_policies"] == [{"name": "AliyunOSSReadOnlyAccess", "type": "System"}]
    assert internal["access_key_id"] == resp.data["access_key"]
    assert username in env.users()
    assert len(await env.wal()) == 1  # the core has not stored the lease yet
    await resp.secret.on_lease_stored(True)
    assert await env.wal() == []


async def test_revoke_is_idempotent_and_removes_everything(env: Env) -> None:
    resp = await env.creds("full")
    await resp.secret.on_lease_stored(True)
    lease = env.lease(resp)
    await env.backend.secret.revoke(lease)
    assert env.users() == {} and env.policies() == {}
    await env.backend.secret.revoke(lease)  # already gone counts as revoked


async def test_revoke_removes_what_was_added_by_hand(env: Env) -> None:
    resp = await env.creds("full")
    username = resp.secret.internal["username"]
    [inline] = resp.secret.internal["inline_policies"]
    ram = ram_client(env.fake.endpoint)
    ram.create_access_key(R.CreateAccessKeyRequest(user_name=username))
    ram.attach_policy_to_user(
        R.AttachPolicyToUserRequest(
            policy_type="System", policy_name="ReadOnlyAccess", user_name=username
        )
    )
    ram.create_user(R.CreateUserRequest(user_name="bystander"))
    ram.attach_policy_to_user(
        R.AttachPolicyToUserRequest(
            policy_type="Custom", policy_name=inline["name"], user_name="bystander"
        )
    )
    await env.backend.secret.revoke(env.lease(resp))
    assert set(env.users()) == {"bystander"}
    assert env.users()["bystander"]["Policies"] == []  # the lease's policy is gone everywhere
    assert env.policies() == {}


async def test_failure_half_way_leaves_nothing_and_no_wal(env: Env) -> None:
    env.fake.fail("AttachPolicyToUser", code="InternalError", status=500, message="boom")
    with pytest.raises(VaultError) as info:
        await env(R_, "creds/full")
    assert info.value.status == 502
    assert info.value.messages == [
        f"error attaching policy Custom:{_inline_name(env)}: InternalError: boom "
        "(calling AttachPolicyToUser)"
    ]
    assert env.users() == {} and env.policies() == {}
    assert await env.wal() == []


def _inline_name(env: Env) -> str:
    [call] = [c for c in env.fake.calls if c.action == "CreatePolicy"]
    return call.params["PolicyName"]


async def test_a_refused_create_user_needs_no_undo(env: Env) -> None:
    env.fake.account.set_quotas({"users": 0})
    try:
        with pytest.raises(BadRequest, match=r"LimitExceeded\.User"):
            await env(R_, "creds/full")
    finally:
        env.fake.account.set_quotas({"users": 1000})
    assert [c.action for c in env.fake.calls] == ["CreateUser"]
    assert await env.wal() == []


async def test_undo_that_cannot_reach_the_cloud_is_left_to_the_rollback(env: Env) -> None:
    # CreateAccessKey fails, and so does every call of the clean-up.
    env.fake.fail("CreateAccessKey", code="InternalError", status=500)
    env.fake.fail("ListAccessKeys", code="ServiceUnavailable", status=503, times=None)
    with pytest.raises(VaultError, match="error creating access key"):
        await env(R_, "creds/full")
    [left] = list(env.users())
    assert len(await env.wal()) == 1
    env.fake.clear_faults()
    assert await env.backend.rollback(min_age=3600) == 0  # too young to be abandoned
    assert await env.backend.rollback(min_age=0) == 1
    assert env.users() == {} and env.policies() == {}
    assert await env.wal() == []
    assert left


async def test_revocation_failures_are_retryable_and_throttling_is_flagged(env: Env) -> None:
    resp = await env.creds("full")
    env.fake.fail("DeleteUser", throttle=True)
    with pytest.raises(RevocationFailed) as info:
        await env.backend.secret.revoke(env.lease(resp))
    assert info.value.throttled and is_throttling(info.value)
    assert "Throttling.User" in str(info.value)
    assert DEFAULT_ROOT_SECRET not in str(info.value)
    env.fake.down("503")
    with pytest.raises(RevocationFailed) as info:
        await env.backend.secret.revoke(env.lease(resp))
    assert not info.value.throttled
    env.fake.up()
    await env.backend.secret.revoke(env.lease(resp))
    assert env.users() == {}


async def test_renew_follows_the_role(env: Env) -> None:
    await env(U, "role/short", {"remote_policies": "name:ReadOnlyAccess,type:System", "ttl": 90})
    resp = await env.creds("short")
    assert (resp.secret.ttl, resp.secret.renewable) == (90, True)
    assert await env.backend.secret.renew(env.lease(resp)) == 90
    await env(D, "role/short")
    with pytest.raises(
        BadRequest, match="role short has been deleted so no further renewals are allowed"
    ):
        await env.backend.secret.renew(env.lease(resp))
    await env.backend.secret.revoke(env.lease(resp))


async def test_sts_with_v3_signatures(cloud: FakeAliCloud) -> None:
    cloud.reset()
    e = Env(cloud, signature="v3")
    await e(U, "config", {"access_key": DEFAULT_ROOT_KEY, "secret_key": DEFAULT_ROOT_SECRET})
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"RAM": [f"acs:ram::{cloud.account.account_id}:root"]},
            }
        ],
    }
    ram_client(cloud.endpoint).create_role(
        R.CreateRoleRequest(role_name="r", assume_role_policy_document=json.dumps(trust))
    )
    arn = f"acs:ram::{cloud.account.account_id}:role/r"
    await e(U, "role/sts", {"role_arn": arn})
    resp = await e.creds("sts")
    assert resp.secret.renewable is False and 3590 <= resp.secret.ttl <= 3600
    assert resp.secret.internal == {"secret_type": "alicloud", "role_type": "sts"}
    [call] = [c for c in cloud.calls if c.action == "AssumeRole"]
    assert call.style == "v3"
    assert len(call.params["RoleSessionName"]) <= 32
    await e.backend.secret.revoke(e.lease(resp))  # a no-op
    with pytest.raises(BadRequest, match="lease is not renewable"):
        await e.backend.secret.renew(e.lease(resp))
    await e.backend.cleanup()


async def test_config_delete_and_missing_config(env: Env) -> None:
    config = await env(R_, "config")
    assert config is not None and config.data == {"access_key": DEFAULT_ROOT_KEY}
    await env(D, "config")
    with pytest.raises(BadRequest, match="no credentials are configured"):
        await env(R_, "creds/full")
    with pytest.raises(NotFound):
        await env(R_, "creds/missing")


async def test_bad_server_settings_do_not_break_the_mount(
    cloud: FakeAliCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.reset()
    monkeypatch.setenv("STRONGROOM_ALICLOUD_PROTOCOL", "gopher")
    mount = MountEntry.new("ali/", "alicloud")
    backend = AliCloudBackend(BackendContext(storage=InmemStorage(), mount=mount))

    async def call(op: Operation, rel: str, data: dict[str, Any] | None = None) -> Any:
        req = Request(operation=op, path="ali/" + rel, rel_path=rel, data=data or {})
        return await backend.handle(req)

    await call(U, "config", {"access_key": "a", "secret_key": "b"})
    await call(U, "role/r", {"remote_policies": "name:A,type:System"})
    with pytest.raises(VaultError) as info:
        await call(R_, "creds/r")
    assert info.value.status == 500
    assert "STRONGROOM_ALICLOUD_PROTOCOL must be http or https" in info.value.messages[0]
    await backend.cleanup()
