"""Bindings documents, resource names, account names and IAM policy edits of the gcp engine."""

from __future__ import annotations

import base64
import json

import pytest

from strongroom.engines.gcp.bindings import BindingsError, parse_bindings
from strongroom.engines.gcp.iam import edit
from strongroom.engines.gcp.naming import account_id, display_name, email
from strongroom.engines.gcp.resources import ResourceError, parse
from strongroom.engines.gcp.store import bindings_hash

PROJECT = "//cloudresourcemanager.googleapis.com/projects/my-project"

HCL = """
# comments of every kind are fine
resource "//cloudresourcemanager.googleapis.com/projects/my-project" {
  roles = ["roles/viewer", "roles/storage.objectViewer"],   // trailing comma
}

/* a topic, by relative name */
resource "projects/my-project/topics/my-topic" {
  roles = [
    "roles/pubsub.publisher",
  ]
}

resource "//cloudresourcemanager.googleapis.com/projects/my-project" {
  roles = ["projects/my-project/roles/custom", "organizations/123/roles/auditor"]
}
"""


def test_hcl_with_trailing_commas_comments_and_repeated_blocks() -> None:
    assert parse_bindings(HCL) == {
        PROJECT: {
            "roles/viewer",
            "roles/storage.objectViewer",
            "projects/my-project/roles/custom",
            "organizations/123/roles/auditor",
        },
        "projects/my-project/topics/my-topic": {"roles/pubsub.publisher"},
    }


def test_base64_and_json_forms() -> None:
    assert parse_bindings(base64.b64encode(HCL.encode()).decode()) == parse_bindings(HCL)
    # What hvac sends for a dict: json.dumps(...).replace(" ", "")
    doc = {"resource": {PROJECT: {"roles": ["roles/viewer"]}}}
    assert parse_bindings(json.dumps(doc).replace(" ", "")) == {PROJECT: {"roles/viewer"}}
    # HCL's JSON form also allows lists of blocks.
    listed = {"resource": [{PROJECT: [{"roles": ["roles/viewer"]}, {"roles": ["roles/browser"]}]}]}
    assert parse_bindings(json.dumps(listed)) == {PROJECT: {"roles/viewer", "roles/browser"}}
    encoded = base64.b64encode(json.dumps(doc).encode()).decode()
    assert parse_bindings(encoded) == {PROJECT: {"roles/viewer"}}


def test_empty_role_list_grants_nothing() -> None:
    assert parse_bindings(f'resource "{PROJECT}" {{ roles = [] }}') == {PROJECT: set()}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'resource "projects/p" {\n  roles = ["viewer"]\n}',
            'invalid role "viewer" (line 2) must be one of following formats: '
            "'roles/X', 'projects/X/roles/Y', 'organizations/X/roles/Y'",
        ),
        ('resource "projects/p" {}', 'resource "projects/p" (line 1) has no roles'),
        ('role "projects/p" { roles = [] }', 'invalid key "role" (line 1)'),
        ('resource "projects/p" { members = ["x"] }', 'invalid key "members" in resource'),
        ('resource "projects/p" { roles = ["roles/a"', "found 'end of input' (line 1)"),
        ('resource { roles = ["roles/a"] }', "resource block needs one quoted resource name"),
        ('resource "projects/p" { roles = "roles/a" }', "must be a list"),
        ('resource "things/x" { roles = ["roles/a"] }', 'unknown resource type "things"'),
        ('{"resource": {"projects/p": {}}}', 'resource "projects/p" (line 1) has no roles'),
        ('{"resource": 1', "invalid JSON"),
        ('{"other": {}}', 'invalid key "other"'),
    ],
)
def test_bindings_errors(text: str, message: str) -> None:
    with pytest.raises(BindingsError) as caught:
        parse_bindings(text)
    assert message in str(caught.value)


def test_empty_document_parses_to_nothing() -> None:
    assert parse_bindings("# nothing here\n") == {}


def test_bindings_hash_is_base64_sha256_of_the_raw_text() -> None:
    assert bindings_hash("") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


# --------------------------------------------------------------------------- resources


@pytest.mark.parametrize(
    ("name", "service", "method", "path"),
    [
        (PROJECT, "cloudresourcemanager", "POST", "v3/projects/my-project:getIamPolicy"),
        (
            "projects/my-project",
            "cloudresourcemanager",
            "POST",
            "v3/projects/my-project:getIamPolicy",
        ),
        (
            "//cloudresourcemanager.googleapis.com/folders/123",
            "cloudresourcemanager",
            "POST",
            "v3/folders/123:getIamPolicy",
        ),
        ("projects/p/topics/t", "pubsub", "GET", "v1/projects/p/topics/t:getIamPolicy"),
        (
            "//pubsub.googleapis.com/projects/p/subscriptions/s",
            "pubsub",
            "GET",
            "v1/projects/p/subscriptions/s:getIamPolicy",
        ),
        (
            "https://pubsub.googleapis.com/v1/projects/p/topics/t",
            "pubsub",
            "GET",
            "v1/projects/p/topics/t:getIamPolicy",
        ),
        ("//storage.googleapis.com/projects/_/buckets/b1", "storage", "GET", "storage/v1/b/b1/iam"),
        ("b/b1", "storage", "GET", "storage/v1/b/b1/iam"),
        ("https://www.googleapis.com/storage/v1/b/b1", "storage", "GET", "storage/v1/b/b1/iam"),
        (
            "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com",
            "iam",
            "POST",
            "v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy",
        ),
        ("projects/p/secrets/s", "secretmanager", "GET", "v1/projects/p/secrets/s:getIamPolicy"),
    ],
)
def test_resource_policy_calls(name: str, service: str, method: str, path: str) -> None:
    resource = parse(name)
    got_service, got_method, got_path, body = resource.get_request()
    assert (got_service, got_method, got_path) == (service, method, path)
    if service == "cloudresourcemanager":
        assert body == {"options": {"requestedPolicyVersion": 3}}
    else:
        assert body is None


def test_storage_set_sends_the_policy_itself() -> None:
    policy = {"bindings": [], "etag": "CAE="}
    assert parse("b/b1").set_request(policy) == ("storage", "PUT", "storage/v1/b/b1/iam", policy)
    assert parse("projects/p").set_request(policy)[3] == {"policy": policy}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("//example.com/projects/p", "unknown service host"),
        ("//compute.googleapis.com/projects/p", 'resources of service "compute"'),
        ("projects/p/zones", 'collection "zones" has no id'),
        ("projects/p/Bad_Collection/x", "is not a collection name"),
        ("", "empty name"),
    ],
)
def test_resource_errors(name: str, message: str) -> None:
    with pytest.raises(ResourceError) as caught:
        parse(name)
    assert message in str(caught.value)


# --------------------------------------------------------------------------- names


def test_account_ids_follow_gcp_rules() -> None:
    assert account_id("my_roleset", 1700000000) == "vaultmy-roleset-1700000000"
    long = account_id("a-very-long-roleset-name-indeed", 1700000000)
    assert long == "vaulta-very-long-ro-1700000000" and len(long) == 30
    assert account_id("CamelCase.Name", 1700000000) == "vaultcamelcase-name-1700000000"
    assert email("vaultx-1", "p") == "vaultx-1@p.iam.gserviceaccount.com"


def test_display_names_are_at_most_100_characters() -> None:
    assert display_name("app") == "Service account for Vault secrets backend role set role set app"
    long = display_name("x" * 80)
    assert len(long) == 100
    assert long.startswith("Service account for Vault secrets backend role set role set xxx")


# --------------------------------------------------------------------------- policy edits

WHO = "serviceAccount:vaultapp-1@p.iam.gserviceaccount.com"


def test_add_joins_existing_bindings_and_creates_missing_ones() -> None:
    policy = {
        "version": 1,
        "etag": "BwX1",
        "bindings": [{"role": "roles/viewer", "members": ["user:alice@example.com"]}],
    }
    new, changed = edit(policy, WHO, {"roles/viewer", "roles/browser"}, set())
    assert changed and new["etag"] == "BwX1" and new["version"] == 1
    assert new["bindings"] == [
        {"role": "roles/viewer", "members": ["user:alice@example.com", WHO]},
        {"role": "roles/browser", "members": [WHO]},
    ]
    assert policy["bindings"][0]["members"] == ["user:alice@example.com"]  # input untouched
    again, changed = edit(new, WHO, {"roles/viewer"}, set())
    assert not changed and again == new


def test_remove_drops_the_member_and_empty_bindings_only() -> None:
    policy = {
        "etag": "e",
        "bindings": [
            {"role": "roles/viewer", "members": ["user:alice@example.com", WHO]},
            {"role": "roles/browser", "members": [WHO]},
            {"role": "roles/owner", "members": ["user:root@example.com"]},
        ],
    }
    new, changed = edit(policy, WHO, set(), {"roles/viewer", "roles/browser"})
    assert changed
    assert new["bindings"] == [
        {"role": "roles/viewer", "members": ["user:alice@example.com"]},
        {"role": "roles/owner", "members": ["user:root@example.com"]},
    ]
    _, changed = edit(new, WHO, set(), {"roles/viewer"})
    assert not changed


def test_conditional_bindings_are_left_alone() -> None:
    condition = {
        "title": "expires",
        "expression": "request.time < timestamp('2030-01-01T00:00:00Z')",
    }
    policy = {
        "version": 3,
        "etag": "e",
        "bindings": [{"role": "roles/viewer", "members": [WHO], "condition": condition}],
    }
    added, changed = edit(policy, WHO, {"roles/viewer"}, set())
    assert changed and added["bindings"][1] == {"role": "roles/viewer", "members": [WHO]}
    assert added["version"] == 3
    removed, changed = edit(added, WHO, set(), {"roles/viewer"})
    assert changed and removed["bindings"] == policy["bindings"]


def test_empty_policy_gains_bindings() -> None:
    new, changed = edit({"etag": "ACAB"}, WHO, {"roles/pubsub.publisher"}, set())
    assert changed and new == {
        "etag": "ACAB",
        "bindings": [{"role": "roles/pubsub.publisher", "members": [WHO]}],
    }
    back, _ = edit(new, WHO, set(), {"roles/pubsub.publisher"})
    assert back == {"etag": "ACAB"}
