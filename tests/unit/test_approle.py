"""The approle auth method (spec §4.2): the backend alone, then through a Core.

Expected shapes and error texts were observed on a real OpenBao 2.7.2 dev server.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.auth import approle
from strongroom.core.context import BackendContext, SystemView
from strongroom.core.core import Core
from strongroom.core.errors import (
    BadRequest,
    NotFound,
    PermissionDenied,
    UnsupportedPath,
    VaultError,
)
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Login, Operation, Request, Response
from strongroom.engines import register_builtin
from strongroom.storage.inmem import InmemStorage

R, L, U, D = Operation.READ, Operation.LIST, Operation.UPDATE, Operation.DELETE
T0 = datetime(2026, 11, 25, 5, 48, 26, 342676, tzinfo=UTC)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INVALID = ["invalid role or secret ID"]


def multi(message: str) -> str:
    return f"1 error occurred:\n\t* {message}\n\n"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class CountingStorage(InmemStorage):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await super().get(key)


class Env:
    """An approle backend over its own storage, with a clock the test moves."""

    def __init__(self, mount_path: str = "approle/") -> None:
        self.storage = CountingStorage()
        self.clock = Clock()
        self.mount = MountEntry.new(mount_path, "approle", is_auth=True)
        self.ctx = BackendContext(
            storage=self.storage, mount=self.mount, system=SystemView(clock=self.clock)
        )
        self.backend = approle.factory(self.ctx)

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

    async def data(self, op: Operation, rel: str, data: dict[str, Any] | None = None) -> Any:
        resp = await self(op, rel, data)
        assert resp is not None
        return resp.data

    async def role_id(self, role: str) -> str:
        return (await self.data(R, f"role/{role}/role-id"))["role_id"]

    async def secret(self, role: str, **data: Any) -> dict[str, Any]:
        return await self.data(U, f"role/{role}/secret-id", data)

    async def login(self, role_id: str, secret_id: str | None, addr: str = "127.0.0.1") -> Login:
        body = {"role_id": role_id}
        if secret_id is not None:
            body["secret_id"] = secret_id
        resp = await self(U, "login", body, remote_addr=addr)
        assert resp is not None and resp.login is not None
        return resp.login

    async def values(self) -> dict[str, bytes]:
        keys = await self.storage.scan("", limit=100_000)
        return {k: await self.storage.get(k) or b"" for k in keys}


@pytest.fixture
async def env() -> Env:
    e = Env()
    await e.backend.initialize()
    return e


def error_of(exc: pytest.ExceptionInfo[VaultError]) -> tuple[int, list[str]]:
    return exc.value.status, exc.value.messages


async def expect(env: Env, status: int, message: str | None, *args: Any, **kw: Any) -> None:
    with pytest.raises(VaultError) as err:
        await env(*args, **kw)
    assert err.value.status == status
    if message is not None:
        assert err.value.messages == [message]


# --------------------------------------------------------------------------- roles


async def test_role_read_shape_matches_openbao(env: Env) -> None:
    await env(
        U,
        "role/web",
        {
            "token_policies": "dev",
            "token_ttl": "20m",
            "token_max_ttl": "1h",
            "secret_id_num_uses": 3,
            "secret_id_ttl": "10m",
        },
    )
    data = await env.data(R, "role/web")
    assert data == {
        "bind_secret_id": True,
        "local_secret_ids": False,
        "secret_id_bound_cidrs": None,
        "secret_id_num_uses": 3,
        "secret_id_ttl": 600,
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 3600,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": ["dev"],
        "token_strictly_bind_ip": False,
        "token_ttl": 1200,
        "token_type": "default",
    }
    assert list(data) == sorted(data)


async def test_role_names_are_case_insensitive_and_listed(env: Env) -> None:
    with pytest.raises(NotFound):
        await env(L, "role")
    await env(U, "role/Web", {})
    await env(U, "role/api", {})
    assert await env.data(L, "role/") == {"keys": ["api", "web"]}
    assert await env.data(R, "role/WEB") == await env.data(R, "role/web")
    assert await env.role_id("Web") == await env.role_id("web")


async def test_updates_change_only_given_fields_and_legacy_aliases_show(env: Env) -> None:
    await env(U, "role/leg", {"policies": "a,b", "period": 60, "bound_cidr_list": "10.1.0.0/16"})
    data = await env.data(R, "role/leg")
    assert data["policies"] == data["token_policies"] == ["a", "b"]
    assert data["period"] == data["token_period"] == 60
    assert data["secret_id_bound_cidrs"] == ["10.1.0.0/16"]
    assert "bound_cidr_list" not in data
    await env(U, "role/leg", {"token_policies": "c", "secret_id_ttl": "5m"})
    data = await env.data(R, "role/leg")
    assert "policies" not in data and data["token_policies"] == ["c"]
    assert data["period"] == 60 and data["secret_id_ttl"] == 300
    assert data["secret_id_bound_cidrs"] == ["10.1.0.0/16"]


async def test_role_write_errors(env: Env) -> None:
    await expect(
        env,
        500,
        multi("at least one constraint should be enabled on the role"),
        U,
        "role/nobind",
        {"bind_secret_id": False},
    )
    await expect(
        env, 400, "secret_id_num_uses cannot be negative", U, "role/r", {"secret_id_num_uses": -1}
    )
    await expect(
        env,
        400,
        "error converting input for field \"secret_id_ttl\": cannot provide negative value '-1'",
        U,
        "role/r",
        {"secret_id_ttl": -1},
    )
    await expect(
        env,
        400,
        "'token_ttl' cannot be greater than 'token_max_ttl'",
        U,
        "role/r",
        {"token_ttl": "2h", "token_max_ttl": "1h"},
    )
    await expect(
        env,
        500,
        multi("failed to validate CIDR blocks: invalid CIDR address: bogus"),
        U,
        "role/r",
        {"secret_id_bound_cidrs": "bogus"},
    )
    await expect(
        env,
        400,
        'error parsing address "bogus": Unable to convert "bogus" to an IPv4 or IPv6 address, '
        "or a UNIX Socket",
        U,
        "role/r",
        {"token_bound_cidrs": "bogus"},
    )
    with pytest.raises(NotFound):
        await env(R, "role/r")  # nothing was written by the failed attempts


async def test_existence_check(env: Env) -> None:
    req = Request(operation=U, path="auth/approle/role/web", rel_path="role/web")
    assert await env.backend.exists(req) is False
    await env(U, "role/web", {})
    assert await env.backend.exists(req) is True


async def test_role_id_read_and_custom_write(env: Env) -> None:
    await env(U, "role/web", {})
    await env(U, "role/api", {})
    generated = await env.role_id("web")
    assert UUID.match(generated)
    with pytest.raises(NotFound):
        await env(R, "role/nope/role-id")
    await env(U, "role/web/role-id", {"role_id": "custom-rid"})
    assert await env.role_id("web") == "custom-rid"
    await expect(env, 400, "missing role_id", U, "role/web/role-id", {})
    await expect(
        env, 500, multi("role_id already in use"), U, "role/api/role-id", {"role_id": "custom-rid"}
    )
    with pytest.raises(UnsupportedPath):
        await env(U, "role/nope/role-id", {"role_id": "x"})
    # The old role ID no longer logs in; the new one does.
    secret = (await env.secret("web"))["secret_id"]
    with pytest.raises(BadRequest):
        await env.login(generated, secret)
    assert (await env.login("custom-rid", secret)).metadata == {"role_name": "web"}
    # A role can be created with its role ID.
    await env(U, "role/db", {"role_id": "db-rid"})
    assert await env.role_id("db") == "db-rid"


async def test_deleting_a_role_deletes_its_secret_ids(env: Env) -> None:
    await env(U, "role/web", {})
    role_id = await env.role_id("web")
    secret = (await env.secret("web"))["secret_id"]
    assert await env(D, "role/web") is None
    assert await env(D, "role/web") is None
    await env(U, "role/web", {"role_id": role_id})
    with pytest.raises(NotFound):
        await env(L, "role/web/secret-id")
    with pytest.raises(BadRequest):
        await env.login(role_id, secret)
    leftovers = [k for k in await env.values() if k.startswith(("secret_id/", "accessor/"))]
    assert leftovers == []


# --------------------------------------------------------------------------- secret IDs


async def test_generate_secret_id_defaults_from_the_role(env: Env) -> None:
    await env(U, "role/web", {"secret_id_num_uses": 3, "secret_id_ttl": "10m"})
    data = await env.secret("web")
    assert list(data) == ["secret_id", "secret_id_accessor", "secret_id_num_uses", "secret_id_ttl"]
    assert UUID.match(data["secret_id"]) and UUID.match(data["secret_id_accessor"])
    assert data["secret_id_num_uses"] == 3 and data["secret_id_ttl"] == 600
    narrower = await env.secret("web", num_uses=2, ttl="5m")
    assert narrower["secret_id_num_uses"] == 2 and narrower["secret_id_ttl"] == 300


async def test_secret_id_errors(env: Env) -> None:
    await env(U, "role/web", {"secret_id_num_uses": 3, "secret_id_ttl": "10m"})
    path = "role/web/secret-id"
    await expect(env, 404, 'role "nope" does not exist', U, "role/nope/secret-id", {})
    await expect(env, 400, "num_uses cannot be negative", U, path, {"num_uses": -1})
    for uses in (0, 5):
        await expect(
            env,
            400,
            "num_uses cannot be higher than the role's secret_id_num_uses",
            U,
            path,
            {"num_uses": uses},
        )
    for ttl in ("0", "2h"):
        await expect(
            env, 400, "ttl cannot be longer than the role's secret_id_ttl", U, path, {"ttl": ttl}
        )
    await expect(
        env,
        400,
        'Field validation failed: error converting input for field "ttl": '
        "cannot provide negative value '-300'",
        U,
        path,
        {"ttl": "-5m"},
    )
    bad_meta = "failed to parse metadata: failed to parse the input: invalid <key,value> format"
    for meta in ("notjson", '{"a":1}', "[1]"):
        await expect(env, 400, bad_meta, U, path, {"metadata": meta})
    await expect(
        env,
        500,
        multi("failed to validate CIDR blocks: invalid CIDR address: 127.0.0.1"),
        U,
        path,
        {"cidr_list": "127.0.0.1"},
    )
    await expect(
        env,
        500,
        multi("failed to validate token CIDR blocks: invalid CIDR address: 127.0.0.1"),
        U,
        path,
        {"token_bound_cidrs": "127.0.0.1"},
    )
    await env(U, "role/leg", {"secret_id_bound_cidrs": "10.1.0.0/16"})
    await expect(
        env,
        500,
        multi(
            "failed to verify subset relationship between CIDR blocks on the role "
            '["10.1.0.0/16"] and CIDR blocks on the secret ID ["192.168.0.0/16"]: %!w(<nil>)'
        ),
        U,
        "role/leg/secret-id",
        {"cidr_list": "192.168.0.0/16"},
    )
    assert (await env.secret("leg", cidr_list="10.1.2.0/24"))["secret_id"]
    await env(U, "role/nobind", {"bind_secret_id": False, "secret_id_bound_cidrs": "10.0.0.0/8"})
    await expect(env, 400, "bind_secret_id is not set on the role", U, "role/nobind/secret-id", {})


async def test_custom_secret_id(env: Env) -> None:
    await env(U, "role/web", {})
    data = await env.data(U, "role/web/custom-secret-id", {"secret_id": "my-secret"})
    assert data["secret_id"] == "my-secret" and UUID.match(data["secret_id_accessor"])
    await expect(
        env,
        500,
        multi("failed to store secret_id: SecretID is already registered"),
        U,
        "role/web/custom-secret-id",
        {"secret_id": "my-secret"},
    )
    await expect(env, 400, "missing secret_id", U, "role/web/custom-secret-id", {})
    # The same value may be a secret ID of another role.
    await env(U, "role/api", {})
    await env(U, "role/api/custom-secret-id", {"secret_id": "my-secret"})
    login = await env.login(await env.role_id("web"), "my-secret")
    assert login.metadata == {"role_name": "web"}


async def test_list_lookup_and_destroy(env: Env) -> None:
    await env(U, "role/web", {"secret_id_num_uses": 3, "secret_id_ttl": "10m"})
    await expect(env, 400, 'role "nope" does not exist', L, "role/nope/secret-id")
    with pytest.raises(NotFound):
        await env(L, "role/web/secret-id")
    first = await env.secret("web", metadata='{"env":"dev"}')
    second = await env.secret("web", metadata={"team": "x"})
    keys = (await env.data(L, "role/web/secret-id/"))["keys"]
    assert sorted(keys) == sorted([first["secret_id_accessor"], second["secret_id_accessor"]])

    info = await env.data(U, "role/web/secret-id/lookup", {"secret_id": first["secret_id"]})
    assert info == {
        "cidr_list": [],
        "creation_time": "2026-11-25T05:48:26.342676Z",
        "expiration_time": "2026-11-25T05:58:26.342676Z",
        "last_updated_time": "2026-11-25T05:48:26.342676Z",
        "metadata": {"env": "dev"},
        "secret_id_accessor": first["secret_id_accessor"],
        "secret_id_num_uses": 3,
        "secret_id_ttl": 600,
        "token_bound_cidrs": [],
    }
    by_accessor = await env.data(
        U, "role/web/secret-id-accessor/lookup", {"secret_id_accessor": first["secret_id_accessor"]}
    )
    assert by_accessor == info
    # Unknown secret: 204; unknown accessor: 404 with an error in the data.
    assert await env(U, "role/web/secret-id/lookup", {"secret_id": "nope"}) is None
    missing = await env(U, "role/web/secret-id-accessor/lookup", {"secret_id_accessor": "nope"})
    assert missing.status == 404
    assert missing.data == {"error": 'failed to find accessor entry for secret_id_accessor: "nope"'}
    await expect(env, 400, "missing secret_id", U, "role/web/secret-id/lookup", {})
    await expect(
        env, 400, "missing secret_id_accessor", U, "role/web/secret-id-accessor/lookup", {}
    )
    await expect(
        env,
        500,
        multi('role "nope" does not exist'),
        U,
        "role/nope/secret-id/lookup",
        {"secret_id": "x"},
    )

    # Destroy by value (unknown values are fine), then by accessor.
    assert await env(U, "role/web/secret-id/destroy", {"secret_id": "nope"}) is None
    assert await env(U, "role/web/secret-id/destroy", {"secret_id": first["secret_id"]}) is None
    assert await env(U, "role/web/secret-id/lookup", {"secret_id": first["secret_id"]}) is None
    await expect(
        env,
        500,
        multi('failed to find accessor entry for secret_id_accessor: "nope"'),
        U,
        "role/web/secret-id-accessor/destroy",
        {"secret_id_accessor": "nope"},
    )
    await env(
        D,
        "role/web/secret-id-accessor/destroy",
        {"secret_id_accessor": second["secret_id_accessor"]},
    )
    with pytest.raises(NotFound):
        await env(L, "role/web/secret-id")
    with pytest.raises(BadRequest):
        await env.login(await env.role_id("web"), second["secret_id"])


async def test_secret_ids_are_stored_only_as_salted_hashes(env: Env) -> None:
    await env(U, "role/web", {})
    generated = (await env.secret("web"))["secret_id"]
    await env(U, "role/web/custom-secret-id", {"secret_id": "hunter2-custom"})
    await env.login(await env.role_id("web"), generated)
    stored = await env.values()
    for key, blob in stored.items():
        for secret in (generated, "hunter2-custom"):
            assert secret not in key and secret.encode() not in blob
    hashed = [k for k in stored if k.startswith("secret_id/web/")]
    assert len(hashed) == 2 and all(re.fullmatch(r"secret_id/web/[0-9a-f]{64}", k) for k in hashed)
    # The HMAC key is per mount: the same secret hashes differently elsewhere.
    other = Env("other/")
    await other.backend.initialize()
    assert other.backend.store.hmac(generated) != env.backend.store.hmac(generated)
    assert stored["salt"] != (await other.values())["salt"]


# --------------------------------------------------------------------------- login


async def test_login_hands_the_core_a_login(env: Env) -> None:
    await env(
        U,
        "role/web",
        {"token_policies": "dev", "token_ttl": "20m", "token_max_ttl": "1h", "token_num_uses": 5},
    )
    secret = (await env.secret("web", metadata='{"env":"dev","role_name":"evil"}'))["secret_id"]
    login = await env.login(await env.role_id("web"), secret)
    assert login == Login(
        policies=["dev"],
        display_name="approle",
        metadata={"env": "dev", "role_name": "web"},
        ttl=1200,
        max_ttl=3600,
        num_uses=5,
    )


async def test_login_errors(env: Env) -> None:
    await env(U, "role/web", {})
    role_id = await env.role_id("web")
    secret = (await env.secret("web"))["secret_id"]
    await env(U, "role/api", {})
    other_secret = (await env.secret("api"))["secret_id"]
    await expect(env, 400, "missing role_id", U, "login", {})
    await expect(env, 400, "missing role_id", U, "login", {"secret_id": secret})
    await expect(env, 400, "missing secret_id", U, "login", {"role_id": role_id})
    for body in (
        {"role_id": "nope", "secret_id": secret},
        {"role_id": "nope"},
        {"role_id": role_id, "secret_id": "nope"},
        {"role_id": role_id, "secret_id": other_secret},
    ):
        with pytest.raises(BadRequest) as err:
            await env(U, "login", body)
        assert err.value.messages == INVALID


async def test_unknown_role_id_costs_what_a_known_one_does(env: Env) -> None:
    await env(U, "role/web", {})
    role_id = await env.role_id("web")
    costs = []
    for body in ({"role_id": "nope", "secret_id": "x"}, {"role_id": role_id, "secret_id": "x"}):
        env.storage.gets = 0
        with pytest.raises(BadRequest):
            await env(U, "login", body)
        costs.append(env.storage.gets)
    assert costs[0] == costs[1]


async def test_secret_id_num_uses_are_spent_and_then_gone(env: Env) -> None:
    await env(U, "role/web", {"secret_id_num_uses": 3})
    role_id = await env.role_id("web")
    data = await env.secret("web", num_uses=2)
    secret, accessor = data["secret_id"], data["secret_id_accessor"]
    env.clock.advance(seconds=5)
    await env.login(role_id, secret)
    info = await env.data(U, "role/web/secret-id/lookup", {"secret_id": secret})
    assert info["secret_id_num_uses"] == 1
    assert info["last_updated_time"] == "2026-11-25T05:48:31.342676Z"
    await env.login(role_id, secret)
    with pytest.raises(BadRequest) as err:
        await env.login(role_id, secret)
    assert err.value.messages == INVALID
    assert await env(U, "role/web/secret-id/lookup", {"secret_id": secret}) is None
    gone = await env(U, "role/web/secret-id-accessor/lookup", {"secret_id_accessor": accessor})
    assert gone.status == 404
    with pytest.raises(NotFound):
        await env(L, "role/web/secret-id")


async def test_unlimited_secret_ids_are_not_rewritten_per_login(env: Env) -> None:
    await env(U, "role/web", {})
    role_id = await env.role_id("web")
    secret = (await env.secret("web"))["secret_id"]
    before = await env.values()
    for _ in range(3):
        await env.login(role_id, secret)
    assert await env.values() == before


async def test_secret_id_ttl_expiry(env: Env) -> None:
    await env(U, "role/web", {"secret_id_ttl": "1m"})
    role_id = await env.role_id("web")
    secret = (await env.secret("web"))["secret_id"]
    env.clock.advance(seconds=59)
    await env.login(role_id, secret)
    env.clock.advance(seconds=1)
    with pytest.raises(BadRequest) as err:
        await env.login(role_id, secret)
    assert err.value.messages == INVALID
    assert await env(U, "role/web/secret-id/lookup", {"secret_id": secret}) is None
    with pytest.raises(NotFound):
        await env(L, "role/web/secret-id")


async def test_tidy_removes_expired_secret_ids(env: Env) -> None:
    await env(U, "role/web", {})
    short = await env.secret("web", ttl=30)
    keep = await env.secret("web")
    env.clock.advance(minutes=1)
    resp = await env(U, "tidy/secret-id")
    assert resp.status == 202 and resp.warnings[0].startswith("Tidy operation successfully")
    assert (await env.data(L, "role/web/secret-id"))["keys"] == [keep["secret_id_accessor"]]
    assert short["secret_id_accessor"] not in str(await env.values())


async def test_cidr_bindings(env: Env) -> None:
    await env(U, "role/web", {"token_policies": "dev"})
    role_id = await env.role_id("web")
    data = await env.secret(
        "web", cidr_list="10.0.0.0/8", token_bound_cidrs="10.1.0.0/16", num_uses=0
    )
    secret = data["secret_id"]
    for addr in ("127.0.0.1", "", "192.168.1.1"):
        with pytest.raises(BadRequest) as err:
            await env.login(role_id, secret, addr=addr)
        assert err.value.messages == INVALID
    # The secret ID's token_bound_cidrs bind the token (and its login address).
    with pytest.raises(BadRequest):
        await env.login(role_id, secret, addr="10.2.0.1")
    login = await env.login(role_id, secret, addr="10.1.2.3")
    assert login.bound_cidrs == ["10.1.0.0/16"]

    # Refused logins spend no uses.
    limited = (await env.secret("web", cidr_list="10.0.0.0/8", num_uses=1))["secret_id"]
    for _ in range(3):
        with pytest.raises(BadRequest):
            await env.login(role_id, limited, addr="127.0.0.1")
    await env.login(role_id, limited, addr="10.0.0.1")

    # Role-level bindings: secret_id_bound_cidrs, and a role without secret IDs.
    await env(U, "role/nobind", {"bind_secret_id": False, "secret_id_bound_cidrs": "127.0.0.0/8"})
    nobind = await env.role_id("nobind")
    assert (await env.login(nobind, None)).metadata == {"role_name": "nobind"}
    with pytest.raises(BadRequest) as err:
        await env.login(nobind, None, addr="10.0.0.1")
    assert err.value.messages == INVALID
    await env(U, "role/bound", {"token_bound_cidrs": "10.0.0.0/8"})
    bound_secret = (await env.secret("bound"))["secret_id"]
    with pytest.raises(BadRequest):
        await env.login(await env.role_id("bound"), bound_secret, addr="127.0.0.1")
    assert (
        await env.login(await env.role_id("bound"), bound_secret, addr="10.0.0.9")
    ).bound_cidrs == ["10.0.0.0/8"]


async def test_display_name_is_the_mount_path() -> None:
    env = Env("my-approle/")
    await env.backend.initialize()
    await env(U, "role/web", {})
    secret = (await env.secret("web"))["secret_id"]
    assert (await env.login(await env.role_id("web"), secret)).display_name == "my-approle"


# --------------------------------------------------------------------------- through a Core


async def unsealed_core() -> tuple[Core, str]:
    core = Core(InmemStorage())
    core.run_scheduler = False
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    return core, root


def req(op: Operation, path: str, token: str = "", data: dict | None = None) -> Request:
    return Request(
        operation=op, path=path, data=data or {}, client_token=token, remote_addr="127.0.0.1"
    )


async def test_approle_through_the_core() -> None:
    core, root = await unsealed_core()
    await core.handle(req(U, "sys/auth/approle", root, {"type": "approle"}))
    await core.handle(
        req(
            U,
            "auth/approle/role/web",
            root,
            {"token_policies": "dev", "token_ttl": "20m", "token_max_ttl": "1h"},
        )
    )
    role_id = (await core.handle(req(R, "auth/approle/role/web/role-id", root))).data["role_id"]
    secret = (
        await core.handle(
            req(U, "auth/approle/role/web/secret-id", root, {"metadata": '{"env":"dev"}'})
        )
    ).data["secret_id"]

    # Only login is unauthenticated.
    with pytest.raises(PermissionDenied):
        await core.handle(req(R, "auth/approle/role/web/role-id"))

    resp = await core.handle(
        req(U, "auth/approle/login", "", {"role_id": role_id, "secret_id": secret})
    )
    auth = resp.auth
    assert resp.data is None and auth is not None
    assert auth["policies"] == auth["token_policies"] == ["default", "dev"]
    assert auth["metadata"] == {"env": "dev", "role_name": "web"}
    assert auth["lease_duration"] == 1200
    assert auth["renewable"] is True and auth["orphan"] is True
    assert auth["token_type"] == "service"

    token = auth["client_token"]
    info = (await core.handle(req(R, "auth/token/lookup-self", token))).data
    assert info["path"] == "auth/approle/login"
    assert info["display_name"] == "approle"
    assert info["policies"] == ["default", "dev"]
    assert info["meta"] == {"env": "dev", "role_name": "web"}
    await core.handle(req(U, "cubbyhole/x", token, {"v": "1"}))
    assert (await core.handle(req(R, "cubbyhole/x", token))).data == {"v": "1"}

    leases = await core.handle(req(L, "sys/leases/lookup/auth/approle/login/", root))
    [key] = leases.data["keys"]
    assert re.fullmatch(r"h[0-9a-f]{64}", key)

    with pytest.raises(BadRequest) as err:
        await core.handle(req(U, "auth/approle/login", "", {"role_id": role_id, "secret_id": "x"}))
    assert err.value.messages == INVALID

    # Disabling the mount revokes the tokens it issued.
    await core.handle(req(D, "sys/auth/approle", root))
    with pytest.raises(PermissionDenied):
        await core.handle(req(R, "auth/token/lookup-self", token))
