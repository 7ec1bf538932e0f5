"""Time and lifecycle on the real servers: rotation schedules, pools, crash recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.database import DatabaseBackend, factory
from strongroom.storage.inmem import InmemStorage

from .conftest import Api, Maria, Postgres, name, wait_for
from .kinds import MariaKind, PgKind


def test_static_roles_rotate_on_their_period(api: Api, pg: Postgres, maria: Maria) -> None:
    """The server's own rotation task, on the real clock: both databases at once."""
    kinds = [PgKind(pg), MariaKind(maria)]
    mount = api.mount(name("-period"))
    before: dict[str, str] = {}
    for kind in kinds:
        user = name(f"_per_{kind.label}")
        kind.create_static_user(user, "Initial-password-1")
        api.ok("POST", f"{mount}/config/{kind.label}", kind.config())
        api.ok(
            "POST",
            f"{mount}/static-roles/{kind.label}",
            {"db_name": kind.label, "username": user, "rotation_period": "5s"},
        )
        before[kind.label] = api.ok("GET", f"{mount}/static-creds/{kind.label}")["data"]["password"]

    def rotated() -> bool:
        return all(
            api.ok("GET", f"{mount}/static-creds/{k.label}")["data"]["password"] != before[k.label]
            for k in kinds
        )

    assert wait_for(rotated, timeout=12, step=0.25)
    for kind in kinds:
        data = api.ok("GET", f"{mount}/static-creds/{kind.label}")["data"]
        assert data["rotation_period"] == 5 and 0 <= data["ttl"] <= 5
        assert kind.can_login(data["username"], data["password"])
        assert not kind.can_login(data["username"], before[kind.label])


# --------------------------------------------------------------------------- in-process


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 10, 15, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def backend() -> AsyncIterator[tuple[DatabaseBackend, Clock, InmemStorage]]:
    clock, storage = Clock(), InmemStorage()
    mount = MountEntry.new("database/", "database")
    made = factory(BackendContext(storage=storage, mount=mount, system=SystemView(clock=clock)))
    yield made, clock, storage
    await made.cleanup()


async def call(
    backend: DatabaseBackend, op: Operation, path: str, data: dict[str, Any] | None = None
) -> Response | None:
    req = Request(operation=op, path="database/" + path, rel_path=path, data=data or {})
    return await backend.handle(req)


async def test_rotation_schedule_follows_the_injected_clock(
    backend: tuple[DatabaseBackend, Clock, InmemStorage], pg: Postgres
) -> None:
    db, clock, _ = backend
    kind = PgKind(pg)
    user = name("_sched")
    await asyncio.to_thread(kind.create_static_user, user, "Initial-password-1")
    await call(db, Operation.UPDATE, "config/pg", kind.config())
    await call(
        db,
        Operation.UPDATE,
        "static-roles/hourly",
        {"db_name": "pg", "username": user, "rotation_schedule": "0 * * * *"},
    )
    first = await call(db, Operation.READ, "static-creds/hourly")
    assert first is not None and first.data is not None
    assert first.data["rotation_schedule"] == "0 * * * *"
    assert first.data["ttl"] == 45 * 60  # 10:15 -> 11:00
    assert first.data["last_vault_rotation"] == "2030-01-01T10:15:00Z"
    assert await asyncio.to_thread(pg.password_ok, user, first.data["password"])

    clock.now += timedelta(minutes=44)
    await db.static.rotate_due()
    same = await call(db, Operation.READ, "static-creds/hourly")
    assert same is not None and same.data is not None
    assert same.data["password"] == first.data["password"]

    clock.now += timedelta(minutes=1, seconds=1)  # 11:00:01
    delay = await db.static.rotate_due()
    second = await call(db, Operation.READ, "static-creds/hourly")
    assert second is not None and second.data is not None
    assert second.data["password"] != first.data["password"]
    assert second.data["last_vault_rotation"] == "2030-01-01T11:00:01Z"
    assert second.data["ttl"] == 3600 - 1
    assert 0 < delay <= 60
    assert await asyncio.to_thread(pg.password_ok, user, second.data["password"])
    assert not await asyncio.to_thread(pg.password_ok, user, first.data["password"])


async def test_pools_open_lazily_and_close_on_config_change_and_cleanup(
    backend: tuple[DatabaseBackend, Clock, InmemStorage], pg: Postgres
) -> None:
    db, _, _ = backend
    kind = PgKind(pg)
    app = name("app")

    def open_connections() -> int:
        rows = pg.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", app)
        return int(rows[0][0])

    url = pg.url() + f"&application_name={app}"
    config = kind.config(connection_url=url, verify_connection=False, max_open_connections=2)
    await call(db, Operation.UPDATE, "config/pg", config)
    assert await asyncio.to_thread(open_connections) == 0  # lazily: nothing yet
    role = name("pool")
    await call(
        db,
        Operation.UPDATE,
        f"roles/{role}",
        {"db_name": "pg", "creation_statements": kind.creation()},
    )
    issued = await asyncio.gather(*(call(db, Operation.READ, f"creds/{role}") for _ in range(6)))
    assert 1 <= await asyncio.to_thread(open_connections) <= 2
    # A config write closes the old pool.
    await call(db, Operation.UPDATE, "config/pg", {**config, "max_open_connections": 1})
    assert await asyncio.to_thread(wait_for, lambda: open_connections() == 0, 5)
    for resp in issued:
        assert resp is not None and resp.secret is not None
        await db.creds.revoke(_lease(db, resp))
    assert await asyncio.to_thread(open_connections) == 1
    # Unmount (cleanup) closes it too.
    await db.cleanup()
    assert await asyncio.to_thread(wait_for, lambda: open_connections() == 0, 5)


def _lease(db: DatabaseBackend, resp: Response) -> Any:
    from strongroom.framework.backend import LeaseRequest

    assert resp.secret is not None
    return LeaseRequest("lease", resp.secret.internal, db.ctx.storage, db.ctx.mount, 0)


async def test_a_user_left_by_a_crash_is_removed_by_the_wal(
    backend: tuple[DatabaseBackend, Clock, InmemStorage], maria: Maria
) -> None:
    """Issued, but the server died before the lease was stored: the WAL pass drops it."""
    db, clock, storage = backend
    kind = MariaKind(maria)
    await call(db, Operation.UPDATE, "config/my", kind.config())
    role = name("crash")
    await call(
        db,
        Operation.UPDATE,
        f"roles/{role}",
        {"db_name": "my", "creation_statements": kind.creation()},
    )
    resp = await call(db, Operation.READ, f"creds/{role}")
    assert resp is not None and resp.data is not None
    user = resp.data["username"]
    assert await asyncio.to_thread(kind.exists, user)
    await db.cleanup()  # the process is gone; on_lease_stored never ran

    restarted = factory(
        BackendContext(storage=storage, mount=db.ctx.mount, system=SystemView(clock=clock))
    )
    try:
        assert await restarted.rollback() == 0  # too young: might still be in flight
        clock.now += timedelta(minutes=6)
        assert await restarted.rollback() == 1
        assert not await asyncio.to_thread(kind.exists, user)
        assert await storage.list("wal/") == []
    finally:
        await restarted.cleanup()
