"""The fake Alibaba Cloud enforces RAM's and STS's rules, as seen through the official SDK.

The fake runs in a thread on a loopback port; every call goes over HTTP through
`alibabacloud_ram20150501` / `alibabacloud_sts20150401`, signed in both wire
styles (classic RPC HMAC-SHA1 and ACS3-HMAC-SHA256).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_ram20150501 import models as R
from alibabacloud_sts20150401 import models as S

from tests.fakes.alicloud import DEFAULT_ROOT_KEY, DEFAULT_ROOT_SECRET, FakeAliCloud
from tests.fakes.alicloud.control import FakeControl, ram_client, sts_client
from tests.fakes.alicloud.models import now_iso, rpc_signature

DOC = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAliCloud]:
    fake = FakeAliCloud().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeAliCloud) -> FakeAliCloud:
    server.reset()
    return server


@pytest.fixture(params=["v1", "v3"])
def ram(request: pytest.FixtureRequest, fake: FakeAliCloud) -> Any:
    return ram_client(fake.endpoint, signature=request.param)


def failure(call: Callable[[], Any]) -> tuple[int, str]:
    """(HTTP status, error code) of a call that must fail."""
    try:
        call()
    except Exception as err:
        return getattr(err, "status_code", 0), getattr(err, "code", None) or type(err).__name__
    raise AssertionError("the call succeeded")


def user(ram: Any, name: str) -> None:
    ram.create_user(R.CreateUserRequest(user_name=name))


def test_both_signature_styles_authenticate(fake: FakeAliCloud) -> None:
    for style in ("v1", "v3"):
        ram = ram_client(fake.endpoint, signature=style)
        user(ram, f"alice-{style}")
        wrong = ram_client(fake.endpoint, secret="wrong", signature=style)
        assert failure(lambda w=wrong: w.list_users(R.ListUsersRequest())) == (
            400,
            "SignatureDoesNotMatch",
        )
        unknown = ram_client(fake.endpoint, key="LTAI5tUnknownKey00000000", signature=style)
        assert failure(lambda u=unknown: u.list_users(R.ListUsersRequest())) == (
            404,
            "InvalidAccessKeyId.NotFound",
        )
    assert {c.style for c in fake.calls} == {"v1", "v3"}
    assert set(fake.account.users) == {"alice-v1", "alice-v3"}


def rpc_request(fake: FakeAliCloud, **overrides: str) -> httpx.Response:
    params = {
        "Action": "ListUsers",
        "Version": "2015-05-01",
        "Format": "JSON",
        "AccessKeyId": DEFAULT_ROOT_KEY,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "nonce-1",
        "Timestamp": now_iso(),
        **overrides,
    }
    params["Signature"] = rpc_signature(DEFAULT_ROOT_SECRET, "GET", params)
    return httpx.get(f"{fake.url}/?{urlencode(params)}")


def test_classic_rpc_timestamps_and_nonces(fake: FakeAliCloud) -> None:
    first = rpc_request(fake)
    assert first.status_code == 200 and "RequestId" in first.json()
    replay = rpc_request(fake)
    assert (replay.status_code, replay.json()["Code"]) == (400, "SignatureNonceUsed")
    old = rpc_request(fake, SignatureNonce="n2", Timestamp=now_iso(time.time() - 3600))
    assert (old.status_code, old.json()["Code"]) == (400, "InvalidTimeStamp.Expired")
    body = rpc_request(fake, SignatureNonce="n3", Action="NoSuchAction").json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == "InvalidAction.NotFound"


def test_user_rules(ram: Any) -> None:
    assert failure(lambda: user(ram, "x" * 65)) == (400, "InvalidParameter.UserName.Length")
    assert failure(lambda: user(ram, "a b")) == (400, "InvalidParameter.UserName.InvalidChars")
    assert failure(lambda: user(ram, "al@ice")) == (400, "InvalidParameter.UserName.InvalidChars")
    user(ram, "a.b_c-d")
    assert failure(lambda: user(ram, "a.b_c-d")) == (409, "EntityAlreadyExists.User")
    missing = R.GetUserRequest(user_name="nobody")
    assert failure(lambda: ram.get_user(missing)) == (404, "EntityNotExist.User")


def test_two_access_keys_per_user(ram: Any) -> None:
    user(ram, "bob")
    keys = [ram.create_access_key(R.CreateAccessKeyRequest(user_name="bob")) for _ in range(2)]
    third = R.CreateAccessKeyRequest(user_name="bob")
    assert failure(lambda: ram.create_access_key(third)) == (409, "LimitExceeded.User.AccessKey")
    key_id = keys[0].body.access_key.access_key_id
    assert failure(lambda: ram.delete_user(R.DeleteUserRequest(user_name="bob"))) == (
        409,
        "DeleteConflict.User.AccessKey",
    )
    delete = R.DeleteAccessKeyRequest(user_name="bob", user_access_key_id=key_id)
    ram.delete_access_key(delete)
    assert failure(lambda: ram.delete_access_key(delete)) == (
        404,
        "EntityNotExist.User.AccessKey",
    )


def test_policy_rules(ram: Any, fake: FakeAliCloud) -> None:
    def create(name: str, document: str = DOC) -> Any:
        return ram.create_policy(R.CreatePolicyRequest(policy_name=name, policy_document=document))

    assert failure(lambda: create("bad_name")) == (400, "InvalidParameter.PolicyName.InvalidChars")
    assert failure(lambda: create("p" * 129)) == (400, "InvalidParameter.PolicyName.Length")
    assert failure(lambda: create("p", '{"Version": "1"}')) == (400, "MalformedPolicyDocument")
    assert failure(lambda: create("p", "[1]")) == (400, "MalformedPolicyDocument")
    big = json.dumps(
        {
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "x" * 7000}],
        }
    )
    assert failure(lambda: create("p", big)) == (400, "InvalidParameter.PolicyDocument.Length")
    created = create("my-policy").body.policy
    assert (created.policy_type, created.default_version) == ("Custom", "v1")
    assert failure(lambda: create("my-policy")) == (409, "EntityAlreadyExists.Policy")

    user(ram, "carol")
    attach = R.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="my-policy", user_name="carol"
    )
    ram.attach_policy_to_user(attach)
    assert failure(lambda: ram.attach_policy_to_user(attach)) == (
        409,
        "EntityAlreadyExists.User.Policy",
    )
    unknown = R.AttachPolicyToUserRequest(
        policy_type="System", policy_name="NoSuchPolicy", user_name="carol"
    )
    assert failure(lambda: ram.attach_policy_to_user(unknown)) == (404, "EntityNotExist.Policy")
    delete = R.DeletePolicyRequest(policy_name="my-policy")
    assert failure(lambda: ram.delete_policy(delete)) == (409, "DeleteConflict.Policy.User")
    assert failure(lambda: ram.delete_user(R.DeleteUserRequest(user_name="carol"))) == (
        409,
        "DeleteConflict.User.Policy",
    )
    listed = ram.list_policies_for_user(R.ListPoliciesForUserRequest(user_name="carol"))
    assert [p.policy_name for p in listed.body.policies.policy] == ["my-policy"]
    ram.detach_policy_from_user(
        R.DetachPolicyFromUserRequest(
            policy_type="Custom", policy_name="my-policy", user_name="carol"
        )
    )

    # Five versions at most; extra versions block DeletePolicy unless cascading.
    for _ in range(4):
        ram.create_policy_version(
            R.CreatePolicyVersionRequest(
                policy_name="my-policy", policy_document=DOC, set_as_default=True
            )
        )
    sixth = R.CreatePolicyVersionRequest(policy_name="my-policy", policy_document=DOC)
    assert failure(lambda: ram.create_policy_version(sixth)) == (
        409,
        "LimitExceeded.Policy.Version",
    )
    assert failure(lambda: ram.delete_policy(delete)) == (409, "DeleteConflict.Policy.Version")
    ram.delete_policy(R.DeletePolicyRequest(policy_name="my-policy", cascading_delete=True))
    assert "my-policy" not in fake.account.snapshot()["Policies"]


def test_issued_keys_act_within_their_policies(ram: Any, fake: FakeAliCloud) -> None:
    user(ram, "dave")
    key = ram.create_access_key(R.CreateAccessKeyRequest(user_name="dave")).body.access_key
    dave = ram_client(fake.endpoint, key.access_key_id, key.access_key_secret)
    get = R.GetUserRequest(user_name="dave")
    assert failure(lambda: dave.get_user(get)) == (403, "NoPermission")
    ram.attach_policy_to_user(
        R.AttachPolicyToUserRequest(
            policy_type="System", policy_name="AliyunRAMReadOnlyAccess", user_name="dave"
        )
    )
    assert dave.get_user(get).body.user.user_name == "dave"
    assert failure(lambda: dave.create_user(R.CreateUserRequest(user_name="eve"))) == (
        403,
        "NoPermission",
    )
    identity = sts_client(fake.endpoint, key.access_key_id, key.access_key_secret)
    assert identity.get_caller_identity().body.identity_type == "RAMUser"
    ram.update_access_key(
        R.UpdateAccessKeyRequest(
            user_name="dave", user_access_key_id=key.access_key_id, status="Inactive"
        )
    )
    assert failure(lambda: dave.get_user(get)) == (400, "InvalidAccessKeyId.Inactive")


def trust_role(ram: Any, name: str, principal: str) -> str:
    trust = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [principal]}}
        ],
    }
    role = ram.create_role(
        R.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(trust))
    )
    return role.body.role.arn


def test_assume_role(fake: FakeAliCloud) -> None:
    ram = ram_client(fake.endpoint)
    sts = sts_client(fake.endpoint, signature="v1")
    acct = fake.account.account_id
    arn = trust_role(ram, "Trusted", f"acs:ram::{acct}:root")
    untrusted = trust_role(ram, "other", "acs:ram::999:root")
    ram.attach_policy_to_role(
        R.AttachPolicyToRoleRequest(
            policy_type="System", policy_name="AliyunRAMReadOnlyAccess", role_name="Trusted"
        )
    )

    def assume(role_arn: str, session: str = "s1", duration: int | None = None) -> Any:
        request = S.AssumeRoleRequest(
            role_arn=role_arn, role_session_name=session, duration_seconds=duration
        )
        return sts.assume_role(request)

    assert failure(lambda: assume(f"acs:ram::{acct}:role/nope")) == (404, "EntityNotExist.Role")
    assert failure(lambda: assume(untrusted)) == (403, "NoPermission")
    assert failure(lambda: assume(arn, "x")) == (400, "InvalidParameter.RoleSessionName")
    assert failure(lambda: assume(arn, duration=600)) == (400, "InvalidParameter.DurationSeconds")
    body = assume(arn).body
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.")
    assert time.strptime(creds.expiration, "%Y-%m-%dT%H:%M:%SZ")
    assert body.assumed_role_user.arn == f"acs:ram::{acct}:role/trusted/s1"

    session = ram_client(
        fake.endpoint, creds.access_key_id, creds.access_key_secret, creds.security_token
    )
    assert session.list_users(R.ListUsersRequest()).body.users is not None
    assert failure(lambda: session.create_user(R.CreateUserRequest(user_name="x"))) == (
        403,
        "NoPermission",
    )
    no_token = ram_client(fake.endpoint, creds.access_key_id, creds.access_key_secret)
    assert failure(lambda: no_token.list_users(R.ListUsersRequest()))[1] == "MissingSecurityToken"
    fake.account.sessions[creds.access_key_id].expires = time.time() - 1
    assert failure(lambda: session.list_users(R.ListUsersRequest())) == (
        400,
        "InvalidSecurityToken.Expired",
    )


def test_fault_injection_and_state(fake: FakeAliCloud) -> None:
    control = FakeControl(fake.url)
    ram = ram_client(fake.endpoint)
    control.fail("CreateUser", times=2, code="InternalError", status=500)
    for _ in range(2):
        assert failure(lambda: user(ram, "frank")) == (500, "InternalError")
    user(ram, "frank")  # the third goes through
    control.throttle("GetUser")
    assert failure(lambda: ram.get_user(R.GetUserRequest(user_name="frank"))) == (
        400,
        "Throttling.User",
    )
    control.fail("*", match={"UserName": "frank"}, times=None, code="X", status=503)
    assert failure(lambda: ram.get_user(R.GetUserRequest(user_name="frank")))[1] == "X"
    control.clear_faults()

    control.down("503")
    assert failure(lambda: ram.list_users(R.ListUsersRequest())) == (503, "ServiceUnavailable")
    control.down("reset")
    assert failure(lambda: ram.list_users(R.ListUsersRequest()))[1] == "UnretryableException"
    control.up()
    # A window wide enough that a loaded machine still sees the port closed.
    control.down("refuse", seconds=2)
    time.sleep(0.3)
    with pytest.raises(httpx.TransportError):
        control.state()
    control.wait_ready(timeout=5)
    assert ram.list_users(R.ListUsersRequest()).body.users.user[0].user_name == "frank"

    key = ram.create_access_key(R.CreateAccessKeyRequest(user_name="frank")).body.access_key
    state = control.state()
    assert key.access_key_secret not in json.dumps(state)
    assert state["Users"]["frank"]["AccessKeys"][0]["AccessKeyId"] == key.access_key_id
    injected = [c for c in control.calls() if c["injected"]]
    assert [c["action"] for c in injected][:3] == ["CreateUser", "CreateUser", "GetUser"]
    assert control.quotas(users=1)["users"] == 1
    assert failure(lambda: user(ram, "grace")) == (409, "LimitExceeded.User")
    control.reset()
    assert control.state()["Users"] == {}
    control.close()
