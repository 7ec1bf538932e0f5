"""The fake Google Cloud's rules (tests/fakes/gcp/models.py), without HTTP."""

from __future__ import annotations

import base64
import json
import time

import pytest
from google.auth import crypt, jwt

from tests.fakes.gcp.models import GcpApiError, GcpState, OAuthError
from tests.fakes.gcp.responses import dispatch, error_body, route

P = "proj"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TOPIC = f"projects/{P}/topics/t"


@pytest.fixture
def state() -> GcpState:
    return GcpState("http://127.0.0.1:9")


def root(state: GcpState, roles: list[str] | None = None) -> tuple[str, dict[str, str]]:
    seeded = state.seed_account(
        {"project": P, "accountId": "root-admin", "roles": roles or ["roles/owner"], "key": True}
    )
    return seeded["email"], seeded["credentials"]


def assertion(creds: dict[str, str], audience: str = "https://oauth2.googleapis.com/token") -> str:
    signer = crypt.RSASigner.from_service_account_info(creds)
    now = int(time.time())
    payload = {
        "iss": creds["client_email"],
        "aud": audience,
        "scope": SCOPE,
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(signer, payload).decode()


def grant(state: GcpState, creds: dict[str, str]) -> str:
    return state.token_grant(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(creds)}
    )["access_token"]


def error_of(call: object, *args: object) -> GcpApiError:
    with pytest.raises(GcpApiError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_token_endpoint_verifies_the_signature_and_key(state: GcpState) -> None:
    email, creds = root(state)
    token = grant(state, creds)
    assert state.authenticate(f"Bearer {token}") == email
    assert state.token_info(token)["scope"] == SCOPE
    # The fake's own token URL is an acceptable audience too.
    assert (
        state.token_grant(
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion(creds, "http://127.0.0.1:9/oauth2/token"),
            }
        )["expires_in"]
        == 3599
    )
    _, other = root(state)  # another key of the same account: signing with the wrong one fails
    forged = dict(creds, private_key=other["private_key"])
    with pytest.raises(OAuthError) as caught:
        grant(state, forged)
    assert (caught.value.error, caught.value.description) == (
        "invalid_grant",
        "Invalid JWT Signature.",
    )
    with pytest.raises(OAuthError, match="Failed audience check"):
        state.token_grant(
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion(creds, "https://example.com/token"),
            }
        )
    with pytest.raises(OAuthError) as caught:
        state.token_grant({"grant_type": "client_credentials"})
    assert caught.value.error == "unsupported_grant_type"
    assert error_of(state.authenticate, "Bearer nope").code == 401


def test_self_signed_jwt_access_is_accepted(state: GcpState) -> None:
    email, creds = root(state)
    signer = crypt.RSASigner.from_service_account_info(creds)
    now = int(time.time())
    token = jwt.encode(
        signer,
        {
            "iss": email,
            "sub": email,
            "aud": "https://iam.googleapis.com/",
            "iat": now,
            "exp": now + 3600,
        },
    ).decode()
    assert state.authenticate(f"Bearer {token}") == email


def test_account_id_rules_quota_and_duplicates(state: GcpState) -> None:
    email, _ = root(state)
    for bad in ("short", "Upper-case-id", "ends-with-dash-", "9starts-with-digit", "x" * 31):
        err = error_of(state.create_account, email, P, {"accountId": bad})
        assert (err.code, err.status) == (400, "INVALID_ARGUMENT"), bad
    made = state.create_account(
        email, P, {"accountId": "vaultapp-1700000000", "serviceAccount": {"displayName": "d"}}
    )
    assert made["email"] == f"vaultapp-1700000000@{P}.iam.gserviceaccount.com"
    assert len(made["uniqueId"]) == 21 and made["displayName"] == "d"
    err = error_of(state.create_account, email, P, {"accountId": "vaultapp-1700000000"})
    assert (err.code, err.status) == (409, "ALREADY_EXISTS")
    state.seed_project(P, sa_quota=3)
    state.create_account(email, P, {"accountId": "third-account"})
    err = error_of(state.create_account, email, P, {"accountId": "fourth-account"})
    assert (err.code, err.status) == (429, "RESOURCE_EXHAUSTED")
    assert err.message == "Maximum number of service accounts on project reached."
    err = error_of(state.create_account, email, "no-such-project", {"accountId": "abcdefg"})
    assert err.code == 404


def test_ten_user_managed_keys_per_account(state: GcpState) -> None:
    email, _ = root(state)
    sa = state.create_account(email, P, {"accountId": "keyholder"})["email"]
    made = [state.create_key(email, sa, {}) for _ in range(10)]
    key_file = json.loads(base64.b64decode(made[0]["privateKeyData"]))
    assert (
        key_file["client_email"] == sa
        and key_file["token_uri"] == "http://127.0.0.1:9/oauth2/token"
    )
    assert key_file["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    err = error_of(state.create_key, email, sa, {})
    assert (err.code, err.status, err.message) == (
        400,
        "FAILED_PRECONDITION",
        "Precondition check failed.",
    )
    listed = state.list_keys(email, sa, ["USER_MANAGED"])["keys"]
    assert len(listed) == 10 and all("privateKeyData" not in k for k in listed)
    assert len(state.list_keys(email, sa, [])["keys"]) == 11  # plus Google's own key
    key_id = made[0]["name"].rsplit("/", 1)[1]
    state.delete_key(email, sa, key_id)
    err = error_of(state.get_key, email, sa, key_id)
    assert err.code == 404 and err.message.endswith("does not exist.")
    assert (
        state.create_key(email, sa, {"keyAlgorithm": "KEY_ALG_RSA_1024"})["keyAlgorithm"]
        == "KEY_ALG_RSA_1024"
    )
    err = error_of(state.create_key, email, sa, {"privateKeyType": "TYPE_BOGUS"})
    assert err.status == "INVALID_ARGUMENT"


def test_deleting_an_account_deletes_keys_tokens_and_marks_members(state: GcpState) -> None:
    email, _ = root(state)
    sa = state.create_account(email, P, {"accountId": "doomed-account"})
    key = state.create_key(email, sa["email"], {})
    token = grant(state, json.loads(base64.b64decode(key["privateKeyData"])))
    policy = state.get_policy(email, "project", P)
    policy["bindings"].append(
        {"role": "roles/viewer", "members": [f"serviceAccount:{sa['email']}"]}
    )
    state.set_policy(email, "project", P, policy)
    state.delete_account(email, sa["email"])
    assert error_of(state.get_account, email, sa["email"]).message == (
        f"Service account projects/-/serviceAccounts/{sa['email']} does not exist."
    )
    assert error_of(state.authenticate, f"Bearer {token}").code == 401
    members = [m for b in state.get_policy(email, "project", P)["bindings"] for m in b["members"]]
    assert f"deleted:serviceAccount:{sa['email']}?uid={sa['uniqueId']}" in members


def test_iam_policy_etags(state: GcpState) -> None:
    email, _ = root(state)
    first = state.get_policy(email, "project", P)
    first["bindings"].append({"role": "roles/viewer", "members": ["user:a@example.com"]})
    second = state.set_policy(email, "project", P, first)
    assert second["etag"] != first["etag"]
    err = error_of(state.set_policy, email, "project", P, first)  # stale etag
    assert (err.code, err.status) == (409, "ABORTED")
    unknown = {
        "bindings": [
            {
                "role": "roles/viewer",
                "members": [f"serviceAccount:ghost@{P}.iam.gserviceaccount.com"],
            }
        ]
    }
    err = error_of(state.set_policy, email, "project", P, unknown)
    assert err.code == 400 and err.message.endswith("does not exist.")
    state.seed_topic(P, "t")
    conditional = {
        "bindings": [
            {
                "role": "roles/viewer",
                "members": ["user:a@example.com"],
                "condition": {"expression": "true"},
            }
        ]
    }
    assert error_of(state.set_policy, email, "project", P, conditional).code == 400
    assert state.set_policy(email, "topic", TOPIC, {**conditional, "version": 3})["version"] == 3

    state.seed_bucket("bkt", P)
    bucket = state.get_policy(email, "bucket", "bkt")
    assert bucket["kind"] == "storage#policy" and bucket["resourceId"] == "projects/_/buckets/bkt"
    state.set_policy(email, "bucket", "bkt", {"bindings": [], "etag": bucket["etag"]})
    assert error_of(state.set_policy, email, "bucket", "bkt", bucket).code == 412


def test_permissions_follow_roles(state: GcpState) -> None:
    viewer, _ = root(state, roles=["roles/viewer"])
    err = error_of(state.create_account, viewer, P, {"accountId": "not-allowed"})
    assert (err.code, err.status) == (403, "PERMISSION_DENIED")
    assert (
        err.message
        == "Permission 'iam.serviceAccounts.create' denied on resource (or it may not exist)."
    )
    owner = state.seed_account({"project": P, "accountId": "the-owner", "roles": ["roles/owner"]})[
        "email"
    ]
    target = state.create_account(owner, P, {"accountId": "impersonated"})["email"]
    body = {"scope": [SCOPE], "lifetime": "600s"}
    assert (
        error_of(state.generate_access_token, owner, target, body).code == 403
    )  # owner is not enough
    state.seed_binding(
        "serviceAccount", target, "roles/iam.serviceAccountTokenCreator", f"serviceAccount:{owner}"
    )
    made = state.generate_access_token(owner, target, body)
    assert made["expireTime"].endswith("Z") and "." not in made["expireTime"]
    assert state.authenticate(f"Bearer {made['accessToken']}") == target
    assert (
        error_of(
            state.generate_access_token, owner, target, {"scope": [SCOPE], "lifetime": "50000s"}
        ).code
        == 400
    )


def test_wire_routes_and_error_shapes(state: GcpState) -> None:
    call = route("POST", "/iam/v1/projects/p/serviceAccounts/a%40p.iam.gserviceaccount.com/keys")
    assert call.operation == "iam.projects.serviceAccounts.keys.create"
    assert call.params == {"project": "p", "sa": "a@p.iam.gserviceaccount.com"}
    assert route("GET", "/storage/storage/v1/b/bkt/iam").operation == "storage.buckets.getIamPolicy"
    assert (
        route("POST", "/cloudresourcemanager/v3/projects/p:setIamPolicy").params["project"] == "p"
    )
    status, body, _ = dispatch(state, route("GET", "/iam/v1/projects/p/serviceAccounts/x"), "", {})
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED"
    err = GcpApiError(404, "NOT_FOUND", "The specified bucket does not exist.")
    assert error_body("storage", err) == {
        "error": {
            "code": 404,
            "message": "The specified bucket does not exist.",
            "errors": [
                {
                    "message": "The specified bucket does not exist.",
                    "domain": "global",
                    "reason": "notFound",
                }
            ],
        }
    }
    assert error_body("iam", err) == {
        "error": {
            "code": 404,
            "message": "The specified bucket does not exist.",
            "status": "NOT_FOUND",
        }
    }


def test_faults_count_down(state: GcpState) -> None:
    state.add_fault({"operation": "iam.projects.serviceAccounts.keys.create", "times": 2})
    assert len(state.take_faults("iam.projects.serviceAccounts.keys.create")) == 1
    assert len(state.take_faults("iam.projects.serviceAccounts.create")) == 0
    assert len(state.take_faults("iam.projects.serviceAccounts.keys.create")) == 1
    assert state.take_faults("iam.projects.serviceAccounts.keys.create") == []
    state.add_fault({"down": True})
    assert state.down == "reset"
    state.clear_faults()
    assert state.down == "" and state.faults == []
