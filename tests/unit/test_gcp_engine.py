"""The gcp engine's handlers, journal and lease handling, without sockets or processes.

The mount's root API (`GcpClients.root()`) is replaced by `WireApi`, which hands
each request to the fake Google Cloud's wire code and state in-process; tests
make individual calls fail by operation name. HTTP-level tests against the
fake's server process live in tests/integration/gcp.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.errors import BadRequest, UnsupportedOperation, VaultError
from strongroom.core.leases import is_throttling
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.gcp import GcpBackend
from strongroom.engines.gcp.errors import GcpError, RevocationFailed
from strongroom.engines.gcp.settings import Settings
from strongroom.framework.backend import LeaseRequest
from strongroom.storage.inmem import InmemStorage
from tests.fakes.gcp.models import GcpState, Token
from tests.fakes.gcp.responses import dispatch, route

P = "unit-proj"
PROJECT = f"//cloudresourcemanager.googleapis.com/projects/{P}"
BINDINGS = f'resource "{PROJECT}" {{ roles = ["roles/viewer"] }}'
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
R, U, C, D = Operation.READ, Operation.UPDATE, Operation.CREATE, Operation.DELETE


class WireApi:
    """RootApi's interface, answered by the fake's wire code in this process."""

    def __init__(self, state: GcpState, email: str) -> None:
        self.state = state
        self.email = email
        self.token = "ya29.unit"
        state.tokens[self.token] = Token(email, [SCOPE], 1e12)
        self.fail: dict[str, list[GcpError]] = {}
        self.calls: list[str] = []

    def fail_next(
        self, operation: str, status: int, code: str, message: str, times: int = 1
    ) -> None:
        self.fail.setdefault(operation, []).extend(
            GcpError(operation, status, code, message) for _ in range(times)
        )

    def url(self, service: str, path: str) -> str:
        return f"http://fake/{service}/{path.lstrip('/')}"

    async def call(
        self, operation: str, method: str, url: str, *, body: Any = None, params: Any = None
    ) -> dict[str, Any]:
        self.calls.append(operation)
        pending = self.fail.get(operation)
        if pending:
            raise pending.pop(0)
        path = url[len("http://fake") :] + ("?" + urlencode(params) if params else "")
        request = route(method, path)
        assert request.operation == operation, (request.operation, operation)
        status, result, _ = dispatch(self.state, request, f"Bearer {self.token}", body or {})
        if status >= 400:
            err = result["error"]
            raise GcpError(operation, status, err.get("status", ""), err["message"])
        return result


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def cloud() -> GcpState:
    state = GcpState("http://fake")
    state.seed_project(P)
    return state


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(cloud: GcpState) -> WireApi:
    seeded = cloud.seed_account({"project": P, "accountId": "unit-root", "roles": ["roles/owner"]})
    return WireApi(cloud, seeded["email"])


def build(storage: InmemStorage, clock: Clock, api: WireApi) -> GcpBackend:
    mount = MountEntry.new("gcp/", "gcp")
    ctx = BackendContext(storage=storage, mount=mount, system=SystemView(clock=clock))
    backend = GcpBackend(ctx, Settings(retry_timeout=0.3, retry_base=0.01))

    async def root() -> WireApi:
        return api

    backend.clients.root = root  # type: ignore[method-assign,assignment]
    return backend


@pytest.fixture
def backend(clock: Clock, api: WireApi) -> Iterator[GcpBackend]:
    b = build(InmemStorage(), clock, api)
    yield b
    b.clients.shutdown()


async def call(
    backend: GcpBackend, op: Operation, path: str, data: dict[str, Any] | None = None
) -> Response | None:
    req = Request(operation=op, path="gcp/" + path, rel_path=path, data=data or {})
    return await backend.handle(req)


def vault_accounts(cloud: GcpState) -> list[str]:
    return [e for e in cloud.accounts if e.startswith("vault")]


def lease(backend: GcpBackend, resp: Response) -> LeaseRequest:
    assert resp.secret is not None
    return LeaseRequest(
        "gcp/x/1", resp.secret.internal, backend.ctx.storage, backend.ctx.mount, 0.0
    )


# --------------------------------------------------------------------------- settings


def test_settings_from_environment() -> None:
    default = Settings.from_env({})
    assert default.url("iam", "v1/projects") == "https://iam.googleapis.com/v1/projects"
    assert default.base("cloudresourcemanager") == "https://cloudresourcemanager.googleapis.com/"
    assert default.token_uri == "" and default.retry_timeout == 80.0

    one = Settings.from_env({"STRONGROOM_GCP_ENDPOINT": "http://127.0.0.1:9/"})
    assert (
        one.url("storage", "storage/v1/b/x/iam") == "http://127.0.0.1:9/storage/storage/v1/b/x/iam"
    )
    assert one.token_uri == "http://127.0.0.1:9/oauth2/token"

    mixed = Settings.from_env(
        {
            "STRONGROOM_GCP_ENDPOINT": "http://fake",
            "STRONGROOM_GCP_CRM_ENDPOINT": "http://crm.local/base",
            "STRONGROOM_GCP_IAM_ENDPOINT": "https://iam.internal/",
            "STRONGROOM_GCP_TOKEN_URI": "https://sts.local/token",
            "STRONGROOM_GCP_CA_BUNDLE": "/etc/ca.pem",
            "STRONGROOM_GCP_RETRY_TIMEOUT": "5",
            "STRONGROOM_GCP_WORKERS": "4",
        }
    )
    assert mixed.base("cloudresourcemanager") == "http://crm.local/base/"
    assert mixed.base("iam") == "https://iam.internal/"
    assert mixed.base("pubsub") == "http://fake/pubsub/"
    assert (mixed.token_uri, mixed.ca_bundle, mixed.retry_timeout, mixed.workers) == (
        "https://sts.local/token",
        "/etc/ca.pem",
        5.0,
        4,
    )
    with pytest.raises(ValueError, match="STRONGROOM_GCP_RETRY_TIMEOUT"):
        Settings.from_env({"STRONGROOM_GCP_RETRY_TIMEOUT": "soon"})


# --------------------------------------------------------------------------- config


async def test_config_rules(backend: GcpBackend) -> None:
    with pytest.raises(VaultError) as caught:
        await call(backend, R, "config")
    assert caught.value.status == 404
    for body, message in [
        ({"identity_token_audience": "aud"}, "missing required 'service_account_email'"),
        (
            {"identity_token_audience": "aud", "service_account_email": "a@b"},
            "plugin workload identity not supported in Vault community edition",
        ),
        ({"rotation_period": "24h"}, "rotation manager capabilities not supported"),
        ({"credentials": "[1, 2]"}, "invalid credentials JSON file: not a JSON object"),
    ]:
        with pytest.raises(BadRequest, match=message):
            await call(backend, U, "config", body)
    await call(backend, U, "config", {"credentials": "{}", "ttl": "90s"})
    resp = await call(backend, R, "config")
    assert resp is not None and resp.data is not None and resp.data["ttl"] == 90
    assert "credentials" not in resp.data


# --------------------------------------------------------------------------- rolesets


async def test_roleset_lifecycle_leaves_no_journal(backend: GcpBackend, cloud: GcpState) -> None:
    await call(
        backend, U, "roleset/app", {"project": P, "bindings": BINDINGS, "token_scopes": SCOPE}
    )
    [sa] = vault_accounts(cloud)
    assert cloud.projects[P].policy.roles_of(f"serviceAccount:{sa}") == {"roles/viewer"}
    assert len(cloud.accounts[sa].user_keys()) == 1
    assert await backend.wal.entries() == []
    resp = await call(backend, R, "roleset/app")
    assert resp is not None and resp.data is not None
    assert resp.data["token_scopes"] == [SCOPE]
    # Scopes change without touching the cloud.
    await call(backend, U, "roleset/app", {"token_scopes": "a,b"})
    resp = await call(backend, R, "roleset/app")
    assert resp.data["token_scopes"] == ["a", "b"]  # type: ignore[index]
    assert vault_accounts(cloud) == [sa]
    await call(backend, D, "roleset/app")
    assert vault_accounts(cloud) == []
    assert "vault" not in json.dumps(cloud.snapshot()["projects"])
    assert await backend.wal.entries() == []


async def test_failed_binding_removes_the_new_account(
    backend: GcpBackend, api: WireApi, cloud: GcpState
) -> None:
    api.fail_next("cloudresourcemanager.projects.setIamPolicy", 403, "PERMISSION_DENIED", "no")
    with pytest.raises(BadRequest, match="error getting service account and creating IAM bindings"):
        await call(
            backend, U, "roleset/app", {"project": P, "bindings": BINDINGS, "token_scopes": SCOPE}
        )
    assert vault_accounts(cloud) == []
    assert await backend.wal.entries() == []


async def test_cleanup_that_fails_is_finished_by_the_rollback(
    backend: GcpBackend, api: WireApi, cloud: GcpState, clock: Clock
) -> None:
    api.fail_next("iam.projects.serviceAccounts.keys.create", 500, "INTERNAL", "boom")
    api.fail_next("iam.projects.serviceAccounts.delete", 503, "UNAVAILABLE", "later")
    with pytest.raises(BadRequest, match="unable to create key for token generation"):
        await call(
            backend, U, "roleset/app", {"project": P, "bindings": BINDINGS, "token_scopes": SCOPE}
        )
    [sa] = vault_accounts(cloud)  # the clean-up could not delete it
    assert cloud.projects[P].policy.roles_of(f"serviceAccount:{sa}") == set()
    [entry] = await backend.wal.entries()
    assert entry.kind == "account" and entry.data["email"] == sa
    assert await backend.rollback() == 0  # too young
    clock.now += timedelta(minutes=6)
    assert await backend.rollback() == 1
    assert vault_accounts(cloud) == [] and await backend.wal.entries() == []


async def test_delete_failure_is_a_warning_and_retried_later(
    backend: GcpBackend, api: WireApi, cloud: GcpState, clock: Clock
) -> None:
    await call(
        backend, U, "roleset/app", {"project": P, "bindings": BINDINGS, "token_scopes": SCOPE}
    )
    api.fail_next("cloudresourcemanager.projects.getIamPolicy", 503, "UNAVAILABLE", "down")
    resp = await call(backend, D, "roleset/app")
    assert resp is not None and len(resp.warnings) == 1
    assert resp.warnings[0].startswith("unable to clean up service account vaultapp-")
    assert "strongroom will keep trying in the background" in resp.warnings[0]
    assert len(vault_accounts(cloud)) == 1
    clock.now += timedelta(minutes=6)
    assert await backend.rollback() == 1
    assert vault_accounts(cloud) == []


async def test_create_on_a_missing_roleset_secret_path_is_unsupported(backend: GcpBackend) -> None:
    with pytest.raises(UnsupportedOperation):
        await call(backend, C, "roleset/none/key")
    with pytest.raises(BadRequest, match='role set "none" does not exists'):
        await call(backend, U, "key/none")


# --------------------------------------------------------------------------- keys and leases


async def test_key_lease_renew_and_revoke(
    backend: GcpBackend, api: WireApi, cloud: GcpState
) -> None:
    await call(backend, U, "config", {"credentials": "{}", "ttl": "10m", "max_ttl": "1h"})
    await call(
        backend,
        U,
        "roleset/keys",
        {"project": P, "bindings": BINDINGS, "secret_type": "service_account_key"},
    )
    resp = await call(backend, R, "roleset/keys/key", {"ttl": "5m"})
    assert resp is not None and resp.secret is not None
    assert (resp.secret.ttl, resp.secret.max_ttl, resp.secret.renewable) == (300, 3600, True)
    internal = resp.secret.internal
    assert internal["secret_type"] == "service_account_key"
    assert internal["role_set"] == "keys" and internal["key_name"].startswith(f"projects/{P}/")
    assert set(resp.data or {}) == {"private_key_data", "key_algorithm", "key_type"}
    # The journal entry stays until the core has stored the lease.
    assert len(await backend.wal.entries()) == 1
    assert resp.secret.on_lease_stored is not None
    await resp.secret.on_lease_stored(True)
    assert await backend.wal.entries() == []

    keys = backend.keys
    assert await keys.renew(lease(backend, resp)) == 600
    api.fail_next(
        "iam.projects.serviceAccounts.keys.delete",
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Write requests'",
    )
    with pytest.raises(RevocationFailed) as caught:
        await keys.revoke(lease(backend, resp))
    assert caught.value.throttled and is_throttling(caught.value)
    api.fail_next("iam.projects.serviceAccounts.keys.delete", 500, "INTERNAL", "boom")
    with pytest.raises(RevocationFailed) as caught:
        await keys.revoke(lease(backend, resp))
    assert not caught.value.throttled
    assert str(caught.value).startswith("unable to delete service account key projects/")
    await keys.revoke(lease(backend, resp))
    sa = internal["key_name"].split("/")[3]
    assert cloud.accounts[sa].user_keys() == []
    await keys.revoke(lease(backend, resp))  # already gone: 404 is success
    with pytest.raises(BadRequest, match="could not confirm key still exists in GCP"):
        await keys.renew(lease(backend, resp))


async def test_renew_refuses_changed_or_missing_parents(backend: GcpBackend) -> None:
    await call(
        backend,
        U,
        "roleset/keys",
        {"project": P, "bindings": BINDINGS, "secret_type": "service_account_key"},
    )
    resp = await call(backend, R, "roleset/keys/key")
    assert resp is not None
    request = lease(backend, resp)
    request.internal["role_set_bindings"] = "stale"
    with pytest.raises(BadRequest, match="bindings were updated since secret was generated"):
        await backend.keys.renew(request)
    request.internal["role_set"] = "gone"
    with pytest.raises(BadRequest, match="could not find role set 'gone'"):
        await backend.keys.renew(request)


async def test_legacy_access_token_leases(backend: GcpBackend) -> None:
    [_, legacy] = backend.keys.secret_types()
    request = LeaseRequest(
        "gcp/token/x/1",
        {"secret_type": "access_token"},
        backend.ctx.storage,
        backend.ctx.mount,
        0.0,
    )
    await legacy.revoke(request)  # nothing to do
    assert legacy.renew is not None
    with pytest.raises(BadRequest, match="short-term access tokens cannot be renewed"):
        await legacy.renew(request)


async def test_eleventh_key_message(backend: GcpBackend, cloud: GcpState) -> None:
    await call(
        backend,
        U,
        "roleset/keys",
        {"project": P, "bindings": BINDINGS, "secret_type": "service_account_key"},
    )
    [sa] = vault_accounts(cloud)
    for _ in range(10):
        await call(backend, R, "roleset/keys/key")
    with pytest.raises(BadRequest) as caught:
        await call(backend, R, "roleset/keys/key")
    assert f"service account {sa} has reached Google's limit of 10 user-managed keys" in str(
        caught.value
    )
    assert len(await backend.wal.entries()) == 10  # the refused one left no entry


# --------------------------------------------------------------------------- static accounts


async def test_static_account_update_without_secret_type(
    backend: GcpBackend, cloud: GcpState
) -> None:
    sa = cloud.seed_account({"project": P, "accountId": "existing-sa"})["email"]
    await call(
        backend,
        U,
        "static-account/s",
        {"service_account_email": sa, "secret_type": "service_account_key", "bindings": BINDINGS},
    )
    # The reference compares the field's default with the stored type; strongroom only
    # compares what was sent.
    resp = await call(backend, U, "static-account/s", {"bindings": ""})
    assert resp is None
    assert cloud.projects[P].policy.roles_of(f"serviceAccount:{sa}") == set()
    with pytest.raises(BadRequest, match="cannot update secret_type"):
        await call(backend, U, "static-account/s", {"secret_type": "access_token"})
    resp = await call(backend, U, "static-account/s", {"token_scopes": SCOPE})
    assert resp is not None and resp.warnings == [
        "ignoring token_scopes, only valid for 'access_token' secret type static account"
    ]
