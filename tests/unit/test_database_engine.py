"""The database engine's paths and background work, with a scripted in-memory plugin.

The plugin (`fake-database-plugin`) keeps its "users" in a dict and can be told to
fail; everything above it (validation, leases, WAL, rotation, pools' lifecycle)
runs unchanged. Real PostgreSQL/MariaDB runs live in tests/integration/database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.leases import is_throttling
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.database import DatabaseBackend, factory
from strongroom.engines.database import password as passwords
from strongroom.engines.database.errors import DatabaseError, RevocationFailed
from strongroom.engines.database.plugins import EXTRA
from strongroom.engines.database.plugins.base import DatabasePlugin
from strongroom.framework.backend import LeaseRequest
from strongroom.storage.inmem import InmemStorage

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ROOT_PW = "root-Secret-pw-42"


@dataclass
class FakeDb:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)
    instances: list[FakePlugin] = field(default_factory=list)


DB = FakeDb()


class FakePlugin(DatabasePlugin):
    plugin_names = ("fake-database-plugin",)
    default_username_template = (
        '{{ printf "v-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 8) }}'
    )
    max_username_length = 40
    default_rotation_statements = ("ALTER {{username}} PASSWORD {{password}}",)

    def __init__(self, plugin_name: str, details: dict[str, Any], executor: Any) -> None:
        super().__init__(plugin_name, details, executor)
        self.closed = False
        DB.instances.append(self)

    def _maybe_fail(self, op: str) -> None:
        err = DB.fail.get(op)
        if isinstance(err, DatabaseError):
            raise err
        if err is not None:  # a "driver" error: goes through the plugin's scrubbing
            raise self.error(err)

    def describe(self, err: BaseException) -> tuple[str, dict[str, bool]]:
        return str(err), {}

    async def verify(self) -> None:
        DB.calls.append(("verify", self.settings.username))
        self._maybe_fail("verify")

    async def create_user(self, username, password, expiration, creation, rollback) -> None:  # type: ignore[no-untyped-def]
        DB.calls.append(("create", username))
        if not creation:
            raise DatabaseError("empty creation statements")
        self._maybe_fail("create")
        DB.users[username] = {"password": password, "expiration": expiration, "creation": creation}

    async def set_password(self, username: str, password: str, statements: list[str]) -> None:
        DB.calls.append(("password", username))
        self._maybe_fail("password")
        DB.users.setdefault(username, {})["password"] = password
        DB.users[username]["rotation"] = statements or list(self.default_rotation_statements)

    async def set_expiration(self, username: str, expiration: datetime, statements: list[str]):  # type: ignore[no-untyped-def]
        DB.calls.append(("expire", username))
        self._maybe_fail("expire")
        DB.users[username]["expiration"] = expiration
        DB.users[username]["renew"] = statements

    async def delete_user(self, username: str, statements: list[str]) -> None:
        DB.calls.append(("delete", username))
        self._maybe_fail("delete")
        DB.users.pop(username, None)
        DB.calls.append(("delete-statements", ";".join(statements)))

    async def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def fake_plugin() -> Iterator[None]:
    global DB
    DB = FakeDb()
    EXTRA["fake-database-plugin"] = FakePlugin
    yield
    EXTRA.pop("fake-database-plugin", None)


@dataclass
class Env:
    backend: DatabaseBackend
    clock: Clock
    storage: InmemStorage

    async def call(
        self, op: Operation, path: str, data: dict[str, Any] | None = None, display: str = "token"
    ) -> Response:
        req = Request(operation=op, path="db/" + path, rel_path=path, data=data or {})
        req.token = _Token(display)  # type: ignore[assignment]
        return await self.backend.handle(req) or Response()

    def lease(
        self, resp: Response, increment: int = 0, issued: float | None = None
    ) -> LeaseRequest:
        assert resp.secret is not None
        start = issued if issued is not None else self.clock().timestamp()
        return LeaseRequest(
            "lease", resp.secret.internal, self.storage, self.backend.ctx.mount, start, increment
        )


@dataclass
class _Token:
    display_name: str


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock, storage = Clock(), InmemStorage()
    mount = MountEntry.new(
        "db/", "database", config=MountConfig(default_lease_ttl=3600, max_lease_ttl=7200)
    )
    backend = factory(BackendContext(storage=storage, mount=mount, system=SystemView(clock=clock)))
    yield Env(backend, clock, storage)
    await backend.cleanup()


CONFIG = {
    "plugin_name": "fake-database-plugin",
    "connection_url": "fake://{{username}}:{{password}}@db",
    "username": "admin",
    "password": ROOT_PW,
    "allowed_roles": "app-*,exact",
}


async def configured(env: Env, **extra: Any) -> None:
    await env.call(U, "config/db", {**CONFIG, **extra})


# --------------------------------------------------------------------------- config


async def test_config_is_stored_without_returning_the_password(env: Env) -> None:
    await configured(env, max_open_connections="7")
    data = (await env.call(R, "config/db")).data
    assert data == {
        "allowed_roles": ["app-*", "exact"],
        "connection_details": {
            "connection_url": "fake://{{username}}:{{password}}@db",
            "username": "admin",
            "max_open_connections": "7",
        },
        "password_policy": "",
        "plugin_name": "fake-database-plugin",
        "plugin_version": "",
        "root_credentials_rotate_statements": [],
        "verify_connection": True,
    }
    assert ("verify", "admin") in DB.calls
    assert DB.instances[-1].settings.limits.max_open == 7
    assert (await env.call(L, "config/")).data == {"keys": ["db"]}
    # An update merges details and replaces (closes) the old connection.
    first = DB.instances[-1]
    await env.call(U, "config/db", {"username_template": "{{ .RoleName }}-{{ random 4 }}"})
    assert first.closed
    details = (await env.call(R, "config/db")).data["connection_details"]
    assert details["username"] == "admin" and "username_template" in details


async def test_config_errors(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"^empty plugin name$"):
        await env.call(U, "config/db", {"connection_url": "x"})
    with pytest.raises(BadRequest, match="plugin not found in the catalog: nope"):
        await env.call(U, "config/db", {**CONFIG, "plugin_name": "nope"})
    with pytest.raises(BadRequest, match="password policies are not supported yet"):
        await configured(env, password_policy="strict")
    with pytest.raises(BadRequest, match="connection_url cannot be empty"):
        await configured(env, connection_url="")
    with pytest.raises(BadRequest, match="cannot contain the template variables"):
        await configured(env, username="{{password}}")
    with pytest.raises(BadRequest, match="unable to initialize username template"):
        await configured(env, username_template="{{ nope }}")
    DB.fail["verify"] = RuntimeError(f"FATAL: password {ROOT_PW} rejected")
    with pytest.raises(BadRequest) as caught:
        await configured(env)
    assert str(caught.value).startswith("error creating database object: FATAL")
    assert ROOT_PW not in str(caught.value)
    with pytest.raises(NotFound):
        await env.call(R, "config/db")
    assert all(p.closed for p in DB.instances)  # failed instances are closed
    assert "FATAL: password [password] rejected" in str(caught.value)
    del DB.fail["verify"]
    DB.calls.clear()
    await configured(env, verify_connection=False, password_policy="")
    assert ("verify", "admin") not in DB.calls


async def test_password_in_url_warns(env: Env) -> None:
    resp = await env.call(U, "config/db", {**CONFIG, "connection_url": "fake://admin:plain@db"})
    assert resp.warnings[0].startswith("Password found in connection_url")
    assert (await env.call(R, "config/db")).data["connection_details"]["connection_url"] == (
        "fake://admin:xxxxx@db"
    )


async def test_delete_and_reset_close_the_connection(env: Env) -> None:
    await configured(env)
    await env.call(U, "roles/exact", {"db_name": "db", "creation_statements": "CREATE {{name}}"})
    await env.call(R, "creds/exact")
    first = DB.instances[-1]
    await env.call(U, "reset/db")
    assert first.closed and DB.instances[-1] is not first and DB.calls[-1][0] == "verify"
    second = DB.instances[-1]
    await env.call(D, "config/db")
    assert second.closed
    with pytest.raises(VaultError, match='failed to find entry for connection with name: "db"'):
        await env.call(U, "reset/db")


async def test_rotate_root(env: Env) -> None:
    await configured(env)
    old = DB.instances[-1]
    await env.call(U, "rotate-root/db")
    new_password = DB.users["admin"]["password"]
    assert passwords.satisfies_default_policy(new_password)
    assert old.closed
    config = await env.backend.store.config("db")
    assert config is not None and config.connection_details["password"] == new_password
    assert config.pending_root_password == ""
    assert "password" not in (await env.call(R, "config/db")).data["connection_details"]
    # The database refused: nothing changes.
    DB.fail["password"] = DatabaseError("permission denied")
    with pytest.raises(VaultError, match="failed to update user: permission denied"):
        await env.call(U, "rotate-root/db")
    config = await env.backend.store.config("db")
    assert config is not None and config.connection_details["password"] == new_password
    assert config.pending_root_password == ""
    await env.call(U, "config/nouser", {**CONFIG, "username": ""})
    with pytest.raises(VaultError, match="no username in configuration"):
        await env.call(U, "rotate-root/nouser")


# --------------------------------------------------------------------------- roles


async def test_role_crud_and_validation(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"^database name is required$"):
        await env.call(U, "roles/r", {"creation_statements": "x"})
    await env.call(
        U,
        "roles/r",
        {
            "db_name": "db",
            "creation_statements": ["CREATE {{name}}", " GRANT x "],
            "revocation_statements": ["", "DROP {{name}}"],
            "default_ttl": "1h",
            "max_ttl": 7200,
        },
    )
    assert (await env.call(R, "roles/r")).data == {
        "db_name": "db",
        "creation_statements": ["CREATE {{name}}", "GRANT x"],
        "revocation_statements": ["DROP {{name}}"],
        "rollback_statements": [],
        "renew_statements": [],
        "default_ttl": 3600,
        "max_ttl": 7200,
        "credential_type": "password",
    }
    await env.call(U, "roles/r", {"default_ttl": 60})  # an update keeps the rest
    data = (await env.call(R, "roles/r")).data
    assert data["default_ttl"] == 60 and data["creation_statements"][0] == "CREATE {{name}}"
    with pytest.raises(BadRequest, match='invalid credential_type "magic"'):
        await env.call(U, "roles/r", {"credential_type": "magic"})
    with pytest.raises(BadRequest, match="credential_config validation failed"):
        await env.call(U, "roles/r", {"credential_config": {"password_policy": "p"}})
    assert (await env.call(L, "roles/", {"after": "a", "limit": 1})).data == {"keys": ["r"]}
    await env.call(D, "roles/r")
    with pytest.raises(NotFound):
        await env.call(R, "roles/r")


async def test_role_and_static_role_names_are_unique(env: Env) -> None:
    await configured(env)
    await env.call(U, "roles/exact", {"db_name": "db", "creation_statements": "x"})
    with pytest.raises(BadRequest, match=r"^Role and Static Role names must be unique$"):
        await env.call(
            U, "static-roles/exact", {"db_name": "db", "username": "u", "rotation_period": 60}
        )


# --------------------------------------------------------------------------- creds


async def test_issue_renew_revoke(env: Env) -> None:
    await configured(env)
    await env.call(
        U,
        "roles/app-ro",
        {
            "db_name": "db",
            "creation_statements": "CREATE {{name}}",
            "renew_statements": "RENEW {{name}}",
            "revocation_statements": "DROP {{name}}",
            "default_ttl": 600,
            "max_ttl": 1800,
        },
    )
    resp = await env.call(R, "creds/app-ro", display="userpass-alice")
    user, pw = resp.data["username"], resp.data["password"]
    assert user.startswith("v-userpass-app-ro-")
    assert passwords.satisfies_default_policy(pw)
    assert DB.users[user]["password"] == pw
    assert DB.users[user]["expiration"] == env.clock.now + timedelta(seconds=605)
    secret = resp.secret
    assert secret is not None and (secret.ttl, secret.max_ttl, secret.renewable) == (
        600,
        1800,
        True,
    )
    assert secret.internal == {
        "secret_type": "creds",
        "username": user,
        "role": "app-ro",
        "db_name": "db",
        "revocation_statements": ["DROP {{name}}"],
    }
    # The WAL entry stays until the lease is stored.
    assert len(await env.storage.list("wal/")) == 1
    assert secret.on_lease_stored is not None
    await secret.on_lease_stored(True)
    assert await env.storage.list("wal/") == []

    issued = env.clock.now.timestamp()
    env.clock.now += timedelta(minutes=5)
    assert await env.backend.creds.renew(env.lease(resp, 0, issued)) == 600
    assert DB.users[user]["expiration"] == env.clock.now + timedelta(seconds=605)
    assert DB.users[user]["renew"] == ["RENEW {{name}}"]
    assert await env.backend.creds.renew(env.lease(resp, 1000, issued)) == 1000
    # Capped by the role's max_ttl, counted from issue time (25 minutes left).
    env.clock.now += timedelta(minutes=20)
    assert await env.backend.creds.renew(env.lease(resp, 3600, issued)) == 300

    await env.backend.creds.revoke(env.lease(resp))
    assert user not in DB.users
    assert DB.calls[-1] == ("delete-statements", "DROP {{name}}")


async def test_issue_errors(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"^unknown role: nope$"):
        await env.call(R, "creds/nope")
    await env.call(U, "roles/exact", {"db_name": "missing", "creation_statements": "x"})
    with pytest.raises(
        VaultError, match='failed to find entry for connection with name: "missing"'
    ):
        await env.call(R, "creds/exact")
    await configured(env)
    await env.call(U, "roles/other", {"db_name": "db", "creation_statements": "x"})
    with pytest.raises(VaultError, match='"other" is not an allowed role') as caught:
        await env.call(R, "creds/other")
    assert caught.value.status == 500
    await env.call(U, "roles/exact", {"db_name": "db", "creation_statements": []})
    with pytest.raises(VaultError, match="failed to execute query: empty creation statements"):
        await env.call(R, "creds/exact")
    await env.call(
        U, "roles/exact", {"creation_statements": "x", "credential_type": "rsa_private_key"}
    )
    with pytest.raises(BadRequest, match='unsupported credential_type: "rsa_private_key"'):
        await env.call(R, "creds/exact")
    await env.call(U, "roles/exact", {"credential_type": "password"})
    DB.fail["create"] = DatabaseError("connection refused", unreachable=True)
    with pytest.raises(VaultError, match="unable to get connection: connection refused"):
        await env.call(R, "creds/exact")
    assert await env.storage.list("wal/") == []  # nothing was created: nothing to roll back
    rollback_failed = DatabaseError("half done")
    rollback_failed.rollback_failed = True
    DB.fail["create"] = rollback_failed
    with pytest.raises(VaultError, match="failed to execute query: half done"):
        await env.call(R, "creds/exact")
    assert len(await env.storage.list("wal/")) == 1  # left for the WAL pass


async def test_glob_allowed_roles(env: Env) -> None:
    await configured(env, allowed_roles="app-*")
    for role, ok in (("app-x", True), ("app-1", True), ("apx", False)):
        await env.call(U, f"roles/{role}", {"db_name": "db", "creation_statements": "x"})
        if ok:
            await env.call(R, f"creds/{role}")
        else:
            with pytest.raises(VaultError, match="is not an allowed role"):
                await env.call(R, f"creds/{role}")


async def test_username_length_is_enforced_for_custom_templates(env: Env) -> None:
    await configured(env, username_template="{{ .RoleName }}-{{ random 40 }}")
    await env.call(U, "roles/exact", {"db_name": "db", "creation_statements": "x"})
    with pytest.raises(VaultError, match="at most 40"):
        await env.call(R, "creds/exact")
    assert DB.users == {}


async def test_revoke_falls_back_to_the_issue_time_data_and_retries(env: Env) -> None:
    await configured(env)
    await env.call(
        U,
        "roles/exact",
        {"db_name": "db", "creation_statements": "x", "revocation_statements": "R1"},
    )
    resp = await env.call(R, "creds/exact")
    await env.call(D, "roles/exact")
    DB.fail["delete"] = DatabaseError("too many connections", throttled=True)
    with pytest.raises(RevocationFailed) as caught:
        await env.backend.creds.revoke(env.lease(resp))
    assert is_throttling(caught.value)
    del DB.fail["delete"]
    await env.backend.creds.revoke(env.lease(resp))
    assert DB.calls[-1] == ("delete-statements", "R1")
    with pytest.raises(VaultError, match="could not find role"):
        await env.backend.creds.renew(env.lease(resp))


async def test_wal_rollback_removes_unsettled_users(env: Env) -> None:
    await configured(env)
    await env.call(U, "roles/exact", {"db_name": "db", "creation_statements": "x"})
    resp = await env.call(R, "creds/exact")
    user = resp.data["username"]
    assert await env.backend.rollback() == 0  # in flight in this process
    env.backend.wal.inflight.clear()  # as after a restart
    assert await env.backend.rollback() == 0  # too young
    env.clock.now += timedelta(minutes=6)
    assert await env.backend.rollback() == 1
    assert user not in DB.users and await env.storage.list("wal/") == []


# --------------------------------------------------------------------------- static roles


async def test_static_role_validation(env: Env) -> None:
    await configured(env)
    base = {"db_name": "db", "username": "svc"}
    cases = [
        ({"username": "svc"}, "database name is a required field"),
        ({"db_name": "db"}, "username is a required field to create a static account"),
        (base, "one of rotation_schedule or rotation_period must be provided"),
        ({**base, "rotation_period": 60, "rotation_schedule": "* * * * *"}, "mutually exclusive"),
        ({**base, "rotation_period": 4}, "rotation_period must be 5 seconds or more"),
        (
            {**base, "rotation_period": 60, "rotation_window": 3600},
            "rotation_window is invalid with use of rotation_period",
        ),
        (
            {**base, "rotation_schedule": "0 * * * *", "rotation_window": 60},
            "rotation_window must be 3600 seconds or more",
        ),
        ({**base, "rotation_schedule": "nope"}, "could not parse rotation_schedule"),
    ]
    for body, message in cases:
        with pytest.raises(BadRequest, match=message):
            await env.call(U, "static-roles/exact", body)
    assert DB.users == {}


async def test_static_role_lifecycle(env: Env) -> None:
    await configured(env)
    await env.call(
        U,
        "static-roles/exact",
        {
            "db_name": "db",
            "username": "svc",
            "rotation_period": "1h",
            "rotation_statements": "SET {{password}}",
        },
    )
    first = DB.users["svc"]["password"]
    assert DB.users["svc"]["rotation"] == ["SET {{password}}"]
    creds = (await env.call(R, "static-creds/exact")).data
    assert creds == {
        "username": "svc",
        "password": first,
        "ttl": 3600,
        "last_vault_rotation": "2030-01-01T12:00:00Z",
        "rotation_period": 3600,
    }
    assert (await env.call(R, "static-roles/exact")).data == {
        "db_name": "db",
        "username": "svc",
        "rotation_statements": ["SET {{password}}"],
        "credential_type": "password",
        "last_vault_rotation": "2030-01-01T12:00:00Z",
        "rotation_period": 3600,
    }
    with pytest.raises(BadRequest, match="cannot update static account username"):
        await env.call(U, "static-roles/exact", {"username": "other"})
    env.clock.now += timedelta(minutes=10)
    await env.call(U, "rotate-role/exact")
    second = DB.users["svc"]["password"]
    assert second != first
    assert (await env.call(R, "static-creds/exact")).data["ttl"] == 3600

    # Due on the injected clock.
    env.clock.now += timedelta(minutes=59)
    await env.backend.static.rotate_due()
    assert DB.users["svc"]["password"] == second
    env.clock.now += timedelta(minutes=1)
    await env.backend.static.rotate_due()
    third = DB.users["svc"]["password"]
    assert third != second

    # Switching to a schedule recomputes the next rotation from the last one.
    await env.call(U, "static-roles/exact", {"rotation_schedule": "0 0 * * *"})
    data = (await env.call(R, "static-creds/exact")).data
    assert data["rotation_schedule"] == "0 0 * * *" and "rotation_period" not in data
    assert data["ttl"] == 11 * 3600 - 10 * 60  # 13:10 -> 00:00

    with pytest.raises(BadRequest, match="no static role found for role name"):
        await env.call(U, "rotate-role/nope")
    with pytest.raises(BadRequest, match="unknown role: nope"):
        await env.call(R, "static-creds/nope")
    await env.call(D, "static-roles/exact")
    with pytest.raises(NotFound):
        await env.call(R, "static-roles/exact")


async def test_static_creation_failure_stores_nothing(env: Env) -> None:
    await configured(env)
    DB.fail["password"] = DatabaseError('role "svc" does not exist')
    with pytest.raises(VaultError, match='error setting credentials: role "svc" does not exist'):
        await env.call(
            U, "static-roles/exact", {"db_name": "db", "username": "svc", "rotation_period": 60}
        )
    assert await env.backend.store.static_role("exact") is None


async def test_failed_rotation_rolls_the_same_password_forward(env: Env) -> None:
    await configured(env)
    await env.call(
        U, "static-roles/exact", {"db_name": "db", "username": "svc", "rotation_period": 60}
    )
    first = DB.users["svc"]["password"]
    DB.fail["password"] = DatabaseError("server closed the connection", unreachable=True)
    with pytest.raises(VaultError, match="unable to finish rotating credentials"):
        await env.call(U, "rotate-role/exact")
    stored = await env.backend.store.static_role("exact")
    assert stored is not None and stored.pending_password and stored.password == first
    pending = stored.pending_password
    # Retried 10s later by the task, with the same password.
    env.clock.now += timedelta(seconds=5)
    assert await env.backend.static.rotate_due() == pytest.approx(5, abs=0.1)
    del DB.fail["password"]
    env.clock.now += timedelta(seconds=6)
    await env.backend.static.rotate_due()
    assert DB.users["svc"]["password"] == pending
    stored = await env.backend.store.static_role("exact")
    assert stored is not None and stored.password == pending and stored.pending_password == ""


async def test_missed_schedule_window_waits_for_the_next_one(env: Env) -> None:
    await configured(env)
    await env.call(
        U,
        "static-roles/exact",
        {
            "db_name": "db",
            "username": "svc",
            "rotation_schedule": "0 0 * * *",
            "rotation_window": "1h",
        },
    )
    first = DB.users["svc"]["password"]
    env.clock.now += timedelta(hours=14)  # 02:00 the next day: the 00:00-01:00 window passed
    await env.backend.static.rotate_due()
    assert DB.users["svc"]["password"] == first
    role = await env.backend.store.static_role("exact")
    assert role is not None
    assert role.next_vault_rotation == datetime(2030, 1, 3, tzinfo=UTC).timestamp()
    data = (await env.call(R, "static-roles/exact")).data
    assert data["rotation_window"] == 3600


async def test_background_task_runs_and_stops(env: Env) -> None:
    await env.backend.initialize()
    assert len(env.backend._tasks) == 2
    await configured(env)
    await env.call(
        U, "static-roles/exact", {"db_name": "db", "username": "svc", "rotation_period": 60}
    )
    first = DB.users["svc"]["password"]
    env.clock.now += timedelta(seconds=61)
    env.backend.static.wake.set()
    for _ in range(100):
        if DB.users["svc"]["password"] != first:
            break
        await asyncio.sleep(0.01)
    assert DB.users["svc"]["password"] != first
    plugin = DB.instances[-1]
    await env.backend.cleanup()
    assert env.backend._tasks == set() and plugin.closed
