"""Failures between strongroom and Alibaba Cloud, made by the fake's fault injection.

No orphans: whatever fails, every RAM user and policy the engine created is
gone from the fake afterwards (immediately, or once the cloud answers again).
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.alicloud.control import FakeControl
from tests.integration.alicloud.conftest import READ_RAM, Api, owner_of, unique, wait_for


@pytest.fixture(scope="module")
def mount(api: Api) -> str:
    path = api.mount("ali-faults")
    api.ok(
        "POST",
        f"{path}/role/full",
        {
            "inline_policies": json.dumps([READ_RAM]),
            "remote_policies": ["name:AliyunOSSReadOnlyAccess,type:System"],
        },
    )
    return path


def snapshot(fake: FakeControl) -> tuple[set[str], set[str]]:
    state = fake.state()
    return set(state["Users"]), set(state["Policies"])


def test_wrong_root_credentials(api: Api, fake: FakeControl) -> None:
    before = snapshot(fake)
    for key, secret, code in [
        ("LTAI5tFakeRootAccessKey1", "not-the-secret", "SignatureDoesNotMatch"),
        ("LTAI5tNoSuchKeyAnywhere0", "whatever", "InvalidAccessKeyId.NotFound"),
    ]:
        path = api.mount(unique("ali-wrong"), key=key, secret=secret)
        api.ok("POST", f"{path}/role/r", {"remote_policies": "name:ReadOnlyAccess,type:System"})
        resp = api.get(f"{path}/creds/r")
        assert resp.status_code == 400, resp.text
        [message] = resp.json()["errors"]
        assert message.startswith(f"error creating RAM user: {code}: ")
        assert message.endswith(
            "(calling CreateUser; check the access_key and secret_key written to config)"
        )
        assert secret not in message
    assert snapshot(fake) == before


def test_failure_half_way_leaves_nothing(api: Api, mount: str, fake: FakeControl) -> None:
    before = snapshot(fake)
    fake.fail("CreateAccessKey", code="InternalError", status=500, message="boom")
    resp = api.get(f"{mount}/creds/full")
    assert resp.status_code == 502
    assert resp.json()["errors"] == [
        "error creating access key: InternalError: boom (calling CreateAccessKey)"
    ]
    assert snapshot(fake) == before
    actions = [c["action"] for c in fake.calls()]
    assert actions[:5] == [
        "CreateUser",
        "CreatePolicy",
        "AttachPolicyToUser",
        "AttachPolicyToUser",
        "CreateAccessKey",
    ]
    assert {"DetachPolicyFromUser", "DeletePolicy", "DeleteUser"} <= set(actions[5:])


def test_a_missing_remote_policy_is_a_clear_error(api: Api, mount: str, fake: FakeControl) -> None:
    api.ok(
        "POST",
        f"{mount}/role/typo",
        {
            "inline_policies": json.dumps([READ_RAM]),
            "remote_policies": ["name:AliyunOSSReadOnlyAcess,type:System"],
        },
    )
    before = snapshot(fake)
    resp = api.get(f"{mount}/creds/typo")
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(
        "error attaching policy System:AliyunOSSReadOnlyAcess: EntityNotExist.Policy: "
    )
    assert snapshot(fake) == before


def test_quotas_reach_the_user(api: Api, mount: str, fake: FakeControl) -> None:
    before = snapshot(fake)
    try:
        fake.quotas(users=len(before[0]))
        resp = api.get(f"{mount}/creds/full")
        assert resp.status_code == 400
        assert resp.json()["errors"] == [
            "error creating RAM user: LimitExceeded.User: The count of users exceeds the quota "
            f"(limit = {len(before[0])}). (calling CreateUser)"
        ]
        fake.quotas(users=1000, access_keys_per_user=0)
        resp = api.get(f"{mount}/creds/full")
        assert resp.status_code == 400
        assert resp.json()["errors"] == [
            "error creating access key: LimitExceeded.User.AccessKey: Current user access key "
            "quota exceeded (limit = 0). (calling CreateAccessKey)"
        ]
    finally:
        fake.quotas(users=1000, access_keys_per_user=2)
    assert snapshot(fake) == before


def test_throttling_is_reported_and_leaves_nothing(api: Api, mount: str, fake: FakeControl) -> None:
    before = snapshot(fake)
    fake.throttle("AttachPolicyToUser")
    resp = api.get(f"{mount}/creds/full")
    assert resp.status_code == 502
    [message] = resp.json()["errors"]
    assert "Throttling.User: Request was denied due to user flow control." in message
    assert snapshot(fake) == before


def test_unreachable_cloud_during_revocation_is_retried(
    api: Api, mount: str, fake: FakeControl
) -> None:
    body = api.ok("GET", f"{mount}/creds/full")
    user = owner_of(fake, body["data"]["access_key"])
    assert user is not None
    fake.down("refuse", seconds=2.5)  # the port itself closes, then reopens
    resp = api.revoke(body["lease_id"])
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(f"failed to revoke lease {body['lease_id']}: error removing RAM user")
    assert "could not reach http://127.0.0.1:" in message
    lease = api.lease(body["lease_id"])
    assert lease.status_code == 200  # kept, and retried by the lease manager
    wait_for(lambda: user["UserName"] not in fake.users(), timeout=20, every=0.25)
    wait_for(lambda: api.lease(body["lease_id"]).status_code == 400, timeout=5)
    assert not [p for p in fake.custom_policies() if p.startswith(user["UserName"])]
