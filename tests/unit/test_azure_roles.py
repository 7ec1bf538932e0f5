"""roles/<name>: validation, Azure lookups, read/list/delete, and persisted applications."""

from __future__ import annotations

import pytest

from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation
from tests.fakes.azure import READER
from tests.fakes.azure import harness as support
from tests.fakes.azure.harness import RG_APP, RG_DATA, SUB, Harness, roles_json
from tests.fakes.azure.models import RoleDefinition

azure_fake = support.azure_fake
harness = support.harness

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
READER_ID = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"


async def test_roles_need_a_config(harness: Harness) -> None:
    for op in (R, U):
        with pytest.raises(VaultError) as info:
            await harness.call(op, "roles/x", {"azure_groups": "[]"})
        assert info.value.status == 500
        assert "config is nil" in str(info.value)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ttl": "2h", "max_ttl": "1h"}, "ttl cannot be greater than max_ttl"),
        ({"ttl": "2h", "explicit_max_ttl": "1h"}, "ttl cannot be greater than explicit_max_ttl"),
        (
            {"max_ttl": "2h", "explicit_max_ttl": "1h"},
            "max_ttl cannot be greater than explicit_max_ttl",
        ),
        ({"azure_roles": "[{nope"}, "error parsing Azure roles '[{nope': "),
        ({"azure_groups": "{}"}, "error parsing Azure groups '{}': "),
        (
            {"sign_in_audience": "Everyone", "azure_groups": "[]"},
            "Invalid value for sign_in_audience field. Valid values are: AzureADMyOrg, "
            "AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount",
        ),
        ({"tags": "a b"}, "whitespaces are not allowed in tags"),
        (
            {"tags": ["x" * 257]},
            "individual tag size must be between 1 and 256 characters (inclusive)",
        ),
        (
            {"ttl": "1h"},
            "either Azure role definitions, group definitions, or an Application Object ID must "
            "be provided",
        ),
        (
            {
                "azure_roles": roles_json(
                    {"role_name": "Reader", "scope": RG_APP},
                    {"role_id": READER_ID, "scope": RG_APP},
                )
            },
            f"duplicate role_id and scope: '{READER_ID}', '{RG_APP}'",
        ),
        (
            {"azure_roles": roles_json({"role_name": "reader"})},
            "missing scope for Azure role 'Reader'",
        ),
        (
            {"azure_roles": roles_json({"role_name": "Nope", "scope": RG_APP})},
            "no role found for role_name: 'Nope'",
        ),
        (
            {"azure_groups": roles_json({"group_name": "nobody"})},
            "no group found for group_name: 'nobody'",
        ),
    ],
)
async def test_role_validation(harness: Harness, body: dict, error: str) -> None:
    await harness.configure()
    with pytest.raises(BadRequest) as info:
        await harness.role("bad", **body)
    assert str(info.value).startswith(error)
    with pytest.raises(NotFound):
        await harness.call(R, "roles/bad")


async def test_lookups_canonicalise_and_names_are_lower_cased(harness: Harness) -> None:
    await harness.configure()
    devs = next(g["id"] for g in harness.state()["groups"] if g["displayName"] == "devs")
    await harness.role(
        "MyRole",
        azure_roles=[{"role_name": "reader", "scope": RG_APP}],  # a JSON list works too
        azure_groups=roles_json({"object_id": devs}, {"group_name": "ops"}),
        ttl="1h",
        tags="a,b,a",
        sign_in_audience="AzureADMultipleOrgs",
    )
    data = (await harness.call(R, "roles/myrole")).data
    assert data == {
        "ttl": 3600,
        "max_ttl": 0,
        "explicit_max_ttl": 0,
        "azure_roles": [{"role_name": "Reader", "role_id": READER_ID, "scope": RG_APP}],
        "azure_groups": [
            {"group_name": "devs", "object_id": devs},
            {"group_name": "ops", "object_id": data["azure_groups"][1]["object_id"]},
        ],
        "application_object_id": "",
        "permanently_delete": False,
        "persist_app": False,
        "sign_in_audience": "AzureADMultipleOrgs",
        "tags": ["a", "b"],
    }
    with pytest.raises(BadRequest, match="duplicate object_id"):
        await harness.role(
            "dups", azure_groups=roles_json({"object_id": devs}, {"group_name": "devs"})
        )
    # a partial update keeps the rest; permanently_delete resets when omitted
    await harness.role("myrole", permanently_delete=True)
    assert (await harness.call(R, "roles/myrole")).data["permanently_delete"] is True
    await harness.role("myrole", ttl="2h")
    data = (await harness.call(R, "roles/myrole")).data
    assert (data["ttl"], data["permanently_delete"], data["tags"]) == (7200, False, ["a", "b"])
    await harness.role("other", azure_groups=roles_json({"group_name": "ops"}))
    assert (await harness.call(L, "roles/")).data == {"keys": ["myrole", "other"]}
    await harness.call(D, "roles/MYROLE")
    with pytest.raises(NotFound):
        await harness.call(R, "roles/myrole")


async def test_ambiguous_names(harness: Harness) -> None:
    await harness.configure()
    with pytest.raises(BadRequest) as info:
        await harness.role("g", azure_groups=roles_json({"group_name": "dup"}))
    assert str(info.value) == (
        "multiple matches found for group_name: 'dup'. Specify group by ObjectID instead."
    )
    model = harness.fake.model
    with model.lock:
        twin = RoleDefinition(
            "0c0c0c0c-1111-2222-3333-444455556666",
            "Reader",
            "a custom twin",
            ["*/read"],
            role_type="CustomRole",
        )
        model.role_definitions[twin.guid] = twin
    with pytest.raises(BadRequest) as info:
        await harness.role("r", azure_roles=roles_json({"role_name": "Reader", "scope": RG_APP}))
    assert str(info.value) == (
        "multiple matches found for role_name: 'Reader'. Specify role by ID instead."
    )
    # by ID it is unambiguous
    await harness.role("r", azure_roles=roles_json({"role_id": READER_ID, "scope": RG_APP}))


async def test_existing_application(harness: Harness) -> None:
    await harness.configure()
    app = harness.fake.model.seed_application("existing")
    with pytest.raises(BadRequest, match="permanently_delete must be false"):
        await harness.role("s", application_object_id=app.id, permanently_delete=True)
    with pytest.raises(VaultError, match="error loading Application: Request_ResourceNotFound"):
        await harness.role("s", application_object_id="deadbeef-0000-0000-0000-000000000000")
    await harness.role("s", application_object_id=app.id)
    role = await harness.backend.store.role("s")
    assert role.application_id == app.app_id


async def test_persisted_app_lifecycle(harness: Harness) -> None:
    await harness.configure()
    before = harness.counts()
    await harness.role(
        "kept",
        persist_app=True,
        azure_roles=roles_json({"role_name": "Reader", "scope": RG_APP}),
        azure_groups=roles_json({"group_name": "devs"}),
        explicit_max_ttl="1h",
    )
    role = await harness.backend.store.role("kept")
    assert role.managed and role.application_object_id == role.managed_application_object_id
    app = harness.app(role.application_id)
    assert app["displayName"].startswith("vault-kept-")
    sp = harness.sp(role.application_id)
    assert [p["displayName"] for p in sp["passwordCredentials"]] == [None]  # thrown away
    assert [a["id"] for a in harness.assignments_of(sp["id"])] == role.role_assignment_ids
    assert await harness.storage.list("wal/") == []
    # reads add a password to the managed application
    first = await harness.creds("kept")
    assert first.data["client_id"] == role.application_id
    assert first.secret.internal["secret_type"] == "static_service_principal"
    assert first.secret.max_ttl == 3600
    # an update re-grants the same SP
    await harness.role(
        "kept", persist_app=True, azure_roles=roles_json({"role_name": "Reader", "scope": RG_DATA})
    )
    assert [a["properties"]["scope"] for a in harness.assignments_of(sp["id"])] == [RG_DATA]
    assert (await harness.backend.store.role("kept")).sp_object_id == sp["id"]
    other = harness.fake.model.seed_application("someone-elses")
    with pytest.raises(BadRequest, match="application_object_id cannot be changed"):
        await harness.role("kept", application_object_id=other.id)
    # persist_app=false later does not delete the app (reference behaviour)
    await harness.role("kept", persist_app=False)
    assert harness.app(role.application_id) is not None
    # delete removes the grants and the app; the outstanding lease then revokes cleanly
    await harness.call(D, "roles/kept")
    assert harness.app(role.application_id) is None
    assert harness.assignments_of(sp["id"]) == []
    await harness.revoke(first)
    apps, sps, assignments, _deleted = harness.counts()
    assert (apps, sps, assignments) == (before[0] + 1, before[1], before[2])  # + someone-elses


async def test_persisted_app_failure_leaves_nothing(harness: Harness) -> None:
    await harness.configure()
    before = harness.counts()
    harness.fake.fail("groups.addMember", status=500, message="boom")
    with pytest.raises(BadRequest, match=r"error adding service principal to groups: .*boom"):
        await harness.role(
            "kept",
            persist_app=True,
            azure_roles=roles_json({"role_name": "Reader", "scope": RG_APP}),
            azure_groups=roles_json({"group_name": "devs"}),
        )
    assert harness.counts() == before
    assert await harness.backend.store.role("kept") is None
    assert await harness.storage.list("wal/") == []


async def test_persist_app_with_existing_application_is_refused(harness: Harness) -> None:
    await harness.configure()
    app = harness.fake.model.seed_application("existing")
    with pytest.raises(BadRequest, match="persist_app cannot be used with an existing"):
        await harness.role("p", application_object_id=app.id, persist_app=True)
