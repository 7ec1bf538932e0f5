"""creds/<role>: issue, revoke and renew; replication retries; the journal and its rollback."""

from __future__ import annotations

import re

import pytest

from strongroom.core.errors import BadRequest
from strongroom.core.leases import is_throttling
from strongroom.core.request import Operation
from strongroom.engines.azure import identity
from strongroom.engines.azure.errors import RevocationFailed
from strongroom.engines.azure.path_creds import lease_limits
from strongroom.engines.azure.store import Role
from strongroom.engines.azure.wal import APP_CREATE, ROLE_ASSIGN
from tests.fakes.azure import harness as support
from tests.fakes.azure.harness import RG_APP, RG_DATA, Harness, roles_json

azure_fake = support.azure_fake
harness = support.harness

R = Operation.READ
BOTH = {
    "azure_roles": roles_json(
        {"role_name": "Reader", "scope": RG_APP}, {"role_name": "Contributor", "scope": RG_DATA}
    ),
    "azure_groups": roles_json({"group_name": "devs"}),
}


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "RETRY_MIN", 0.05)
    monkeypatch.setattr(identity, "RETRY_MAX", 0.1)
    monkeypatch.setattr(identity, "RETRY_TIMEOUT", 0.6)


async def test_dynamic_issue_and_revoke(harness: Harness) -> None:
    await harness.configure()
    await harness.role("both", ttl="1h", max_ttl="2h", **BOTH)
    before = harness.counts()
    resp = await harness.creds("both")
    secret = resp.secret
    assert (secret.ttl, secret.max_ttl, secret.renewable) == (3600, 7200, True)
    internal = secret.internal
    assert internal["secret_type"] == "service_principal" and internal["role"] == "both"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", internal["key_end_date"])
    sp = harness.sp(resp.data["client_id"])
    assert internal["sp_object_id"] == sp["id"]
    assert sorted(internal["role_assignment_ids"]) == sorted(
        a["id"] for a in harness.assignments_of(sp["id"])
    )
    assert len(internal["group_membership_ids"]) == 1
    assert await harness.storage.list("wal/") == []  # settled once the lease was stored
    await harness.revoke(resp)
    assert harness.counts()[:3] == before[:3]
    await harness.revoke(resp)  # idempotent: everything answers 404 now


async def test_permanently_delete_purges(harness: Harness) -> None:
    await harness.configure()
    await harness.role("p", permanently_delete=True, **BOTH)
    before = harness.counts()
    resp = await harness.creds("p")
    await harness.revoke(resp)
    assert harness.counts() == before  # nothing left in deleted items either
    calls = [c.operation for c in harness.fake.calls_for("deletedItems.delete")]
    assert len(calls) == 2


async def test_static_issue_and_revoke(harness: Harness) -> None:
    await harness.configure()
    app = harness.fake.model.seed_application("existing")
    await harness.role("s", application_object_id=app.id, explicit_max_ttl="2h")
    first = await harness.creds("s")
    second = await harness.creds("s")
    assert first.data["client_id"] == app.app_id == second.data["client_id"]
    assert first.secret.internal["secret_type"] == "static_service_principal"
    passwords = harness.app(app.app_id)["passwordCredentials"]
    assert [p["displayName"] for p in passwords] == ["vault-plugin-secrets-azure"] * 2
    await harness.revoke(first)
    assert [p["keyId"] for p in harness.app(app.app_id)["passwordCredentials"]] == [
        second.secret.internal["key_id"]
    ]
    await harness.revoke(first)  # "No password credential found with keyId": done already
    harness.fake.model.applications.pop(app.id)
    await harness.revoke(second)  # the application itself is gone: nothing to remove


def test_lease_limits() -> None:
    assert lease_limits(Role(ttl=60, max_ttl=0, explicit_max_ttl=0)) == (60, 0)
    assert lease_limits(Role(ttl=60, max_ttl=0, explicit_max_ttl=300)) == (60, 300)
    assert lease_limits(Role(ttl=60, max_ttl=200, explicit_max_ttl=300)) == (60, 200)
    assert lease_limits(Role(ttl=60, max_ttl=400, explicit_max_ttl=300)) == (60, 300)


async def test_renew(harness: Harness) -> None:
    await harness.configure()
    await harness.role("r", ttl="10m", explicit_max_ttl="1h", **BOTH)
    resp = await harness.creds("r")
    renew = harness.backend.secret_types["service_principal"].renew
    assert await renew(harness.lease(resp)) == 600
    assert await renew(harness.lease(resp, increment=7200)) == 3600  # the password ends then
    harness.clock.advance(minutes=55)
    assert 299 <= await renew(harness.lease(resp)) <= 300
    harness.clock.advance(minutes=6)
    with pytest.raises(BadRequest, match="Azure password of this lease has expired"):
        await renew(harness.lease(resp))
    legacy = harness.lease(resp)
    legacy.internal = {**legacy.internal, "key_end_date": ""}  # older leases: issue + 10 years
    assert await renew(legacy) == 600
    await harness.call(Operation.DELETE, "roles/r")
    with pytest.raises(BadRequest, match="role 'r' no longer exists"):
        await renew(harness.lease(resp))
    await harness.revoke(resp)


async def test_missing_role_and_lower_case(harness: Harness) -> None:
    await harness.configure()
    with pytest.raises(BadRequest) as info:
        await harness.call(R, "creds/nope")
    assert str(info.value) == "role 'nope' does not exist"
    await harness.role("mixed", **BOTH)
    resp = await harness.creds("MIXED")
    assert resp.secret.internal["role"] == "mixed"
    await harness.revoke(resp)


# --------------------------------------------------------------------------- replication


async def test_replication_lag_is_retried(harness: Harness, fast_retries: None) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    harness.fake.model.settings.propagation_delay = 0.3
    resp = await harness.creds("both")
    calls = [(c.operation, c.status) for c in harness.fake.calls]
    assert ("servicePrincipals.create", 400) in calls  # not replicated yet ...
    assert ("servicePrincipals.create", 201) in calls  # ... then it was
    assert ("roleAssignments.create", 400) in calls or ("groups.addMember", 404) in calls
    await harness.revoke(resp)


async def test_replication_retries_are_bounded(harness: Harness, fast_retries: None) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    before = harness.counts()
    harness.fake.fail(
        "roleAssignments.create",
        times=None,
        status=400,
        code="PrincipalNotFound",
        message="Principal does not exist in the directory.",
    )
    with pytest.raises(BadRequest, match="error assigning Azure roles: PrincipalNotFound"):
        await harness.call(R, "creds/both")
    assert len(harness.fake.calls_for("roleAssignments.create")) >= 3
    assert harness.counts() == before


async def test_other_errors_are_not_retried(harness: Harness, fast_retries: None) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    before = harness.counts()
    harness.fake.fail("servicePrincipals.create", status=400, message="Something else entirely.")
    with pytest.raises(BadRequest) as info:
        await harness.call(R, "creds/both")
    assert str(info.value).startswith(
        "error creating service principal: Request_BadRequest: Something else entirely."
    )
    assert len(harness.fake.calls_for("servicePrincipals.create")) == 1
    assert harness.counts() == before


# --------------------------------------------------------------------------- revocation


async def test_revocation_failures_are_retryable(harness: Harness) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    resp = await harness.creds("both")
    harness.fake.fail("roleAssignments.delete", status=429, code="TooManyRequests", times=1)
    with pytest.raises(RevocationFailed) as info:
        await harness.revoke(resp)
    assert is_throttling(info.value)
    assert "TooManyRequests" in str(info.value)
    # the rest of the identity is gone already; the retry finishes the assignments
    sp_id = resp.secret.internal["sp_object_id"]
    assert harness.sp(resp.data["client_id"]) is None
    assert len(harness.assignments_of(sp_id)) == 1
    await harness.revoke(resp)
    assert harness.assignments_of(sp_id) == []
    # unreachable: a plain (not throttled) retryable failure
    resp = await harness.creds("both")
    harness.fake.down()
    try:
        with pytest.raises(RevocationFailed) as info:
            await harness.revoke(resp)
        assert not is_throttling(info.value) and "cannot reach Azure" in str(info.value)
    finally:
        harness.fake.up()
    await harness.revoke(resp)
    assert harness.app(resp.data["client_id"]) is None


# --------------------------------------------------------------------------- journal


async def test_crash_leftovers_are_rolled_back(harness: Harness) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    before = harness.counts()
    # Groups fail, and Azure then goes away before the clean-up: the journal keeps both records.
    harness.fake.fail("groups.addMember", status=500, message="boom")
    harness.fake.fail("roleAssignments.delete", reset=True, times=None)
    with pytest.raises(BadRequest, match="boom"):
        await harness.call(R, "creds/both")
    kinds = sorted(e.kind for e in await harness.backend.wal.entries())
    assert kinds == [APP_CREATE, ROLE_ASSIGN]
    assert harness.counts() != before
    harness.fake.clear()
    await harness.backend.cleanup()  # the process is gone

    # Restarted soon after: the records might belong to a request still running; kept.
    harness.clock.advance(minutes=2)
    second = harness.new_backend()
    assert await second.rollback() == 0
    # Later: rolled back (application, SP, assignments; purged from deleted items).
    harness.clock.advance(minutes=9)
    assert await second.rollback() == 2
    assert harness.counts() == before
    assert await harness.storage.list("wal/") == []


async def test_unstored_lease_leaves_records_for_the_rollback(harness: Harness) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    before = harness.counts()
    resp = await harness.creds("both", stored=False)  # the core could not store the lease
    assert len(await harness.backend.wal.entries()) == 2
    assert harness.backend.wal.inflight == set()
    harness.clock.advance(minutes=11)
    assert await harness.backend.rollback() == 2
    assert harness.counts() == before
    assert harness.app(resp.data["client_id"]) is None


async def test_journal_records_expire(harness: Harness) -> None:
    await harness.configure()
    wal = harness.backend.wal
    await wal.begin(APP_CREATE, display_name="vault-gone", app_object_id="", app_id="")
    wal.inflight.clear()
    harness.clock.advance(hours=25)
    assert await harness.backend.rollback() == 0
    assert await wal.entries() == []


async def test_application_found_by_name_when_its_id_was_never_known(harness: Harness) -> None:
    await harness.configure()
    await harness.role("both", **BOTH)
    before = harness.counts()
    harness.fake.fail("applications.create", after=True, reset=True)
    harness.fake.fail("applications.list", reset=True)  # and the inline clean-up fails too
    with pytest.raises(BadRequest, match="cannot reach Azure"):
        await harness.call(R, "creds/both")
    [entry] = await harness.backend.wal.entries()
    assert entry.data["app_object_id"] == "" and entry.data["display_name"].startswith("vault-")
    harness.clock.advance(minutes=11)
    assert await harness.backend.rollback() == 1
    assert harness.counts() == before


async def test_no_secret_in_errors(harness: Harness) -> None:
    await harness.configure(client_secret="s3cr3t-not-shown")
    await harness.backend.store.put_role(
        "r", Role(azure_groups=[{"group_name": "devs", "object_id": "x"}])
    )
    with pytest.raises(BadRequest) as info:
        await harness.call(R, "creds/r")
    assert "s3cr3t" not in str(info.value)
    assert "AADSTS7000215" in str(info.value)
