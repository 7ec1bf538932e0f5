"""mysql-database-plugin and its aurora/rds/legacy variants, with PyMySQL in the mount's threads.

PyMySQL is synchronous: every call runs in the backend's bounded thread pool
(never on the event loop), with socket timeouts so that a database that stops
answering ties up a thread for at most `IO_TIMEOUT` seconds.

`connection_url` is Go's MySQL DSN, as in Vault:
`[user[:password]@][tcp(host:port)|unix(/path)]/[dbname][?param=value&…]`.
It is parsed with the `{{username}}`/`{{password}}` placeholders still in it
and the values put into the parsed fields, so no character needs escaping.

The four plugin names differ only in their default username template: 32
characters for mysql-database-plugin (MySQL >= 5.7.8), 16 for the others.
The default revocation revokes and drops the user at every host it exists
for and ends its open sessions; MySQL has no expiry for an account, so
renewal runs `renew_statements` only when the role has some.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

import pymysql
import pymysql.err

from strongroom.durations import DurationError, parse_duration
from strongroom.framework.fields import FieldType

from ..errors import DatabaseError
from ..statements import queries, render
from .base import DatabasePlugin, expiration_text, log, setting
from .pool import Pool, Progress

T = TypeVar("T")

DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) '
    "(random 20) (unix_time) | truncate 32 }}"
)
LEGACY_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}'
)
DEFAULT_PASSWORD = "ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';"
CONNECT_TIMEOUT = 10
IO_TIMEOUT = 60
_UNREACHABLE = {2002, 2003, 2005, 2006, 2013, 2055, 1045, 1044, 1049}
_THROTTLED = {1040, 1203, 1226}
_LOST = {2006, 2013, 2055}
_NET = re.compile(r"^(?P<net>[a-z0-9]*)(?:\((?P<addr>.*)\))?$")


class DsnError(DatabaseError):
    pass


def parse_dsn(dsn: str) -> dict[str, Any]:
    """go-sql-driver/mysql's ParseDSN, for the fields PyMySQL needs."""
    slash = dsn.rfind("/")
    if slash < 0:
        raise DsnError("invalid DSN: missing the slash separating the database name")
    head, tail = dsn[:slash], dsn[slash + 1 :]
    out: dict[str, Any] = {"user": "", "password": "", "net": "tcp", "addr": "", "params": {}}
    at = head.rfind("@")
    if at >= 0:
        user, _, password = head[:at].partition(":")
        out["user"], out["password"] = user, password
        head = head[at + 1 :]
    if head:
        match = _NET.match(head)
        if match is None or (head.count("(") != head.count(")")):
            raise DsnError("invalid DSN: network address not terminated (missing closing brace)")
        out["net"] = match["net"] or "tcp"
        out["addr"] = match["addr"] or ""
    dbname, _, query = tail.partition("?")
    out["dbname"] = unquote(dbname)
    if query:
        for key, value in parse_qsl(query, keep_blank_values=True):
            out["params"][key] = value
    return out


def _seconds(value: str, key: str) -> float:
    try:
        return float(parse_duration(value))
    except DurationError as err:
        raise DsnError(f"invalid DSN: invalid {key}: {err}") from None


class MySQL(DatabasePlugin):
    plugin_names = ("mysql-database-plugin",)
    default_username_template = DEFAULT_USERNAME_TEMPLATE
    max_username_length = 32
    default_rotation_statements = (DEFAULT_PASSWORD,)

    def __init__(self, plugin_name: str, details: dict[str, Any], executor: Any) -> None:
        super().__init__(plugin_name, details, executor)
        if setting(details, "tls_certificate_key", FieldType.STRING, ""):
            raise DatabaseError("tls_certificate_key is not supported yet")
        self._kwargs, self._hosts = self._connect_args(details)
        self.pool: Pool[pymysql.connections.Connection[Any]] = Pool(
            self.settings.limits, self._connect, self._close, self._ping, self._usable
        )

    def _connect_args(
        self, details: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        s = self.settings
        dsn = parse_dsn(s.connection_url)
        values = {"username": s.username, "password": s.password}
        params = dsn["params"]
        kwargs: dict[str, Any] = {
            "user": render(dsn["user"], values),
            "password": render(dsn["password"], values),
            "database": dsn["dbname"] or None,
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": IO_TIMEOUT,
            "write_timeout": IO_TIMEOUT,
            "charset": params.get("charset", "utf8mb4").split(",")[0],
            "autocommit": True,
            "program_name": "strongroom",
        }
        if "timeout" in params:
            kwargs["connect_timeout"] = max(1, _seconds(params["timeout"], "timeout"))
        for key, name in (("readTimeout", "read_timeout"), ("writeTimeout", "write_timeout")):
            if key in params:
                kwargs[name] = _seconds(params[key], key) or None
        context = self._tls(details, params.get("tls", ""))
        if context is not None:
            kwargs["ssl"] = context
        hosts: list[tuple[str, int]] = []
        if dsn["net"] == "unix":
            kwargs["unix_socket"] = dsn["addr"] or "/tmp/mysql.sock"
        elif dsn["net"] == "tcp":
            for part in (dsn["addr"] or "127.0.0.1:3306").split(","):
                host, _, port = part.strip().rpartition(":") if ":" in part else (part, "", "")
                host = host.strip("[]") or "127.0.0.1"
                try:
                    hosts.append((host, int(port) if port else 3306))
                except ValueError:
                    raise DsnError(f"invalid DSN: invalid port in address {part!r}") from None
        else:
            raise DsnError(f"invalid DSN: unknown network {dsn['net']!r}")
        return kwargs, hosts

    @staticmethod
    def _tls(details: dict[str, Any], mode: str) -> ssl.SSLContext | None:
        ca = setting(details, "tls_ca", FieldType.STRING, "")
        skip = setting(details, "tls_skip_verify", FieldType.BOOL, False) or mode == "skip-verify"
        if not ca and mode not in ("true", "skip-verify", "preferred"):
            return None
        context = ssl.create_default_context(cadata=ca or None)
        if skip or mode == "preferred":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # ------------------------------------------------------------ connections
    def _open(self) -> pymysql.connections.Connection[Any]:
        if not self._hosts:
            return pymysql.connect(**self._kwargs)
        last: Exception | None = None
        for host, port in self._hosts:  # several hosts: fail over in order
            try:
                return pymysql.connect(host=host, port=port, **self._kwargs)
            except pymysql.err.OperationalError as err:
                last = err
        assert last is not None
        raise last

    async def _connect(self) -> pymysql.connections.Connection[Any]:
        try:
            return await self.in_thread(self._open)
        except pymysql.err.MySQLError as err:
            raise self.error(err) from None

    async def _close(self, conn: pymysql.connections.Connection[Any]) -> None:
        def close() -> None:
            with contextlib.suppress(Exception):
                conn.close()

        await self.in_thread(close)

    async def _ping(self, conn: pymysql.connections.Connection[Any]) -> bool:
        def ping() -> bool:
            try:
                conn.ping(reconnect=False)
            except pymysql.err.MySQLError:
                return False
            return True

        return await self.in_thread(ping)

    @staticmethod
    def _usable(conn: pymysql.connections.Connection[Any]) -> bool:
        return bool(conn.open)

    def describe(self, err: BaseException) -> tuple[str, dict[str, bool]]:
        if isinstance(err, pymysql.err.MySQLError):
            args = err.args
            code = args[0] if args and isinstance(args[0], int) else 0
            message = str(args[1]) if len(args) > 1 else str(err)
            text = f"Error {code}: {message}" if code else message
            flags = {
                "unreachable": code in _UNREACHABLE or isinstance(err, pymysql.err.InterfaceError),
                "throttled": code in _THROTTLED,
            }
            return text, flags
        return str(err) or type(err).__name__, {}

    @staticmethod
    def _lost(err: BaseException) -> bool:
        if isinstance(err, pymysql.err.InterfaceError):
            return True
        code = err.args[0] if isinstance(err, pymysql.err.MySQLError) and err.args else 0
        return code in _LOST

    async def _with_conn(
        self,
        fn: Callable[[pymysql.connections.Connection[Any], Progress], T],
        secrets: list[str],
    ) -> T:
        async def op(conn: pymysql.connections.Connection[Any], progress: Progress) -> T:
            return await self.in_thread(lambda: fn(conn, progress))

        try:
            return await self.pool.run(op, self._lost)
        except (pymysql.err.MySQLError, DatabaseError) as err:
            raise self.error(err, *secrets) from None

    @staticmethod
    def _run_tx(
        conn: pymysql.connections.Connection[Any],
        statements: list[str],
        progress: Progress | None = None,
    ) -> int:
        """Run `statements` in one transaction; how many ran before a failure is on the error.

        DDL (CREATE USER, GRANT) commits by itself in MySQL: once one statement ran,
        repeating the list could repeat it, hence `progress`.
        """
        done = 0
        conn.begin()
        try:
            with conn.cursor() as cur:
                for query in statements:
                    cur.execute(query)
                    done += 1
                    if progress is not None:
                        progress.started = True
            conn.commit()
        except BaseException as err:
            with contextlib.suppress(Exception):
                conn.rollback()
            err.statements_done = done  # type: ignore[attr-defined]
            raise
        return done

    @staticmethod
    def _hosts_of(conn: pymysql.connections.Connection[Any], username: str) -> list[str]:
        with conn.cursor() as cur:
            cur.execute("SELECT host FROM mysql.user WHERE user = %s", (username,))
            return [row[0] for row in cur.fetchall()]

    @classmethod
    def _drop_everywhere(cls, conn: pymysql.connections.Connection[Any], username: str) -> None:
        hosts = cls._hosts_of(conn, username)
        if not hosts:
            return
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id FROM information_schema.processlist WHERE user = %s AND id <> "
                "CONNECTION_ID()",
                (username,),
            )
            sessions = [row[0] for row in cur.fetchall()]
            for session in sessions:
                with contextlib.suppress(pymysql.err.MySQLError):
                    cur.execute(f"KILL CONNECTION {int(session)}")
            for host in hosts:
                account = f"{conn.escape(username)}@{conn.escape(host)}"
                with contextlib.suppress(pymysql.err.MySQLError):
                    cur.execute(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account}")
                cur.execute(f"DROP USER IF EXISTS {account}")

    # ------------------------------------------------------------ operations
    async def verify(self) -> None:
        try:
            await self._with_conn(lambda conn, _: conn.ping(reconnect=False), [])
        except DatabaseError as err:
            raise self.error(err, prefix="error verifying - connection: ") from None

    async def create_user(
        self,
        username: str,
        password: str,
        expiration: datetime,
        creation: list[str],
        rollback: list[str],
    ) -> None:
        if not creation:
            raise DatabaseError("empty creation statements")
        values = self.values(username, password=password, expiration=expiration_text(expiration))
        statements = self.rendered(queries(creation), values)
        undo = self.rendered(queries(rollback), self.values(username))

        def create(conn: pymysql.connections.Connection[Any], progress: Progress) -> None:
            try:
                self._run_tx(conn, statements, progress)
            except pymysql.err.MySQLError as err:
                # CREATE USER and GRANT commit implicitly: undo what already ran.
                if getattr(err, "statements_done", 0) and conn.open:
                    try:
                        if undo:
                            self._run_tx(conn, undo)
                        else:
                            self._drop_everywhere(conn, username)
                    except pymysql.err.MySQLError as rollback_err:
                        log.warning(
                            "database: rollback for %s failed: %s",
                            username,
                            self.error(rollback_err, password).message,
                        )
                        err.rollback_failed = True  # type: ignore[attr-defined]
                raise

        async with self.write_lock:
            await self._with_conn(create, [password])

    async def set_password(self, username: str, password: str, statements: list[str]) -> None:
        chosen = statements or list(self.default_rotation_statements)
        rendered = self.rendered(queries(chosen), self.values(username, password=password))
        async with self.write_lock:
            await self._with_conn(
                lambda conn, progress: self._run_tx(conn, rendered, progress), [password]
            )

    async def set_expiration(
        self, username: str, expiration: datetime, statements: list[str]
    ) -> None:
        if not statements:
            return  # MySQL accounts have no expiry: the lease alone ends them
        values = self.values(username, expiration=expiration_text(expiration))
        rendered = self.rendered(queries(statements), values)
        async with self.write_lock:
            await self._with_conn(lambda conn, progress: self._run_tx(conn, rendered, progress), [])

    async def delete_user(self, username: str, statements: list[str]) -> None:
        rendered = self.rendered(queries(statements), self.values(username))

        def delete(conn: pymysql.connections.Connection[Any], progress: Progress) -> None:
            if not self._hosts_of(conn, username):
                return  # already gone
            progress.started = True
            if rendered:
                self._run_tx(conn, rendered)
            else:
                self._drop_everywhere(conn, username)

        async with self.write_lock:
            await self._with_conn(delete, [])

    async def close(self) -> None:
        await self.pool.close()


class MySQLLegacy(MySQL):
    plugin_names = (
        "mysql-aurora-database-plugin",
        "mysql-rds-database-plugin",
        "mysql-legacy-database-plugin",
    )
    default_username_template = LEGACY_USERNAME_TEMPLATE
    max_username_length = 16
