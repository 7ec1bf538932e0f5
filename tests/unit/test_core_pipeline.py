"""The Core's request path: hot state in memory, one storage read for a KV read."""

from __future__ import annotations

import pytest

from strongroom.core.core import Core
from strongroom.core.errors import AclDenied, PermissionDenied, Sealed, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request
from strongroom.engines import register_builtin
from strongroom.storage.base import Op
from strongroom.storage.inmem import InmemStorage


class CountingStorage(InmemStorage):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.writes = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await super().get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.writes += 1
        await super().put(key, value)

    async def batch(self, ops: list[Op]) -> None:
        self.writes += 1
        await super().batch(ops)


async def unsealed_core(storage: InmemStorage) -> tuple[Core, str]:
    core = Core(storage)
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    await core.enable_mount(MountEntry.new("secret/", "kv", options={"version": "2"}))
    await core.enable_mount(MountEntry.new("kv1/", "kv"))
    return core, root


def req(op: Operation, path: str, token: str, data: dict | None = None) -> Request:
    return Request(operation=op, path=path, data=data or {}, client_token=token)


async def test_kv_read_costs_one_storage_read() -> None:
    storage = CountingStorage()
    core, root = await unsealed_core(storage)
    await core.handle(req(Operation.UPDATE, "secret/data/app", root, {"data": {"a": "1"}}))
    await core.handle(req(Operation.UPDATE, "kv1/app", root, {"a": "1"}))
    await core.handle(req(Operation.READ, "secret/data/app", root))  # warm the token cache

    storage.gets = 0
    resp = await core.handle(req(Operation.READ, "secret/data/app", root))
    assert resp.data is not None and resp.data["data"] == {"a": "1"}
    assert storage.gets == 1

    storage.gets = 0
    resp = await core.handle(req(Operation.READ, "kv1/app", root))
    assert resp.data == {"a": "1"}
    assert storage.gets == 1


async def test_non_root_token_lookup_is_served_from_memory() -> None:
    storage = CountingStorage()
    core, root = await unsealed_core(storage)
    created = await core.handle(
        req(Operation.UPDATE, "auth/token/create", root, {"policies": ["dev"]})
    )
    token = created.auth["client_token"]
    await core.handle(req(Operation.READ, "auth/token/lookup-self", token))
    storage.gets = 0
    resp = await core.handle(req(Operation.READ, "auth/token/lookup-self", token))
    assert resp.data["policies"] == ["default", "dev"]
    assert storage.gets == 0


async def test_mounts_are_restored_after_seal_and_unseal() -> None:
    storage = InmemStorage()
    core = Core(storage)
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    await core.enable_mount(MountEntry.new("team/", "kv"))
    await core.handle(req(Operation.UPDATE, "team/x", root, {"v": "1"}))
    await core.seal()
    with pytest.raises(Sealed):
        await core.handle(req(Operation.READ, "team/x", root))
    # A second Core over the same storage is a restart.
    core2 = Core(storage)
    register_builtin(core2)
    await core2.unseal_with_shares(keys)
    assert (await core2.handle(req(Operation.READ, "team/x", root))).data == {"v": "1"}


async def test_non_root_token_gets_only_the_default_policy() -> None:
    core, root = await unsealed_core(InmemStorage())
    created = await core.handle(
        req(Operation.UPDATE, "auth/token/create", root, {"policies": ["dev"]})
    )
    token = created.auth["client_token"]
    with pytest.raises(AclDenied):
        await core.handle(req(Operation.READ, "secret/data/app", token))
    with pytest.raises(AclDenied):
        await core.handle(req(Operation.UPDATE, "sys/mounts/x", token, {"type": "kv"}))
    await core.handle(req(Operation.UPDATE, "cubbyhole/mine", token, {"v": "1"}))
    assert (await core.handle(req(Operation.READ, "cubbyhole/mine", token))).data == {"v": "1"}
    # Another token's cubbyhole is its own.
    with pytest.raises(VaultError) as missing:
        await core.handle(req(Operation.READ, "cubbyhole/mine", root))
    assert missing.value.status == 404


async def test_revoked_token_is_refused() -> None:
    core, root = await unsealed_core(InmemStorage())
    created = await core.handle(req(Operation.UPDATE, "auth/token/create", root, {}))
    token = created.auth["client_token"]
    await core.handle(req(Operation.UPDATE, "auth/token/revoke-self", token))
    with pytest.raises(PermissionDenied):
        await core.handle(req(Operation.READ, "auth/token/lookup-self", token))


async def test_engine_is_told_when_its_lease_is_stored() -> None:
    from strongroom.core.request import Response, Secret
    from strongroom.framework.backend import Backend, SecretType
    from strongroom.framework.path import Path

    settled: list[bool] = []
    revoked: list[str] = []

    async def settle(stored: bool) -> None:
        settled.append(stored)

    async def issue(req, fd) -> Response:
        return Response(
            data={"k": "v"},
            secret=Secret(ttl=60, internal={"secret_type": "t"}, on_lease_stored=settle),
        )

    async def revoke(lease_req) -> None:
        revoked.append(lease_req.lease_id)

    def factory(ctx) -> Backend:
        return Backend(
            [Path("creds", operations={Operation.READ: issue})],
            secret_types=[SecretType("t", revoke=revoke)],
        )

    storage = InmemStorage()
    core, root = await unsealed_core(storage)
    core.register_backend("hooked", factory)
    await core.enable_mount(MountEntry.new("hooked/", "hooked"))
    resp = await core.handle(req(Operation.READ, "hooked/creds", root))
    assert resp.secret.lease_id.startswith("hooked/creds/")
    assert settled == [True] and revoked == []

    async def broken_register(*args, **kwargs):
        raise RuntimeError("storage down")

    core.leases.register = broken_register
    with pytest.raises(RuntimeError):
        await core.handle(req(Operation.READ, "hooked/creds", root))
    assert settled == [True, False]
    assert len(revoked) == 1  # the credential issued without a lease was destroyed
