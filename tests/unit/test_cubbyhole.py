"""The cubbyhole engine: KV v1 semantics, private to each token (spec §6.1)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest, NotFound, UnsupportedOperation, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.cubbyhole import CubbyholeBackend, factory
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.inmem import InmemStorage

R, L, U, P, D = Operation.READ, Operation.LIST, Operation.UPDATE, Operation.PATCH, Operation.DELETE
ALICE = SimpleNamespace(cubbyhole_id="c-alice")
BOB = SimpleNamespace(cubbyhole_id="c-bob")


class Env:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        ctx = BackendContext(storage=self.storage, mount=MountEntry.new("cubbyhole/", "cubbyhole"))
        self.backend = factory(ctx)

    def request(
        self, op: Operation, rel: str, token: Any, data: dict[str, Any] | None = None
    ) -> Request:
        return Request(
            operation=op, path="cubbyhole/" + rel, rel_path=rel, data=data or {}, token=token
        )

    async def __call__(
        self, op: Operation, rel: str, token: Any = ALICE, data: dict[str, Any] | None = None
    ) -> Response | None:
        return await self.backend.handle(self.request(op, rel, token, data))

    async def data(self, op: Operation, rel: str, token: Any = ALICE) -> dict[str, Any] | None:
        resp = await self(op, rel, token)
        assert resp is not None
        return resp.data

    async def error(
        self, op: Operation, rel: str, token: Any = ALICE, data: dict[str, Any] | None = None
    ) -> VaultError:
        with pytest.raises(VaultError) as info:
            await self(op, rel, token, data)
        return info.value


@pytest.fixture
def env() -> Env:
    return Env()


def test_factory_builds_cubbyhole_backend(env: Env) -> None:
    assert isinstance(env.backend, CubbyholeBackend)


async def test_write_read_delete(env: Env) -> None:
    assert await env(U, "secret", data={"pw": "hunter2"}) is None
    resp = await env(R, "secret")
    assert resp is not None
    assert resp.data == {"pw": "hunter2"}
    assert resp.lease_duration == 0 and resp.secret is None
    assert await env(D, "secret") is None
    assert isinstance(await env.error(R, "secret"), NotFound)
    assert await env(D, "secret") is None


async def test_ttl_key_has_no_meaning(env: Env) -> None:
    await env(U, "k", data={"ttl": "1h"})
    resp = await env(R, "k")
    assert resp is not None and resp.lease_duration == 0 and resp.data == {"ttl": "1h"}


async def test_tokens_see_only_their_own_entries(env: Env) -> None:
    await env(U, "shared-name", ALICE, {"owner": "alice"})
    assert isinstance(await env.error(R, "shared-name", BOB), NotFound)
    await env(U, "shared-name", BOB, {"owner": "bob"})
    assert await env.data(R, "shared-name", ALICE) == {"owner": "alice"}
    assert await env.data(R, "shared-name", BOB) == {"owner": "bob"}
    await env(D, "shared-name", BOB)
    assert await env.data(R, "shared-name", ALICE) == {"owner": "alice"}


async def test_list(env: Env) -> None:
    for path in ("b", "a", "dir/x", "dir/sub/y"):
        await env(U, path, data={"v": 1})
    await env(U, "bobs", BOB, {"v": 1})
    assert await env.data(L, "") == {"keys": ["a", "b", "dir/"]}
    assert await env.data(L, "dir/") == {"keys": ["sub/", "x"]}
    assert await env.data(L, "dir") == {"keys": ["sub/", "x"]}
    assert await env.data(L, "", BOB) == {"keys": ["bobs"]}
    assert isinstance(await env.error(L, "none/"), NotFound)
    assert isinstance(await env.error(L, "", SimpleNamespace(cubbyhole_id="c-new")), NotFound)


async def test_write_errors(env: Env) -> None:
    err = await env.error(U, "k", data={})
    assert isinstance(err, BadRequest) and err.messages == ["missing data fields"]
    err = await env.error(U, "dir/", data={"a": 1})
    assert isinstance(err, BadRequest)
    assert err.messages == ["cannot write to a path ending in '/'"]
    assert isinstance(await env.error(P, "k", data={"a": 1}), UnsupportedOperation)


@pytest.mark.parametrize("token", [None, SimpleNamespace(cubbyhole_id="")])
async def test_requires_a_token_with_a_cubbyhole(env: Env, token: Any) -> None:
    for op, data in ((R, None), (U, {"a": 1}), (L, None), (D, None)):
        err = await env.error(op, "k", token, data)
        assert isinstance(err, BadRequest)
        assert err.messages == ['cubbyhole operations are only supported by "service" type tokens']


async def test_existence_check(env: Env) -> None:
    assert await env.backend.exists(env.request(U, "k", ALICE)) is False
    await env(U, "k", data={"a": 1})
    assert await env.backend.exists(env.request(U, "k", ALICE)) is True
    assert await env.backend.exists(env.request(U, "k", BOB)) is False


async def test_destroy_removes_only_that_tokens_data(env: Env) -> None:
    for path in ("a", "dir/x", "dir/sub/y", "dir"):
        await env(U, path, ALICE, {"v": 1})
        await env(U, path, BOB, {"v": 2})
    assert isinstance(env.backend, CubbyholeBackend)
    await env.backend.destroy(ALICE.cubbyhole_id)
    assert await env.storage.list("c-alice/") == []
    assert isinstance(await env.error(L, "", ALICE), NotFound)
    assert await env.data(L, "", BOB) == {"keys": ["a", "dir", "dir/"]}
    await env.backend.destroy("")  # never clears everything
    assert await env.storage.list("") == ["c-bob/"]


async def test_preserves_number_literals(env: Env) -> None:
    raw = b'{"a":1.50,"b":-0.0,"c":1e21,"d":12345678901234567890}'
    await env(U, "k", data=loads(raw))
    resp = await env(R, "k")
    assert resp is not None and dumps_compact(resp.data) == raw
