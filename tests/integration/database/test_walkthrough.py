"""The whole story, on the real servers, through HTTP, the real `bao` CLI and hvac.

For PostgreSQL and MariaDB alike: configure a connection, write a role, read
creds and use the login (it runs what the role grants and nothing more),
renew (the lease, and PostgreSQL's VALID UNTIL, move), revoke (the login is
gone), let a short lease expire (gone too), and rotate a static role (the old
password stops working, the new one works).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .clients import CLIENTS
from .conftest import Api, Server, name, wait_for
from .kinds import Kind, MariaKind, PgKind


@pytest.fixture(params=["postgres", "mariadb"])
def kind(request: pytest.FixtureRequest) -> Kind:
    if request.param == "postgres":
        return PgKind(request.getfixturevalue("pg"))
    return MariaKind(request.getfixturevalue("maria"))


def _near(moment: datetime | None, expected: datetime, slack: float = 15) -> bool:
    return moment is not None and abs((moment - expected).total_seconds()) <= slack


@pytest.mark.parametrize("client_label", list(CLIENTS))
def test_walkthrough(
    client_label: str, kind: Kind, api: Api, server: Server, tmp_path: Path
) -> None:
    client = CLIENTS[client_label](api, tmp_path)
    mount = name(f"-{client_label}-{kind.label}")
    client.enable(mount)
    client.config(mount, "db", kind.config())
    config = client.read_config(mount, "db")
    assert config["plugin_name"] == kind.plugin
    assert "password" not in config["connection_details"]
    assert config["connection_details"]["connection_url"].startswith(("{{username}}", "postgres"))

    # A short lease first: its expiry is checked at the end, after everything else.
    short_role, role = name("s"), name("ro")
    client.role(
        mount,
        short_role,
        {"db_name": "db", "creation_statements": kind.creation(), "default_ttl": 2, "max_ttl": 60},
    )
    short = client.creds(mount, short_role)
    assert short.lease_duration == 2
    assert kind.exists(short.username)

    client.role(
        mount,
        role,
        {
            "db_name": "db",
            "creation_statements": kind.creation(),
            "default_ttl": 600,
            "max_ttl": 3600,
        },
    )
    issued_at = datetime.now(UTC)
    creds = client.creds(mount, role)
    assert creds.renewable and creds.lease_duration == 600
    assert creds.lease_id.startswith(f"{mount}/creds/{role}/")
    assert creds.username.startswith("v-") and len(creds.username) <= kind.limit
    assert len(creds.password) == 20
    assert kind.can_login(creds.username, creds.password)
    assert not kind.can_login(creds.username, creds.password + "x")
    kind.check_grants(creds.username, creds.password)

    # Renew: the lease moves, and so does the database's own expiry where it has one.
    before = kind.valid_until(creds.username)
    if isinstance(kind, PgKind):
        assert _near(before, issued_at + timedelta(seconds=605))
    assert client.renew(creds.lease_id, 1800) == 1800
    lease = api.lease(creds.lease_id)
    assert lease is not None and 1790 <= lease["ttl"] <= 1800
    if isinstance(kind, PgKind):
        after = kind.valid_until(creds.username)
        assert _near(after, datetime.now(UTC) + timedelta(seconds=1805))
        assert before is not None and after is not None
        assert (after - before).total_seconds() > 1000

    # Revoke (`bao lease revoke` queues it, as in OpenBao): the login and the lease go.
    client.revoke(creds.lease_id)
    assert wait_for(lambda: not kind.exists(creds.username), timeout=10)
    assert not kind.can_login(creds.username, creds.password)
    assert wait_for(lambda: api.lease(creds.lease_id) is None, timeout=5)

    # A static role: the engine sets the password at once, then rotates it on demand.
    static_user = name(f"_st_{client_label}")
    kind.create_static_user(static_user, "Initial-password-1")
    client.static_role(
        mount, "st", {"db_name": "db", "username": static_user, "rotation_period": 3600}
    )
    first = client.static_creds(mount, "st")
    assert first["username"] == static_user
    assert first["rotation_period"] == 3600
    assert 3590 <= first["ttl"] <= 3600
    assert first["last_vault_rotation"].endswith("Z")
    assert kind.can_login(static_user, first["password"])
    assert not kind.can_login(static_user, "Initial-password-1")
    time.sleep(0.01)
    client.rotate_role(mount, "st")
    second = client.static_creds(mount, "st")
    assert second["password"] != first["password"]
    assert second["last_vault_rotation"] > first["last_vault_rotation"]
    assert kind.can_login(static_user, second["password"])
    assert not kind.can_login(static_user, first["password"])

    # The short lease ran out meanwhile: its user is dropped by the expiry.
    assert wait_for(lambda: not kind.exists(short.username), timeout=15)
    assert wait_for(lambda: api.lease(short.lease_id) is None, timeout=5)

    # No secret reached the server's log.
    log = server.log_text()
    for secret in (creds.password, short.password, first["password"], second["password"]):
        assert secret not in log
