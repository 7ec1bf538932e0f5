"""Failures between strongroom and AWS, made by the fault-injecting proxy in front of moto.

No orphans: whatever fails, every IAM user the engine created is gone from
moto afterwards (immediately, or once AWS answers again).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.fakes.aws_proxy import AwsProxy
from tests.integration.aws.conftest import Api, Moto, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
EC2_READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"


@pytest.fixture(scope="module")
def aws(api: Api, module_proxy: AwsProxy) -> str:
    """A mount through the proxy, with botocore retries off (each test sets its own)."""
    path = api.mount_aws("awsf", module_proxy.url, max_retries=0)
    api.ok("POST", f"{path}/roles/ro", {"credential_type": "iam_user", "policy_arns": READ_ONLY})
    return path


def vault_users(moto: Moto) -> set[str]:
    return set(moto.users("vault-"))


def created_user(proxy: AwsProxy) -> str:
    [call] = proxy.calls_for("CreateUser")
    return call.params["UserName"]


def test_wrong_root_credentials(api: Api, moto: Moto) -> None:
    moto.admin_key(unique("admin-"))  # a real identity exists; the engine's key is not it
    path = api.mount_aws(unique("wrong"), moto.url, key="AKIAWRONGWRONGWRONG1", secret="nope")
    api.ok("POST", f"{path}/roles/ro", {"credential_type": "iam_user", "policy_arns": READ_ONLY})
    before = vault_users(moto)
    moto.set_auth(True)
    try:
        resp = api.get(f"{path}/creds/ro")
    finally:
        moto.set_auth(False)
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith("Error creating IAM user: InvalidClientTokenId: ")
    assert "nope" not in message  # the secret key never shows
    assert vault_users(moto) == before


def test_failure_before_access_key_leaves_no_user(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    before = vault_users(moto)
    proxy.fail("CreateAccessKey", code="ServiceFailure", status=500, message="boom")
    resp = api.get(f"{aws}/creds/ro")
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        "Error creating access keys: ServiceFailure: boom (calling CreateAccessKey)"
    ]
    user = created_user(proxy)
    assert not moto.user_exists(user)
    assert vault_users(moto) == before
    assert proxy.calls_for("DeleteUser")  # removed before the error was returned


def test_failed_attachment_is_rolled_back(api: Api, aws: str, proxy: AwsProxy, moto: Moto) -> None:
    api.ok(
        "POST",
        f"{aws}/roles/two",
        {
            "credential_type": "iam_user",
            "policy_arns": [READ_ONLY, "arn:aws:iam::aws:policy/NoSuchPolicyX"],
        },
    )
    resp = api.get(f"{aws}/creds/two")
    assert resp.status_code == 400
    assert resp.json()["errors"][0].startswith("Error attaching user policy: NoSuchEntity")
    assert not moto.user_exists(created_user(proxy))


def test_ambiguous_create_user_failure_is_cleaned(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    # A 5xx may mean AWS created the user anyway: the engine checks and cleans up.
    proxy.fail("CreateUser", code="ServiceFailure", status=500)
    resp = api.get(f"{aws}/creds/ro")
    assert resp.status_code == 400
    assert proxy.calls_for("ListGroupsForUser")  # the undo looked for the user


def test_max_retries_from_config(api: Api, proxy: AwsProxy, moto: Moto) -> None:
    path = api.mount_aws(unique("retry"), proxy.url, max_retries=2)
    api.ok("POST", f"{path}/roles/ro", {"credential_type": "iam_user", "policy_arns": READ_ONLY})
    proxy.fail("CreateUser", code="Throttling", status=400, message="Rate exceeded", times=1)
    body = api.ok("GET", f"{path}/creds/ro")
    assert len(proxy.calls_for("CreateUser")) == 2  # retried once by botocore
    api.revoke(body["lease_id"])
    # Without retries the throttling comes back as Vault's 502.
    api.ok("POST", f"{path}/config/root", {"max_retries": 0})
    proxy.reset()
    proxy.fail("CreateUser", code="Throttling", status=400, message="Rate exceeded", times=1)
    resp = api.get(f"{path}/creds/ro")
    assert resp.status_code == 502
    assert resp.json() == {"errors": ["upstream rate limited"]}
    assert len(proxy.calls_for("CreateUser")) == 1


def wait_for_attempt(api: Api, lease_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The lease's revocation record once the lease manager has tried (and failed) once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = api.ok("PUT", "sys/leases/lookup", {"lease_id": lease_id})["data"]
        if data.get("revocation", {}).get("attempts", 0) >= 1:
            return data["revocation"]
        time.sleep(0.1)
    raise AssertionError("no revocation attempt was recorded")


def test_sync_revocation_while_aws_down_reports_the_error(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    body = api.ok("GET", f"{aws}/creds/ro")
    user = moto.owner_of(body["data"]["access_key"])
    proxy.down("refuse")
    resp = api.revoke(body["lease_id"])
    proxy.up()
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(
        f"failed to revoke lease {body['lease_id']}: error listing groups for IAM user {user}: "
        "Could not connect to the endpoint URL"
    )
    assert "root-secret" not in message
    assert moto.user_exists(user)
    assert api.revoke(body["lease_id"]).status_code == 204
    assert not moto.user_exists(user)


def test_revocation_retried_while_aws_down(api: Api, aws: str, proxy: AwsProxy, moto: Moto) -> None:
    body = api.ok("GET", f"{aws}/creds/ro")
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None
    proxy.down("refuse")
    # `bao lease revoke` queues the revocation; the lease manager does the work.
    api.request("PUT", "sys/leases/revoke", json={"lease_id": body["lease_id"], "sync": False})
    revocation = wait_for_attempt(api, body["lease_id"])
    assert "Could not connect to the endpoint URL" in revocation["last_error"]
    assert moto.user_exists(user)
    proxy.up()
    assert moto.wait_gone(user, timeout=20), "the lease manager's retry deleted the user"
    resp = api.request("PUT", "sys/leases/lookup", json={"lease_id": body["lease_id"]})
    assert resp.status_code == 400


def test_revocation_retried_while_throttled(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    body = api.ok("GET", f"{aws}/creds/ro")
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None
    proxy.fail("DeleteUser", code="Throttling", status=400, message="Rate exceeded", times=2)
    api.request("PUT", "sys/leases/revoke", json={"lease_id": body["lease_id"], "sync": False})
    assert moto.wait_gone(user, timeout=25)
    assert len(proxy.calls_for("DeleteUser")) == 3


def test_delete_conflict_removes_out_of_band_additions(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    body = api.ok("GET", f"{aws}/creds/ro")
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None
    iam = moto.iam
    iam.create_login_profile(UserName=user, Password="Passw0rd!Passw0rd!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    # moto deletes such users anyway; real IAM answers DeleteConflict (issue #16685).
    proxy.fail(
        "DeleteUser",
        code="DeleteConflict",
        status=409,
        message="Cannot delete entity, must delete login profile first.",
        times=1,
    )
    resp = api.revoke(body["lease_id"])
    assert resp.status_code == 204, resp.text
    actions = proxy.actions()
    assert "DeleteLoginProfile" in actions
    assert "DeactivateMFADevice" in actions and "DeleteVirtualMFADevice" in actions
    assert actions[-1] == "DeleteUser" and actions.count("DeleteUser") == 2
    assert not moto.user_exists(user)


def test_deleted_by_hand_young_lease_is_retried(api: Api, aws: str, moto: Moto) -> None:
    """Vault's rule: a "no such user" within 5 minutes of issue may be IAM lag; retry."""
    body = api.ok("GET", f"{aws}/creds/ro")
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None
    iam = moto.iam
    for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    iam.delete_user(UserName=user)
    resp = api.revoke(body["lease_id"])
    assert resp.status_code == 400
    assert "less than 5 minutes old" in resp.json()["errors"][0]
    # An operator can still drop it.
    api.ok("PUT", f"sys/leases/revoke-force/{body['lease_id']}")


def test_independent_iam_calls_run_concurrently(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    for group in ("cc-a", "cc-b"):
        try:
            moto.iam.create_group(GroupName=group)
        except moto.iam.exceptions.EntityAlreadyExistsException:
            pass
    api.ok(
        "POST",
        f"{aws}/roles/wide",
        {
            "credential_type": "iam_user",
            "policy_arns": [READ_ONLY, EC2_READ_ONLY, POWER_USER],
            "iam_groups": ["cc-a", "cc-b"],
            "iam_tags": ["a=1"],
            "policy_document": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        },
    )
    proxy.delay_ms = 200
    start = time.monotonic()
    body = api.ok("GET", f"{aws}/creds/wide")
    elapsed = time.monotonic() - start
    proxy.delay_ms = 0
    second = [c for c in proxy.calls if c.action != "CreateUser"]
    assert sorted(c.action for c in second) == sorted(
        ["AttachUserPolicy"] * 3
        + ["AddUserToGroup"] * 2
        + ["PutUserPolicy", "TagUser", "CreateAccessKey"]
    )
    attaches = proxy.calls_for("AttachUserPolicy") + proxy.calls_for("AddUserToGroup")
    assert all(a.overlaps(b) for a in attaches for b in attaches if a is not b)
    # 9 calls of >= 200 ms each, in two round trips instead of nine.
    assert elapsed < 9 * 0.2 * 0.6, elapsed
    [create] = proxy.calls_for("CreateUser")
    assert all(c.start >= create.end for c in second)
    api.revoke(body["lease_id"])


def test_wait_for_propagation_uses_the_new_key(
    api: Api, aws: str, proxy: AwsProxy, moto: Moto
) -> None:
    resp = api.post(
        f"{aws}/roles/wait-sts",
        {"credential_type": "session_token", "wait_for_propagation": True},
    )
    assert resp.status_code == 400
    assert "wait_for_propagation parameter only valid for iam_user credential type" in resp.text
    api.ok(
        "POST",
        f"{aws}/roles/wait",
        {
            "credential_type": "iam_user",
            "policy_arns": READ_ONLY,
            "wait_for_propagation": True,
            "propagation_timeout": "10s",
        },
    )
    role = api.ok("GET", f"{aws}/roles/wait")["data"]
    assert role["wait_for_propagation"] is True and role["propagation_timeout"] == 10
    body = api.ok("GET", f"{aws}/creds/wait")
    assert body["warnings"] is None
    checks = proxy.calls_for("GetCallerIdentity")
    assert [c.access_key for c in checks] == [body["data"]["access_key"]]
    [key] = proxy.calls_for("CreateAccessKey")
    assert checks[0].start >= key.end
    api.revoke(body["lease_id"])


def test_wait_for_propagation_timeout(api: Api, aws: str, proxy: AwsProxy, moto: Moto) -> None:
    api.ok(
        "POST",
        f"{aws}/roles/wait-short",
        {
            "credential_type": "iam_user",
            "policy_arns": READ_ONLY,
            "wait_for_propagation": True,
            "propagation_timeout": "2s",
        },
    )
    proxy.fail(
        "GetCallerIdentity",
        code="InvalidClientTokenId",
        status=403,
        message="The security token included in the request is invalid.",
    )
    start = time.monotonic()
    body = api.ok("GET", f"{aws}/creds/wait-short")
    elapsed = time.monotonic() - start
    assert 1.9 <= elapsed < 5, elapsed
    assert body["warnings"] == [
        "AWS did not accept the new access key within 2s (last answer: InvalidClientTokenId); "
        "IAM changes usually propagate within seconds, retry calls that fail with "
        "InvalidClientTokenId"
    ]
    assert len(proxy.calls_for("GetCallerIdentity")) >= 3  # polled with back-off
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None  # still issued: the key is valid and will work shortly
    api.revoke(body["lease_id"])
    assert not moto.user_exists(user)
