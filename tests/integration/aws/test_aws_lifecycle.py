"""Credentials over time: lease expiry, crash recovery through the WAL, and the walkthrough."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.aws import AwsBackend, factory
from strongroom.storage.inmem import InmemStorage
from tests.fakes.aws_proxy import AwsProxy
from tests.integration.aws.conftest import Api, Moto, unique
from tests.integration.server import BIN, ServerProcess

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# shared/ sits beside the repository (in CI too: a fresh clone with shared/ next to it).
WALKTHROUGH = Path(__file__).resolve().parents[3].parent / "shared/conformance/seed-walkthrough.sh"


def test_lease_expiry_deletes_the_user(api: Api, moto: Moto) -> None:
    mount = api.mount_aws(unique("expiry"), moto.url)
    api.ok("POST", f"{mount}/config/lease", {"lease": "2s", "lease_max": "1m"})
    api.ok(
        "POST", f"{mount}/roles/short", {"credential_type": "iam_user", "policy_arns": READ_ONLY}
    )
    body = api.ok("GET", f"{mount}/creds/short")
    assert body["lease_duration"] == 2
    user = moto.owner_of(body["data"]["access_key"])
    assert user is not None
    start = time.monotonic()
    assert moto.wait_gone(user, timeout=15), "the expired lease's user is still in AWS"
    assert time.monotonic() - start >= 1.0  # not before the lease ran out
    resp = api.request("PUT", "sys/leases/lookup", json={"lease_id": body["lease_id"]})
    assert resp.status_code == 400


# --------------------------------------------------------------------------- WAL


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def backend_over(storage: InmemStorage, clock: Clock) -> AwsBackend:
    mount = MountEntry.new("aws/", "aws")
    return factory(BackendContext(storage=storage, mount=mount, system=SystemView(clock=clock)))


async def call(
    backend: AwsBackend, op: Operation, path: str, data: dict[str, Any] | None = None
) -> Response | None:
    req = Request(operation=op, path="aws/" + path, rel_path=path, data=data or {})
    return await backend.handle(req)


async def test_crash_leftovers_are_rolled_back_after_restart(
    moto: Moto, module_proxy: AwsProxy
) -> None:
    proxy = module_proxy
    proxy.reset()
    storage, clock = InmemStorage(), Clock()
    first = backend_over(storage, clock)
    config = {"access_key": "AKIAX", "secret_key": "s", "region": "us-east-1"}
    config |= {"iam_endpoint": proxy.url, "sts_endpoint": proxy.url, "max_retries": 0}
    await call(first, Operation.UPDATE, "config/root", config)
    await call(
        first,
        Operation.UPDATE,
        "roles/ro",
        {"credential_type": "iam_user", "policy_arns": READ_ONLY},
    )
    # The key cannot be created, and AWS stays unreachable for the clean-up too.
    proxy.fail("CreateAccessKey", code="ServiceFailure", status=500)
    proxy.fail("ListGroupsForUser", code="ServiceFailure", status=500)
    with pytest.raises(BadRequest, match="Error creating access keys"):
        await call(first, Operation.READ, "creds/ro")
    [created] = proxy.calls_for("CreateUser")
    user = created.params["UserName"]
    assert moto.user_exists(user)
    assert await storage.list("wal/") != []
    await first.cleanup()  # the process is gone
    proxy.reset()

    # Restarted within 5 minutes: the entry might still be in flight elsewhere; kept.
    clock.now += timedelta(minutes=2)
    second = backend_over(storage, clock)
    await second.initialize()
    await asyncio.sleep(0.5)
    await second.cleanup()
    assert moto.user_exists(user)
    assert not proxy.calls_for("DeleteUser")

    # Later: rolled back by the start-up pass.
    clock.now += timedelta(minutes=4)
    third = backend_over(storage, clock)
    await third.initialize()
    try:
        for _ in range(100):
            if not await storage.list("wal/"):
                break
            await asyncio.sleep(0.05)
    finally:
        await third.cleanup()
    assert not moto.user_exists(user)
    assert await storage.list("wal/") == []


# --------------------------------------------------------------------------- walkthrough


def run_walkthrough(
    cli: str, server: ServerProcess, moto: Moto
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CLI": cli,
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": "root",
        "AWS_ENDPOINT": moto.url,
        "PYTHON": str(BIN / "python"),
        "HOME": str(server.home),
    }
    return subprocess.run(
        ["bash", str(WALKTHROUGH)], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.skipif(not WALKTHROUGH.exists(), reason="conformance script not present")
def test_seed_walkthrough_with_bao(dev: ServerProcess, moto: Moto) -> None:
    result = run_walkthrough("bao", dev, moto)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("19 passed, 0 failed")


@pytest.mark.skipif(not WALKTHROUGH.exists(), reason="conformance script not present")
def test_seed_walkthrough_with_strongroom_cli(dev: ServerProcess, moto: Moto) -> None:
    result = run_walkthrough("strongroom", dev, moto)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("19 passed, 0 failed")


# --------------------------------------------------------------------------- static roles


async def test_static_role_rotation_schedule(moto: Moto) -> None:
    """Rotation when the period has passed (also after a restart); the oldest key goes first."""
    iam = moto.iam
    name = unique("rotated-")
    iam.create_user(UserName=name)
    first_key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]

    def keys() -> list[str]:
        found = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        return [k["AccessKeyId"] for k in sorted(found, key=lambda k: k["CreateDate"])]

    storage, clock = InmemStorage(), Clock()
    backend = backend_over(storage, clock)
    config = {"access_key": "AKIAX", "secret_key": "s", "region": "us-east-1"}
    config |= {"iam_endpoint": moto.url, "sts_endpoint": moto.url}
    await call(backend, Operation.UPDATE, "config/root", config)
    await call(
        backend, Operation.UPDATE, "static-roles/svc", {"username": name, "rotation_period": "1h"}
    )
    creds = (await call(backend, Operation.READ, "static-creds/svc")).data
    k1 = creds["access_key"]
    assert keys() == [first_key, k1]  # the user's own key stays until the next rotation

    assert await backend.static.rotate_due() == 60.0  # nothing due: sleep (capped at a minute)
    assert keys() == [first_key, k1]

    clock.now += timedelta(minutes=61)
    await backend.static.rotate_due()
    creds = (await call(backend, Operation.READ, "static-creds/svc")).data
    k2 = creds["access_key"]
    assert k2 != k1 and keys() == [k1, k2]  # two keys: the oldest was deleted first
    expected = (clock.now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert creds["expiration"].startswith(expected)
    await backend.cleanup()

    # A restarted engine follows the stored schedule.
    clock.now += timedelta(minutes=61)
    restarted = backend_over(storage, clock)
    await restarted.static.rotate_due()
    k3 = (await call(restarted, Operation.READ, "static-creds/svc")).data["access_key"]
    assert keys() == [k2, k3]

    # A failed rotation is retried 10 s later, not an hour later.
    clock.now += timedelta(minutes=61)
    for key in keys():  # the user goes away under the role
        iam.delete_access_key(UserName=name, AccessKeyId=key)
    iam.delete_user(UserName=name)
    assert await restarted.static.rotate_due() == 10.0
    await restarted.cleanup()
