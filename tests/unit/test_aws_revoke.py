"""Issue, revoke, renew and WAL rollback of iam_user credentials, with a scripted IAM stand-in.

The stand-in replaces the mount's boto3 client facade (`Client.call`), so the
engine's procedures run unchanged; moto-backed tests live in tests/integration/aws.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.leases import is_throttling
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.aws import AwsBackend, factory
from strongroom.engines.aws.errors import AwsError, RevocationFailed
from strongroom.engines.aws.sts import clamp_ttl, combine_policies
from strongroom.framework.backend import LeaseRequest
from strongroom.storage.inmem import InmemStorage

R, U = Operation.READ, Operation.UPDATE
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


class FakeIam:
    """Answers IAM calls from a tiny model; `fail[op]` makes an operation raise."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, Callable[[dict[str, Any]], AwsError | None]] = {}
        self.login_profiles: set[str] = set()

    def user(self, name: str) -> dict[str, Any]:
        if name not in self.users:
            raise AwsError(
                "GetUser", "NoSuchEntity", f"The user with name {name} cannot be found.", 404
            )
        return self.users[name]

    async def call(self, operation: str, **p: Any) -> dict[str, Any]:
        self.calls.append((operation, p))
        await asyncio.sleep(0)
        rule = self.fail.get(operation)
        if rule is not None and (err := rule(p)) is not None:
            raise err
        name = p.get("UserName", "")
        if operation == "CreateUser":
            self.users[name] = {"keys": [], "attached": [], "inline": [], "groups": []}
            return {"User": {"UserName": name}}
        u = self.user(name)
        if operation == "CreateAccessKey":
            key = f"AKIA{len(self.calls):016d}"
            u["keys"].append(key)
            return {"AccessKey": {"AccessKeyId": key, "SecretAccessKey": "secret-" + key}}
        handlers: dict[str, Callable[[], dict[str, Any]]] = {
            "AttachUserPolicy": lambda: u["attached"].append(p["PolicyArn"]) or {},
            "PutUserPolicy": lambda: u["inline"].append(p["PolicyName"]) or {},
            "AddUserToGroup": lambda: u["groups"].append(p["GroupName"]) or {},
            "TagUser": lambda: {},
            "ListGroupsForUser": lambda: {"Groups": [{"GroupName": g} for g in u["groups"]]},
            "ListUserPolicies": lambda: {"PolicyNames": list(u["inline"])},
            "ListAttachedUserPolicies": lambda: {
                "AttachedPolicies": [{"PolicyArn": a} for a in u["attached"]]
            },
            "ListAccessKeys": lambda: {
                "AccessKeyMetadata": [{"AccessKeyId": k} for k in u["keys"]]
            },
            "DeleteAccessKey": lambda: u["keys"].remove(p["AccessKeyId"]) or {},
            "DetachUserPolicy": lambda: u["attached"].remove(p["PolicyArn"]) or {},
            "DeleteUserPolicy": lambda: u["inline"].remove(p["PolicyName"]) or {},
            "RemoveUserFromGroup": lambda: u["groups"].remove(p["GroupName"]) or {},
            "ListMFADevices": lambda: {"MFADevices": []},
            "ListSSHPublicKeys": lambda: {"SSHPublicKeys": []},
            "ListSigningCertificates": lambda: {"Certificates": []},
            "ListServiceSpecificCredentials": lambda: {"ServiceSpecificCredentials": []},
            "DeleteUser": lambda: self._delete_user(name),
        }
        if operation == "DeleteLoginProfile":
            return self._delete_login_profile(name)
        return handlers[operation]()

    def _delete_login_profile(self, name: str = "") -> dict[str, Any]:
        if name not in self.login_profiles:
            raise AwsError("DeleteLoginProfile", "NoSuchEntity", "no login profile", 404)
        self.login_profiles.discard(name)
        return {}

    def _delete_user(self, name: str) -> dict[str, Any]:
        u = self.users[name]
        if u["keys"] or u["attached"] or u["inline"] or u["groups"] or name in self.login_profiles:
            raise AwsError(
                "DeleteUser",
                "DeleteConflict",
                "Cannot delete entity, must delete login profile first.",
                409,
            )
        del self.users[name]
        return {}

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Env:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        self.clock = Clock()
        self.iam = FakeIam()
        mount = MountEntry.new("aws/", "aws", config=MountConfig(default_lease_ttl=7200))
        self.backend: AwsBackend = factory(
            BackendContext(storage=self.storage, mount=mount, system=SystemView(clock=self.clock))
        )

        async def iam() -> FakeIam:
            return self.iam

        self.backend.clients.iam = iam  # type: ignore[method-assign]

    async def __call__(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> Response | None:
        req = Request(operation=op, path="aws/" + rel, rel_path=rel, data=data or {})
        return await self.backend.handle(req)

    def lease(self, resp: Response, age: float = 0.0) -> LeaseRequest:
        assert resp.secret is not None
        issued = self.clock.now.timestamp() - age
        return LeaseRequest(
            "aws/creds/r/x", resp.secret.internal, self.storage, self.backend.ctx.mount, issued
        )

    async def wal(self) -> list[str]:
        return await self.storage.list("wal/")


@pytest.fixture
async def env() -> Env:
    e = Env()
    await e(
        U,
        "roles/r",
        {
            "credential_type": "iam_user",
            "policy_arns": READ_ONLY,
            "policy_document": "{}",
            "iam_groups": "g",
        },
    )
    yield e
    await e.backend.cleanup()


async def test_issue_order_and_secret(env: Env) -> None:
    resp = await env(R, "creds/r")
    assert resp is not None and resp.secret is not None
    ops = env.iam.ops()
    assert ops[0] == "CreateUser"
    assert sorted(ops[1:]) == [
        "AddUserToGroup",
        "AttachUserPolicy",
        "CreateAccessKey",
        "PutUserPolicy",
    ]
    assert resp.secret.renewable is True and resp.secret.ttl == 0  # 0: the mount default
    internal = resp.secret.internal
    assert internal["secret_type"] == "access_keys" and internal["is_sts"] is False
    assert internal["username"] in env.iam.users
    assert internal["policy"]["policy_arns"] == [READ_ONLY]
    # The write-ahead entry outlives the handler: only a stored lease settles it.
    assert len(await env.wal()) == 1
    assert resp.secret.on_lease_stored is not None
    await resp.secret.on_lease_stored(True)
    assert await env.wal() == []


async def test_failed_issue_removes_the_user_and_the_wal_entry(env: Env) -> None:
    env.iam.fail["AddUserToGroup"] = lambda p: AwsError(
        "AddUserToGroup", "NoSuchEntity", "no group g", 404
    )
    with pytest.raises(BadRequest) as err:
        await env(R, "creds/r")
    assert err.value.messages == [
        "Error adding user to group: NoSuchEntity: no group g (calling AddUserToGroup)"
    ]
    assert env.iam.users == {}
    assert await env.wal() == []


async def test_failed_cleanup_leaves_the_wal_entry_for_rollback(env: Env) -> None:
    env.iam.fail["CreateAccessKey"] = lambda p: AwsError(
        "CreateAccessKey", "LimitExceeded", "too many", 409
    )
    env.iam.fail["ListGroupsForUser"] = lambda p: AwsError(
        "ListGroupsForUser", "ServiceFailure", "down", 500
    )
    with pytest.raises(BadRequest, match=r"^Error creating access keys: LimitExceeded"):
        await env(R, "creds/r")
    [user] = env.iam.users
    assert len(await env.wal()) == 1
    assert env.backend.wal.inflight == set()
    # Too young: Vault's 5-minute rule.
    assert await env.backend.rollback() == 0
    env.clock.now += timedelta(minutes=6)
    assert await env.backend.rollback() == 0  # AWS still failing: kept
    del env.iam.fail["ListGroupsForUser"]
    assert await env.backend.rollback() == 1
    assert env.iam.users == {} and await env.wal() == []
    assert user not in env.iam.users


async def test_definite_create_user_refusal_needs_no_cleanup(env: Env) -> None:
    env.iam.fail["CreateUser"] = lambda p: AwsError(
        "CreateUser", "EntityAlreadyExists", "exists", 409
    )
    with pytest.raises(BadRequest, match=r"^Error creating IAM user: EntityAlreadyExists"):
        await env(R, "creds/r")
    assert env.iam.ops() == ["CreateUser"]  # someone else's user is never touched
    assert await env.wal() == []


async def test_revoke_removes_everything_then_the_user(env: Env) -> None:
    resp = await env(R, "creds/r")
    env.iam.calls.clear()
    await env.backend.access_keys.revoke(env.lease(resp))
    assert env.iam.users == {}
    ops = env.iam.ops()
    assert ops[0] == "ListGroupsForUser" and ops[-1] == "DeleteUser"
    assert sorted(ops[1:4]) == ["ListAccessKeys", "ListAttachedUserPolicies", "ListUserPolicies"]
    assert sorted(ops[4:-1]) == [
        "DeleteAccessKey",
        "DeleteUserPolicy",
        "DetachUserPolicy",
        "RemoveUserFromGroup",
    ]
    for op, params in env.iam.calls:
        if op.startswith("List"):
            assert params.get("MaxItems") == 1000


async def test_delete_conflict_cleans_out_of_band_login_profile(env: Env) -> None:
    resp = await env(R, "creds/r")
    username = resp.secret.internal["username"]
    env.iam.login_profiles.add(username)  # added by hand (Vault issue #16685)
    await env.backend.access_keys.revoke(env.lease(resp))
    assert env.iam.users == {}
    ops = env.iam.ops()
    assert ops.count("DeleteUser") == 2 and "DeleteLoginProfile" in ops
    assert ops.index("DeleteLoginProfile") < len(ops) - 1


async def test_missing_user_young_lease_fails_old_lease_succeeds(env: Env) -> None:
    resp = await env(R, "creds/r")
    env.iam.users.clear()  # deleted by hand
    with pytest.raises(RevocationFailed, match="less than 5 minutes old"):
        await env.backend.access_keys.revoke(env.lease(resp, age=60))
    await env.backend.access_keys.revoke(env.lease(resp, age=301))  # counts as revoked


async def test_revoke_errors_are_retryable_and_throttling_is_flagged(env: Env) -> None:
    resp = await env(R, "creds/r")
    env.iam.fail["DeleteUser"] = lambda p: AwsError(
        "DeleteUser", "Throttling", "Rate exceeded", 400
    )
    with pytest.raises(RevocationFailed) as err:
        await env.backend.access_keys.revoke(env.lease(resp))
    assert is_throttling(err.value)
    assert "secret-" not in str(err.value)
    env.iam.fail["DeleteUser"] = lambda p: AwsError("DeleteUser", "ServiceFailure", "boom", 500)
    with pytest.raises(RevocationFailed) as err:
        await env.backend.access_keys.revoke(env.lease(resp))
    assert not is_throttling(err.value)
    del env.iam.fail["DeleteUser"]
    await env.backend.access_keys.revoke(env.lease(resp))
    assert env.iam.users == {}


async def test_sts_revoke_is_a_noop_and_not_renewable(env: Env) -> None:
    lease = LeaseRequest(
        "aws/sts/x/y",
        {"secret_type": "access_keys", "is_sts": True},
        env.storage,
        env.backend.ctx.mount,
        0.0,
    )
    await env.backend.access_keys.revoke(lease)
    assert env.iam.calls == []  # AWS cannot revoke temporary credentials
    with pytest.raises(BadRequest, match="lease is not renewable"):
        await env.backend.access_keys.renew(lease)


async def test_renew_uses_config_lease_not_the_increment(env: Env) -> None:
    resp = await env(R, "creds/r")
    lease = env.lease(resp)
    lease.increment = 999999
    assert await env.backend.access_keys.renew(lease) == 7200  # the mount default
    await env(U, "config/lease", {"lease": "30m", "lease_max": "1h"})
    assert await env.backend.access_keys.renew(lease) == 1800
    resp = await env(R, "creds/r")
    assert (resp.secret.ttl, resp.secret.max_ttl) == (1800, 3600)


async def test_username_template_failure_is_a_500(env: Env) -> None:
    await env(U, "config/root", {"username_template": "{{ random 70 }}"})
    with pytest.raises(VaultError) as err:
        await env(R, "creds/r")
    assert err.value.status == 500
    assert err.value.messages == [
        "1 error occurred:\n\t* the username generated by the template exceeds the IAM username "
        "length limits of 64 chars\n\n"
    ]
    assert env.iam.calls == []


def test_sts_clamp_and_policy_merge() -> None:
    assert clamp_ttl("federation_token", 3600) == (3600, [])
    ttl, warnings = clamp_ttl("session_token", 200000)
    assert ttl == 129600 and warnings == [
        'TTL of "55h33m20s" is more than AWS allows for session_token credentials; the '
        'credentials were issued for "36h"'
    ]
    assert clamp_ttl("assumed_role", 50000)[0] == 43200
    merged = combine_policies(
        [
            '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}',
            "",
            '{"Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}',
        ]
    )
    assert merged == (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},'
        '{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}'
    )
    assert combine_policies(["", ""]) == ""
