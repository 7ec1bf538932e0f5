"""What goes wrong, on the real servers: bad config, failed creation, a database that is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .conftest import Api, Maria, Postgres, Server, name, wait_for
from .kinds import Kind, MariaKind, PgKind
from .tcp_proxy import TcpProxy

SECRET = "Hunter2-very-secret-pw"


@pytest.fixture(params=["postgres", "mariadb"])
def kind(request: pytest.FixtureRequest) -> Kind:
    if request.param == "postgres":
        return PgKind(request.getfixturevalue("pg"))
    return MariaKind(request.getfixturevalue("maria"))


@pytest.fixture
def proxy(kind: Kind) -> Iterator[TcpProxy]:
    tcp = TcpProxy(kind.db.host, kind.db.port).start()
    yield tcp
    tcp.stop()


def _error(resp_text: str) -> str:
    return resp_text.replace("\\n", "\n")


# --------------------------------------------------------------------------- config


def test_bad_connection_details_answer_400_without_the_password(api: Api, pg: Postgres) -> None:
    mount = api.mount(name("-badcfg-pg"))
    cases = {
        # Nothing listens there.
        "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres": (
            "postgres",
            "Connection refused",
        ),
        # The server answers, and refuses the user.
        pg.url(): (name("nosuchuser"), "does not exist"),
        # Not a URL libpq can use.
        "postgresql://{{username}}:{{password}}@127.0.0.1:notaport/postgres": (
            "postgres",
            "invalid",
        ),
    }
    for url, (user, message) in cases.items():
        resp = api.request(
            "POST",
            f"{mount}/config/bad",
            {
                "plugin_name": "postgresql-database-plugin",
                "connection_url": url,
                "username": user,
                "password": SECRET,
            },
        )
        assert resp.status_code == 400, resp.text
        [error] = resp.json()["errors"]
        assert error.startswith("error creating database object: error verifying connection: ")
        assert message in error
        assert SECRET not in resp.text
        assert api.request("GET", f"{mount}/config/bad").status_code == 404


def test_bad_mysql_credentials_and_dsn_answer_400(api: Api, maria: Maria) -> None:
    mount = api.mount(name("-badcfg-my"))
    body = {
        "plugin_name": "mysql-database-plugin",
        "connection_url": maria.url(),
        "username": "root",
        "password": SECRET,
    }
    resp = api.request("POST", f"{mount}/config/bad", body)
    assert resp.status_code == 400
    [error] = resp.json()["errors"]
    assert "Error 1045: Access denied for user 'root'" in error
    assert SECRET not in resp.text
    resp = api.request(
        "POST", f"{mount}/config/bad", {**body, "connection_url": "root@tcp(127.0.0.1:3306)"}
    )
    assert resp.status_code == 400
    assert "missing the slash separating the database name" in resp.text
    assert SECRET not in resp.text


# --------------------------------------------------------------------------- creation


def test_failed_creation_leaves_no_login(api: Api, kind: Kind) -> None:
    mount = api.mount(name(f"-badrole-{kind.label}"))
    api.ok("POST", f"{mount}/config/db", kind.config())
    role = name("bad")
    if isinstance(kind, PgKind):
        creation = [kind.creation()[0], 'GRANT SELECT ON no_such_table TO "{{name}}";']
        rollback: list[str] = []
        expected = 'failed to execute query: ERROR: relation "no_such_table" does not exist'
    else:
        log = f"`{kind.db.dbname}`.rollback_log"
        creation = [
            kind.creation()[0],
            f"GRANT SELECT ON `{kind.db.dbname}`.nope TO '{{{{name}}}}'@'%';",
        ]
        # MySQL commits CREATE USER at once: the rollback statements undo it.
        rollback = [f"INSERT INTO {log} VALUES ('{{{{name}}}}')", "DROP USER '{{name}}'@'%'"]
        expected = "failed to execute query: Error 1146"
    api.ok(
        "POST",
        f"{mount}/roles/{role}",
        {"db_name": "db", "creation_statements": creation, "rollback_statements": rollback},
    )
    resp = api.request("GET", f"{mount}/creds/{role}")
    assert resp.status_code == 500, resp.text
    assert expected in resp.json()["errors"][0]
    leftovers = (
        [r for r in kind.db.run_roles() if r.startswith("v-")]
        if isinstance(kind, PgKind)
        else [u for u, _ in kind.db.run_users() if u.startswith("v-")]
    )
    assert leftovers == []
    if isinstance(kind, MariaKind):
        logged = kind.db.query(f"SELECT name FROM `{kind.db.dbname}`.rollback_log")
        assert len(logged) == 1 and logged[0][0].startswith("v-token-")
        # Without rollback statements the engine drops the half-made user itself.
        api.ok("POST", f"{mount}/roles/{role}", {"rollback_statements": []})
        assert api.request("GET", f"{mount}/creds/{role}").status_code == 500
        assert [u for u, _ in kind.db.run_users() if u.startswith("v-")] == []


# --------------------------------------------------------------------------- database down


def test_database_down_fails_issue_and_revocation_is_retried(
    api: Api, server: Server, kind: Kind, proxy: TcpProxy
) -> None:
    mount = api.mount(name(f"-down-{kind.label}"))
    api.ok("POST", f"{mount}/config/db", kind.config(port=proxy.port))
    role = name("dn")
    api.ok(
        "POST", f"{mount}/roles/{role}", {"db_name": "db", "creation_statements": kind.creation()}
    )
    body = api.ok("GET", f"{mount}/creds/{role}")
    user, lease_id = body["data"]["username"], body["lease_id"]
    assert kind.exists(user)
    password = body["data"]["password"]

    proxy.down()
    # Issue: a clear error naming the connection problem.
    resp = api.request("GET", f"{mount}/creds/{role}")
    assert resp.status_code == 500
    error = resp.json()["errors"][0]
    assert "unable to get connection" in error
    assert "refused" in error.lower()
    # Revocation: refused now, kept, and retried in the background.
    resp = api.request("PUT", "sys/leases/revoke", {"lease_id": lease_id, "sync": True})
    assert resp.status_code == 400
    assert "will be retried" in resp.json()["errors"][0] or "failed to revoke" in resp.text
    lease = api.lease(lease_id)
    assert lease is not None and lease["revocation"]["attempts"] >= 1
    assert wait_for(
        lambda: (api.lease(lease_id) or {}).get("revocation", {}).get("attempts", 0) >= 2
    )
    assert kind.exists(user), "the credential must not be forgotten while the database is down"

    proxy.up()
    assert wait_for(lambda: not kind.exists(user), timeout=20), "revocation was not retried"
    assert wait_for(lambda: api.lease(lease_id) is None, timeout=5)
    # And issuing works again through the same (re-opened) pool.
    again = api.ok("GET", f"{mount}/creds/{role}")
    assert kind.exists(again["data"]["username"])
    api.ok("PUT", "sys/leases/revoke", {"lease_id": again["lease_id"], "sync": True})
    assert not kind.exists(again["data"]["username"])
    # The retries were logged, without a secret.
    log = server.log_text()
    assert f"revoking lease {lease_id} failed" in log
    assert password not in log and again["data"]["password"] not in log


def test_pg_revocation_drops_a_role_that_owns_objects(api: Api, pg: Postgres) -> None:
    mount = api.mount(name("-owner-pg"))
    api.ok("POST", f"{mount}/config/db", PgKind(pg).config())
    role = name("own")
    creation = [*PgKind(pg).creation(), 'GRANT CREATE ON SCHEMA public TO "{{name}}";']
    api.ok("POST", f"{mount}/roles/{role}", {"db_name": "db", "creation_statements": creation})
    body = api.ok("GET", f"{mount}/creds/{role}")
    user, password = body["data"]["username"], body["data"]["password"]
    table = name("_owned")
    with pg.login(user, password) as conn:
        conn.execute(f"CREATE TABLE {table} (x int)")
        conn.execute(f"INSERT INTO {table} VALUES (1)")
    session = pg.login(user, password)  # an open session does not keep the login alive
    api.ok("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"], "sync": True})
    assert not pg.exists(user)
    assert pg.query(f"SELECT tableowner FROM pg_tables WHERE tablename = '{table}'") == [
        ("postgres",)
    ]
    assert pg.query(f"SELECT x FROM {table}") == [(1,)]
    assert session.closed or session.broken or _dead(session)
    session.close()
    pg.query(f"DROP TABLE {table}")


def _dead(conn: object) -> bool:
    try:
        conn.execute("SELECT 1")  # type: ignore[attr-defined]
    except Exception:
        return True
    return False


# --------------------------------------------------------------------------- root rotation


def test_rotate_root(api: Api, kind: Kind) -> None:
    mount = api.mount(name(f"-root-{kind.label}"))
    admin, initial = name("_admin"), "Admin-initial-pw-1"
    if isinstance(kind, PgKind):
        kind.db.create_user(admin, initial, "CREATEROLE")
        kind.db.query(f'GRANT SELECT ON items TO "{admin}" WITH GRANT OPTION')
    else:
        db = kind.db
        db.query(f"CREATE USER '{admin}'@'%%' IDENTIFIED BY %s", initial)
        db.query(f"GRANT CREATE USER ON *.* TO '{admin}'@'%'")
        db.query(f"GRANT SELECT ON mysql.user TO '{admin}'@'%'")
        db.query(f"GRANT SELECT ON `{db.dbname}`.items TO '{admin}'@'%' WITH GRANT OPTION")
    api.ok("POST", f"{mount}/config/db", kind.config(username=admin, password=initial))
    role = name("rr")
    api.ok(
        "POST", f"{mount}/roles/{role}", {"db_name": "db", "creation_statements": kind.creation()}
    )
    api.ok("POST", f"{mount}/rotate-root/db", {})
    if isinstance(kind, PgKind):
        assert not kind.db.password_ok(admin, initial)
    else:
        assert not kind.can_login(admin, initial)
    config = api.ok("GET", f"{mount}/config/db")["data"]
    assert "password" not in config["connection_details"]
    assert config["connection_details"]["username"] == admin
    # The engine goes on working as the admin, with the password only it knows.
    body = api.ok("GET", f"{mount}/creds/{role}")
    assert kind.can_login(body["data"]["username"], body["data"]["password"])
    api.ok("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"], "sync": True})
    assert not kind.exists(body["data"]["username"])


def test_mysql_legacy_plugins_keep_usernames_within_16(api: Api, maria: Maria) -> None:
    kind = MariaKind(maria)
    mount = api.mount(name("-legacy"))
    for plugin in ("mysql-aurora-database-plugin", "mysql-rds-database-plugin"):
        api.ok("POST", f"{mount}/config/{plugin}", kind.config(plugin_name=plugin))
    api.ok("POST", f"{mount}/config/db", kind.config(plugin_name="mysql-legacy-database-plugin"))
    role = name("legacy")
    api.ok(
        "POST", f"{mount}/roles/{role}", {"db_name": "db", "creation_statements": kind.creation()}
    )
    body = api.ok("GET", f"{mount}/creds/{role}")
    user = body["data"]["username"]
    assert len(user) == 16 and user.startswith(f"v-{role[:4]}-")
    assert kind.can_login(user, body["data"]["password"])
    api.ok("PUT", "sys/leases/revoke", {"lease_id": body["lease_id"], "sync": True})
    assert not kind.exists(user)
    time.sleep(0)
