"""The gcp walkthrough over HTTP and the `bao` CLI, lease expiry, crash recovery, conformance.

Everything runs against a strongroom server process and the fake Google Cloud
process; the engine reaches the fake through its endpoint settings with the
real google-auth library.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from strongroom.core.context import BackendContext, SystemView
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.gcp import GcpBackend
from strongroom.engines.gcp.settings import Settings
from strongroom.storage.inmem import InmemStorage
from tests.fakes.gcp import FakeGcp, member
from tests.integration.gcp.conftest import (
    CLOUD_PLATFORM,
    REPO,
    Api,
    gcp_env,
    hcl,
    project_binding,
    unique,
    wait_until,
)
from tests.integration.server import BAO, BIN, STRONGROOM, ServerProcess, dev_server

WALKTHROUGH = REPO / "tests/conformance/gcp-walkthrough.sh"


def bao(server: ServerProcess, *args: str) -> str:
    env = {
        **os.environ,
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": "root",
        "BAO_ADDR": server.addr,
        "BAO_TOKEN": "root",
        "HOME": str(server.home),
    }
    result = subprocess.run([BAO, *args], capture_output=True, text=True, env=env, timeout=60)
    return result.stdout + result.stderr


def table(output: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in output.splitlines()[2:]:
        key, _, value = line.partition(" ")
        if key:
            rows[key] = value.strip()
    return rows


def test_walkthrough(api: Api, fake: FakeGcp, gcp_dev: ServerProcess) -> None:
    """Every kind of account, its secrets, what the cloud holds, and its clean-up."""
    mount = unique("gcp-team-")
    mount, project, root = api.mount_gcp(fake, path=mount)
    bucket, topic = unique("bucket-"), unique("topic-")
    fake.bucket(bucket, project)
    fake.topic(project, topic)
    topic_name = f"projects/{project}/topics/{topic}"

    # A roleset of every secret type, bindings on a project, a bucket and a topic.
    bindings = {
        project_binding(project): ["roles/viewer"],
        f"//storage.googleapis.com/projects/_/buckets/{bucket}": ["roles/storage.objectViewer"],
        topic_name: ["roles/pubsub.publisher"],
    }
    api.ok(
        "POST",
        f"{mount}/roleset/tokens",
        {"project": project, "bindings": hcl(bindings), "token_scopes": CLOUD_PLATFORM},
    )
    api.ok(
        "POST",
        f"{mount}/roleset/keys",
        {
            "project": project,
            "secret_type": "service_account_key",
            "bindings": hcl({project_binding(project): ["roles/viewer"]}),
        },
    )
    tokens = api.ok("GET", f"{mount}/roleset/tokens")["data"]
    assert tokens["secret_type"] == "access_token"
    assert tokens["project"] == project
    assert tokens["token_scopes"] == [CLOUD_PLATFORM]
    assert tokens["bindings"] == {k: sorted(v) for k, v in bindings.items()}
    sa = tokens["service_account_email"]
    assert sa.startswith("vaulttokens-") and sa.endswith(f"@{project}.iam.gserviceaccount.com")

    # Inside the cloud: the account, its token key, and its grants on all three resources.
    account = fake.account(sa)
    assert account is not None
    assert account["displayName"] == (
        "Service account for Vault secrets backend role set role set tokens"
    )
    assert len(fake.user_keys(sa)) == 1  # the token generator
    assert "roles/viewer" in fake.roles_of("project", project, member(sa))
    assert fake.roles_of("bucket", bucket, member(sa)) == {"roles/storage.objectViewer"}
    assert fake.roles_of("topic", topic_name, member(sa)) == {"roles/pubsub.publisher"}

    # A static account (made by an operator) and an impersonated account.
    static_sa = fake.service_account(project, unique("ci-runner-"))
    api.ok(
        "POST",
        f"{mount}/static-account/ci",
        {
            "service_account_email": static_sa,
            "secret_type": "service_account_key",
            "bindings": hcl({topic_name: ["roles/pubsub.subscriber"]}),
        },
    )
    assert fake.roles_of("topic", topic_name, member(static_sa)) == {"roles/pubsub.subscriber"}
    target = fake.service_account(project, unique("deployer-"))
    fake.grant(
        "serviceAccount",
        target,
        "roles/iam.serviceAccountTokenCreator",
        member(root["client_email"]),
    )
    api.ok(
        "POST",
        f"{mount}/impersonated-account/deploy",
        {"service_account_email": target, "token_scopes": CLOUD_PLATFORM, "ttl": "30m"},
    )

    # Access tokens: plain data, no lease, and the cloud knows whose they are.
    out = bao(gcp_dev, "read", f"{mount}/roleset/tokens/token")
    rows = table(out)
    assert out.splitlines()[0].split() == ["Key", "Value"], out
    assert "lease_id" not in rows and set(rows) == {"expires_at_seconds", "token", "token_ttl"}
    assert rows["token"].startswith("ya29.")
    assert re.fullmatch(r"59m[0-5][0-9]s", rows["token_ttl"]), rows
    info = fake.token_info(rows["token"])
    assert info is not None and info["email"] == sa and info["scope"] == CLOUD_PLATFORM
    legacy = api.ok("GET", f"{mount}/token/tokens")
    assert legacy["lease_id"] == "" and legacy["data"]["token_ttl"] > 3500
    imp = api.ok("GET", f"{mount}/impersonated-account/deploy/token")
    assert 1790 <= imp["data"]["token_ttl"] <= 1800
    assert fake.token_info(imp["data"]["token"])["email"] == target  # type: ignore[index]

    # A key: a renewable lease, shown as Vault shows it, and a working key file.
    out = bao(gcp_dev, "read", f"{mount}/roleset/keys/key")
    rows = table(out)
    assert list(rows)[:3] == ["lease_id", "lease_duration", "lease_renewable"], out
    assert rows["lease_id"].startswith(f"{mount}/roleset/keys/key/")
    assert rows["lease_duration"] == "768h"
    assert rows["lease_renewable"] == "true"
    assert rows["key_algorithm"] == "KEY_ALG_RSA_2048"
    assert rows["key_type"] == "TYPE_GOOGLE_CREDENTIALS_FILE"
    key_file = json.loads(base64.b64decode(rows["private_key_data"]))
    key_sa = api.ok("GET", f"{mount}/roleset/keys")["data"]["service_account_email"]
    assert key_file["client_email"] == key_sa and key_file["type"] == "service_account"
    assert [k["name"].rsplit("/", 1)[1] for k in fake.user_keys(key_sa)] == [
        key_file["private_key_id"]
    ]
    revoked_lease = rows["lease_id"]

    # Revoking the lease deletes the key.
    out = bao(gcp_dev, "lease", "revoke", revoked_lease)
    assert "All revocation operations queued successfully!" in out or "Success" in out, out
    assert wait_until(lambda: not fake.user_keys(key_sa), timeout=10), "revoked key still exists"

    # A short lease expires by itself (the server's own scheduler) and its key goes.
    short = api.ok("POST", f"{mount}/key/keys", {"ttl": "2s"})
    assert short["lease_duration"] == 2 and short["renewable"] is True
    assert len(fake.user_keys(key_sa)) == 1
    started = time.monotonic()
    assert wait_until(lambda: not fake.user_keys(key_sa), timeout=15), "expired key still exists"
    assert time.monotonic() - started >= 1.0
    assert api.lookup(short["lease_id"]).status_code == 400

    # Static-account keys are leased too; the account itself is never deleted.
    static_key = api.ok("GET", f"{mount}/static-account/ci/key")
    assert static_key["lease_id"].startswith(f"{mount}/static-account/ci/key/")
    assert len(fake.user_keys(static_sa)) == 1
    assert api.revoke(static_key["lease_id"]).status_code == 204
    assert fake.user_keys(static_sa) == []
    api.ok("DELETE", f"{mount}/static-account/ci")
    assert fake.account(static_sa) is not None
    assert fake.roles_of("topic", topic_name, member(static_sa)) == set()

    # Deleting the rolesets removes their accounts and every binding they had.
    api.ok("DELETE", f"{mount}/roleset/tokens")
    api.ok("DELETE", f"{mount}/roleset/keys")
    assert fake.account(sa) is None and fake.account(key_sa) is None
    assert fake.mentions(sa) == [] and fake.mentions(key_sa) == []
    assert api.get(f"{mount}/roleset/tokens").status_code == 404
    assert api.request("LIST", f"{mount}/rolesets").status_code == 404


def test_bindings_change_replaces_the_account(api: Api, fake: FakeGcp) -> None:
    mount, project, _ = api.mount_gcp(fake)
    first = {project_binding(project): ["roles/viewer"]}
    api.ok(
        "POST",
        f"{mount}/roleset/app",
        {"project": project, "secret_type": "service_account_key", "bindings": hcl(first)},
    )
    old_sa = api.ok("GET", f"{mount}/roleset/app")["data"]["service_account_email"]
    lease = api.ok("GET", f"{mount}/roleset/app/key")
    assert api.request("PUT", "sys/leases/renew", json={"lease_id": lease["lease_id"]}).is_success

    # Same bindings (even re-sent): metadata only, the account stays.
    api.ok("POST", f"{mount}/roleset/app", {"bindings": hcl(first)})
    assert api.ok("GET", f"{mount}/roleset/app")["data"]["service_account_email"] == old_sa

    second = {project_binding(project): ["roles/browser", "roles/viewer"]}
    api.ok("POST", f"{mount}/roleset/app", {"bindings": hcl(second)})
    new_sa = api.ok("GET", f"{mount}/roleset/app")["data"]["service_account_email"]
    assert new_sa != old_sa
    assert fake.account(old_sa) is None and fake.mentions(old_sa) == []
    assert fake.roles_of("project", project, member(new_sa)) == {"roles/browser", "roles/viewer"}
    resp = api.request("PUT", "sys/leases/renew", json={"lease_id": lease["lease_id"]})
    assert resp.status_code == 400
    assert "bindings were updated since secret was generated, cannot renew" in resp.text
    # Revoking a key whose account is gone succeeds (Google answers 404).
    assert api.revoke(lease["lease_id"]).status_code == 204

    # rotate: a new account with the same bindings (in the same second: the id moves on).
    api.ok("POST", f"{mount}/roleset/app/rotate")
    rotated = api.ok("GET", f"{mount}/roleset/app")["data"]["service_account_email"]
    assert rotated != new_sa and fake.account(new_sa) is None
    assert fake.roles_of("project", project, member(rotated)) == {"roles/browser", "roles/viewer"}
    api.ok("DELETE", f"{mount}/roleset/app")
    assert fake.accounts("vault") == {} or all(
        not e.endswith(f"@{project}.iam.gserviceaccount.com") for e in fake.accounts("vault")
    )


# --------------------------------------------------------------------------- crash recovery


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def backend_over(storage: InmemStorage, clock: Clock, fake: FakeGcp) -> GcpBackend:
    mount = MountEntry.new("gcp/", "gcp")
    ctx = BackendContext(storage=storage, mount=mount, system=SystemView(clock=clock))
    settings = Settings.from_env(gcp_env(fake.url))
    return GcpBackend(ctx, settings)


async def call(
    backend: GcpBackend, op: Operation, path: str, data: dict[str, object] | None = None
) -> Response | None:
    req = Request(operation=op, path="gcp/" + path, rel_path=path, data=data or {})
    return await backend.handle(req)


async def test_unfinished_changes_are_rolled_back_after_restart(fake: FakeGcp) -> None:
    """A server that stopped half-way leaves journal entries; the next one cleans up."""
    project = unique("crash-")
    fake.project(project)
    creds = fake.root_credentials(project)
    storage, clock = InmemStorage(), Clock()
    first = backend_over(storage, clock, fake)
    await call(first, Operation.UPDATE, "config", {"credentials": json.dumps(creds)})
    await call(
        first,
        Operation.UPDATE,
        "roleset/ks",
        {
            "project": project,
            "secret_type": "service_account_key",
            "bindings": hcl({project_binding(project): ["roles/viewer"]}),
        },
    )
    sa = (await call(first, Operation.READ, "roleset/ks")).data["service_account_email"]  # type: ignore[union-attr]
    # An issued key whose lease was never stored (the process died in between) ...
    issued = await call(first, Operation.READ, "roleset/ks/key")
    assert issued is not None and issued.secret is not None
    # ... and a key whose keys.create answer never arrived (made on Google's side): it is
    # found and deleted right away, and its entry stays in case a late one shows up.
    fake.clear_calls()
    fake.lose_response("iam.projects.serviceAccounts.keys.create")
    with pytest.raises(Exception, match="unable to create service account key"):
        await call(first, Operation.READ, "roleset/ks/key")
    assert len(fake.calls("iam.projects.serviceAccounts.keys.delete")) == 1
    assert [k["name"] for k in fake.user_keys(sa)] == [issued.secret.internal["key_name"]]
    assert len(await first.wal.entries()) == 2
    await first.cleanup()  # the "crash": nothing settled the first key's journal entry

    second = backend_over(storage, clock, fake)
    assert await second.rollback() == 0  # too young: they may still be in flight
    clock.now += timedelta(minutes=6)
    assert await second.rollback() == 2
    assert fake.user_keys(sa) == []
    assert await second.wal.entries() == []
    await second.cleanup()


# --------------------------------------------------------------------------- conformance


def run_walkthrough(
    cli: str, server: ServerProcess, fake: FakeGcp
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CLI": cli,
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": "root",
        "GCP_FAKE": fake.url,
        "GCP_PROJECT": unique("conf-"),
        "PYTHON": str(BIN / "python"),
        "HOME": str(server.home),
    }
    return subprocess.run(
        ["bash", str(WALKTHROUGH)], capture_output=True, text=True, env=env, timeout=120
    )


def _cli_has(*command: str) -> bool:
    probe = subprocess.run([STRONGROOM, *command, "-h"], capture_output=True, timeout=30)
    return probe.returncode != 127


@pytest.mark.parametrize("cli", ["bao", "strongroom"])
def test_conformance_walkthrough(cli: str, tmp_path: Path, fake: FakeGcp) -> None:
    """tests/conformance/gcp-walkthrough.sh passes with both CLIs."""
    if cli == "strongroom" and not (_cli_has("secrets") and _cli_has("lease")):
        pytest.xfail("the strongroom CLI has no `secrets`/`lease` commands yet")
    server = dev_server(tmp_path / "dev")
    server.env = gcp_env(fake.url)
    server.start()
    try:
        result = run_walkthrough(cli, server, fake)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(" 0 failed"), result.stdout


def test_walkthrough_script_is_present() -> None:
    assert WALKTHROUGH.exists()
    assert Path(WALKTHROUGH).read_text().startswith("#!/usr/bin/env bash")
