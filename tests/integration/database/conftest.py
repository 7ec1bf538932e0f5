"""Fixtures for the database engine's tests against the machine's real servers.

* `pg`, `maria`: a database of this test run's own (`strongroom_test_<random>`)
  on the local PostgreSQL 15 / MariaDB, with two tables (`items`, which roles
  grant, and `secret_stuff`, which none do), dropped at the end together with
  every user the run created. Every role and user name of the run starts with
  `TAG`, so the clean-up finds exactly them.
* `server`: one strongroom dev server for the package (each test mounts its own
  `database` path), with an `Api` client as root.

PostgreSQL on this machine trusts every local connection (pg_hba `trust`), so
a login never checks a password there. Whether a password is the one a role
has is checked instead against the SCRAM verifier PostgreSQL stores for it
(`Postgres.password_ok`), which is what password authentication would compare.
MariaDB checks passwords on login, so its tests log in for real.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pymysql
import pytest

from strongroom.engines.database.plugins import scram
from tests.integration.server import ServerProcess, dev_server

PG_HOST, PG_PORT = "127.0.0.1", 5432
MY_HOST, MY_PORT = "127.0.0.1", 3306
TAG = "z" + secrets.token_hex(2)[:3]  # 4 characters: survives every username template


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def name(suffix: str) -> str:
    """A role/user/mount name of this run."""
    return f"{TAG}{suffix}"


def wait_for(check: Callable[[], bool], timeout: float = 15.0, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Postgres:
    dbname: str
    host: str = PG_HOST
    port: int = PG_PORT

    def url(self, port: int | None = None) -> str:
        return (
            f"postgresql://{{{{username}}}}:{{{{password}}}}@{self.host}:{port or self.port}/"
            f"{self.dbname}?sslmode=disable"
        )

    def admin(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            dbname=dbname or self.dbname,
            autocommit=True,
        )

    def query(self, sql: str, *params: Any, dbname: str | None = None) -> list[tuple[Any, ...]]:
        with self.admin(dbname) as conn:
            cur = conn.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def role(self, user: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = %s", user
        )
        if not rows:
            return None
        return {"name": rows[0][0], "login": rows[0][1], "valid_until": rows[0][2]}

    def exists(self, user: str) -> bool:
        return self.role(user) is not None

    def password_ok(self, user: str, password: str) -> bool:
        """Whether PostgreSQL's stored verifier for `user` is `password`'s."""
        rows = self.query("SELECT rolpassword FROM pg_authid WHERE rolname = %s", user)
        return bool(rows) and rows[0][0] is not None and scram.verify(password, rows[0][0])

    def login(self, user: str, password: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            dbname=self.dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def can_login(self, user: str, password: str) -> bool:
        """A login the server would accept with password authentication."""
        role = self.role(user)
        if role is None or not role["login"] or not self.password_ok(user, password):
            return False
        try:
            self.login(user, password).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_user(self, user: str, password: str, *extra: str) -> None:
        with self.admin() as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + " ".join(extra)).format(
                    psycopg.sql.Identifier(user), psycopg.sql.Literal(password)
                )
            )

    def run_roles(self) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", f"%{TAG}%", dbname="postgres"
            )
        ]


@pytest.fixture(scope="session")
def pg() -> Iterator[Postgres]:
    if not _reachable(PG_HOST, PG_PORT):
        pytest.skip(f"no PostgreSQL on {PG_HOST}:{PG_PORT}")
    db = Postgres(f"strongroom_test_{secrets.token_hex(4)}")
    with db.admin("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{db.dbname}"')
    with db.admin() as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')")
        conn.execute("CREATE TABLE secret_stuff (x int)")
    yield db
    with db.admin() as conn:
        for role in db.run_roles():
            ident = psycopg.sql.Identifier(role)
            for stmt in ("REASSIGN OWNED BY {} TO postgres", "DROP OWNED BY {}", "DROP ROLE {}"):
                with contextlib.suppress(psycopg.Error):
                    conn.execute(psycopg.sql.SQL(stmt).format(ident))
    with db.admin("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.dbname}" WITH (FORCE)')
        for role in db.run_roles():  # owned objects only in the dropped database
            with contextlib.suppress(psycopg.Error):
                conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))


# --------------------------------------------------------------------------- MariaDB


@dataclass
class Maria:
    dbname: str
    host: str = MY_HOST
    port: int = MY_PORT

    def url(self, port: int | None = None) -> str:
        return f"{{{{username}}}}:{{{{password}}}}@tcp({self.host}:{port or self.port})/"

    def admin(self) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            host=self.host, port=self.port, user="root", password="", autocommit=True
        )

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                return list(cur.fetchall())
        finally:
            conn.close()

    def exists(self, user: str) -> bool:
        return bool(self.query("SELECT 1 FROM mysql.user WHERE user = %s", user))

    def login(self, user: str, password: str) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            database=self.dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def can_login(self, user: str, password: str) -> bool:
        try:
            self.login(user, password).close()
        except pymysql.err.OperationalError:
            return False
        return True

    def create_user(self, user: str, password: str) -> None:
        self.query(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", password)
        self.query(f"GRANT SELECT ON `{self.dbname}`.items TO '{user}'@'%'")

    def run_users(self) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.query("SELECT user, host FROM mysql.user WHERE user LIKE %s", f"%{TAG}%")
        ]


@pytest.fixture(scope="session")
def maria() -> Iterator[Maria]:
    if not _reachable(MY_HOST, MY_PORT):
        pytest.skip(f"no MariaDB on {MY_HOST}:{MY_PORT}")
    db = Maria(f"strongroom_test_{secrets.token_hex(4)}")
    db.query(f"CREATE DATABASE `{db.dbname}`")
    db.query(f"CREATE TABLE `{db.dbname}`.items (id int PRIMARY KEY, name text)")
    db.query(f"INSERT INTO `{db.dbname}`.items VALUES (1, 'one'), (2, 'two')")
    db.query(f"CREATE TABLE `{db.dbname}`.secret_stuff (x int)")
    db.query(f"CREATE TABLE `{db.dbname}`.rollback_log (name varchar(64))")
    yield db
    for user, host in db.run_users():
        with contextlib.suppress(pymysql.err.MySQLError):
            db.query(f"DROP USER '{user}'@'{host}'")
    db.query(f"DROP DATABASE IF EXISTS `{db.dbname}`")


# --------------------------------------------------------------------------- server


class Api:
    """The strongroom HTTP API as root."""

    def __init__(self, addr: str, token: str = "root") -> None:
        self.addr = addr
        self.token = token
        self.http = httpx.Client(
            base_url=f"{addr}/v1/", headers={"X-Vault-Token": token}, timeout=60
        )

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return (
            self.http.request(method, path, json=body)
            if body is not None
            else self.http.request(method, path)
        )

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.request(method, path, body)
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.status_code == 200 else {}

    def mount(self, path: str) -> str:
        self.ok("POST", f"sys/mounts/{path}", {"type": "database"})
        return path

    def lease(self, lease_id: str) -> dict[str, Any] | None:
        resp = self.request("PUT", "sys/leases/lookup", {"lease_id": lease_id})
        return resp.json()["data"] if resp.status_code == 200 else None


@dataclass
class Server:
    process: ServerProcess
    api: Api
    logs: list[str] = field(default_factory=list)

    @property
    def addr(self) -> str:
        return self.process.addr

    def log_text(self) -> str:
        return self.process.output()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    process = dev_server(Path(tmp_path_factory.mktemp("db-dev"))).start()
    api = Api(process.addr)
    yield Server(process, api)
    api.http.close()
    process.stop()


@pytest.fixture
def api(server: Server) -> Api:
    return server.api
