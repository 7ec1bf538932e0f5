"""config/root and config/lease of the AWS engine (§3.1, §3.3); STS endpoint resolution."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.aws import factory
from strongroom.engines.aws.client import sts_candidates
from strongroom.engines.aws.store import RootConfig
from strongroom.engines.aws.username import DEFAULT_USERNAME_TEMPLATE
from strongroom.storage.inmem import InmemStorage

R, U = Operation.READ, Operation.UPDATE

ROOT_READ_KEYS = [
    "access_key",
    "region",
    "iam_endpoint",
    "sts_endpoint",
    "sts_region",
    "sts_fallback_endpoints",
    "sts_fallback_regions",
    "max_retries",
    "username_template",
    "role_arn",
    "identity_token_audience",
    "identity_token_ttl",
    "rotation_schedule",
    "rotation_policy",
    "rotation_period",
    "rotation_window",
    "disable_automated_rotation",
]


class Env:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        self.backend = factory(
            BackendContext(storage=self.storage, mount=MountEntry.new("aws/", "aws"))
        )

    async def __call__(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> Response | None:
        req = Request(operation=op, path="aws/" + rel, rel_path=rel, data=data or {})
        return await self.backend.handle(req)

    async def error(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> VaultError:
        with pytest.raises(VaultError) as err:
            await self(op, rel, data)
        return err.value


@pytest.fixture
async def env() -> Env:
    e = Env()
    yield e
    await e.backend.cleanup()


async def test_root_read_never_shows_the_secret(env: Env) -> None:
    with pytest.raises(NotFound):
        await env(R, "config/root")
    assert (
        await env(
            U, "config/root", {"access_key": "AKIA1", "secret_key": "s3cret", "region": "eu-west-1"}
        )
        is None
    )
    data = (await env(R, "config/root")).data
    assert sorted(data) == sorted(ROOT_READ_KEYS)
    assert "s3cret" not in repr(data)
    assert data["access_key"] == "AKIA1" and data["region"] == "eu-west-1"
    assert data["max_retries"] == -1
    assert data["sts_fallback_endpoints"] == [] and data["sts_fallback_regions"] == []
    assert data["identity_token_ttl"] == 0 and data["disable_automated_rotation"] is False
    assert data["username_template"] == DEFAULT_USERNAME_TEMPLATE


async def test_root_partial_update_and_template_quirk(env: Env) -> None:
    await env(
        U,
        "config/root",
        {"access_key": "AKIA1", "secret_key": "s", "username_template": "{{ .Type }}"},
    )
    assert (await env(R, "config/root")).data["username_template"] == "{{ .Type }}"
    await env(U, "config/root", {"region": "us-west-2", "max_retries": "5"})
    data = (await env(R, "config/root")).data
    assert (
        data["access_key"] == "AKIA1" and data["region"] == "us-west-2" and data["max_retries"] == 5
    )
    # Vault's quirk: a write without username_template resets it to the default.
    assert data["username_template"] == DEFAULT_USERNAME_TEMPLATE
    stored = await env.backend.store.root()
    assert stored is not None and stored.secret_key == "s"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"sts_fallback_endpoints": "https://a,https://b", "sts_fallback_regions": "us-east-1"},
            "fallback endpoints and fallback regions must be the same length",
        ),
        (
            {"access_key": "AKIA", "identity_token_audience": "aud"},
            "only one of 'access_key' or 'identity_token_audience' can be set",
        ),
        (
            {"identity_token_audience": "aud"},
            "missing required 'role_arn' when 'identity_token_audience' is set",
        ),
        (
            {"identity_token_audience": "aud", "role_arn": "arn:aws:iam::1:role/r"},
            "plugin workload identity not supported in Vault community edition",
        ),
        (
            {"rotation_period": "24h"},
            "rotation manager capabilities not supported in Vault community edition",
        ),
    ],
)
async def test_root_validation(env: Env, data: dict[str, Any], message: str) -> None:
    err = await env.error(U, "config/root", data)
    assert isinstance(err, BadRequest) and err.messages == [message]


async def test_root_bad_field_types(env: Env) -> None:
    err = await env.error(U, "config/root", {"max_retries": "lots"})
    assert err.status == 400 and 'field "max_retries"' in err.messages[0]


async def test_lease_config(env: Env) -> None:
    with pytest.raises(NotFound):
        await env(R, "config/lease")
    err = await env.error(U, "config/lease", {})
    assert err.messages == ["'lease' is a required parameter"]
    err = await env.error(U, "config/lease", {"lease": "1h"})
    assert err.messages == ["'lease_max' is a required parameter"]
    err = await env.error(U, "config/lease", {"lease": "1h", "lease_max": "1y"})
    assert err.messages == ['Invalid lease_max: time: unknown unit "y" in duration "1y"']
    err = await env.error(U, "config/lease", {"lease": "x", "lease_max": "1h"})
    assert err.messages == ['Invalid lease: time: invalid duration "x"']
    # No check that lease <= lease_max; Go's Duration.String() on read.
    cases = [
        ("30m", "12h", "30m0s", "12h0m0s"),
        ("90", "3600", "1m30s", "1h0m0s"),
        ("1h30m", "32d", "1h30m0s", "768h0m0s"),
        ("0", "1s", "0s", "1s"),
        ("2h", "1h", "2h0m0s", "1h0m0s"),
    ]
    for lease, lease_max, shown, shown_max in cases:
        assert await env(U, "config/lease", {"lease": lease, "lease_max": lease_max}) is None
        assert (await env(R, "config/lease")).data == {"lease": shown, "lease_max": shown_max}


def test_sts_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert sts_candidates(None) == [("https://sts.us-east-1.amazonaws.com", "us-east-1")]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert sts_candidates(RootConfig())[0][1] == "ap-southeast-2"
    config = RootConfig(region="eu-west-1")
    assert sts_candidates(config) == [("https://sts.eu-west-1.amazonaws.com", "eu-west-1")]
    config = RootConfig(region="cn-north-1")
    assert sts_candidates(config) == [("https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1")]
    # sts_region only counts together with sts_endpoint.
    config = RootConfig(region="us-west-2", sts_region="eu-central-1")
    assert sts_candidates(config) == [("https://sts.us-west-2.amazonaws.com", "us-west-2")]
    config = RootConfig(
        region="us-west-2",
        sts_endpoint="https://sts.proxy",
        sts_region="eu-central-1",
        sts_fallback_endpoints=["https://sts.b"],
        sts_fallback_regions=["ap-south-1"],
    )
    assert sts_candidates(config) == [
        ("https://sts.proxy", "eu-central-1"),
        ("https://sts.b", "ap-south-1"),
    ]
