"""Response wrapping through the Core (spec §2.12): wrap, unwrap once, lookup, rewrap."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from strongroom.core.core import Core
from strongroom.core.errors import AclDenied, BadRequest, PermissionDenied, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.core.tokens import RESPONSE_WRAPPING_POLICY
from strongroom.engines import register_builtin
from strongroom.http.envelope import render
from strongroom.storage.inmem import InmemStorage

R, U, L = Operation.READ, Operation.UPDATE, Operation.LIST
INVALID = "wrapping token is not valid or does not exist"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


class Env:
    def __init__(self, core: Core, root: str, clock: FakeClock) -> None:
        self.core, self.root, self.clock = core, root, clock

    async def __call__(
        self,
        op: Operation,
        path: str,
        data: dict | None = None,
        *,
        token: str | None = None,
        wrap: int = 0,
    ) -> Response:
        req = Request(
            operation=op,
            path=path,
            data=data or {},
            client_token=self.root if token is None else token,
            wrap_ttl=wrap,
        )
        return await self.core.handle(req)


@pytest.fixture
async def env() -> Env:
    clock = FakeClock()
    core = Core(InmemStorage(), clock=clock)
    core.run_scheduler = False
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    await core.enable_mount(MountEntry.new("secret/", "kv", options={"version": "2"}))
    await core.enable_mount(MountEntry.new("kv1/", "kv"))
    e = Env(core, root, clock)
    await e(U, "secret/data/app", {"data": {"password": "hunter2"}})
    return e


def body(resp: Response) -> dict:
    status, raw = render(resp)
    assert status == 200
    return json.loads(raw)


async def test_wrapped_read_holds_only_wrap_info(env: Env) -> None:
    resp = await env(R, "secret/data/app", wrap=300)
    doc = body(resp)
    assert doc["data"] is None and doc["request_id"] == "" and doc["auth"] is None
    info = doc["wrap_info"]
    assert info["ttl"] == 300 and info["creation_path"] == "secret/data/app"
    assert info["token"].startswith("hvs.") and info["accessor"]
    assert "wrapped_accessor" not in info
    assert "hunter2" not in json.dumps(doc)


async def test_wrapping_token_is_single_use_response_wrapping_with_wrap_ttl(env: Env) -> None:
    info = (await env(R, "secret/data/app", wrap=300)).wrap_info
    assert info is not None
    looked = await env(U, "auth/token/lookup-accessor", {"accessor": info["accessor"]})
    assert looked.data is not None
    assert looked.data["policies"] == [RESPONSE_WRAPPING_POLICY]
    assert looked.data["num_uses"] == 1
    assert looked.data["creation_ttl"] == 300 and looked.data["explicit_max_ttl"] == 300
    assert looked.data["orphan"] is True and looked.data["renewable"] is False


async def test_unwrap_returns_the_response_once(env: Env) -> None:
    token = (await env(R, "secret/data/app", wrap=60)).wrap_info["token"]
    first = body(await env(U, "sys/wrapping/unwrap", token=token))
    assert first["data"]["data"] == {"password": "hunter2"}
    assert first["wrap_info"] is None
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", token=token)
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", {"token": token})


async def test_unwrap_by_a_third_party_needs_its_own_valid_token(env: Env) -> None:
    token = (await env(R, "secret/data/app", wrap=60)).wrap_info["token"]
    with pytest.raises(PermissionDenied):
        await env(U, "sys/wrapping/unwrap", {"token": token}, token="")
    with pytest.raises(PermissionDenied):
        await env(U, "sys/wrapping/unwrap", {"token": token}, token="nope")
    await env(U, "sys/policies/acl/none", {"policy": 'path "x" { capabilities = ["read"] }'})
    weak = await env(U, "auth/token/create", {"policies": ["none"], "no_default_policy": True})
    with pytest.raises(AclDenied):
        await env(U, "sys/wrapping/unwrap", {"token": token}, token=weak.auth["client_token"])
    # None of that spent the wrapping token.
    ok = await env(U, "sys/wrapping/unwrap", {"token": token})
    assert body(ok)["data"]["data"]["password"] == "hunter2"


async def test_unwrap_errors(env: Env) -> None:
    with pytest.raises(BadRequest, match="token is empty"):
        await env(U, "sys/wrapping/unwrap", token="")
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", {"token": "hvs.unknown"})
    # A normal token is no wrapping token, and unwrapping it must not revoke it.
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", {"token": env.root})
    assert (await env(R, "auth/token/lookup-self")).data is not None


async def test_concurrent_unwraps_only_one_wins(env: Env) -> None:
    token = (await env(R, "secret/data/app", wrap=60)).wrap_info["token"]
    results = await asyncio.gather(
        *(env(U, "sys/wrapping/unwrap", token=token) for _ in range(5)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Response)]
    lost = [r for r in results if isinstance(r, BadRequest)]
    assert len(won) == 1 and len(lost) == 4


async def test_lookup_is_unauthenticated_and_does_not_spend_the_token(env: Env) -> None:
    info = (await env(R, "secret/data/app", wrap=90)).wrap_info
    for _ in range(2):
        resp = await env(U, "sys/wrapping/lookup", {"token": info["token"]}, token="")
        assert resp.data == {
            "creation_path": "secret/data/app",
            "creation_time": info["creation_time"],
            "creation_ttl": 90,
        }
    assert (await env(U, "sys/wrapping/unwrap", token=info["token"])).raw is not None
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/lookup", {"token": info["token"]}, token="")


async def test_rewrap_moves_the_response_and_kills_the_old_token(env: Env) -> None:
    old = (await env(R, "secret/data/app", wrap=120)).wrap_info
    new = (await env(U, "sys/wrapping/rewrap", {"token": old["token"]})).wrap_info
    assert new is not None and new["token"] != old["token"]
    assert new["ttl"] == 120 and new["creation_path"] == "secret/data/app"
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", token=old["token"])
    data = body(await env(U, "sys/wrapping/unwrap", token=new["token"]))["data"]
    assert data["data"] == {"password": "hunter2"}


async def test_sys_wrapping_wrap(env: Env) -> None:
    with pytest.raises(BadRequest, match="endpoint requires response wrapping to be used"):
        await env(U, "sys/wrapping/wrap", {"a": "b"})
    info = (await env(U, "sys/wrapping/wrap", {"a": "b", "n": 1}, wrap=30)).wrap_info
    assert info["creation_path"] == "sys/wrapping/wrap"
    assert body(await env(U, "sys/wrapping/unwrap", token=info["token"]))["data"] == {
        "a": "b",
        "n": 1,
    }


async def test_wrapped_token_creation_has_wrapped_accessor(env: Env) -> None:
    info = (await env(U, "auth/token/create", {"policies": ["default"]}, wrap=60)).wrap_info
    auth = body(await env(U, "sys/wrapping/unwrap", token=info["token"]))["auth"]
    assert info["wrapped_accessor"] == auth["accessor"]
    me = await env(R, "auth/token/lookup-self", token=auth["client_token"])
    assert me.data["policies"] == ["default"]


async def test_nothing_to_return_is_not_wrapped(env: Env) -> None:
    resp = await env(U, "kv1/x", {"a": "1"}, wrap=60)
    assert resp.wrap_info is None and render(resp)[0] == 204


async def test_wrapping_token_expires_with_its_ttl(env: Env) -> None:
    info = (await env(R, "secret/data/app", wrap=30)).wrap_info
    env.clock.t += 31
    with pytest.raises(BadRequest, match=INVALID):
        await env(U, "sys/wrapping/unwrap", token=info["token"])
    await env.core.leases.process_due()  # revokes it, and with it its cubbyhole
    storage = env.core.routes["cubbyhole/"].storage
    assert await storage.list("") == []


async def test_policy_min_wrapping_ttl_forces_wrapping(env: Env) -> None:
    policy = 'path "secret/data/*" { capabilities = ["read"] \n min_wrapping_ttl = "60s" }'
    await env(U, "sys/policies/acl/wrapped", {"policy": policy})
    token = (await env(U, "auth/token/create", {"policies": ["wrapped"]})).auth["client_token"]
    with pytest.raises(AclDenied):
        await env(R, "secret/data/app", token=token)
    with pytest.raises(AclDenied):
        await env(R, "secret/data/app", token=token, wrap=10)
    info = (await env(R, "secret/data/app", token=token, wrap=120)).wrap_info
    assert info is not None and info["ttl"] == 120


async def test_wrapping_errors_are_not_wrapped(env: Env) -> None:
    with pytest.raises(VaultError) as err:
        await env(R, "secret/data/missing", wrap=60)
    assert err.value.status == 404
