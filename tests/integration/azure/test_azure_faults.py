"""Failures between strongroom and Azure, made by the fake's fault injection.

No orphans: whatever fails, every application, service principal and role
assignment the engine made is gone from the fake afterwards (at once, or once
Azure answers again), and the user hears why in words.
"""

from __future__ import annotations

import re

import pytest

from tests.fakes.azure import ROOT_APP_ID, ROOT_SECRET
from tests.integration.azure.conftest import (
    RG_APP,
    RG_DATA,
    SUB,
    Api,
    Fake,
    roles_json,
    unique,
)
from tests.integration.server import ServerProcess

BOTH = {
    "azure_roles": roles_json(
        {"role_name": "Reader", "scope": RG_APP}, {"role_name": "Contributor", "scope": RG_DATA}
    ),
    "azure_groups": roles_json({"group_name": "devs"}, {"group_name": "ops"}),
}


@pytest.fixture(scope="module")
def azure(api: Api) -> str:
    mount = api.mount("azure-faults")
    api.ok("POST", f"{mount}/roles/both", BOTH)
    return mount


def test_wrong_root_credentials(api: Api, fake: Fake, azure: str) -> None:
    mount = api.mount(unique("azure-wrong-"))
    api.ok("POST", f"{mount}/roles/both", BOTH)
    api.ok("POST", f"{mount}/config", {"client_secret": "not-the-secret"})
    before = fake.identity_count()
    resp = api.get(f"{mount}/creds/both")
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(
        "error creating application: authentication to Azure failed: AADSTS7000215: Invalid "
        "client secret provided."
    ), message
    assert "not-the-secret" not in message
    assert fake.identity_count() == before
    assert not fake.calls("applications.create")  # refused at the token service
    # Role writes that must look things up say the same, as a 400 too.
    resp = api.post(f"{mount}/roles/other", BOTH)
    assert resp.status_code == 400
    assert "AADSTS7000215" in resp.json()["errors"][0]
    # An unknown client ID is as clear.
    api.ok("POST", f"{mount}/config", {"client_id": "00000000-0000-0000-0000-000000000000"})
    resp = api.get(f"{mount}/creds/both")
    assert resp.status_code == 400
    assert "AADSTS700016" in resp.json()["errors"][0]
    assert fake.identity_count() == before


@pytest.mark.parametrize(
    ("operation", "prefix"),
    [
        ("servicePrincipals.addPassword", "error adding password to service principal"),
        ("roleAssignments.create", "error assigning Azure roles"),
        ("groups.addMember", "error adding service principal to groups"),
    ],
)
def test_failure_half_way_leaves_nothing(
    api: Api, fake: Fake, azure: str, operation: str, prefix: str
) -> None:
    before = fake.identity_count()
    fake.fail(operation, status=500, message="injected: the service is having a bad day")
    resp = api.get(f"{azure}/creds/both")
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(f"{prefix}: ")
    assert "injected: the service is having a bad day" in message
    assert fake.calls("applications.create")  # it really was half-way
    # applications, service principals, role assignments, deleted items: as before
    assert fake.identity_count() == before
    assert not [a for a in fake.state()["applications"] if a["displayName"].startswith("vault-")]


def test_ambiguous_create_failure_is_cleaned_up(api: Api, fake: Fake, azure: str) -> None:
    # Azure made the application but the answer was lost: found by its name and removed.
    before = fake.identity_count()
    fake.fail("applications.create", after=True, reset=True)
    resp = api.get(f"{azure}/creds/both")
    assert resp.status_code == 400
    assert "cannot reach Azure" in resp.json()["errors"][0]
    assert fake.calls("applications.list")  # looked for it by display name
    assert fake.identity_count() == before


def test_unreachable_during_revocation_is_retried(api: Api, fake: Fake, azure: str) -> None:
    body = api.ok("GET", f"{azure}/creds/both")
    cid = body["data"]["client_id"]
    sp = fake.sp_by_app_id(cid)
    assert sp is not None and len(fake.assignments_of(sp["id"])) == 2
    fake.down()
    try:
        resp = api.revoke(body["lease_id"])
        assert resp.status_code == 400
        assert "cannot reach Azure" in resp.json()["errors"][0]
        lookup = api.ok("PUT", "sys/leases/lookup", {"lease_id": body["lease_id"]})["data"]
        assert lookup["revocation"]["attempts"] >= 1
        assert "cannot reach Azure" in lookup["revocation"]["last_error"]
        assert fake.app_by_app_id(cid) is not None  # nothing could be removed
    finally:
        fake.up()
    # The lease manager retries with backoff until Azure answers; then all of it goes.
    assert fake.wait(lambda: fake.app_by_app_id(cid) is None, timeout=20)
    assert fake.sp_by_app_id(cid) is None
    assert fake.assignments_of(sp["id"]) == []
    assert fake.groups_of(sp["id"]) == []
    assert fake.wait(lambda: api.lookup(body["lease_id"]).status_code == 400, timeout=5)


def test_arm_down_keeps_the_lease_until_assignments_are_gone(
    api: Api, fake: Fake, azure: str
) -> None:
    # Graph works, ARM fails: the app goes, but the lease stays until the role
    # assignments (which Azure keeps after the principal is deleted) are removed too.
    body = api.ok("GET", f"{azure}/creds/both")
    sp = fake.sp_by_app_id(body["data"]["client_id"])
    fake.fail("roleAssignments.delete", status=503, times=2, message="ARM is unavailable")
    resp = api.revoke(body["lease_id"])
    assert resp.status_code == 400
    assert "ARM is unavailable" in resp.json()["errors"][0]
    assert fake.wait(lambda: fake.assignments_of(sp["id"]) == [], timeout=20)
    assert fake.wait(lambda: api.lookup(body["lease_id"]).status_code == 400, timeout=5)


def test_password_limit_is_a_clear_message(api: Api, fake: Fake, azure: str) -> None:
    existing = fake.seed_app(unique("crowded-"), service_principal=True)
    api.ok("POST", f"{azure}/roles/crowded", {"application_object_id": existing["id"]})
    fake.settings(max_passwords=2)
    leases = [api.ok("GET", f"{azure}/creds/crowded")["lease_id"] for _ in range(2)]
    resp = api.get(f"{azure}/creds/crowded")
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(
        "error updating credentials: maximum number of Application passwords reached"
    ), message
    for lease in leases:
        assert api.revoke(lease).status_code == 204
    assert fake.app_by_app_id(existing["appId"])["passwordCredentials"] == []


def test_role_assignment_limit_is_a_clear_message(api: Api, fake: Fake, azure: str) -> None:
    before = fake.identity_count()
    fake.settings(max_role_assignments=len(fake.state()["role_assignments"]))
    resp = api.get(f"{azure}/creds/both")
    assert resp.status_code == 400
    [message] = resp.json()["errors"]
    assert message.startswith(
        "error assigning Azure roles: RoleAssignmentLimitExceeded: No more role assignments "
        "can be created."
    ), message
    assert fake.identity_count() == before


def test_throttling_is_reported_as_rate_limited(api: Api, fake: Fake, azure: str) -> None:
    before = fake.identity_count()
    fake.fail(
        "applications.create",
        status=429,
        code="TooManyRequests",
        retry_after=1,
        message="Too many requests",
    )
    resp = api.get(f"{azure}/creds/both")
    assert resp.status_code == 502
    assert resp.json()["errors"][0].startswith(
        "error creating application: upstream rate limited: TooManyRequests"
    )
    assert fake.identity_count() == before


def test_lookup_errors(api: Api, fake: Fake, azure: str) -> None:
    cases = [
        (
            {"azure_roles": roles_json({"role_name": "Nope", "scope": RG_APP})},
            "no role found for role_name: 'Nope'",
        ),
        (
            {
                "azure_roles": roles_json(
                    {
                        "role_id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/0000",
                        "scope": RG_APP,
                    }
                )
            },
            f"no role found for role_id: '{SUB}/providers/Microsoft.Authorization/"
            "roleDefinitions/0000'",
        ),
        (
            {"azure_groups": roles_json({"group_name": "dup"})},
            "multiple matches found for group_name: 'dup'. Specify group by ObjectID instead.",
        ),
        (
            {"azure_groups": roles_json({"object_id": "11111111-1111-1111-1111-111111111111"})},
            "no group found for object_id: '11111111-1111-1111-1111-111111111111'",
        ),
    ]
    for body, error in cases:
        resp = api.post(f"{azure}/roles/bad", body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["errors"] == [error]
    resp = api.post(f"{azure}/roles/bad", {"application_object_id": ROOT_APP_ID})
    assert resp.status_code == 500
    assert "error loading Application: Request_ResourceNotFound" in resp.json()["errors"][0]


def test_no_secret_in_the_server_log(server: ServerProcess) -> None:
    """Run last in this module: nothing above leaked a secret into the server's output."""
    log = server.output()
    assert "azure" in log  # the engine was there
    assert ROOT_SECRET not in log
    assert "not-the-secret" not in log
    assert not re.search(r"[A-Za-z0-9]{3}8Q~[A-Za-z0-9_.~-]{34}", log)  # issued secrets
