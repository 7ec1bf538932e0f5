"""`counting`: a secrets engine that issues leased counters and counts revocations.

It exists so tests can watch the expiration manager from the outside:

    roles/<name>   WRITE ttl, max_ttl, renewable; READ
    creds/<name>   READ: a new credential with a lease (serial n); an unknown
                   role gets the defaults (ttl 0 = mount default, renewable)
    revoked        READ: revocations per serial, plus this process's call stats
    fail           WRITE {"mode": "none"|"error"|"throttle", "times": N}: the
                   next N revocations raise (a throttling error has
                   `throttled = True` and AWS's "Throttling" code in its text)
    config         WRITE {"revoke_delay": seconds}: each revocation sleeps first
                   (so tests can observe how many run at once)

Everything a revocation changes (counts, the failure budget) lives in the
mount's storage, reached through `LeaseRequest.storage`, so it survives a
restart of the server. Concurrency statistics are per process.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.backend import Backend, LeaseRequest, SecretType
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.context import BackendContext
    from strongroom.core.core import Core
    from strongroom.storage.base import Storage

TYPE = "counting"
SECRET_TYPE = "counter"
FAIL_MODES = ("none", "error", "throttle")

SERIAL_KEY = "serial"
FAIL_KEY = "fail"
CONFIG_KEY = "config"
ROLE_PREFIX = "role/"
REVOKED_PREFIX = "revoked/"
RENEWED_PREFIX = "renewed/"


class CountingError(Exception):
    """A plain revocation failure (the 'cloud' is down)."""


class ThrottlingError(Exception):
    """What a cloud says when asked too fast; the lease manager must back off."""

    throttled = True


async def _load(storage: Storage, key: str, default: Any) -> Any:
    raw = await storage.get(key)
    return default if raw is None else json.loads(raw)


async def _store(storage: Storage, key: str, value: Any) -> None:
    await storage.put(key, json.dumps(value).encode())


class CountingBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.storage = ctx.storage
        # One lock for every read-modify-write of this mount's storage; the
        # revocation itself (and its delay) runs outside it, so concurrency
        # stays observable.
        self._lock = asyncio.Lock()
        self.calls = 0  # revocation attempts seen by this process
        self.calls_by_serial: Counter[int] = Counter()
        self.active = 0
        self.max_active = 0
        super().__init__(
            self._paths(),
            help="Issues leased counters and counts their revocations (tests only).",
            secret_types=[SecretType(SECRET_TYPE, revoke=self.revoke, renew=self.renew)],
        )

    # ------------------------------------------------------------ leases
    async def revoke(self, lease: LeaseRequest) -> None:
        serial = int(lease.internal["serial"])
        storage = lease.storage
        self.calls += 1
        self.calls_by_serial[serial] += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            delay = float((await _load(storage, CONFIG_KEY, {})).get("revoke_delay", 0))
            if delay > 0:
                await asyncio.sleep(delay)
            async with self._lock:
                fail = await _load(storage, FAIL_KEY, {"mode": "none", "times": 0})
                if fail["mode"] != "none" and fail["times"] > 0:
                    fail["times"] -= 1
                    await _store(storage, FAIL_KEY, fail)
                    if fail["mode"] == "throttle":
                        raise ThrottlingError("Throttling: Rate exceeded (status code: 400)")
                    raise CountingError(f"counting: backend unavailable (serial {serial})")
                key = f"{REVOKED_PREFIX}{serial}"
                await _store(storage, key, await _load(storage, key, 0) + 1)
        finally:
            self.active -= 1

    async def renew(self, lease: LeaseRequest) -> int:
        serial = int(lease.internal["serial"])
        async with self._lock:
            key = f"{RENEWED_PREFIX}{serial}"
            await _store(lease.storage, key, await _load(lease.storage, key, 0) + 1)
        return 0  # Vault's rules decide, from the caller's increment

    async def revoked_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in await self.storage.list(REVOKED_PREFIX):
            counts[name] = await _load(self.storage, REVOKED_PREFIX + name, 0)
        return counts

    # ------------------------------------------------------------ paths
    def _paths(self) -> list[Path]:
        storage = self.storage

        async def write_role(req: Request, fd: FieldData) -> None:
            role = {
                "ttl": fd.get("ttl"),
                "max_ttl": fd.get("max_ttl"),
                "renewable": fd.get("renewable"),
            }
            await _store(storage, ROLE_PREFIX + fd.get("name"), role)

        async def read_role(req: Request, fd: FieldData) -> Response:
            role = await _load(storage, ROLE_PREFIX + fd.get("name"), None)
            if role is None:
                raise NotFound()
            return Response(data=role)

        async def read_creds(req: Request, fd: FieldData) -> Response:
            role = await _load(
                storage, ROLE_PREFIX + fd.get("name"), {"ttl": 0, "max_ttl": 0, "renewable": True}
            )
            async with self._lock:
                serial = await _load(storage, SERIAL_KEY, 0) + 1
                await _store(storage, SERIAL_KEY, serial)
            return Response(
                data={"value": f"counter-{serial}", "serial": serial},
                secret=Secret(
                    ttl=role["ttl"],
                    renewable=role["renewable"],
                    max_ttl=role["max_ttl"],
                    internal={"secret_type": SECRET_TYPE, "serial": serial},
                ),
            )

        async def read_revoked(req: Request, fd: FieldData) -> Response:
            counts = await self.revoked_counts()
            renewed = {
                name: await _load(storage, RENEWED_PREFIX + name, 0)
                for name in await storage.list(RENEWED_PREFIX)
            }
            return Response(
                data={
                    "counts": counts,
                    "total": sum(counts.values()),
                    "renewed": renewed,
                    "calls": self.calls,
                    "max_active": self.max_active,
                    "fail": await _load(storage, FAIL_KEY, {"mode": "none", "times": 0}),
                }
            )

        async def write_fail(req: Request, fd: FieldData) -> None:
            mode = fd.get("mode")
            if mode not in FAIL_MODES:
                raise BadRequest(f"mode must be one of {', '.join(FAIL_MODES)}")
            async with self._lock:
                await _store(storage, FAIL_KEY, {"mode": mode, "times": fd.get("times")})

        async def write_config(req: Request, fd: FieldData) -> None:
            try:
                delay = float(fd.get("revoke_delay") or 0)
            except (TypeError, ValueError):
                raise BadRequest("revoke_delay must be a number of seconds") from None
            await _store(storage, CONFIG_KEY, {"revoke_delay": delay})

        name = {"name": Field(FieldType.STRING, "Role name", required=True)}
        return [
            Path(
                "roles/(?P<name>[^/]+)",
                fields={
                    **name,
                    "ttl": Field(FieldType.DURATION, "Lease TTL (0: mount default)", default=0),
                    "max_ttl": Field(FieldType.DURATION, "Lease max TTL (0: mount max)", default=0),
                    "renewable": Field(FieldType.BOOL, "Whether leases renew", default=True),
                },
                operations={Operation.UPDATE: write_role, Operation.READ: read_role},
                synopsis="Lease settings for credentials issued under a name.",
            ),
            Path(
                "creds/(?P<name>[^/]+)",
                fields=name,
                operations={Operation.READ: read_creds},
                synopsis="Issue a leased counter.",
            ),
            Path(
                "revoked",
                operations={Operation.READ: read_revoked},
                synopsis="Revocations per serial and this process's revocation statistics.",
            ),
            Path(
                "fail",
                fields={
                    "mode": Field(FieldType.STRING, "none, error or throttle", default="none"),
                    "times": Field(FieldType.INT, "How many revocations fail", default=1),
                },
                operations={Operation.UPDATE: write_fail},
                synopsis="Make the next revocations fail.",
            ),
            Path(
                "config",
                fields={"revoke_delay": Field(FieldType.RAW, "Seconds per revocation", default=0)},
                operations={Operation.UPDATE: write_config},
                synopsis="Slow revocations down.",
            ),
        ]


def factory(ctx: BackendContext) -> CountingBackend:
    return CountingBackend(ctx)


def register(core: Core) -> None:
    """Make the `counting` type mountable on `core` (the server launcher's hook)."""
    core.register_backend(TYPE, factory)
