"""Failures: bad root credentials, half-built accounts, an unreachable cloud, quotas, races."""

from __future__ import annotations

import json
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.gcp import FakeGcp, member
from tests.integration.gcp.conftest import (
    CLOUD_PLATFORM,
    Api,
    hcl,
    project_binding,
    unique,
    wait_until,
)


def token_roleset(project: str, extra: dict[str, list[str]] | None = None) -> dict[str, Any]:
    bindings = {project_binding(project): ["roles/viewer"], **(extra or {})}
    return {"project": project, "bindings": hcl(bindings), "token_scopes": CLOUD_PLATFORM}


def key_roleset(project: str) -> dict[str, Any]:
    return {
        "project": project,
        "secret_type": "service_account_key",
        "bindings": hcl({project_binding(project): ["roles/viewer"]}),
    }


def vault_accounts(fake: FakeGcp, project: str) -> list[str]:
    return [e for e in fake.accounts("vault") if e.endswith(f"@{project}.iam.gserviceaccount.com")]


def test_wrong_root_key_is_a_clear_400_and_creates_nothing(api: Api, fake: FakeGcp) -> None:
    mount, project, creds = api.mount_gcp(fake)
    # A key file whose key Google never heard of (e.g. deleted, or from another account).
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    creds["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    api.ok("POST", f"{mount}/config", {"credentials": json.dumps(creds)})
    fake.clear_calls()
    status, message = api.error("POST", f"{mount}/roleset/r", token_roleset(project))
    assert status == 400
    assert message == (
        "unable to create service account: oauth2: cannot fetch token: "
        "invalid_grant: Invalid JWT Signature."
    )
    assert "PRIVATE KEY" not in message
    assert [c["operation"] for c in fake.calls()] == ["oauth2.token"]
    assert vault_accounts(fake, project) == []
    assert api.get(f"{mount}/roleset/r").status_code == 404


def test_root_without_permission_is_a_clear_400_and_creates_nothing(
    api: Api, fake: FakeGcp
) -> None:
    project = unique("noperm-")
    fake.project(project)
    creds = fake.root_credentials(project, account_id="viewer-only", roles=["roles/viewer"])
    mount = unique("gcp-noperm-")
    api.ok("POST", f"sys/mounts/{mount}", {"type": "gcp"})
    api.ok("POST", f"{mount}/config", {"credentials": json.dumps(creds)})
    status, message = api.error("POST", f"{mount}/roleset/r", token_roleset(project))
    assert status == 400
    assert message == (
        "unable to create service account: googleapi: Error 403: Permission "
        "'iam.serviceAccounts.create' denied on resource (or it may not exist)., forbidden"
    )
    assert vault_accounts(fake, project) == []
    assert api.get(f"{mount}/roleset/r").status_code == 404


def test_failed_binding_half_way_leaves_nothing(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    bucket = unique("bkt-")
    fake.bucket(bucket, project)
    extra = {f"//storage.googleapis.com/projects/_/buckets/{bucket}": ["roles/storage.admin"]}
    # The project binding is made first; then Storage refuses the bucket's.
    fake.fail("storage.buckets.setIamPolicy", status=403, message="Access denied.")
    status, message = api.error("POST", f"{mount}/roleset/half", token_roleset(project, extra))
    assert status == 400
    assert message.startswith(
        "error getting service account and creating IAM bindings after creation: "
        "googleapi: Error 403: Access denied."
    )
    creates = fake.calls("iam.projects.serviceAccounts.create")
    assert creates and creates[-1]["status"] == 200  # it really was half-way
    assert vault_accounts(fake, project) == []
    # Not even a `deleted:serviceAccount:vault...` member: bindings went before the account.
    assert "vault" not in json.dumps(fake.policy("project", project))
    assert "vault" not in json.dumps(fake.policy("bucket", bucket))
    assert api.get(f"{mount}/roleset/half").status_code == 404


def test_failed_token_key_leaves_nothing(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    fake.fail(
        "iam.projects.serviceAccounts.keys.create", status=400, gcp_status="FAILED_PRECONDITION"
    )
    status, message = api.error("POST", f"{mount}/roleset/nokey", token_roleset(project))
    assert status == 400 and message.startswith("unable to create key for token generation: ")
    assert vault_accounts(fake, project) == []
    assert "vault" not in json.dumps(fake.policy("project", project))


def test_lost_key_answer_leaves_no_key(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    api.ok("POST", f"{mount}/roleset/k", key_roleset(project))
    sa = api.ok("GET", f"{mount}/roleset/k")["data"]["service_account_email"]
    fake.lose_response("iam.projects.serviceAccounts.keys.create")
    status, message = api.error("GET", f"{mount}/roleset/k/key")
    assert status == 400 and message.startswith("unable to create service account key: ")
    assert fake.user_keys(sa) == []  # Google made one; the engine found it and deleted it


def test_revocation_retried_while_cloud_unreachable(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    api.ok("POST", f"{mount}/roleset/k", key_roleset(project))
    sa = api.ok("GET", f"{mount}/roleset/k")["data"]["service_account_email"]
    body = api.ok("GET", f"{mount}/roleset/k/key")
    assert len(fake.user_keys(sa)) == 1

    fake.down()
    # A synchronous revocation says why it failed (and shows nothing secret).
    resp = api.revoke(body["lease_id"])
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(f"failed to revoke lease {body['lease_id']}: unable to delete")
    assert "could not reach DELETE" in message and "PRIVATE KEY" not in message

    # `bao lease revoke` queues it; the lease manager keeps trying while Google is away.
    api.request("PUT", "sys/leases/revoke", json={"lease_id": body["lease_id"], "sync": False})
    assert wait_until(
        lambda: (
            (api.lookup(body["lease_id"]).json()["data"].get("revocation") or {}).get("attempts", 0)
            >= 2
        ),
        timeout=15,
    ), "no retried attempt was recorded"
    assert len(fake.user_keys(sa)) == 1
    fake.up()
    assert wait_until(lambda: not fake.user_keys(sa), timeout=20), "the retry deleted the key"
    assert api.lookup(body["lease_id"]).status_code == 400  # the lease is gone too


def test_eleventh_key_is_a_clear_quota_error(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    api.ok("POST", f"{mount}/roleset/ten", key_roleset(project))
    sa = api.ok("GET", f"{mount}/roleset/ten")["data"]["service_account_email"]
    for _ in range(10):  # 1024-bit keys: quicker for the fake to make
        api.ok("POST", f"{mount}/roleset/ten/key", {"key_algorithm": "KEY_ALG_RSA_1024"})
    status, message = api.error("GET", f"{mount}/roleset/ten/key")
    assert status == 400
    assert message == (
        f"unable to create service account key: service account {sa} has reached Google's "
        "limit of 10 user-managed keys: revoke leases of its keys (or rotate the role set) "
        "before asking for more (googleapi: Error 400: Precondition check failed., "
        "failedPrecondition)"
    )
    assert len(fake.user_keys(sa)) == 10
    resp = api.request("PUT", f"sys/leases/revoke-prefix/{mount}/roleset/ten")
    assert resp.status_code == 204
    assert fake.user_keys(sa) == []


def test_service_account_quota_is_a_clear_error(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    fake.project(project, sa_quota=2)  # the root account and one more
    api.ok("POST", f"{mount}/roleset/one", token_roleset(project))
    status, message = api.error("POST", f"{mount}/roleset/two", token_roleset(project))
    assert status == 400
    assert message == (
        "unable to create service account: googleapi: Error 429: Maximum number of service "
        "accounts on project reached., rateLimitExceeded"
    )
    assert len(vault_accounts(fake, project)) == 1


def test_policy_race_keeps_the_other_writer_change(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    fake.clear_calls()
    fake.race("cloudresourcemanager.projects.getIamPolicy", times=2)
    api.ok("POST", f"{mount}/roleset/raced", token_roleset(project))
    sets = [c["status"] for c in fake.calls("cloudresourcemanager.projects.setIamPolicy")]
    assert sets == [409, 409, 200]  # stale etag twice, then the third read-modify-write
    sa = api.ok("GET", f"{mount}/roleset/raced")["data"]["service_account_email"]
    assert fake.roles_of("project", project, member(sa)) == {"roles/viewer"}
    assert fake.roles_of("project", project, "user:someone-else@example.com") == {"roles/browser"}


def test_new_account_waits_for_eventual_consistency(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    fake.clear_calls()
    fake.fail("iam.projects.serviceAccounts.get", status=404, times=2)
    fake.fail(
        "cloudresourcemanager.projects.setIamPolicy",
        status=400,
        gcp_status="INVALID_ARGUMENT",
        message="Service account vaultx@p.iam.gserviceaccount.com does not exist.",
    )
    started = time.monotonic()
    api.ok("POST", f"{mount}/roleset/slow", token_roleset(project))
    assert time.monotonic() - started < 3
    assert [c["status"] for c in fake.calls("iam.projects.serviceAccounts.get")][:3] == [
        404,
        404,
        200,
    ]
    sa = api.ok("GET", f"{mount}/roleset/slow")["data"]["service_account_email"]
    assert fake.roles_of("project", project, member(sa)) == {"roles/viewer"}


def test_transient_delete_errors_are_retried(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    api.ok("POST", f"{mount}/roleset/k", key_roleset(project))
    sa = api.ok("GET", f"{mount}/roleset/k")["data"]["service_account_email"]
    body = api.ok("GET", f"{mount}/roleset/k/key")
    fake.clear_calls()
    fake.fail("iam.projects.serviceAccounts.keys.delete", status=503, times=1)
    api.request("PUT", "sys/leases/revoke", json={"lease_id": body["lease_id"], "sync": False})
    assert wait_until(lambda: not fake.user_keys(sa), timeout=15)
    statuses = [c["status"] for c in fake.calls("iam.projects.serviceAccounts.keys.delete")]
    assert statuses == [503, 200]
