"""The engine's HTTP API against a real server process and the fake RAM/STS over HTTP.

Each issued identity is checked inside the fake: the RAM user, its key, the
policies the role asked for, and that the key really works (and only as far as
its policies allow); each revoked or expired one is checked gone.
"""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_ram20150501 import models as ram_models

from tests.fakes.alicloud.control import FakeControl, ram_client, sts_client
from tests.integration.alicloud.conftest import READ_RAM, Api, owner_of, sts_role, unique, wait_for


@pytest.fixture(scope="module")
def mount(api: Api) -> str:
    return api.mount("ali-custom/path")


def error_code(call) -> str:  # type: ignore[no-untyped-def]
    try:
        call()
    except Exception as err:
        return str(getattr(err, "code", type(err).__name__))
    return "ok"


def test_config_never_returns_the_secret(api: Api) -> None:
    path = unique("ali-config")
    api.ok("POST", f"sys/mounts/{path}", {"type": "alicloud"})
    assert api.get(f"{path}/config").status_code == 404
    resp = api.post(f"{path}/config", {"secret_key": "s"})
    assert (resp.status_code, resp.json()) == (400, {"errors": ["access_key is required"]})
    resp = api.post(f"{path}/config", {"access_key": "a"})
    assert (resp.status_code, resp.json()) == (400, {"errors": ["secret_key is required"]})
    assert api.post(f"{path}/config", {"access_key": "AK", "secret_key": "SK"}).status_code == 204
    body = api.ok("GET", f"{path}/config")
    assert body["data"] == {"access_key": "AK"}
    assert "SK" not in json.dumps(body)
    assert api.delete(f"{path}/config").status_code == 204
    assert api.get(f"{path}/config").status_code == 404


def test_roles_crud_and_validation(api: Api, mount: str) -> None:
    api.ok("POST", f"{mount}/role/Mixed", {"inline_policies": json.dumps([READ_RAM])})
    role = api.ok("GET", f"{mount}/role/mixed")["data"]
    assert role["remote_policies"] is None and role["role_arn"] == ""
    assert (role["ttl"], role["max_ttl"]) == (0, 0)
    [inline] = role["inline_policies"]
    assert inline["policy_document"] == READ_RAM and len(inline["hash"]) == 32
    # A partial update keeps what it does not send; rewriting documents renews the hashes.
    api.ok(
        "POST",
        f"{mount}/role/mixed",
        {
            "remote_policies": ["name:AliyunOSSReadOnlyAccess,type:System"],
            "ttl": "1h",
            "max_ttl": 7200,
        },
    )
    role = api.ok("GET", f"{mount}/role/mixed")["data"]
    assert role["inline_policies"][0]["hash"] == inline["hash"]
    assert role["remote_policies"] == [{"name": "AliyunOSSReadOnlyAccess", "type": "System"}]
    assert (role["ttl"], role["max_ttl"]) == (3600, 7200)
    api.ok("POST", f"{mount}/role/mixed", {"inline_policies": json.dumps([READ_RAM])})
    assert (
        api.ok("GET", f"{mount}/role/mixed")["data"]["inline_policies"][0]["hash"] != inline["hash"]
    )

    bad = {
        "remote_policies=name": ({"remote_policies": "name"}, "unable to recognize pair in name"),
        "unknown key": ({"remote_policies": "nom:A,type:System"}, "invalid key: nom"),
        "no type": ({"remote_policies": "name:A"}, "policy type is required in name:A"),
        "no name": ({"remote_policies": "type:System"}, "policy name is required in type:System"),
        "ttl": (
            {"inline_policies": json.dumps([READ_RAM]), "ttl": 10, "max_ttl": 5},
            "ttl exceeds max_ttl",
        ),
        "arn+remote": (
            {"role_arn": "acs:ram::1:role/r", "remote_policies": "name:A,type:System"},
            "remote_policies must be blank when an arn is present",
        ),
        "arn+inline": (
            {"role_arn": "acs:ram::1:role/r", "inline_policies": json.dumps([READ_RAM])},
            "inline_policies must be blank when an arn is present",
        ),
        "nothing": (
            {},
            "must include an arn, or at least one of inline_policies or remote_policies",
        ),
        "object": (
            {"inline_policies": json.dumps(READ_RAM)},
            "json: cannot unmarshal object into Go value of type []map[string]interface {}",
        ),
    }
    for what, (body, message) in bad.items():
        resp = api.post(f"{mount}/role/{unique('bad')}", body)
        assert (resp.status_code, resp.json()) == (400, {"errors": [message]}), what

    resp = api.post(f"{mount}/role/sts-ttl", {"role_arn": "acs:ram::1:role/r", "ttl": 60})
    assert resp.status_code == 200
    assert resp.json()["warnings"] == [
        "role_arn is set so ttl and max_ttl will be ignored because they're not editable on "
        "STS tokens"
    ]
    for listing in ("role", "role/", "roles"):
        keys = api.list(f"{mount}/{listing}").json()["data"]["keys"]
        assert {"mixed", "sts-ttl"} <= set(keys)
    assert api.delete(f"{mount}/role/sts-ttl").status_code == 204
    assert api.get(f"{mount}/role/sts-ttl").status_code == 404


def test_unknown_role_and_missing_config(api: Api, mount: str) -> None:
    assert api.get(f"{mount}/creds/nope").status_code == 404
    path = unique("ali-noconf")
    api.ok("POST", f"sys/mounts/{path}", {"type": "alicloud"})
    api.ok("POST", f"{path}/role/r", {"remote_policies": "name:ReadOnlyAccess,type:System"})
    resp = api.get(f"{path}/creds/r")
    assert (resp.status_code, resp.json()) == (
        400,
        {"errors": ["unable to create secret because no credentials are configured"]},
    )


def test_ram_credentials_from_issue_to_revocation(api: Api, mount: str, fake: FakeControl) -> None:
    api.ok(
        "POST",
        f"{mount}/role/policy-based",
        {
            "inline_policies": json.dumps([READ_RAM]),
            "remote_policies": ["name:AliyunOSSReadOnlyAccess,type:System"],
            "ttl": 600,
            "max_ttl": 1200,
        },
    )
    body = api.ok("GET", f"{mount}/creds/policy-based")
    assert body["lease_id"].startswith(f"{mount}/creds/policy-based/")
    assert (body["renewable"], body["lease_duration"]) == (True, 600)
    assert set(body["data"]) == {"access_key", "secret_key"}
    key, secret = body["data"]["access_key"], body["data"]["secret_key"]

    # Inside the fake: the user, its key, its policies, named as the reference names them.
    user = owner_of(fake, key)
    assert user is not None
    name = user["UserName"]
    assert name.startswith("token-policy-based-") and user["DisplayName"] == name
    custom = [p["PolicyName"] for p in user["Policies"] if p["PolicyType"] == "Custom"]
    assert len(custom) == 1 and custom[0].startswith(f"{name}-")
    assert {"PolicyType": "System", "PolicyName": "AliyunOSSReadOnlyAccess"} in [
        {k: p[k] for k in ("PolicyType", "PolicyName")} for p in user["Policies"]
    ]
    policy = fake.custom_policies()[custom[0]]
    assert policy["PolicyDocument"] == READ_RAM
    assert policy["Description"] == "Created by Vault."
    assert [c["action"] for c in fake.calls()] == [
        "CreateUser",
        "CreatePolicy",
        "AttachPolicyToUser",
        "AttachPolicyToUser",
        "CreateAccessKey",
    ]

    # The key works, as far as its policies go.
    ram = ram_client(fake.endpoint, key, secret, signature="v1")
    assert error_code(lambda: ram.get_user(ram_models.GetUserRequest(user_name=name))) == "ok"
    assert error_code(lambda: ram.list_users(ram_models.ListUsersRequest())) == "NoPermission"

    # Renewal follows the role's ttl; without the role there is none.
    lease_id = body["lease_id"]
    renewed = api.ok("PUT", "sys/leases/renew", {"lease_id": lease_id, "increment": 60})
    assert renewed["lease_duration"] == 600

    fake.clear_calls()
    resp = api.revoke(lease_id)
    assert resp.status_code == 204, resp.text
    assert [c["action"] for c in fake.calls()] == [
        "DeleteAccessKey",
        "DetachPolicyFromUser",
        "DeletePolicy",
        "DetachPolicyFromUser",
        "DeleteUser",
    ]
    assert name not in fake.users()
    assert custom[0] not in fake.custom_policies()
    assert api.lease(lease_id).status_code == 400  # the lease is gone too
    code = error_code(lambda: ram.get_user(ram_models.GetUserRequest(user_name=name)))
    assert code == "InvalidAccessKeyId.NotFound"


def test_renewal_after_the_role_is_deleted(api: Api, mount: str, fake: FakeControl) -> None:
    api.ok("POST", f"{mount}/role/doomed", {"remote_policies": "name:ReadOnlyAccess,type:System"})
    body = api.ok("GET", f"{mount}/creds/doomed")
    api.ok("DELETE", f"{mount}/role/doomed")
    resp = api.http.put("sys/leases/renew", json={"lease_id": body["lease_id"]})
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        "role doomed has been deleted so no further renewals are allowed"
    ]
    # The lease stays revocable: its internal data does not need the role.
    user = owner_of(fake, body["data"]["access_key"])
    assert user is not None
    assert api.revoke(body["lease_id"]).status_code == 204
    assert user["UserName"] not in fake.users()


def test_sts_credentials(api: Api, mount: str, fake: FakeControl) -> None:
    arn = sts_role(fake, unique("trusted-"))
    api.ok("POST", f"{mount}/role/role-based", {"role_arn": arn})
    before = time.time()
    body = api.ok("GET", f"{mount}/creds/role-based")
    assert body["renewable"] is False
    assert 3590 <= body["lease_duration"] <= 3600
    data = body["data"]
    assert set(data) == {"access_key", "secret_key", "security_token", "expiration"}
    assert data["access_key"].startswith("STS.")
    expires = time.mktime(time.strptime(data["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(expires - (before + 3600)) < 5
    identity = (
        sts_client(fake.endpoint, data["access_key"], data["secret_key"], data["security_token"])
        .get_caller_identity()
        .body
    )
    assert identity.identity_type == "AssumedRoleUser"
    assert "/token-role-based-" in identity.arn
    [call] = fake.calls("AssumeRole")
    assert call["params"]["RoleArn"] == arn and "DurationSeconds" not in call["params"]
    resp = api.http.put("sys/leases/renew", json={"lease_id": body["lease_id"]})
    assert (resp.status_code, resp.json()["errors"]) == (400, ["lease is not renewable"])
    assert api.revoke(body["lease_id"]).status_code == 204  # a no-op: STS keys expire


def test_expiry_deletes_the_user(api: Api, mount: str, fake: FakeControl) -> None:
    api.ok(
        "POST",
        f"{mount}/role/short",
        {"remote_policies": "name:ReadOnlyAccess,type:System", "ttl": "1s"},
    )
    body = api.ok("GET", f"{mount}/creds/short")
    assert body["lease_duration"] == 1
    user = owner_of(fake, body["data"]["access_key"])
    assert user is not None
    wait_for(lambda: user["UserName"] not in fake.users(), timeout=10)
    wait_for(lambda: api.lease(body["lease_id"]).status_code == 400, timeout=5)
