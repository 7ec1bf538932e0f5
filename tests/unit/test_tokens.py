"""TokenStore and the auth/token/ backend, driven directly (no HTTP, no core)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.core.context import StorageView, SystemView
from strongroom.core.errors import VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.core.tokens import (
    REVOCATION_PENDING,
    TokenEntry,
    TokenParams,
    TokenStore,
    TTLInputs,
    calculate_ttl,
    glob_match,
    sanitize_policies,
)
from strongroom.framework.backend import Backend
from strongroom.storage.base import Op
from strongroom.storage.inmem import InmemStorage

START = datetime(2026, 11, 25, 5, 50, 41, 479102, tzinfo=UTC)
HOUR = 3600
SYSTEM_MAX = 768 * HOUR


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingStorage:
    """InmemStorage that counts reads, so tests can prove cache hits are free."""

    def __init__(self) -> None:
        self.inner = InmemStorage()
        self.reads = 0

    async def get(self, key: str) -> bytes | None:
        self.reads += 1
        return await self.inner.get(key)

    async def put(self, key: str, value: bytes) -> None:
        await self.inner.put(key, value)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def list(self, prefix: str) -> list[str]:
        self.reads += 1
        return await self.inner.list(prefix)

    async def batch(self, ops: list[Op]) -> None:
        await self.inner.batch(ops)

    async def close(self) -> None:
        await self.inner.close()

    def items(self) -> dict[str, bytes]:
        return dict(self.inner._data)


@dataclass
class Env:
    store: TokenStore
    backend: Backend
    storage: CountingStorage
    clock: FakeClock
    root: str
    revoked: list[TokenEntry] = field(default_factory=list)

    async def call(
        self, op: Operation, path: str, data: dict[str, Any] | None = None, token: str = ""
    ) -> Response | None:
        """What the core does around a handler: authenticate, count a use, route."""
        token = token or self.root
        entry = await self.store.lookup(token)
        if entry is None:
            raise VaultError("permission denied", status=403)
        if entry.num_uses > 0 and not await self.store.use(entry):
            raise VaultError("permission denied", status=403)
        req = Request(
            operation=op,
            path="auth/token/" + path,
            data=dict(data or {}),
            client_token=token,
            rel_path=path,
            token=entry,
        )
        try:
            return await self.backend.handle(req)
        finally:
            if entry.num_uses == REVOCATION_PENDING:
                await self.store.revoke_tree(entry)

    async def post(self, path: str, data: dict[str, Any] | None = None, token: str = "") -> Any:
        return await self.call(Operation.UPDATE, path, data, token)

    async def create(self, data: dict[str, Any] | None = None, token: str = "") -> str:
        resp = await self.post("create", data, token)
        assert resp is not None and resp.auth is not None
        return resp.auth["client_token"]

    async def info(self, token: str) -> dict[str, Any]:
        resp = await self.post("lookup", {"token": token})
        assert resp is not None and resp.data is not None
        return resp.data


@pytest.fixture
async def env() -> Env:
    clock = FakeClock(START)
    storage = CountingStorage()
    store = TokenStore(StorageView(storage, "sys/token/"), SystemView(clock=clock))
    await store.setup()
    root = await store.create_root_token()
    env = Env(store, store.backend(), storage, clock, root)

    async def record(entry: TokenEntry) -> None:
        env.revoked.append(entry)

    store.on_revoke.append(record)
    return env


async def expect_error(coro: Any, status: int, message: str) -> None:
    with pytest.raises(VaultError) as info:
        await coro
    assert info.value.status == status
    assert info.value.messages == [message]


# ---------------------------------------------------------------------------
# create and the auth block


async def test_create_auth_block_shape(env: Env) -> None:
    resp = await env.post(
        "create",
        {
            "policies": ["dev", "Dev", "ops"],
            "ttl": "1h",
            "meta": {"app": "web"},
            "display_name": "web app",
        },
    )
    auth = resp.auth
    assert list(auth) == [
        "client_token",
        "accessor",
        "policies",
        "token_policies",
        "metadata",
        "lease_duration",
        "renewable",
        "entity_id",
        "token_type",
        "orphan",
        "mfa_requirement",
        "num_uses",
    ]
    assert auth["client_token"].startswith("hvs.") and len(auth["client_token"]) == 37
    assert auth["client_token"][4:].isalnum()
    assert len(auth["accessor"]) == 24 and auth["accessor"].isalnum()
    # Root creates with sudo: sorted, de-duplicated, lowercased, plus default.
    assert auth["policies"] == ["default", "dev", "ops"]
    assert auth["token_policies"] == auth["policies"]
    assert auth["metadata"] == {"app": "web"}
    assert auth["lease_duration"] == HOUR
    assert auth["renewable"] is True
    assert auth["entity_id"] == ""
    assert auth["token_type"] == "service"
    assert auth["orphan"] is False
    assert auth["mfa_requirement"] is None
    assert auth["num_uses"] == 0
    assert resp.data is None and resp.warnings == []

    info = await env.info(auth["client_token"])
    assert info["display_name"] == "token-web-app"
    assert info["path"] == "auth/token/create"


async def test_create_defaults_and_fields(env: Env) -> None:
    resp = await env.post("create", {"policies": "dev"})
    assert resp.auth["policies"] == ["default", "dev"]
    assert resp.auth["lease_duration"] == SYSTEM_MAX  # system default TTL
    assert resp.auth["metadata"] is None

    token = await env.create(
        {"policies": ["dev"], "ttl": 600, "explicit_max_ttl": "5h", "num_uses": 3}
    )
    info = await env.info(token)
    assert info["creation_ttl"] == 600
    assert info["explicit_max_ttl"] == 5 * HOUR
    assert info["num_uses"] == 3

    resp = await env.post("create", {"policies": ["dev"], "period": "2h", "ttl": "10m"})
    assert resp.auth["lease_duration"] == 2 * HOUR  # period wins over ttl
    info = await env.info(resp.auth["client_token"])
    assert info["period"] == 2 * HOUR


async def test_create_no_default_policy_and_inherit(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"], "no_default_policy": True})
    assert resp.auth["policies"] == ["dev"]
    # No policies asked for: inherit the parent's (root -> root, never expiring).
    resp = await env.post("create", {})
    assert resp.auth["policies"] == ["root"]
    assert resp.auth["lease_duration"] == 0
    assert resp.auth["renewable"] is False
    child = await env.create({"policies": ["dev", "ops"]})
    resp = await env.post("create", {}, token=child)
    assert resp.auth["policies"] == ["default", "dev", "ops"]


async def test_create_errors(env: Env) -> None:
    await expect_error(env.post("create", {"ttl": "-1h"}), 400, "ttl must be positive")
    await expect_error(env.post("create", {"ttl": "bogus"}), 400, 'time: invalid duration "bogus"')
    await expect_error(
        env.post("create", {"explicit_max_ttl": -5}), 400, "explicit_max_ttl must be positive"
    )
    await expect_error(
        env.post("create", {"num_uses": -1}), 400, "number of uses cannot be negative"
    )
    child = await env.create({"policies": ["dev"]})
    await expect_error(
        env.post("create", {"policies": ["ops"]}, token=child),
        400,
        "child policies must be subset of parent",
    )
    await expect_error(
        env.post("create", {"no_parent": True}, token=child),
        400,
        "root or sudo privileges required to create orphan token",
    )
    await expect_error(
        env.post("create", {"id": "my-token"}, token=child),
        400,
        "root or sudo privileges required to specify token id",
    )
    await expect_error(
        env.post("create", {"period": "1h"}, token=child),
        400,
        "root or sudo privileges required to create periodic token",
    )
    limited = await env.create({"policies": ["dev"], "num_uses": 5})
    await expect_error(
        env.post("create", {}, token=limited),
        400,
        "restricted use token cannot generate child tokens",
    )


async def test_child_subset_allowed_and_create_orphan(env: Env) -> None:
    child = await env.create({"policies": ["dev", "ops"]})
    resp = await env.post("create", {"policies": ["dev"]}, token=child)
    assert resp.auth["policies"] == ["default", "dev"]
    assert resp.auth["orphan"] is False
    # create-orphan needs no sudo.
    resp = await env.post("create-orphan", {"policies": ["dev"]}, token=child)
    assert resp.auth["orphan"] is True
    info = await env.info(resp.auth["client_token"])
    assert info["path"] == "auth/token/create-orphan"
    resp = await env.post("create", {"no_parent": True})
    assert resp.auth["orphan"] is True


async def test_custom_id(env: Env) -> None:
    resp = await env.post("create", {"id": "my-custom-token-id", "policies": ["dev"]})
    assert resp.auth["client_token"] == "my-custom-token-id"
    assert resp.warnings == [
        "Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the "
        "more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire "
        "leads to less secure lookups."
    ]
    assert (await env.info("my-custom-token-id"))["id"] == "my-custom-token-id"
    await expect_error(
        env.post("create", {"id": "my-custom-token-id"}),
        400,
        "cannot create a token with a duplicate ID",
    )
    await expect_error(
        env.post("create", {"id": "s.abc"}), 400, "custom token ID cannot have the 's.' prefix"
    )


async def test_policy_warnings(env: Env) -> None:
    env.store.policy_exists = lambda name: name in ("default", "root", "dev")
    resp = await env.post("create", {"policies": ["dev", "nope"]})
    assert resp.warnings == ['Policy "nope" does not exist']


# ---------------------------------------------------------------------------
# lookups


async def test_lookup_shapes(env: Env) -> None:
    resp = await env.post(
        "create",
        {"policies": ["dev"], "ttl": "1h", "explicit_max_ttl": "5h", "meta": {"app": "web"}},
    )
    token, accessor = resp.auth["client_token"], resp.auth["accessor"]
    env.clock.advance(0.6)  # rounded to the next second: ttl 3599
    info = await env.info(token)
    assert list(info) == sorted(info)
    assert info == {
        "accessor": accessor,
        "creation_time": int(START.timestamp()),
        "creation_ttl": HOUR,
        "display_name": "token",
        "entity_id": "",
        "expire_time": "2026-11-25T06:50:41.479102Z",
        "explicit_max_ttl": 5 * HOUR,
        "id": token,
        "issue_time": "2026-11-25T05:50:41.479102Z",
        "meta": {"app": "web"},
        "num_uses": 0,
        "orphan": False,
        "path": "auth/token/create",
        "policies": ["default", "dev"],
        "renewable": True,
        "ttl": 3599,
        "type": "service",
    }

    self_info = (await env.call(Operation.READ, "lookup-self", token=token)).data
    assert self_info == info
    get_info = (await env.call(Operation.READ, "lookup", {"token": token})).data
    assert get_info == info
    # An empty token looks up the caller.
    caller = (await env.post("lookup", {"token": ""}, token=token)).data
    assert caller["id"] == token

    by_accessor = (await env.post("lookup-accessor", {"accessor": accessor})).data
    assert by_accessor == {**info, "id": ""}

    await expect_error(env.post("lookup", {"token": "s.unknown"}), 403, "bad token")
    await expect_error(
        env.post("lookup-accessor", {"accessor": "nope"}),
        400,
        "1 error occurred:\n\t* invalid accessor\n\n",
    )


async def test_root_token_shapes(env: Env) -> None:
    info = await env.info(env.root)
    # The sys/init root token has no lease: no issue_time, no renewable.
    assert info["policies"] == ["root"]
    assert info["path"] == "auth/token/root"
    assert info["display_name"] == "root"
    assert info["orphan"] is True
    assert info["creation_ttl"] == 0 and info["ttl"] == 0
    assert info["expire_time"] is None and info["meta"] is None
    assert "issue_time" not in info and "renewable" not in info

    dev = await env.store.create_root_token("root", path="auth/token/create", display_name="token")
    assert dev == "root"
    info = await env.info("root")
    assert info["renewable"] is False and info["expire_time"] is None
    assert info["path"] == "auth/token/create" and info["display_name"] == "token"
    await expect_error(env.post("renew-self", token="root"), 400, "lease is not renewable")


# ---------------------------------------------------------------------------
# use counts and expiry


async def test_num_uses_decrement_and_exhaustion(env: Env) -> None:
    token = await env.create({"policies": ["dev"], "num_uses": 2})
    first = await env.call(Operation.READ, "lookup-self", token=token)
    assert first.data["num_uses"] == 1
    last = await env.call(Operation.READ, "lookup-self", token=token)
    assert last.data["num_uses"] == -1
    # The request that spent the last use revoked the token.
    assert await env.store.lookup(token) is None
    await expect_error(
        env.call(Operation.READ, "lookup-self", token=token), 403, "permission denied"
    )


async def test_use_refuses_pending(env: Env) -> None:
    _, entry = await env.store.create(TokenParams(["dev"], path="auth/token/create", num_uses=1))
    assert await env.store.use(entry) is True
    assert entry.num_uses == -1
    assert await env.store.use(entry) is False
    assert await env.store.lookup(entry.id) is None
    assert (await env.store.lookup(entry.id, allow_pending=True)) is entry


async def test_expiry(env: Env) -> None:
    token = await env.create({"policies": ["dev"], "ttl": "10m"})
    env.clock.advance(599)
    assert await env.store.lookup(token) is not None
    env.clock.advance(1)
    assert await env.store.lookup(token) is None
    await expect_error(env.post("lookup", {"token": token}), 403, "bad token")
    # Tidy revokes what has expired.
    assert await env.store.revoke_expired() == 1
    assert [e.id for e in env.revoked] == [token]


# ---------------------------------------------------------------------------
# renewal


async def test_renew_capped_with_warning(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"], "ttl": "1h", "explicit_max_ttl": "90m"})
    token = resp.auth["client_token"]
    env.clock.advance(50 * 60)
    resp = await env.post("renew", {"token": token, "increment": "1h"})
    assert resp.auth["lease_duration"] == 40 * 60
    assert resp.auth["client_token"] == token
    assert resp.warnings == [
        'TTL of "1h" exceeded the effective max_ttl of "40m"; TTL value is capped accordingly'
    ]
    info = await env.info(token)
    assert info["ttl"] == 40 * 60
    assert info["expire_time"] == "2026-11-25T07:20:41.479102Z"
    assert info["last_renewal"] == "2026-11-25T06:40:41.479102Z"
    assert info["last_renewal_time"] == int(START.timestamp()) + 50 * 60
    assert info["creation_ttl"] == HOUR


async def test_renew_self_and_accessor(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"], "ttl": "1h"})
    token, accessor = resp.auth["client_token"], resp.auth["accessor"]
    env.clock.advance(600)
    resp = await env.post("renew-self", {"increment": "2h"}, token=token)
    assert resp.auth["lease_duration"] == 2 * HOUR and resp.warnings == []
    # Without an increment the last granted TTL applies again.
    resp = await env.post("renew-accessor", {"accessor": accessor})
    assert resp.auth["client_token"] == ""
    assert resp.auth["lease_duration"] == 2 * HOUR
    await expect_error(
        env.post("renew-accessor", {"accessor": "nope"}),
        400,
        "1 error occurred:\n\t* invalid accessor\n\n",
    )


async def test_renew_refusals(env: Env) -> None:
    token = await env.create({"policies": ["dev"], "renewable": False})
    await expect_error(env.post("renew", {"token": token}), 400, "lease is not renewable")
    await expect_error(env.post("renew", {"token": "s.nope"}), 400, "token not found")
    await expect_error(env.post("renew-self"), 400, "lease is not renewable")


async def test_period_capped_and_periodic_renewal(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"], "period": "800h"})
    assert resp.auth["lease_duration"] == SYSTEM_MAX
    assert resp.warnings == [
        'period of "800h" exceeded the effective max_ttl of "768h"; '
        "period value is capped accordingly"
    ]
    resp = await env.post("create", {"policies": ["dev"], "period": "1h"})
    token = resp.auth["client_token"]
    env.clock.advance(HOUR)  # a period is a TTL too: not renewed in time, gone
    assert await env.store.lookup(token) is None
    resp = await env.post("create", {"policies": ["dev"], "period": "1h"})
    token = resp.auth["client_token"]
    for _ in range(3):  # renewed in time it outlives its period, increment or not
        env.clock.advance(50 * 60)
        resp = await env.post("renew", {"token": token, "increment": "5h"})
        assert resp.auth["lease_duration"] == HOUR
    assert (await env.info(token))["ttl"] == HOUR


# ---------------------------------------------------------------------------
# revocation


async def test_revoke_tree(env: Env) -> None:
    a = await env.create({"policies": ["dev"]})
    b = await env.create({"policies": ["dev"]}, token=a)
    c = await env.create({"policies": ["dev"]}, token=b)
    sibling = await env.create({"policies": ["dev"]})
    assert await env.post("revoke", {"token": a}) is None
    for token in (a, b, c):
        assert await env.store.lookup(token) is None
    assert await env.store.lookup(sibling) is not None
    assert await env.store.lookup(env.root) is not None
    # Children go first; every revoked token passed through the hooks.
    assert [e.id for e in env.revoked] == [c, b, a]
    gone = {env.store.salted(t) for t in (a, b, c)}
    index = [k for k in env.storage.items() if k.startswith("sys/token/parent/")]
    assert index == [f"sys/token/parent/{env.store.salted(env.root)}/{env.store.salted(sibling)}"]
    assert not [k for k in index if any(h in k for h in gone)]
    # Unknown tokens revoke quietly.
    assert await env.post("revoke", {"token": "s.unknown"}) is None


async def test_revoke_self(env: Env) -> None:
    a = await env.create({"policies": ["dev"]})
    b = await env.create({"policies": ["dev"]}, token=a)
    assert await env.post("revoke-self", token=a) is None
    assert await env.store.lookup(a) is None and await env.store.lookup(b) is None


async def test_revoke_deep_tree(env: Env) -> None:
    parent = None
    tokens = []
    for _ in range(1500):  # deeper than Python's default recursion limit
        token, parent = await env.store.create(
            TokenParams(["dev"], path="auth/token/create", parent=parent)
        )
        tokens.append(token)
    first = await env.store.lookup(tokens[0])
    await env.store.revoke_tree(first)
    assert len(env.revoked) == 1500
    assert await env.store.lookup(tokens[-1]) is None


async def test_revoke_orphan(env: Env) -> None:
    a = await env.create({"policies": ["dev"]})
    b = await env.create({"policies": ["dev"]}, token=a)
    c = await env.create({"policies": ["dev"]}, token=b)
    assert (await env.info(b))["orphan"] is False
    assert await env.post("revoke-orphan", {"token": a}) is None
    assert await env.store.lookup(a) is None
    assert (await env.info(b))["orphan"] is True
    assert (await env.info(c))["orphan"] is False
    assert [e.id for e in env.revoked] == [a]
    # Only root/sudo may do this.
    await expect_error(
        env.post("revoke-orphan", {"token": c}, token=b),
        400,
        "root or sudo privileges required to revoke and orphan",
    )
    await expect_error(
        env.post("revoke-orphan", {"token": "s.nope"}), 400, "token to revoke not found"
    )


async def test_revoke_accessor(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"]})
    token, accessor = resp.auth["client_token"], resp.auth["accessor"]
    child = await env.create({"policies": ["dev"]}, token=token)
    assert await env.post("revoke-accessor", {"accessor": accessor}) is None
    assert await env.store.lookup(token) is None and await env.store.lookup(child) is None
    # The accessor is gone with its token.
    resp = await env.post("revoke-accessor", {"accessor": accessor})
    assert resp.warnings == ["No token found with this accessor"] and resp.data is None
    await expect_error(
        env.post("lookup-accessor", {"accessor": accessor}),
        400,
        "1 error occurred:\n\t* invalid accessor\n\n",
    )
    assert await env.store.lookup_accessor(accessor) is None


async def test_accessors_list_and_tidy(env: Env) -> None:
    resp = await env.post("create", {"policies": ["dev"]})
    keys = (await env.call(Operation.LIST, "accessors/")).data["keys"]
    assert resp.auth["accessor"] in keys and len(keys) == 2
    resp = await env.post("tidy")
    assert resp.status == 202
    assert resp.warnings == [
        "Tidy operation successfully started. Any information from the operation will be "
        "printed to OpenBao's server logs."
    ]
    assert env.store._tidy_task is not None
    await env.store._tidy_task


# ---------------------------------------------------------------------------
# roles


async def test_roles_crud(env: Env) -> None:
    assert (
        await env.backend.exists(
            Request(Operation.UPDATE, "auth/token/roles/web-role", rel_path="roles/web-role")
        )
        is False
    )
    resp = await env.post(
        "roles/web-role",
        {"allowed_policies": "dev,ops", "orphan": True, "token_explicit_max_ttl": "2h"},
    )
    assert resp is None
    assert (
        await env.backend.exists(
            Request(Operation.UPDATE, "auth/token/roles/web-role", rel_path="roles/web-role")
        )
        is True
    )
    data = (await env.call(Operation.READ, "roles/web-role")).data
    assert data == {
        "allowed_entity_aliases": None,
        "allowed_policies": ["dev", "ops"],
        "allowed_policies_glob": [],
        "disallowed_policies": [],
        "disallowed_policies_glob": [],
        "explicit_max_ttl": 0,
        "name": "web-role",
        "orphan": True,
        "path_suffix": "",
        "period": 0,
        "renewable": True,
        "token_explicit_max_ttl": 7200,
        "token_no_default_policy": False,
        "token_period": 0,
        "token_type": "default-service",
    }
    assert list(data) == sorted(data)
    # An update keeps what it does not mention.
    await env.post("roles/web-role", {"token_type": "service"})
    data = (await env.call(Operation.READ, "roles/web-role")).data
    assert data["orphan"] is True and data["token_type"] == "service"
    assert (await env.call(Operation.LIST, "roles")).data == {"keys": ["web-role"]}
    assert await env.call(Operation.DELETE, "roles/web-role") is None
    await expect_error(
        env.post("roles/bad", {"path_suffix": "v1"}),
        400,
        "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
    )
    with pytest.raises(VaultError) as info:
        await env.call(Operation.READ, "roles/web-role")
    assert info.value.status == 404 and info.value.messages == []


async def test_create_against_role(env: Env) -> None:
    await env.post(
        "roles/web-role",
        {"allowed_policies": "dev,ops", "orphan": True, "token_explicit_max_ttl": "2h"},
    )
    creator = await env.create({"policies": ["creator"]})
    await expect_error(
        env.post("create/web-role", {"policies": ["creator"]}),
        400,
        'token policies (["creator" "default"]) must be subset of the role\'s allowed '
        'policies (["default" "dev" "ops"]) or glob policies ([])',
    )
    # A role may grant policies its caller lacks, and orphans without sudo.
    resp = await env.post("create/web-role", {}, token=creator)
    assert resp.auth["policies"] == ["default", "dev", "ops"]
    assert resp.auth["orphan"] is True
    assert resp.auth["lease_duration"] == 2 * HOUR
    info = await env.info(resp.auth["client_token"])
    assert info["path"] == "auth/token/create/web-role"
    assert info["role"] == "web-role"
    assert info["explicit_max_ttl"] == 0  # the role's cap applies but is not shown

    resp = await env.post("create/web-role", {"policies": ["dev"]}, token=creator)
    assert resp.auth["policies"] == ["default", "dev"]
    await expect_error(env.post("create/nope", {}), 400, "unknown role nope")


async def test_role_disallowed_and_suffix(env: Env) -> None:
    await env.post(
        "roles/r2",
        {"disallowed_policies": "admin", "path_suffix": "v01", "renewable": False},
    )
    await expect_error(
        env.post("create/r2", {"policies": ["admin"]}),
        400,
        'token policy "admin" is disallowed by this role',
    )
    resp = await env.post("create/r2", {"policies": ["dev"]})
    assert resp.auth["renewable"] is False
    info = await env.info(resp.auth["client_token"])
    assert info["path"] == "auth/token/create/r2/v01"
    assert info["orphan"] is False


# ---------------------------------------------------------------------------
# storage hygiene and the cache


async def test_only_salted_hashes_stored(env: Env) -> None:
    tokens = [env.root]
    tokens.append(await env.create({"policies": ["dev"]}))
    tokens.append(await env.create({"policies": ["dev"]}, token=tokens[1]))
    tokens.append(await env.create({"id": "my-custom-token-id"}))
    items = env.storage.items()
    assert items
    for token in tokens:
        needle = token.encode()
        for key, value in items.items():
            assert token not in key
            assert needle not in value
    hashes = [env.store.salted(t) for t in tokens]
    for h in hashes:
        assert f"sys/token/id/{h}" in items


async def test_cache_hit_reads_nothing(env: Env) -> None:
    token = await env.create({"policies": ["dev"]})
    env.storage.reads = 0
    for _ in range(5):
        entry = await env.store.lookup(token)
        assert entry is not None and entry.id == token
    assert env.storage.reads == 0
    # A fresh store (cold cache) reads once, then serves from memory.
    cold = TokenStore(StorageView(env.storage, "sys/token/"), env.store.system)
    await cold.setup()
    env.storage.reads = 0
    assert await cold.lookup(token) is not None
    assert env.storage.reads == 1
    assert await cold.lookup(token) is not None
    assert env.storage.reads == 1
    assert await cold.lookup("s.unknown") is None


async def test_entries_survive_restart(env: Env) -> None:
    resp = await env.post(
        "create", {"policies": ["dev"], "ttl": "1h", "meta": {"a": "b"}, "num_uses": 4}
    )
    token = resp.auth["client_token"]
    before = await env.store.lookup(token)
    cold = TokenStore(StorageView(env.storage, "sys/token/"), env.store.system)
    await cold.setup()
    after = await cold.lookup(token)
    assert after == before and after is not before
    assert (await cold.lookup_accessor(resp.auth["accessor"])) is after


# ---------------------------------------------------------------------------
# helpers


def test_calculate_ttl() -> None:
    now = START.timestamp()
    base = TTLInputs(default_ttl=SYSTEM_MAX, max_ttl=SYSTEM_MAX, start=now)
    assert calculate_ttl(base, now) == (SYSTEM_MAX, [])
    assert calculate_ttl(TTLInputs(**{**base.__dict__, "increment": 60}), now) == (60, [])
    ttl, warnings = calculate_ttl(
        TTLInputs(**{**base.__dict__, "backend_ttl": 7200, "explicit_max_ttl": 5400}), now
    )
    assert ttl == 5400
    assert warnings == [
        'TTL of "2h" exceeded the effective max_ttl of "1h30m"; TTL value is capped accordingly'
    ]
    with pytest.raises(VaultError, match="past the max TTL, cannot renew"):
        calculate_ttl(TTLInputs(**{**base.__dict__, "explicit_max_ttl": 60}), now + 61)


def test_policy_helpers() -> None:
    assert sanitize_policies([" Dev", "dev", "", "ops"], True) == ["default", "dev", "ops"]
    assert sanitize_policies(["dev", "root"], True) == ["root"]
    assert glob_match("dev-*", "dev-web") and not glob_match("dev-*", "ops")
    assert glob_match("*-web", "dev-web") and glob_match("a*c*e", "abcde")
    assert not glob_match("a*a", "a")


async def test_the_entry_cache_is_bounded_and_keeps_limited_use_tokens(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strongroom.core import tokens as tokens_module

    monkeypatch.setattr(tokens_module, "MAX_CACHED_TOKENS", 8)
    limited = await env.create({"num_uses": 3})
    plain = [await env.create() for _ in range(20)]
    assert len(env.store._cache) <= 8
    # An evicted token still works: one storage read brings it back.
    reads = env.storage.reads
    assert await env.store.lookup(plain[0]) is not None
    assert env.storage.reads == reads + 1
    assert await env.store.lookup(plain[0]) is not None
    assert env.storage.reads == reads + 1
    # The limited-use token never left: its remaining uses are counted in memory.
    assert env.store.salted(limited) in env.store._cache
    for _ in range(3):
        await env.call(Operation.READ, "lookup-self", token=limited)
    with pytest.raises(VaultError):
        await env.call(Operation.READ, "lookup-self", token=limited)
    revoked = plain[1]
    await env.post("revoke", {"token": revoked})
    assert await env.store.lookup(revoked) is None
