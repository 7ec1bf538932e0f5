"""postgresql-database-plugin with psycopg 3 (asyncio: no thread is tied up per query).

Vault's behaviour, kept: `connection_url` as a URI (`postgresql://…`, several
hosts allowed) or a keyword/value string, with `{{username}}`/`{{password}}`
URL-escaped unless `disable_escaping`; creation, renewal, rotation and custom
revocation statements run in one transaction each; blocks containing END
(DO … END, functions) are not split on ";"; `password_authentication`
"password" (default) or "scram-sha-256".

The default revocation (no `revocation_statements`) goes further than Vault's:
it ends the user's sessions, revokes the privileges pg_shdepend shows it holds,
one object at a time (a failure does not stop the rest), reassigns what it owns to the connection's
user and drops what remains (REASSIGN OWNED / DROP OWNED), then drops the role.
A role that owns objects is therefore dropped instead of failing forever;
only what the database itself refuses (objects in *other* databases) makes the
revocation fail, with PostgreSQL's message, and the lease manager retries it.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from strongroom.framework.fields import FieldType

from ..errors import DatabaseError
from ..statements import queries
from . import scram
from .base import DatabasePlugin, expiration_text, log, setting
from .pool import Pool, Progress

DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) '
    "(random 20) (unix_time) | truncate 63 }}"
)
DEFAULT_EXPIRATION = "ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"
DEFAULT_PASSWORD = "ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"
MAX_IDENTIFIER = 63
CONNECT_TIMEOUT = 10
OPERATION_TIMEOUT = 60.0
PASSWORD_AUTHENTICATIONS = ("password", "scram-sha-256")
# Worth another try: serialization failure, deadlock, "tuple concurrently updated".
_RETRY_STATES = {"40001", "40P01"}
_RETRIES = 3
_THROTTLE_STATES = {"53300", "53400"}  # too many connections, configuration limit exceeded
# Objects a role holds privileges on: in this database, and shared ones (databases).
_PRIVILEGED_OBJECTS = """
SELECT DISTINCT o.type, o.identity
FROM pg_shdepend d
CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) o
WHERE d.refclassid = 'pg_authid'::regclass
  AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
  AND d.deptype = 'a'
  AND d.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
"""
_REVOKE_ON = {
    "table": "TABLE",
    "view": "TABLE",
    "materialized view": "TABLE",
    "foreign table": "TABLE",
    "sequence": "SEQUENCE",
    "schema": "SCHEMA",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "database": "DATABASE",
    "tablespace": "TABLESPACE",
    "type": "TYPE",
    "domain": "DOMAIN",
    "language": "LANGUAGE",
    "foreign-data wrapper": "FOREIGN DATA WRAPPER",
    "server": "FOREIGN SERVER",
    "large object": "LARGE OBJECT",
}


def go_path_escape(text: str) -> str:
    """Go's url.PathEscape."""
    return quote(text, safe="$&+:=@")


def _split_host(part: str) -> tuple[str, str]:
    if part.startswith("["):
        host, _, rest = part[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    host, _, port = part.partition(":")
    return host, port


def connect_params(url: str) -> tuple[str, dict[str, Any]]:
    """A conninfo string and keyword arguments for psycopg.

    URIs are taken apart here, not by libpq, so that userinfo splits at the
    *last* "@" as in Go (a password may hold "@" or ":" unescaped).
    """
    if not url.startswith(("postgres://", "postgresql://")):
        return url, {}
    parts = urlsplit(url)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    params: dict[str, Any] = {}
    if at:
        user, colon, password = userinfo.partition(":")
        if user:
            params["user"] = unquote(user)
        if colon:
            params["password"] = unquote(password)
    hosts, ports = [], []
    for part in hostlist.split(",") if hostlist else []:
        host, port = _split_host(part)
        hosts.append(unquote(host))
        ports.append(port)
    if any(hosts):
        params["host"] = ",".join(hosts)
    if any(ports):
        params["port"] = ",".join(p or "5432" for p in ports)
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.lstrip("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        params[key] = value
    return "", params


class PostgreSQL(DatabasePlugin):
    plugin_names = ("postgresql-database-plugin",)
    default_username_template = DEFAULT_USERNAME_TEMPLATE
    max_username_length = MAX_IDENTIFIER
    default_rotation_statements = (DEFAULT_PASSWORD,)

    def __init__(self, plugin_name: str, details: dict[str, Any], executor: Any) -> None:
        super().__init__(plugin_name, details, executor)
        auth = setting(details, "password_authentication", FieldType.STRING, "") or "password"
        if auth not in PASSWORD_AUTHENTICATIONS:
            raise DatabaseError(f"'{auth}' is not a valid password authentication type")
        self.password_authentication = auth
        s = self.settings
        user, password = s.username, s.password
        if not s.disable_escaping:
            user, password = go_path_escape(user), go_path_escape(password)
        url = s.connection_url.replace("{{username}}", user).replace("{{password}}", password)
        self._conninfo, self._params = connect_params(url)
        if "application_name" not in self._params and "application_name" not in self._conninfo:
            self._params["application_name"] = "strongroom"
        if "connect_timeout" not in self._params and "connect_timeout" not in self._conninfo:
            self._params["connect_timeout"] = CONNECT_TIMEOUT
        self.pool: Pool[psycopg.AsyncConnection[Any]] = Pool(
            s.limits, self._connect, self._close, self._ping, self._usable
        )

    # ------------------------------------------------------------ connections
    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, prepare_threshold=None, **self._params
            )
        except psycopg.Error as err:
            raise self.error(err) from None

    @staticmethod
    async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.close()

    @staticmethod
    async def _ping(conn: psycopg.AsyncConnection[Any]) -> bool:
        try:
            await conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    @staticmethod
    def _usable(conn: psycopg.AsyncConnection[Any]) -> bool:
        return (
            not conn.closed
            and not conn.broken
            and conn.info.transaction_status == TransactionStatus.IDLE
        )

    def describe(self, err: BaseException) -> tuple[str, dict[str, bool]]:
        if isinstance(err, TimeoutError):
            return f"no answer from the database within {OPERATION_TIMEOUT:.0f}s", {
                "unreachable": True
            }
        if isinstance(err, psycopg.Error):
            state = err.sqlstate or ""
            primary = err.diag.message_primary if state else None
            if primary:
                severity = err.diag.severity or "ERROR"
                text = f"{severity}: {primary} (SQLSTATE {state})"
            else:  # a connection-level error: libpq's text names no statement
                text = str(err)
            flags = {
                "unreachable": not state or state.startswith("08") or state == "57P01",
                "throttled": state in _THROTTLE_STATES,
            }
            return text, flags
        return str(err) or type(err).__name__, {}

    def _password_value(self, password: str) -> str:
        if self.password_authentication == "scram-sha-256":
            return scram.hash_password(password)
        return password

    def _lost(self, err: BaseException) -> bool:
        return isinstance(err, psycopg.Error) and self.describe(err)[1].get("unreachable", False)

    async def _transaction(self, statements: list[str], secrets: list[str]) -> None:
        """All of `statements` in one transaction, retried on a transient conflict."""

        async def run(conn: psycopg.AsyncConnection[Any], progress: Progress) -> None:
            async with conn.transaction():
                for query in statements:
                    await conn.execute(query)
                progress.started = True  # COMMIT next: a failure there is not retried

        for attempt in range(_RETRIES):
            try:
                async with asyncio.timeout(OPERATION_TIMEOUT):
                    await self.pool.run(run, self._lost)
                return
            except psycopg.Error as err:
                transient = err.sqlstate in _RETRY_STATES or (
                    err.sqlstate == "XX000" and "concurrently" in (err.diag.message_primary or "")
                )
                if not transient or attempt == _RETRIES - 1:
                    raise self.error(err, *secrets) from None
                await asyncio.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            except (DatabaseError, TimeoutError) as err:
                raise self.error(err, *secrets) from None

    async def _exists(self, conn: psycopg.AsyncConnection[Any], username: str) -> bool:
        cur = await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))
        return await cur.fetchone() is not None

    # ------------------------------------------------------------ operations
    async def verify(self) -> None:
        async def ping(conn: psycopg.AsyncConnection[Any], progress: Progress) -> None:
            await conn.execute("SELECT 1")

        try:
            async with asyncio.timeout(OPERATION_TIMEOUT):
                await self.pool.run(ping, self._lost)
        except (psycopg.Error, DatabaseError, TimeoutError) as err:
            raise self.error(err, prefix="error verifying connection: ") from None

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
        value = self._password_value(password)
        values = self.values(username, password=value, expiration=expiration_text(expiration))
        statements = self.rendered(queries(creation, keep_blocks=True), values)
        async with self.write_lock:
            try:
                await self._transaction(statements, [password, value])
            except DatabaseError as err:
                if rollback and not err.unreachable:
                    await self._rollback(username, rollback)
                raise

    async def _rollback(self, username: str, rollback: list[str]) -> None:
        """The role's rollback statements after a failed creation (best effort)."""
        statements = self.rendered(queries(rollback, keep_blocks=True), self.values(username))
        try:
            await self._transaction(statements, [])
        except DatabaseError as err:
            log.warning("database: rollback statements for %s failed: %s", username, err)

    async def set_password(self, username: str, password: str, statements: list[str]) -> None:
        value = self._password_value(password)
        values = self.values(username, password=value)
        chosen = statements or list(self.default_rotation_statements)
        async with self.write_lock:
            await self._transaction(self.rendered(queries(chosen), values), [password, value])

    async def set_expiration(
        self, username: str, expiration: datetime, statements: list[str]
    ) -> None:
        values = self.values(username, expiration=expiration_text(expiration))
        chosen = statements or [DEFAULT_EXPIRATION]
        async with self.write_lock:
            await self._transaction(self.rendered(queries(chosen), values), [])

    async def delete_user(self, username: str, statements: list[str]) -> None:
        async def drop(conn: psycopg.AsyncConnection[Any], progress: Progress) -> bool:
            if not await self._exists(conn, username):
                return False  # already gone: nothing left to revoke
            progress.started = True
            if statements:
                return True
            await self._default_delete(conn, username)
            return False

        async with self.write_lock:
            try:
                async with asyncio.timeout(OPERATION_TIMEOUT):
                    custom = await self.pool.run(drop, self._lost)
            except (psycopg.Error, TimeoutError, DatabaseError) as err:
                raise self.error(err) from None
            if custom:
                rendered = self.rendered(
                    queries(statements, keep_blocks=True), self.values(username)
                )
                await self._transaction(rendered, [])

    async def _default_delete(self, conn: psycopg.AsyncConnection[Any], username: str) -> None:
        role = sql.Identifier(username)
        # What the role holds privileges on, here and cluster-wide (databases), from
        # pg_shdepend: precise, and cheap next to information_schema. Each object is
        # revoked on its own: a schema-wide REVOKE fails as a whole for an admin that
        # is not a superuser as soon as one table in the schema is not its to grant.
        cur = await conn.execute(_PRIVILEGED_OBJECTS, {"role": username})
        objects = sorted({(kind, identity) for kind, identity in await cur.fetchall()})
        steps: list[sql.Composable] = [
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = {} AND pid <> pg_backend_pid()"
            ).format(sql.Literal(username))
        ]
        for kind, identity in objects:
            keyword = _REVOKE_ON.get(kind)
            if keyword is not None:
                steps.append(
                    sql.SQL("REVOKE ALL PRIVILEGES ON {} {} FROM {}").format(
                        sql.SQL(keyword), sql.SQL(identity), role
                    )
                )
        steps += [
            sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role),
            sql.SQL("DROP OWNED BY {}").format(role),
        ]
        problems: list[str] = []
        for step in steps:  # each on its own (autocommit): remove as much access as possible
            try:
                await conn.execute(step)
            except psycopg.Error as err:
                if self.describe(err)[1].get("unreachable"):
                    raise
                problems.append(self.error(err).message)
        try:
            await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        except psycopg.Error as err:
            if self.describe(err)[1].get("unreachable"):
                raise
            detail = self.error(err).message
            if problems:
                detail += f" (earlier: {'; '.join(problems[-2:])})"
            raise DatabaseError(f"could not drop role {username}: {detail}") from None

    async def close(self) -> None:
        await self.pool.close()
