"""config, rotate-root and the endpoint settings of the Azure engine."""

from __future__ import annotations

import asyncio

import pytest

from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.request import Operation
from strongroom.engines.azure import settings
from strongroom.engines.azure.wal import ROTATE_ROOT
from tests.fakes.azure import ROOT_APP_ID, ROOT_SECRET
from tests.fakes.azure import harness as support
from tests.fakes.azure.harness import Harness, roles_json

azure_fake = support.azure_fake
harness = support.harness

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE


async def test_read_before_write_gives_defaults(harness: Harness) -> None:
    resp = await harness.call(R, "config")
    assert resp.data == {
        "subscription_id": "",
        "tenant_id": "",
        "client_id": "",
        "environment": "",
        "root_password_ttl": 0,
        "identity_token_audience": "",
        "identity_token_ttl": 0,
        "rotation_schedule": "",
        "rotation_window": 0,
        "rotation_period": 0,
        "disable_automated_rotation": False,
    }


async def test_write_read_partial_update_and_delete(harness: Harness) -> None:
    await harness.configure(root_password_ttl="2d")
    data = (await harness.call(R, "config")).data
    assert data["client_id"] == ROOT_APP_ID and data["root_password_ttl"] == 172800
    assert "client_secret" not in data and ROOT_SECRET not in str(data)
    await harness.call(U, "config", {"environment": "azurechinacloud"})
    data = (await harness.call(R, "config")).data
    assert data["environment"] == "azurechinacloud" and data["client_id"] == ROOT_APP_ID
    await harness.call(D, "config")
    assert (await harness.call(R, "config")).data["client_id"] == ""


async def test_root_password_ttl_default_only_on_create(harness: Harness) -> None:
    await harness.configure()
    assert (await harness.call(R, "config")).data["root_password_ttl"] == 15768000
    await harness.call(U, "config", {"root_password_ttl": "1h"})
    await harness.call(U, "config", {"tenant_id": ROOT_APP_ID})
    assert (await harness.call(R, "config")).data["root_password_ttl"] == 3600


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"environment": "AzureGermanCloud"},
            'err: no cloud configuration matching the name "AZUREGERMANCLOUD"',
        ),
        (
            {"identity_token_audience": "x"},
            "only one of 'client_secret' or 'identity_token_audience' can be set",
        ),
        (
            {"client_secret": "", "identity_token_audience": "x"},
            "plugin workload identity not supported in Vault community edition",
        ),
        (
            {"rotation_period": "24h"},
            "rotation manager capabilities not supported in Vault community edition",
        ),
        (
            {"rotation_period": "24h", "rotation_schedule": "0 * * * *"},
            "mutually exclusive fields rotation_schedule and rotation_period were both specified",
        ),
    ],
)
async def test_config_validation(harness: Harness, body: dict, error: str) -> None:
    with pytest.raises(BadRequest) as info:
        await harness.configure(**body)
    assert str(info.value) == error


async def test_password_policy_is_ignored_with_a_warning(harness: Harness) -> None:
    resp = await harness.call(U, "config", {"subscription_id": "s", "password_policy": "p"})
    assert resp.warnings == ["Endpoint ignored these unrecognized parameters: [password_policy]"]


async def test_client_needs_ids(harness: Harness) -> None:
    await harness.call(U, "config", {"tenant_id": "t"})
    with pytest.raises(VaultError, match="subscription_id is required"):
        await harness.backend.clients.get()
    await harness.call(U, "config", {"subscription_id": "s", "tenant_id": ""})
    with pytest.raises(VaultError, match="tenant_id is required"):
        await harness.backend.clients.get()
    await harness.call(U, "config", {"tenant_id": "t"})
    with pytest.raises(BadRequest, match="does not fall back to managed identity"):
        await harness.backend.clients.get()


async def test_environment_variables_override_config(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.configure(client_secret="wrong")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", ROOT_SECRET)
    await harness.role("g", azure_groups=roles_json({"group_name": "devs"}))
    resp = await harness.creds("g")
    assert resp.data["client_id"]
    await harness.revoke(resp)


# --------------------------------------------------------------------------- settings


def test_default_endpoints_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        settings.ENV_LOGIN,
        settings.ENV_GRAPH,
        settings.ENV_ARM,
        settings.ENV_CA,
        settings.ENV_RETRIES,
    ):
        monkeypatch.delenv(name, raising=False)
    public = settings.endpoints("")
    assert (public.authority, public.graph, public.arm) == (
        "https://login.microsoftonline.com",
        "https://graph.microsoft.com/v1.0",
        "https://management.azure.com",
    )
    assert public.graph_scope == "https://graph.microsoft.com/.default"
    assert public.arm_scope == "https://management.azure.com/.default"
    assert not public.custom_authority and public.max_retries == 3
    gov = settings.endpoints("AZUREUSGOVERNMENTCLOUD")
    assert gov.graph == "https://graph.microsoft.us/v1.0"
    assert gov.arm == "https://management.usgovcloudapi.net"
    china = settings.endpoints("AzureChinaCloud")
    assert china.authority == "https://login.chinacloudapi.cn"
    with pytest.raises(settings.UnknownEnvironment):
        settings.endpoints("AzureGermanCloud")


def test_endpoint_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_LOGIN, "https://127.0.0.1:9/")
    monkeypatch.setenv(settings.ENV_GRAPH, "https://127.0.0.1:9/v1.0/")
    monkeypatch.setenv(settings.ENV_ARM, "https://127.0.0.1:9")
    monkeypatch.setenv(settings.ENV_CA, "/tmp/ca.pem")
    monkeypatch.setenv(settings.ENV_RETRIES, "not a number")
    where = settings.endpoints("AzureChinaCloud")
    assert (where.authority, where.graph, where.arm) == (
        "https://127.0.0.1:9",
        "https://127.0.0.1:9/v1.0",
        "https://127.0.0.1:9",
    )
    assert where.custom_authority and where.ca_bundle == "/tmp/ca.pem"
    assert where.max_retries == settings.DEFAULT_RETRIES
    # The audiences stay the environment's: a fake or proxy stands in for the real service.
    assert where.graph_scope == "https://microsoftgraph.chinacloudapi.cn/.default"
    monkeypatch.setenv(settings.ENV_ROTATION_DELAY, "2.5")
    assert settings.rotation_delay() == 2.5


# --------------------------------------------------------------------------- rotate-root


async def test_rotate_root_then_promotion(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_ROTATION_DELAY, "60")
    await harness.configure()
    assert await harness.call(U, "rotate-root") is None
    passwords = harness.app(ROOT_APP_ID)["passwordCredentials"]
    assert len(passwords) == 2 and passwords[1]["displayName"].startswith("vault-")
    rotation = harness.backend.rotation
    assert 0 < await rotation.promote_due() <= 60  # too young: the old secret stays in use
    assert len(harness.app(ROOT_APP_ID)["passwordCredentials"]) == 2
    harness.clock.advance(seconds=61)
    assert await rotation.promote_due() == 60.0
    remaining = harness.app(ROOT_APP_ID)["passwordCredentials"]
    assert [p["keyId"] for p in remaining] == [passwords[1]["keyId"]]
    config = await harness.backend.store.config()
    assert config.client_secret != ROOT_SECRET and not config.rotation_pending
    assert config.client_secret_key_id == passwords[1]["keyId"]
    data = (await harness.call(R, "config")).data
    assert data["root_password_expiration_date"] == passwords[1]["endDateTime"]
    # and the engine works with it
    await harness.role("g", azure_groups=roles_json({"group_name": "devs"}))
    await harness.revoke(await harness.creds("g"))


async def test_rotate_root_errors(harness: Harness) -> None:
    with pytest.raises(VaultError, match="config is nil"):
        await harness.call(U, "rotate-root")
    await harness.configure()
    harness.fake.fail("applications.addPassword", status=400, message="nope")
    with pytest.raises(VaultError, match="failed to add new password: Request_BadRequest: nope"):
        await harness.call(U, "rotate-root")
    assert await harness.storage.list("wal/") == []


async def test_rotate_root_journal_undo(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await harness.configure()
    # The new password was added, but the answer was lost (and the clean-up could not run).
    harness.fake.fail("applications.addPassword", after=True, reset=True)
    with pytest.raises(VaultError, match="failed to add new password"):
        await harness.call(U, "rotate-root")
    assert len(harness.app(ROOT_APP_ID)["passwordCredentials"]) == 2
    [entry] = await harness.backend.wal.entries()
    assert entry.kind == ROTATE_ROOT
    harness.clock.advance(minutes=11)
    assert await harness.backend.rollback() == 1
    assert len(harness.app(ROOT_APP_ID)["passwordCredentials"]) == 1
    assert (await harness.backend.store.config()).client_secret == ROOT_SECRET


async def test_rotation_task_promotes_in_the_background(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_ROTATION_DELAY, "0")
    await harness.configure()
    await harness.backend.initialize()
    await harness.call(U, "rotate-root")
    for _ in range(100):
        if len(harness.app(ROOT_APP_ID)["passwordCredentials"]) == 1:
            break
        await asyncio.sleep(0.05)
    assert (await harness.backend.store.config()).client_secret != ROOT_SECRET
