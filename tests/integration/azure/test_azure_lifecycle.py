"""The Azure engine end to end: a strongroom server process, the fake Azure, real clients.

Covers the walkthrough (roles of every kind, credentials, the identity and its
grants inside the fake, revocation and expiry by the server's scheduler), the
conformance script with both CLIs, hvac's `secrets.azure`, renewals and
rotate-root.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import hvac
import pytest

from tests.fakes.azure import CONTRIBUTOR, READER, SUBSCRIPTION_ID, TENANT_ID
from tests.integration.azure.conftest import (
    RG_APP,
    RG_DATA,
    SUB,
    Api,
    Fake,
    roles_json,
    unique,
)
from tests.integration.server import BAO, BIN, STRONGROOM, ServerProcess

SCRIPT = Path(__file__).resolve().parents[2] / "conformance" / "azure-walkthrough.sh"


def test_walkthrough_over_the_api(api: Api, fake: Fake) -> None:
    mount = api.mount(unique("azure-team-"))
    devs = fake.group_id("devs")
    existing = fake.seed_app("existing-app", service_principal=True)
    api.ok(
        "POST",
        f"{mount}/roles/Dynamic",  # names are lower-cased
        {
            "azure_roles": roles_json(
                {"role_name": "Reader", "scope": RG_APP},
                {
                    "role_id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                    f"{CONTRIBUTOR}",
                    "scope": RG_DATA,
                },
            ),
            "azure_groups": roles_json({"object_id": devs}),
            "ttl": "1h",
            "max_ttl": "2h",
            "tags": "team:x,env:test",
        },
    )
    role = api.ok("GET", f"{mount}/roles/dynamic")["data"]
    assert role["azure_roles"] == [
        {
            "role_name": "Reader",
            "role_id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
            "scope": RG_APP,
        },
        {
            "role_name": "Contributor",
            "role_id": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}",
            "scope": RG_DATA,
        },
    ]
    assert role["azure_groups"] == [{"group_name": "devs", "object_id": devs}]
    assert (role["ttl"], role["max_ttl"], role["tags"]) == (3600, 7200, ["team:x", "env:test"])
    api.ok("POST", f"{mount}/roles/static", {"application_object_id": existing["id"]})
    api.ok(
        "POST",
        f"{mount}/roles/kept",
        {
            "persist_app": True,
            "azure_roles": roles_json({"role_name": "Reader", "scope": SUB}),
            "azure_groups": roles_json({"group_name": "ops"}),
        },
    )
    kept = api.ok("GET", f"{mount}/roles/kept")["data"]
    assert kept["persist_app"] is True and kept["application_object_id"]
    assert api.ok("LIST", f"{mount}/roles")["data"]["keys"] == ["dynamic", "kept", "static"]

    # dynamic: a new application + SP holding both roles, in devs, with the tags
    body = api.ok("GET", f"{mount}/creds/dynamic")
    assert body["lease_id"].startswith(f"{mount}/creds/dynamic/")
    assert (body["lease_duration"], body["renewable"]) == (3600, True)
    cid, secret = body["data"]["client_id"], body["data"]["client_secret"]
    app, sp = fake.app_by_app_id(cid), fake.sp_by_app_id(cid)
    assert app is not None and sp is not None
    assert app["displayName"].startswith("vault-") and app["tags"] == ["team:x", "env:test"]
    grants = {
        (a["properties"]["roleDefinitionId"].rsplit("/", 1)[1], a["properties"]["scope"])
        for a in fake.assignments_of(sp["id"])
    }
    assert grants == {(READER, RG_APP), (CONTRIBUTOR, RG_DATA)}
    assert fake.groups_of(sp["id"]) == ["devs"]
    assert [p["displayName"] for p in sp["passwordCredentials"]] == [None]  # on the SP
    assert fake.token_status(cid, secret) == 200

    # static: the existing application gets a password, nothing else
    static = api.ok("GET", f"{mount}/creds/static")
    assert static["data"]["client_id"] == existing["appId"]
    passwords = fake.app_by_app_id(existing["appId"])["passwordCredentials"]
    assert [p["displayName"] for p in passwords] == ["vault-plugin-secrets-azure"]
    assert fake.token_status(existing["appId"], static["data"]["client_secret"]) == 200

    # persisted: the role's application, a password per read
    first = api.ok("GET", f"{mount}/creds/kept")
    second = api.ok("GET", f"{mount}/creds/kept")
    assert first["data"]["client_id"] == second["data"]["client_id"]
    managed = fake.app_by_app_id(first["data"]["client_id"])
    assert managed["displayName"].startswith("vault-kept-")
    assert len(managed["passwordCredentials"]) == 2
    managed_sp = fake.sp_by_app_id(first["data"]["client_id"])
    assert fake.groups_of(managed_sp["id"]) == ["ops"]

    # revocation removes exactly what each lease stands for
    before = len(fake.state()["role_assignments"])
    assert api.revoke(body["lease_id"]).status_code == 204
    assert fake.app_by_app_id(cid) is None and fake.sp_by_app_id(cid) is None
    assert len(fake.state()["role_assignments"]) == before - 2
    assert devs and sp["id"] not in next(
        g["members"] for g in fake.state()["groups"] if g["id"] == devs
    )
    assert fake.token_status(cid, secret) == 400  # AADSTS700016: no such application
    assert api.revoke(static["lease_id"]).status_code == 204
    assert fake.app_by_app_id(existing["appId"])["passwordCredentials"] == []
    assert api.revoke(first["lease_id"]).status_code == 204
    assert len(fake.app_by_app_id(first["data"]["client_id"])["passwordCredentials"]) == 1

    # updating a persisted role re-grants the same SP
    api.ok(
        "POST",
        f"{mount}/roles/kept",
        {
            "persist_app": True,
            "azure_roles": roles_json({"role_name": "Contributor", "scope": RG_DATA}),
        },
    )
    regranted = fake.assignments_of(managed_sp["id"])
    assert [a["properties"]["scope"] for a in regranted] == [RG_DATA]
    assert fake.groups_of(managed_sp["id"]) == ["ops"]  # azure_groups kept (partial update)

    # deleting the role deletes its application (the lease of `second` then has nothing left)
    assert api.http.delete(f"{mount}/roles/kept").status_code == 204
    assert fake.app_by_app_id(first["data"]["client_id"]) is None
    assert fake.assignments_of(managed_sp["id"]) == []
    assert api.revoke(second["lease_id"]).status_code == 204


def test_lease_expiry_deletes_the_identity(api: Api, fake: Fake) -> None:
    mount = api.mount(unique("azure-expiry-"))
    api.ok(
        "POST",
        f"{mount}/roles/short",
        {"azure_roles": roles_json({"role_name": "Reader", "scope": RG_APP}), "ttl": "2s"},
    )
    body = api.ok("GET", f"{mount}/creds/short")
    assert body["lease_duration"] == 2
    cid = body["data"]["client_id"]
    sp = fake.sp_by_app_id(cid)
    assert sp is not None and fake.assignments_of(sp["id"])
    start = time.monotonic()
    assert fake.wait(lambda: fake.app_by_app_id(cid) is None, timeout=15)
    assert time.monotonic() - start >= 1.0  # not before the lease ran out
    assert fake.assignments_of(sp["id"]) == []
    assert api.lookup(body["lease_id"]).status_code == 400


def test_renew_is_capped_by_the_azure_password(api: Api, fake: Fake) -> None:
    mount = api.mount(unique("azure-renew-"))
    api.ok(
        "POST",
        f"{mount}/roles/r",
        {
            "azure_groups": roles_json({"group_name": "devs"}),
            "ttl": "20s",
            "explicit_max_ttl": "30s",
        },
    )
    body = api.ok("GET", f"{mount}/creds/r")
    assert body["lease_duration"] == 20
    sp = fake.sp_by_app_id(body["data"]["client_id"])
    end = sp["passwordCredentials"][0]["endDateTime"]
    start = sp["passwordCredentials"][0]["startDateTime"]
    assert _seconds(end) - _seconds(start) == 30  # explicit_max_ttl is the password's lifetime
    renewed = api.ok("PUT", "sys/leases/renew", {"lease_id": body["lease_id"], "increment": 3600})
    assert 25 <= renewed["lease_duration"] <= 30  # never past the password's end
    api.revoke(body["lease_id"])


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_creds_for_missing_role_and_config_checks(api: Api) -> None:
    mount = api.mount(unique("azure-misc-"))
    resp = api.get(f"{mount}/creds/nope")
    assert resp.status_code == 400
    assert resp.json()["errors"] == ["role 'nope' does not exist"]
    config = api.ok("GET", f"{mount}/config")["data"]
    assert "client_secret" not in config
    assert config["subscription_id"] == SUBSCRIPTION_ID and config["tenant_id"] == TENANT_ID
    resp = api.post(f"{mount}/config", {"environment": "AzureGermanCloud"})
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        'err: no cloud configuration matching the name "AZUREGERMANCLOUD"'
    ]
    resp = api.post(f"{mount}/config", {"password_policy": "x"})
    assert resp.status_code == 200
    assert resp.json()["warnings"] == [
        "Endpoint ignored these unrecognized parameters: [password_policy]"
    ]


# --------------------------------------------------------------------------- hvac


def test_hvac_secrets_azure(server: ServerProcess, fake: Fake) -> None:
    client = hvac.Client(url=server.addr, token="root")
    mount = unique("azure-hvac-")
    client.sys.enable_secrets_engine("azure", path=mount)
    root = fake.seed_app("hvac-root", root=True)
    client.secrets.azure.configure(
        subscription_id=SUBSCRIPTION_ID,
        tenant_id=TENANT_ID,
        client_id=root["appId"],
        client_secret=root["secret"],
        environment="AzurePublicCloud",
        mount_point=mount,
    )
    config = client.secrets.azure.read_config(mount_point=mount)
    assert config["client_id"] == root["appId"]
    assert config["environment"] == "AzurePublicCloud"
    assert "client_secret" not in config
    client.secrets.azure.create_or_update_role(
        "hv",
        [{"role_name": "Reader", "scope": RG_APP}],
        ttl="10m",
        max_ttl="1h",
        mount_point=mount,
    )
    assert client.secrets.azure.list_roles(mount_point=mount) == {"keys": ["hv"]}
    creds = client.secrets.azure.generate_credentials("hv", mount_point=mount)
    assert fake.token_status(creds["client_id"], creds["client_secret"]) == 200
    with pytest.raises(hvac.exceptions.InvalidRequest, match="no role found for role_name"):
        client.secrets.azure.create_or_update_role(
            "bad", [{"role_name": "Nope", "scope": RG_APP}], mount_point=mount
        )
    client.sys.revoke_prefix(f"{mount}/creds")
    assert fake.wait(lambda: fake.app_by_app_id(creds["client_id"]) is None)
    client.secrets.azure.delete_config(mount_point=mount)
    assert client.secrets.azure.read_config(mount_point=mount)["client_id"] == ""


# --------------------------------------------------------------------------- rotate-root


def test_rotate_root(api: Api, fake: Fake) -> None:
    root = fake.seed_app("rotating-root", root=True)
    mount = api.mount(unique("azure-rot-"), client_id=root["appId"], client_secret=root["secret"])
    api.ok("POST", f"{mount}/roles/g", {"azure_groups": roles_json({"group_name": "devs"})})
    assert api.post(f"{mount}/rotate-root").status_code == 204
    passwords = fake.app_by_app_id(root["appId"])["passwordCredentials"]
    assert len(passwords) == 2 and passwords[1]["displayName"].startswith("vault-")
    # After the propagation delay (1 s here) the engine switches and removes the old secret.
    assert fake.wait(lambda: fake.token_status(root["appId"], root["secret"]) != 200, timeout=15)
    config = api.ok("GET", f"{mount}/config")["data"]
    assert config["root_password_expiration_date"] == passwords[1]["endDateTime"]
    remaining = fake.app_by_app_id(root["appId"])["passwordCredentials"]
    assert [p["keyId"] for p in remaining] == [passwords[1]["keyId"]]
    body = api.ok("GET", f"{mount}/creds/g")  # the engine works with the new secret
    api.revoke(body["lease_id"])


# --------------------------------------------------------------------------- conformance


def run_walkthrough(
    cli: str, server: ServerProcess, fake: Fake
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CLI": cli,
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": "root",
        "AZURE_FAKE": fake.url,
        "AZURE_FAKE_CA": fake.ca,
        "PYTHON": str(BIN / "python"),
        "HOME": str(server.home),
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=180
    )


@pytest.mark.parametrize("cli", ["bao", "strongroom"])
def test_conformance_walkthrough(cli: str, server: ServerProcess, fake: Fake) -> None:
    assert Path(BAO).exists() or cli != "bao"
    assert Path(STRONGROOM).exists()
    result = run_walkthrough(cli, server, fake)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "36 passed, 0 failed"
