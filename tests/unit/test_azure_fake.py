"""The fake Azure keeps Azure's rules (models.py) and speaks its wire format (responses.py)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.azure import (
    OWNER,
    READER,
    ROOT_APP_ID,
    ROOT_SECRET,
    SUBSCRIPTION_ID,
    TENANT_ID,
    AzureModel,
    FakeAzure,
)
from tests.fakes.azure.models import FakeError, Token

SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
GRAPH = "https://graph.microsoft.com/.default"
ARM = "https://management.azure.com/.default"


def token(model: AzureModel, client_id: str, secret: str, scope: str) -> Token:
    value = model.issue_token(
        TENANT_ID,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": scope,
        },
    )["access_token"]
    return model.tokens[value]


def raises(code: str, call: Any, *args: Any) -> FakeError:
    with pytest.raises(FakeError) as info:
        call(*args)
    assert info.value.code == code, info.value.message
    return info.value


@pytest.fixture
def model() -> AzureModel:
    return AzureModel()


@pytest.fixture
def root(model: AzureModel) -> Token:
    return token(model, ROOT_APP_ID, ROOT_SECRET, GRAPH)


@pytest.fixture
def root_arm(model: AzureModel) -> Token:
    return token(model, ROOT_APP_ID, ROOT_SECRET, ARM)


def new_identity(model: AzureModel, root: Token) -> tuple[dict, dict, str]:
    app = model.create_application(root, {"displayName": "vault-x"})
    sp = model.create_service_principal(root, {"appId": app["appId"]})
    secret = model.add_password(root, "servicePrincipal", sp["id"], {})["secretText"]
    return app, sp, secret


def test_token_rules(model: AzureModel, root: Token) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": ROOT_APP_ID,
        "client_secret": ROOT_SECRET,
        "scope": GRAPH,
    }
    assert model.issue_token(TENANT_ID, form)["token_type"] == "Bearer"
    err = raises("invalid_client", model.issue_token, TENANT_ID, {**form, "client_secret": "x"})
    assert err.message.startswith("AADSTS7000215: Invalid client secret provided.")
    err = raises(
        "unauthorized_client",
        model.issue_token,
        TENANT_ID,
        {**form, "client_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert err.aadsts == 700016
    assert raises("invalid_request", model.issue_token, "nope", form).aadsts == 90002
    assert (
        raises(
            "invalid_scope",
            model.issue_token,
            TENANT_ID,
            {**form, "scope": "https://graph.microsoft.com"},
        ).aadsts
        == 1002012
    )
    assert (
        raises(
            "invalid_resource",
            model.issue_token,
            TENANT_ID,
            {**form, "scope": "https://example.com/.default"},
        ).aadsts
        == 500011
    )
    # an application without a service principal cannot use client credentials
    app = model.create_application(root, {"displayName": "lonely"})
    secret = model.add_password(root, "application", app["id"], {})["secretText"]
    assert (
        raises(
            "invalid_client",
            model.issue_token,
            TENANT_ID,
            {**form, "client_id": app["appId"], "client_secret": secret},
        ).aadsts
        == 7000229
    )
    # an expired password
    app2, _, _ = new_identity(model, root)
    old = model.add_password(
        root,
        "application",
        app2["id"],
        {
            "passwordCredential": {
                "startDateTime": "2020-01-01T00:00:00Z",
                "endDateTime": "2020-02-01T00:00:00Z",
            }
        },
    )
    assert (
        raises(
            "invalid_client",
            model.issue_token,
            TENANT_ID,
            {**form, "client_id": app2["appId"], "client_secret": old["secretText"]},
        ).aadsts
        == 7000222
    )


def test_tokens_are_checked_per_service(model: AzureModel, root: Token, root_arm: Token) -> None:
    assert model.authenticate(f"Bearer {root.value}", "graph") is root
    raises("InvalidAuthenticationToken", model.authenticate, f"Bearer {root.value}", "arm")
    raises("InvalidAuthenticationToken", model.authenticate, f"Bearer {root_arm.value}", "graph")
    raises("InvalidAuthenticationToken", model.authenticate, "", "graph")
    raises("AuthenticationFailed", model.authenticate, "", "arm")
    root.expires = time.time() - 1
    raises("InvalidAuthenticationToken", model.authenticate, f"Bearer {root.value}", "graph")


def test_applications_and_passwords(model: AzureModel, root: Token) -> None:
    raises("Request_BadRequest", model.create_application, root, {"displayName": "x" * 121})
    raises(
        "Request_BadRequest",
        model.create_application,
        root,
        {"displayName": "x", "signInAudience": "Everyone"},
    )
    model.create_application(root, {"displayName": "a", "uniqueName": "u1"})
    raises(
        "Request_MultipleObjectsWithSameKeyValue",
        model.create_application,
        root,
        {"displayName": "b", "uniqueName": "u1"},
    )
    app = model.create_application(root, {"displayName": "c", "tags": ["t", "t"]})
    assert app["tags"] == ["t"] and app["signInAudience"] == "AzureADMyOrg"
    model.settings.max_passwords = 2
    first = model.add_password(
        root, "application", app["id"], {"passwordCredential": {"displayName": "p"}}
    )
    assert first["hint"] == first["secretText"][:3] and len(first["secretText"]) == 40
    model.add_password(root, "application", app["id"], {})
    err = raises("Request_BadRequest", model.add_password, root, "application", app["id"], {})
    assert "size of the object has exceeded its limit" in err.message
    listed = model.get_application(root, app["id"])["passwordCredentials"]
    assert all(p["secretText"] is None for p in listed)
    model.remove_password(root, "application", app["id"], {"keyId": first["keyId"]})
    err = raises(
        "Request_BadRequest",
        model.remove_password,
        root,
        "application",
        app["id"],
        {"keyId": first["keyId"]},
    )
    assert err.message.startswith("No password credential found with keyId")
    raises(
        "Request_BadRequest",
        model.add_password,
        root,
        "application",
        app["id"],
        {
            "passwordCredential": {
                "startDateTime": "2030-01-01T00:00:00Z",
                "endDateTime": "2029-01-01T00:00:00Z",
            }
        },
    )
    raises("Request_ResourceNotFound", model.get_application, root, "nope")
    assert [a["displayName"] for a in model.list_applications(root, "displayName eq 'c'")] == ["c"]
    raises("Request_UnsupportedQuery", model.list_applications, root, "nonsense")


def test_service_principals_and_deletion(model: AzureModel, root: Token) -> None:
    raises(
        "Request_BadRequest",
        model.create_service_principal,
        root,
        {"appId": "00000000-0000-0000-0000-000000000000"},
    )
    app, sp, secret = new_identity(model, root)
    raises(
        "Request_MultipleObjectsWithSameKeyValue",
        model.create_service_principal,
        root,
        {"appId": app["appId"]},
    )
    issued = token(model, app["appId"], secret, GRAPH)
    # a fresh SP has no Graph permissions
    raises("Authorization_RequestDenied", model.create_application, issued, {"displayName": "n"})
    devs = next(g for g in model.groups.values() if g.display_name == "devs")
    model.add_member(
        root, devs.id, {"@odata.id": f"https://graph.microsoft.us/v1.0/directoryObjects/{sp['id']}"}
    )
    raises("Request_BadRequest", model.add_member, root, devs.id, {"@odata.id": f"x/{sp['id']}"})
    model.delete_application(root, app["id"])  # takes the SP along, and its memberships
    raises("Request_ResourceNotFound", model.get_service_principal, root, sp["id"])
    assert devs.members == []
    assert {sp["id"], app["id"]} <= set(model.deleted)
    model.purge_deleted_item(root, app["id"])
    raises("Request_ResourceNotFound", model.purge_deleted_item, root, app["id"])
    raises("Request_ResourceNotFound", model.remove_member, root, devs.id, sp["id"])


def test_role_assignments(model: AzureModel, root: Token, root_arm: Token) -> None:
    app, sp, secret = new_identity(model, root)
    reader = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    body = {"properties": {"roleDefinitionId": reader, "principalId": sp["id"]}}
    rg = f"{SUB}/resourceGroups/rg-app"
    raises("InvalidRoleAssignmentId", model.put_role_assignment, root_arm, rg, "not-a-guid", body)
    name = "11111111-2222-3333-4444-555555555555"
    raises(
        "ResourceGroupNotFound",
        model.put_role_assignment,
        root_arm,
        f"{SUB}/resourceGroups/nope",
        name,
        body,
    )
    raises(
        "SubscriptionNotFound",
        model.put_role_assignment,
        root_arm,
        "/subscriptions/00000000-0000-0000-0000-000000000000",
        name,
        body,
    )
    raises("InvalidScope", model.put_role_assignment, root_arm, "/foo", name, body)
    raises(
        "RoleDefinitionDoesNotExist",
        model.put_role_assignment,
        root_arm,
        rg,
        name,
        {"properties": {"roleDefinitionId": reader[:-4] + "0000", "principalId": sp["id"]}},
    )
    raises(
        "PrincipalNotFound",
        model.put_role_assignment,
        root_arm,
        rg,
        name,
        {"properties": {"roleDefinitionId": reader, "principalId": app["id"]}},
    )
    status, made = model.put_role_assignment(root_arm, rg, name, body)
    assert (
        status == 201
        and made["id"] == f"{rg}/providers/Microsoft.Authorization/roleAssignments/{name}"
    )
    assert model.put_role_assignment(root_arm, rg, name, body)[0] == 200  # same PUT again
    raises(
        "RoleAssignmentExists",
        model.put_role_assignment,
        root_arm,
        rg,
        "11111111-2222-3333-4444-666666666666",
        body,
    )
    # the assigned principal can read its resource group, and nothing else
    issued = token(model, app["appId"], secret, ARM)
    assert model.get_resource_group(issued, SUBSCRIPTION_ID, "rg-app")["name"] == "rg-app"
    raises("AuthorizationFailed", model.get_resource_group, issued, SUBSCRIPTION_ID, "rg-data")
    raises(
        "AuthorizationFailed",
        model.put_role_assignment,
        issued,
        rg,
        "11111111-2222-3333-4444-777777777777",
        body,
    )
    # deleting the principal leaves the assignment behind, as Azure does
    model.delete_service_principal(root, sp["id"])
    assert model.get_role_assignment(root_arm, rg, name)["properties"]["principalId"] == sp["id"]
    assert model.delete_role_assignment(root_arm, rg, name) is not None
    assert model.delete_role_assignment(root_arm, rg, name) is None
    model.settings.max_role_assignments = len(model.role_assignments)
    _, sp2, _ = new_identity(model, root)
    raises(
        "RoleAssignmentLimitExceeded",
        model.put_role_assignment,
        root_arm,
        rg,
        name,
        {"properties": {"roleDefinitionId": reader, "principalId": sp2["id"]}},
    )


def test_role_definitions(model: AzureModel, root_arm: Token) -> None:
    found = model.list_role_definitions(root_arm, SUB, "roleName eq 'Owner'")
    assert [d["name"] for d in found] == [OWNER]
    assert found[0]["id"] == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    assert model.list_role_definitions(root_arm, SUB, "roleName eq 'nope'") == []
    assert model.get_role_definition(root_arm, "", READER)["properties"]["roleName"] == "Reader"
    raises("RoleDefinitionDoesNotExist", model.get_role_definition, root_arm, SUB, "0000")


def test_replication_delay(model: AzureModel, root: Token, root_arm: Token) -> None:
    model.settings.propagation_delay = 60
    app = model.create_application(root, {"displayName": "fresh"})
    raises("Request_BadRequest", model.create_service_principal, root, {"appId": app["appId"]})


# --------------------------------------------------------------------------- the wire


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAzure]:
    server = FakeAzure(cert_dir=Path(tmp_path_factory.mktemp("fake"))).start()
    yield server
    server.stop()


@pytest.fixture
def http(fake: FakeAzure) -> Iterator[httpx.Client]:
    fake.model.reset()
    fake.clear()
    with httpx.Client(
        base_url=fake.url, verify=ssl.create_default_context(cafile=fake.ca), timeout=10
    ) as client:
        yield client


def bearer(http: httpx.Client, scope: str) -> dict[str, str]:
    resp = http.post(
        f"/{TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ROOT_APP_ID,
            "client_secret": ROOT_SECRET,
            "scope": scope,
        },
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_wire_shapes(http: httpx.Client, fake: FakeAzure) -> None:
    doc = http.get(f"/{TENANT_ID}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{fake.url}/{TENANT_ID}/oauth2/v2.0/token"
    bad = http.post(
        f"/{TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ROOT_APP_ID,
            "client_secret": "x",
            "scope": GRAPH,
        },
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client" and bad.json()["error_codes"] == [7000215]
    g = bearer(http, GRAPH)
    missing = http.get("/v1.0/applications/nope", headers=g)
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "Request_ResourceNotFound" and "innerError" in error
    assert http.get("/v1.0/groups", headers={}).status_code == 401
    made = http.post("/v1.0/applications", headers=g, json={"displayName": "w", "@odata.type": "x"})
    assert made.status_code == 201 and made.json()["appId"]
    a = bearer(http, ARM)
    path = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions"
    no_version = http.get(path, headers=a)
    assert no_version.status_code == 400
    assert no_version.json() == {
        "error": {
            "code": "MissingApiVersionParameter",
            "message": "The api-version query parameter (?api-version=) is required for all "
            "requests.",
        }
    }
    listed = http.get(
        "/" + path.replace("/", "//"),
        headers=a,
        params={"api-version": "2022-04-01", "$filter": "roleName eq 'Reader'"},
    )
    assert [d["name"] for d in listed.json()["value"]] == [READER]


def test_faults_and_down(http: httpx.Client, fake: FakeAzure) -> None:
    g = bearer(http, GRAPH)
    assert (
        http.post(
            "/_fake/faults", json={"operation": "groups.*", "times": 1, "status": 503}
        ).status_code
        == 200
    )
    failed = http.get("/v1.0/groups", headers=g)
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "serviceNotAvailable"
    assert http.get("/v1.0/groups", headers=g).status_code == 200
    http.post("/_fake/faults", json={"down": True})
    with pytest.raises(httpx.TransportError):
        http.get("/v1.0/groups", headers=g)
    assert http.get("/_fake/state").status_code == 200  # the control API still answers
    http.post("/_fake/faults", json={"down": False})
    assert http.get("/v1.0/groups", headers=g).status_code == 200
    calls = http.get("/_fake/calls").json()["calls"]
    assert [c["operation"] for c in calls if c["operation"].startswith("groups")] == [
        "groups.list",
        "groups.list",
        "groups.list",
    ]
