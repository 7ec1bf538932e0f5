"""The gcp engine's API over HTTP and hvac, against the fake Google Cloud process."""

from __future__ import annotations

import base64
import json

import hvac
import pytest

from tests.fakes.gcp import FakeGcp, member
from tests.integration.gcp.conftest import CLOUD_PLATFORM, Api, hcl, project_binding, unique
from tests.integration.server import ServerProcess


@pytest.fixture(scope="module")
def hv(gcp_dev: ServerProcess) -> hvac.Client:
    return hvac.Client(url=gcp_dev.addr, token="root")


def test_config_read_hides_credentials_and_validates(api: Api, fake: FakeGcp) -> None:
    mount = unique("gcp-cfg-")
    api.ok("POST", f"sys/mounts/{mount}", {"type": "gcp"})
    assert api.get(f"{mount}/config").status_code == 404
    status, message = api.error("POST", f"{mount}/config", {"credentials": "{not json"})
    assert status == 400 and message.startswith("invalid credentials JSON file: ")
    status, message = api.error(
        "POST", f"{mount}/config", {"credentials": json.dumps({"private_key": "nope"})}
    )
    assert status == 400 and "private_key" in message
    status, message = api.error(
        "POST", f"{mount}/config", {"credentials": "{}", "identity_token_audience": "x"}
    )
    assert message == "only one of 'credentials' or 'identity_token_audience' can be set"

    path, _, creds = api.mount_gcp(fake, ttl="1h", max_ttl="90m")
    body = api.ok("GET", f"{path}/config")
    assert body["data"] == {
        "ttl": 3600,
        "max_ttl": 5400,
        "service_account_email": "",
        "identity_token_audience": "",
        "identity_token_ttl": 0,
        "rotation_schedule": "",
        "rotation_window": 0,
        "rotation_period": 0,
        "disable_automated_rotation": False,
    }
    assert creds["private_key_id"] not in json.dumps(body)
    # A partial update keeps what was not sent.
    api.ok("POST", f"{path}/config", {"ttl": "2h"})
    assert api.ok("GET", f"{path}/config")["data"]["max_ttl"] == 5400


def test_hvac_config_and_rolesets(hv: hvac.Client, api: Api, fake: FakeGcp) -> None:
    mount, project = unique("gcp-hvac-"), unique("hvac-")
    fake.project(project)
    creds = fake.root_credentials(project)
    hv.sys.enable_secrets_engine("gcp", path=mount)
    hv.secrets.gcp.configure(
        credentials=json.dumps(creds), ttl="1h", max_ttl="2h", mount_point=mount
    )
    assert hv.secrets.gcp.read_config(mount_point=mount)["data"]["max_ttl"] == 7200

    bindings = {"resource": {project_binding(project): {"roles": ["roles/viewer"]}}}
    hv.secrets.gcp.create_or_update_roleset(
        name="hv-token",
        project=project,
        bindings=bindings,  # hvac sends JSON (dumps + spaces stripped)
        token_scopes=[CLOUD_PLATFORM],
        mount_point=mount,
    )
    hv.secrets.gcp.create_or_update_roleset(
        name="hv-key",
        project=project,
        bindings=base64.b64encode(
            hcl({project_binding(project): ["roles/browser"]}).encode()
        ).decode(),
        secret_type="service_account_key",
        mount_point=mount,
    )
    read = hv.secrets.gcp.read_roleset("hv-token", mount_point=mount)["data"]
    assert read["bindings"] == {project_binding(project): ["roles/viewer"]}
    assert read["token_scopes"] == [CLOUD_PLATFORM]
    assert sorted(hv.secrets.gcp.list_rolesets(mount_point=mount)["data"]["keys"]) == [
        "hv-key",
        "hv-token",
    ]
    key_sa = hv.secrets.gcp.read_roleset("hv-key", mount_point=mount)["data"]
    assert "token_scopes" not in key_sa
    assert fake.roles_of("project", project, member(key_sa["service_account_email"])) == {
        "roles/browser"
    }

    token = hv.secrets.gcp.generate_oauth2_access_token("hv-token", mount_point=mount)
    assert token["data"]["token"].startswith("ya29.") and token["lease_id"] == ""
    key = hv.secrets.gcp.generate_service_account_key("hv-key", mount_point=mount)
    assert key["lease_id"].startswith(f"{mount}/key/hv-key/") and key["renewable"] is True
    assert key["lease_duration"] == 3600
    key_get = hv.secrets.gcp.generate_service_account_key("hv-key", method="GET", mount_point=mount)
    assert key_get["data"]["key_type"] == "TYPE_GOOGLE_CREDENTIALS_FILE"
    assert len(fake.user_keys(key_sa["service_account_email"])) == 2

    old_token_key = fake.user_keys(read["service_account_email"])[0]["name"]
    hv.secrets.gcp.rotate_roleset_account_key("hv-token", mount_point=mount)
    keys = fake.user_keys(read["service_account_email"])
    assert len(keys) == 1 and keys[0]["name"] != old_token_key
    assert hv.secrets.gcp.generate_oauth2_access_token("hv-token", mount_point=mount)["data"][
        "token"
    ]

    hv.secrets.gcp.rotate_roleset_account("hv-key", mount_point=mount)
    rotated = hv.secrets.gcp.read_roleset("hv-key", mount_point=mount)["data"]
    assert rotated["service_account_email"] != key_sa["service_account_email"]
    assert fake.account(key_sa["service_account_email"]) is None
    hv.secrets.gcp.delete_roleset("hv-token", mount_point=mount)
    hv.secrets.gcp.delete_roleset("hv-key", mount_point=mount)
    assert fake.account(read["service_account_email"]) is None
    for lease in (key["lease_id"], key_get["lease_id"]):
        assert api.revoke(lease).status_code == 204  # their account is gone: 404 is success


def test_roleset_validation_messages(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    good = hcl({project_binding(project): ["roles/viewer"]})
    cases = [
        (
            {"project": project, "bindings": good, "secret_type": "bogus"},
            'invalid "secret_type" value: "bogus"',
        ),
        (
            {"bindings": good, "token_scopes": CLOUD_PLATFORM},
            "project argument is required for new role set",
        ),
        ({"project": "", "bindings": good}, "given empty project"),
        (
            {"project": project, "token_scopes": CLOUD_PLATFORM},
            "bindings are required for new role set",
        ),
        (
            {"project": project, "bindings": good},
            "token_scopes must be provided for creating access token role set",
        ),
        (
            {"project": project, "bindings": "", "token_scopes": CLOUD_PLATFORM},
            "bindings are empty",
        ),
        (
            {"project": project, "bindings": good, "token_scopes": ""},
            "cannot provide empty token_scopes",
        ),
        (
            {"project": project, "bindings": 'resource "x" {', "token_scopes": CLOUD_PLATFORM},
            "unable to parse bindings: ",
        ),
        (
            {
                "project": project,
                "bindings": 'resource "projects/p" { roles = ["viewer"] }',
                "token_scopes": CLOUD_PLATFORM,
            },
            'unable to parse bindings: invalid role "viewer" (line 1) must be one of following',
        ),
    ]
    for body, expected in cases:
        status, message = api.error("POST", f"{mount}/roleset/bad", body)
        assert status == 400 and message.startswith(expected), (body, message)
    assert fake.accounts("vaultbad") == {}

    # Key rolesets ignore scopes, with Vault's warning; fixed fields cannot change.
    resp = api.ok(
        "POST",
        f"{mount}/roleset/k",
        {
            "project": project,
            "bindings": good,
            "secret_type": "service_account_key",
            "token_scopes": CLOUD_PLATFORM,
        },
    )
    assert resp["warnings"] == [
        "ignoring token_scopes, only valid for 'access_token' secret type role set"
    ]
    _, message = api.error("POST", f"{mount}/roleset/k", {"secret_type": "access_token"})
    assert message == "cannot change secret_type after roleset creation"
    _, message = api.error("POST", f"{mount}/roleset/k", {"project": "other"})
    assert message == f"cannot change project for existing role set (old: {project}, new: other)"
    _, message = api.error("GET", f"{mount}/roleset/k/token")
    assert (
        message
        == "role set 'k' cannot generate access tokens (has secret type service_account_key)"
    )
    _, message = api.error("POST", f"{mount}/roleset/k/rotate-key")
    assert message == "cannot rotate key for non-access-token role set"
    _, message = api.error("GET", f"{mount}/roleset/nope/key")
    assert message == 'role set "nope" does not exists'
    _, message = api.error("GET", f"{mount}/roleset/nope/token")
    assert message == "role set 'nope' does not exists"
    _, message = api.error("POST", f"{mount}/roleset/nope/rotate")
    assert message == "roleset 'nope' not found"
    resp = api.request("POST", f"{mount}/roleset/k", json={"bindings": good, "color": "blue"})
    assert resp.json()["warnings"] == ["Endpoint ignored these unrecognized parameters: [color]"]
    api.ok("DELETE", f"{mount}/roleset/k")
    api.ok("DELETE", f"{mount}/roleset/never-existed")


def test_static_account_bindings_follow_updates(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    sa = fake.service_account(project, unique("svc-"))
    topic = unique("t")
    fake.topic(project, topic)
    topic_name = f"projects/{project}/topics/{topic}"
    _, message = api.error(
        "POST",
        f"{mount}/static-account/missing",
        {
            "service_account_email": f"nobody@{project}.iam.gserviceaccount.com",
            "token_scopes": CLOUD_PLATFORM,
        },
    )
    assert message == (
        "unable to create static account, service account "
        f'"nobody@{project}.iam.gserviceaccount.com" should exist'
    )
    _, message = api.error("POST", f"{mount}/static-account/x", {"service_account_email": sa})
    assert message == "non-empty token_scopes must be provided for generating access_token secrets"

    api.ok(
        "POST",
        f"{mount}/static-account/svc",
        {
            "service_account_email": sa,
            "token_scopes": CLOUD_PLATFORM,
            "bindings": hcl(
                {project_binding(project): ["roles/viewer"], topic_name: ["roles/pubsub.viewer"]}
            ),
        },
    )
    read = api.ok("GET", f"{mount}/static-account/svc")["data"]
    assert read == {
        "service_account_project": project,
        "service_account_email": sa,
        "secret_type": "access_token",
        "bindings": {
            project_binding(project): ["roles/viewer"],
            topic_name: ["roles/pubsub.viewer"],
        },
        "token_scopes": [CLOUD_PLATFORM],
    }
    assert len(fake.user_keys(sa)) == 1
    token = api.ok("GET", f"{mount}/static-account/svc/token")["data"]["token"]
    assert fake.token_info(token)["email"] == sa  # type: ignore[index]

    # Someone else's grant on the same resource is left alone.
    fake.grant("topic", topic_name, "roles/pubsub.viewer", "user:alice@example.com")
    api.ok(
        "POST",
        f"{mount}/static-account/svc",
        {"bindings": hcl({project_binding(project): ["roles/browser"]})},
    )
    assert fake.roles_of("project", project, member(sa)) == {"roles/browser"}
    assert fake.roles_of("topic", topic_name, member(sa)) == set()
    assert fake.roles_of("topic", topic_name, "user:alice@example.com") == {"roles/pubsub.viewer"}
    _, message = api.error(
        "POST", f"{mount}/static-account/svc", {"secret_type": "service_account_key"}
    )
    assert message == "cannot update secret_type"
    _, message = api.error("POST", f"{mount}/static-account/svc", {"service_account_email": "x@y"})
    assert message == "cannot update email"

    old_key = fake.user_keys(sa)[0]["name"]
    api.ok("POST", f"{mount}/static-account/svc/rotate-key")
    assert [k["name"] for k in fake.user_keys(sa)] != [old_key] and len(fake.user_keys(sa)) == 1
    assert api.request("LIST", f"{mount}/static-accounts").json()["data"]["keys"] == ["svc"]

    api.ok("DELETE", f"{mount}/static-account/svc")
    assert fake.account(sa) is not None  # never deleted by the engine
    assert fake.user_keys(sa) == [] and fake.roles_of("project", project, member(sa)) == set()


def test_impersonated_accounts(api: Api, fake: FakeGcp) -> None:
    mount, project, root = api.mount_gcp(fake, max_ttl="20m")
    target = fake.service_account(project, unique("imp-"))
    api.ok(
        "POST",
        f"{mount}/impersonated-account/imp",
        {"service_account_email": target, "token_scopes": CLOUD_PLATFORM, "ttl": "1h"},
    )
    assert api.ok("GET", f"{mount}/impersonated-account/imp")["data"] == {
        "service_account_project": project,
        "service_account_email": target,
        "token_scopes": [CLOUD_PLATFORM],
        "ttl": 3600,
    }
    # The root account may not impersonate the target yet: Google says so.
    status, message = api.error("GET", f"{mount}/impersonated-account/imp/token")
    assert status == 400
    assert "roles/iam.serviceAccountTokenCreator" in message
    assert "Permission 'iam.serviceAccounts.getAccessToken' denied" in message
    fake.grant(
        "serviceAccount",
        target,
        "roles/iam.serviceAccountTokenCreator",
        member(root["client_email"]),
    )
    body = api.ok("GET", f"{mount}/impersonated-account/imp/token")
    assert body["lease_id"] == "" and 1190 <= body["data"]["token_ttl"] <= 1200  # max_ttl wins
    assert body["warnings"] and "max_ttl" in body["warnings"][0]
    assert fake.token_info(body["data"]["token"])["email"] == target  # type: ignore[index]
    _, message = api.error(
        "POST",
        f"{mount}/impersonated-account/ghost",
        {
            "service_account_email": f"ghost@{project}.iam.gserviceaccount.com",
            "token_scopes": CLOUD_PLATFORM,
        },
    )
    assert message.endswith("should exist")
    assert api.request("LIST", f"{mount}/impersonated-accounts").json()["data"]["keys"] == ["imp"]
    api.ok("DELETE", f"{mount}/impersonated-account/imp")
    assert fake.account(target) is not None


def test_rotate_root(api: Api, fake: FakeGcp) -> None:
    mount, project, root = api.mount_gcp(fake)
    email = root["client_email"]
    before = [k["name"] for k in fake.user_keys(email)]
    body = api.ok("POST", f"{mount}/config/rotate-root")
    new_id = body["data"]["private_key_id"]
    after = [k["name"] for k in fake.user_keys(email)]
    assert len(after) == 1 and after != before and after[0].endswith("/keys/" + new_id)
    # The engine now works with the new key (the old one no longer exists).
    api.ok(
        "POST",
        f"{mount}/roleset/after-rotation",
        {
            "project": project,
            "bindings": hcl({project_binding(project): ["roles/viewer"]}),
            "token_scopes": CLOUD_PLATFORM,
        },
    )
    assert fake.calls("oauth2.token")[-1]["status"] == 200
    api.ok("DELETE", f"{mount}/roleset/after-rotation")

    mount2 = unique("gcp-norot-")
    api.ok("POST", f"sys/mounts/{mount2}", {"type": "gcp"})
    status, message = api.error("POST", f"{mount2}/config/rotate-root")
    assert status == 500 and "only works with user-provided JSON credentials" in message


def test_key_renewal_and_ttls(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake, ttl="10m", max_ttl="30m")
    api.ok(
        "POST",
        f"{mount}/roleset/r",
        {
            "project": project,
            "secret_type": "service_account_key",
            "bindings": hcl({project_binding(project): ["roles/viewer"]}),
        },
    )
    lease = api.ok("GET", f"{mount}/roleset/r/key")
    assert lease["lease_duration"] == 600
    longer = api.ok(
        "POST", f"{mount}/roleset/r/key", {"ttl": "2h", "key_algorithm": "KEY_ALG_RSA_1024"}
    )
    assert longer["lease_duration"] == 1800  # capped by max_ttl
    assert longer["data"]["key_algorithm"] == "KEY_ALG_RSA_1024"
    renewed = api.request("PUT", "sys/leases/renew", json={"lease_id": lease["lease_id"]}).json()
    assert renewed["lease_duration"] == 600
    pkcs12 = api.ok("POST", f"{mount}/roleset/r/key", {"key_type": "TYPE_PKCS12_FILE"})
    assert pkcs12["data"]["key_type"] == "TYPE_PKCS12_FILE"
    status, message = api.error("POST", f"{mount}/roleset/r/key", {"key_type": "TYPE_BOGUS"})
    assert status == 400 and "Invalid value at 'private_key_type'" in message

    # A key deleted behind the engine's back cannot be renewed; revoking it is fine.
    sa = api.ok("GET", f"{mount}/roleset/r")["data"]["service_account_email"]
    fake.delete_account(sa)
    resp = api.request("PUT", "sys/leases/renew", json={"lease_id": lease["lease_id"]})
    assert resp.status_code == 400 and "could not confirm key still exists in GCP" in resp.text
    for body in (lease, longer, pkcs12):
        assert api.revoke(body["lease_id"]).status_code == 204
