"""The userpass auth method (spec §4.1): the backend alone, then through a Core.

Expected shapes and error texts were observed on a real OpenBao 2.7.2 dev server.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from strongroom.auth import userpass
from strongroom.auth.userpass import password as kdf
from strongroom.core.context import BackendContext, SystemView
from strongroom.core.core import Core
from strongroom.core.errors import (
    BadRequest,
    NotFound,
    PermissionDenied,
    UnsupportedPath,
    VaultError,
)
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Login, Operation, Request, Response
from strongroom.engines import register_builtin
from strongroom.storage.inmem import InmemStorage

R, L, U, D = Operation.READ, Operation.LIST, Operation.UPDATE, Operation.DELETE
T0 = datetime(2026, 11, 25, 5, 48, 26, 342676, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Env:
    """A userpass backend over its own in-memory storage."""

    def __init__(self, mount_path: str = "userpass/") -> None:
        self.storage = InmemStorage()
        self.mount = MountEntry.new(mount_path, "userpass", is_auth=True)
        self.ctx = BackendContext(
            storage=self.storage, mount=self.mount, system=SystemView(clock=Clock())
        )
        self.backend = userpass.factory(self.ctx)

    async def __call__(
        self,
        op: Operation,
        rel: str,
        data: dict[str, Any] | None = None,
        remote_addr: str = "127.0.0.1",
    ) -> Response | None:
        req = Request(
            operation=op,
            path=f"auth/{self.mount.path}{rel}",
            rel_path=rel,
            data=data or {},
            remote_addr=remote_addr,
            storage=self.storage,
            mount=self.mount,
        )
        return await self.backend.handle(req)

    async def login(self, user: str, password: str = PASSWORD, **kw: Any) -> Login:
        resp = await self(U, f"login/{user}", {"password": password}, **kw)
        assert resp is not None and resp.login is not None
        return resp.login

    async def values(self) -> list[bytes]:
        keys = await self.storage.scan("", limit=100_000)
        return [await self.storage.get(k) or b"" for k in keys]


@pytest.fixture
async def env() -> Env:
    e = Env()
    await e.backend.initialize()
    return e


def error_of(exc: pytest.ExceptionInfo[VaultError]) -> tuple[int, list[str]]:
    return exc.value.status, exc.value.messages


# --------------------------------------------------------------------------- users CRUD


async def test_user_read_shape_matches_openbao(env: Env) -> None:
    await env(
        U,
        "users/alice",
        {"password": PASSWORD, "token_policies": "dev", "token_ttl": "30m", "token_max_ttl": "2h"},
    )
    resp = await env(R, "users/alice")
    assert resp is not None
    assert resp.data == {
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 7200,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": ["dev"],
        "token_strictly_bind_ip": False,
        "token_ttl": 1800,
        "token_type": "default",
    }
    assert list(resp.data) == sorted(resp.data)


async def test_usernames_are_stored_lowercase_and_matched_case_insensitively(env: Env) -> None:
    await env(U, "users/Alice", {"password": PASSWORD})
    assert (await env(L, "users/")).data == {"keys": ["alice"]}
    assert (await env(R, "users/ALICE")).data["token_policies"] == []
    login = await env.login("ALICE")
    assert login.metadata == {"username": "alice"}
    assert login.display_name == "userpass-alice"


async def test_list_and_delete(env: Env) -> None:
    with pytest.raises(NotFound):
        await env(L, "users")
    await env(U, "users/bob", {"password": "x"})
    await env(U, "users/alice", {"password": "y"})
    assert (await env(L, "users")).data == {"keys": ["alice", "bob"]}
    assert await env(D, "users/bob") is None
    assert await env(D, "users/nobody") is None
    assert (await env(L, "users")).data == {"keys": ["alice"]}
    with pytest.raises(NotFound):
        await env(R, "users/bob")


async def test_create_needs_a_password_but_update_does_not(env: Env) -> None:
    for data in ({}, {"password": ""}, {"token_policies": "x"}):
        with pytest.raises(BadRequest) as err:
            await env(U, "users/carol", data)
        assert error_of(err) == (400, ["must provide either password or password_hash"])
    await env(U, "users/carol", {"password": PASSWORD, "token_ttl": 60, "token_policies": "a"})
    # An update changes only what it names; the password stays.
    await env(U, "users/carol", {"token_policies": "b,A"})
    data = (await env(R, "users/carol")).data
    assert data["token_policies"] == ["a", "b"]
    assert data["token_ttl"] == 60
    assert (await env.login("carol")).policies == ["a", "b"]


async def test_existence_check_tells_create_from_update(env: Env) -> None:
    req = Request(operation=U, path="auth/userpass/users/Dave", rel_path="users/Dave")
    assert await env.backend.exists(req) is False
    await env(U, "users/dave", {"password": "x"})
    assert await env.backend.exists(req) is True
    login_req = Request(operation=U, path="auth/userpass/login/dave", rel_path="login/dave")
    assert await env.backend.exists(login_req) is None


async def test_token_fields_accept_durations_and_lists(env: Env) -> None:
    await env(
        U,
        "users/erin",
        {
            "password": PASSWORD,
            "token_policies": ["Ops", "dev", "ops"],
            "token_ttl": "1h",
            "token_max_ttl": "1d",
            "token_period": "30m",
            "token_explicit_max_ttl": 86400 * 2,
            "token_no_default_policy": "true",
            "token_num_uses": "3",
            "token_type": "service",
            "token_bound_cidrs": "127.0.0.1/32, 10.0.0.0/8,::1",
            "token_strictly_bind_ip": True,
        },
    )
    assert (await env(R, "users/erin")).data == {
        "token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8", "::1"],
        "token_explicit_max_ttl": 172800,
        "token_max_ttl": 86400,
        "token_no_default_policy": True,
        "token_num_uses": 3,
        "token_period": 1800,
        "token_policies": ["dev", "ops"],
        "token_strictly_bind_ip": True,
        "token_ttl": 3600,
        "token_type": "service",
    }
    login = await env.login("erin")
    assert login == Login(
        policies=["dev", "ops"],
        display_name="userpass-erin",
        metadata={"username": "erin"},
        ttl=3600,
        max_ttl=86400,
        period=1800,
        explicit_max_ttl=172800,
        num_uses=3,
        no_default_policy=True,
        bound_cidrs=["127.0.0.1", "10.0.0.0/8", "::1"],
    )


async def test_legacy_aliases_show_on_read_until_replaced(env: Env) -> None:
    await env(
        U,
        "users/bob",
        {
            "password": "x",
            "policies": "a",
            "ttl": 60,
            "max_ttl": 120,
            "bound_cidrs": "127.0.0.1/32",
            "period": "30s",
        },
    )
    data = (await env(R, "users/bob")).data
    assert data["policies"] == data["token_policies"] == ["a"]
    assert data["ttl"] == data["token_ttl"] == 60
    assert data["max_ttl"] == data["token_max_ttl"] == 120
    assert data["period"] == data["token_period"] == 30
    assert data["bound_cidrs"] == data["token_bound_cidrs"] == ["127.0.0.1"]
    # The policies endpoint takes either name; the token_* name retires the alias.
    await env(U, "users/bob/policies", {"policies": "x,y"})
    assert (await env(R, "users/bob")).data["policies"] == ["x", "y"]
    await env(U, "users/bob/policies", {"token_policies": "z"})
    data = (await env(R, "users/bob")).data
    assert "policies" not in data and data["token_policies"] == ["z"]
    assert data["ttl"] == 60
    await env(U, "users/bob", {"token_ttl": 90})
    data = (await env(R, "users/bob")).data
    assert "ttl" not in data and data["token_ttl"] == 90


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (
            {"token_ttl": "3h", "token_max_ttl": "1h"},
            400,
            "'token_ttl' cannot be greater than 'token_max_ttl'",
        ),
        (
            {"token_ttl": "-1h"},
            400,
            "error converting input for field \"token_ttl\": cannot provide negative value '-3600'",
        ),
        ({"token_num_uses": -1}, 400, "'token_num_uses' cannot be negative"),
        ({"token_type": "bogus"}, 400, "invalid 'token_type' value \"bogus\""),
        (
            {"token_bound_cidrs": "bogus"},
            400,
            'error parsing address "bogus": Unable to convert "bogus" to an IPv4 or IPv6 '
            "address, or a UNIX Socket",
        ),
        (
            {"token_ttl": "bogus"},
            400,
            'error converting input for field "token_ttl": time: invalid duration "bogus"',
        ),
    ],
)
async def test_token_field_errors(
    env: Env, data: dict[str, Any], status: int, message: str
) -> None:
    await env(U, "users/zed", {"password": "x"})
    with pytest.raises(VaultError) as err:
        await env(U, "users/zed", data)
    assert error_of(err) == (status, [message])


async def test_password_endpoint(env: Env) -> None:
    with pytest.raises(BadRequest) as err:
        await env(U, "users/nobody/password", {})
    assert error_of(err) == (400, ["must provide either password or password_hash"])
    with pytest.raises(VaultError) as err:
        await env(U, "users/nobody/password", {"password": "x"})
    assert error_of(err) == (500, ["1 error occurred:\n\t* username does not exist\n\n"])
    await env(U, "users/frank", {"password": "old", "token_policies": "dev"})
    await env(U, "users/frank/password", {"password": "new"})
    with pytest.raises(BadRequest):
        await env.login("frank", "old")
    assert (await env.login("frank", "new")).policies == ["dev"]


async def test_policies_endpoint(env: Env) -> None:
    with pytest.raises(VaultError) as err:
        await env(U, "users/nobody/policies", {"token_policies": "x"})
    assert error_of(err) == (500, ["1 error occurred:\n\t* username does not exist\n\n"])
    await env(U, "users/gina", {"password": "x", "token_policies": "a"})
    await env(U, "users/gina/policies", {"token_policies": "b,c"})
    assert (await env(R, "users/gina")).data["token_policies"] == ["b", "c"]
    await env(U, "users/gina/policies", {})  # nothing given: nothing changes
    assert (await env(R, "users/gina")).data["token_policies"] == ["b", "c"]


async def test_names_outside_vaults_pattern_are_unsupported_paths(env: Env) -> None:
    for rel in ("users/a b", "users/a@b", "users/-ab", "users/ab-", "users/a/b", "login/a b"):
        with pytest.raises(UnsupportedPath):
            await env(U, rel, {"password": "x"})
    await env(U, "users/a.b-c_d", {"password": "x"})
    await env(U, "users/z", {"password": "x"})
    assert (await env(L, "users")).data == {"keys": ["a.b-c_d", "z"]}
    paths = env.backend.openapi("auth/userpass/")
    assert "/auth/userpass/users/{username}" in paths
    assert "/auth/userpass/login/{username}" in paths


# --------------------------------------------------------------------------- passwords


async def test_password_is_never_stored_in_plaintext(env: Env) -> None:
    await env(U, "users/alice", {"password": PASSWORD})
    await env(U, "users/alice/password", {"password": PASSWORD + "2"})
    await env(U, "users/bob", {"password": PASSWORD})
    await env.login("bob")
    blobs = await env.values()
    assert blobs
    for blob in blobs:
        assert PASSWORD.encode() not in blob
    stored = b"".join(blobs)
    hashes = re.findall(
        rb"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", stored
    )
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # salted: same password, other hash
    assert b'"password"' not in stored


async def test_login_runs_the_kdf_in_a_thread_even_for_unknown_users(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await env(U, "users/alice", {"password": PASSWORD})
    calls: list[tuple[str, int]] = []
    real = kdf.verify_password

    def counting(encoded: str, password: str) -> bool:
        calls.append((encoded, threading.get_ident()))
        return real(encoded, password)

    monkeypatch.setattr(kdf, "verify_password", counting)
    loop_thread = threading.get_ident()

    for user, password in (("nobody", PASSWORD), ("alice", "wrong"), ("alice", PASSWORD)):
        calls.clear()
        try:
            await env.login(user, password)
        except BadRequest as err:
            assert err.messages == ["invalid username or password"]
        assert len(calls) == 1, user
        encoded, thread = calls[0]
        assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert thread != loop_thread  # the event loop never runs the KDF
    # The unknown user was checked against the dummy hash.
    assert kdf.dummy_hash().startswith("$argon2id$")


async def test_login_errors(env: Env) -> None:
    await env(U, "users/alice", {"password": PASSWORD})
    for user, data in (("alice", {"password": "bad"}), ("nobody", {"password": "bad"})):
        with pytest.raises(BadRequest) as err:
            await env(U, f"login/{user}", data)
        assert error_of(err) == (400, ["invalid username or password"])
    for data in ({}, {"password": ""}):
        with pytest.raises(VaultError) as err:
            await env(U, "login/alice", data)
        assert error_of(err) == (500, ["missing password"])


async def test_old_hash_parameters_are_upgraded_on_login(env: Env) -> None:
    await env(U, "users/old", {"password": "x"})
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    entry = await env.backend.store.get("old")
    entry.password_hash = weak
    await env.backend.store.put(entry)
    await env.login("old")
    upgraded = (await env.backend.store.get("old")).password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await env.login("old")


# --------------------------------------------------------------------------- CIDR binding


async def test_token_bound_cidrs_are_enforced_at_login(env: Env) -> None:
    await env(U, "users/dave", {"password": PASSWORD, "token_bound_cidrs": "10.0.0.0/8,::1"})
    for addr in ("127.0.0.1", "", "not-an-ip", "11.0.0.1"):
        with pytest.raises(BadRequest) as err:
            await env.login("dave", remote_addr=addr)
        assert error_of(err) == (400, ["invalid username or password"])
    assert (await env.login("dave", remote_addr="10.1.2.3")).bound_cidrs == ["10.0.0.0/8", "::1"]
    assert (await env.login("dave", remote_addr="::1")).metadata == {"username": "dave"}
    # A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6 addresses.
    await env.login("dave", remote_addr="::ffff:10.0.0.1")
    # Without a list, any address (or none) may log in.
    await env(U, "users/erin", {"password": PASSWORD})
    await env.login("erin", remote_addr="")


async def test_display_name_uses_the_mount_path() -> None:
    env = Env("my/users/")
    await env.backend.initialize()
    await env(U, "users/alice", {"password": PASSWORD})
    assert (await env.login("alice")).display_name == "my-users-alice"


# --------------------------------------------------------------------------- through a Core


async def unsealed_core(default_ttl: int = 0) -> tuple[Core, str]:
    core = Core(InmemStorage())
    core.run_scheduler = False
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    config = MountConfig(default_lease_ttl=default_ttl)
    await core.enable_mount(MountEntry.new("userpass/", "userpass", is_auth=True, config=config))
    return core, root


def req(
    op: Operation, path: str, token: str = "", data: dict | None = None, addr: str = "127.0.0.1"
) -> Request:
    return Request(operation=op, path=path, data=data or {}, client_token=token, remote_addr=addr)


async def test_login_through_the_core_issues_a_leased_orphan_token() -> None:
    core, root = await unsealed_core()
    await core.handle(
        req(
            U,
            "auth/userpass/users/alice",
            root,
            {"password": PASSWORD, "token_policies": "dev", "token_ttl": "30m"},
        )
    )
    resp = await core.handle(req(U, "auth/userpass/login/alice", "", {"password": PASSWORD}))
    assert resp.data is None and resp.login is None
    auth = resp.auth
    assert auth is not None
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
    assert auth["policies"] == auth["token_policies"] == ["default", "dev"]
    assert auth["metadata"] == {"username": "alice"}
    assert auth["lease_duration"] == 1800
    assert auth["renewable"] is True
    assert auth["orphan"] is True
    assert auth["token_type"] == "service"
    assert auth["num_uses"] == 0

    info = (
        await core.handle(req(U, "auth/token/lookup", root, {"token": auth["client_token"]}))
    ).data
    assert info["path"] == "auth/userpass/login/alice"
    assert info["display_name"] == "userpass-alice"
    assert info["meta"] == {"username": "alice"}
    assert info["policies"] == ["default", "dev"]
    assert info["orphan"] is True
    assert info["creation_ttl"] == 1800

    # The token is a lease: auth/<mount>/login/<user as typed>/h<64 hex>.
    leases = await core.handle(req(L, "sys/leases/lookup/auth/userpass/login/alice/", root))
    [key] = leases.data["keys"]
    assert re.fullmatch(r"h[0-9a-f]{64}", key)


async def test_token_path_keeps_the_username_as_typed() -> None:
    core, root = await unsealed_core()
    await core.handle(req(U, "auth/userpass/users/Alice", root, {"password": PASSWORD}))
    resp = await core.handle(req(U, "auth/userpass/login/ALICE", "", {"password": PASSWORD}))
    info = (
        await core.handle(req(U, "auth/token/lookup", root, {"token": resp.auth["client_token"]}))
    ).data
    assert info["path"] == "auth/userpass/login/ALICE"
    assert info["display_name"] == "userpass-alice"
    leases = await core.handle(req(L, "sys/leases/lookup/auth/userpass/login/", root))
    assert leases.data["keys"] == ["ALICE/"]


async def test_token_ttl_zero_means_the_mounts_default() -> None:
    core, root = await unsealed_core()
    await core.handle(req(U, "auth/userpass/users/bob", root, {"password": PASSWORD}))
    resp = await core.handle(req(U, "auth/userpass/login/bob", "", {"password": PASSWORD}))
    assert resp.auth["lease_duration"] == 768 * 3600

    tuned, root2 = await unsealed_core(default_ttl=600)
    await tuned.handle(req(U, "auth/userpass/users/bob", root2, {"password": PASSWORD}))
    resp = await tuned.handle(req(U, "auth/userpass/login/bob", "", {"password": PASSWORD}))
    assert resp.auth["lease_duration"] == 600


async def test_login_errors_through_the_core() -> None:
    core, root = await unsealed_core()
    await core.handle(req(U, "auth/userpass/users/alice", root, {"password": PASSWORD}))
    with pytest.raises(BadRequest) as err:
        await core.handle(req(U, "auth/userpass/login/alice", "", {"password": "nope"}))
    assert err.value.messages == ["invalid username or password"]
    # No username segment: not a login path, so a token is needed.
    with pytest.raises(PermissionDenied) as denied:
        await core.handle(req(U, "auth/userpass/login", "", {"password": PASSWORD}))
    assert error_of(denied) == (403, ["permission denied"])
    # Managing users is not unauthenticated.
    with pytest.raises(PermissionDenied):
        await core.handle(req(R, "auth/userpass/users/alice", ""))
    # Outside the bound CIDRs the login fails like a bad password.
    await core.handle(
        req(U, "auth/userpass/users/alice", root, {"token_bound_cidrs": "10.0.0.0/8"})
    )
    with pytest.raises(BadRequest) as err:
        await core.handle(req(U, "auth/userpass/login/alice", "", {"password": PASSWORD}))
    assert err.value.messages == ["invalid username or password"]
    ok = await core.handle(
        req(U, "auth/userpass/login/alice", "", {"password": PASSWORD}, addr="10.9.8.7")
    )
    assert ok.auth["client_token"]


async def test_login_token_policies_show_in_lookup_self_and_cubbyhole_works() -> None:
    core, root = await unsealed_core()
    await core.handle(
        req(U, "auth/userpass/users/alice", root, {"password": PASSWORD, "token_policies": "dev"})
    )
    token = (
        await core.handle(req(U, "auth/userpass/login/alice", "", {"password": PASSWORD}))
    ).auth["client_token"]
    info = (await core.handle(req(R, "auth/token/lookup-self", token))).data
    assert info["policies"] == ["default", "dev"]
    assert info["path"] == "auth/userpass/login/alice"
    await core.handle(req(U, "cubbyhole/note", token, {"v": "1"}))
    assert (await core.handle(req(R, "cubbyhole/note", token))).data == {"v": "1"}


async def test_renewal_is_capped_by_token_max_ttl() -> None:
    core, root = await unsealed_core()
    await core.handle(
        req(
            U,
            "auth/userpass/users/alice",
            root,
            {"password": PASSWORD, "token_ttl": "10m", "token_max_ttl": "15m"},
        )
    )
    token = (
        await core.handle(req(U, "auth/userpass/login/alice", "", {"password": PASSWORD}))
    ).auth["client_token"]
    renewed = await core.handle(req(U, "auth/token/renew-self", token, {"increment": "1h"}))
    assert renewed.auth["lease_duration"] <= 900
    assert any("exceeded the effective max_ttl" in w for w in renewed.warnings)
