"""In-process test support: the fake in a thread and an Azure backend pointed at it.

Unit tests import the fixtures:

    from tests.fakes.azure.harness import Harness, azure_fake, harness  # noqa: F401

`azure_fake` (module scope) runs one FakeAzure over TLS; `harness` (per test)
resets it, points the STRONGROOM_AZURE_* settings at it, and gives a fresh
backend over in-memory storage with a controllable clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.azure import AzureBackend, factory
from strongroom.framework.backend import LeaseRequest
from strongroom.storage.inmem import InmemStorage

from .models import ROOT_APP_ID, ROOT_SECRET, SUBSCRIPTION_ID, TENANT_ID
from .server import FakeAzure

SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
RG_APP = f"{SUB}/resourceGroups/rg-app"
RG_DATA = f"{SUB}/resourceGroups/rg-data"
ROOT_CONFIG = {
    "subscription_id": SUBSCRIPTION_ID,
    "tenant_id": TENANT_ID,
    "client_id": ROOT_APP_ID,
    "client_secret": ROOT_SECRET,
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def env_for(fake: FakeAzure, retries: int = 0) -> dict[str, str]:
    return {
        "STRONGROOM_AZURE_LOGIN_ENDPOINT": fake.url,
        "STRONGROOM_AZURE_GRAPH_ENDPOINT": f"{fake.url}/v1.0",
        "STRONGROOM_AZURE_ARM_ENDPOINT": fake.url,
        "STRONGROOM_AZURE_CA_BUNDLE": fake.ca,
        "STRONGROOM_AZURE_MAX_RETRIES": str(retries),
    }


def roles_json(*items: dict[str, str]) -> str:
    return json.dumps(list(items))


class Harness:
    def __init__(self, fake: FakeAzure) -> None:
        self.fake = fake
        self.storage = InmemStorage()
        self.clock = Clock()
        self.backends: list[AzureBackend] = []
        self.backend = self.new_backend()

    def new_backend(self) -> AzureBackend:
        """Another backend over the same storage (a restarted server)."""
        mount = MountEntry.new("azure/", "azure")
        backend = factory(
            BackendContext(storage=self.storage, mount=mount, system=SystemView(clock=self.clock))
        )
        self.backends.append(backend)
        return backend

    async def call(
        self,
        op: Operation,
        path: str,
        data: dict[str, Any] | None = None,
        backend: AzureBackend | None = None,
    ) -> Response | None:
        req = Request(operation=op, path="azure/" + path, rel_path=path, data=data or {})
        return await (backend or self.backend).handle(req)

    async def configure(self, **overrides: Any) -> None:
        await self.call(Operation.UPDATE, "config", {**ROOT_CONFIG, **overrides})

    async def role(self, name: str, **fields: Any) -> None:
        await self.call(Operation.UPDATE, f"roles/{name}", fields)

    async def creds(self, role: str, stored: bool = True) -> Response:
        resp = await self.call(Operation.READ, f"creds/{role}")
        assert resp is not None and resp.secret is not None
        if resp.secret.on_lease_stored is not None:
            await resp.secret.on_lease_stored(stored)
        return resp

    def lease(self, resp: Response, increment: int = 0) -> LeaseRequest:
        assert resp.secret is not None
        return LeaseRequest(
            "azure/creds/x/id",
            resp.secret.internal,
            self.storage,
            self.backend.ctx.mount,
            self.clock().timestamp(),
            increment,
        )

    async def revoke(self, resp: Response) -> None:
        assert resp.secret is not None
        secret_type = self.backend.secret_types[resp.secret.internal["secret_type"]]
        await secret_type.revoke(self.lease(resp))

    def state(self) -> dict[str, Any]:
        return self.fake.state()

    def counts(self) -> tuple[int, int, int, int]:
        s = self.state()
        return (
            len(s["applications"]),
            len(s["service_principals"]),
            len(s["role_assignments"]),
            len(s["deleted_items"]),
        )

    def app(self, app_id: str) -> dict[str, Any] | None:
        return next((a for a in self.state()["applications"] if a["appId"] == app_id), None)

    def sp(self, app_id: str) -> dict[str, Any] | None:
        found = self.state()["service_principals"]
        return next((s for s in found if s["appId"] == app_id), None)

    def assignments_of(self, principal_id: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.state()["role_assignments"]
            if a["properties"]["principalId"] == principal_id
        ]

    async def close(self) -> None:
        for backend in self.backends:
            await backend.cleanup()


@pytest.fixture(scope="module")
def azure_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAzure]:
    fake = FakeAzure(cert_dir=Path(tmp_path_factory.mktemp("fake-azure"))).start()
    yield fake
    fake.stop()


@pytest.fixture
async def harness(azure_fake: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    azure_fake.model.reset()
    azure_fake.clear()
    for key, value in env_for(azure_fake).items():
        monkeypatch.setenv(key, value)
    for key in (
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_ENVIRONMENT",
    ):
        monkeypatch.delenv(key, raising=False)
    h = Harness(azure_fake)
    yield h
    await h.close()
