"""What the tests need to know about each database: config, statements, and checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
import pymysql
import pytest

from .conftest import Maria, Postgres


class PgKind:
    label = "postgres"
    plugin = "postgresql-database-plugin"
    limit = 63

    def __init__(self, db: Postgres) -> None:
        self.db = db

    def config(self, *, port: int | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "plugin_name": self.plugin,
            "connection_url": self.db.url(port),
            "username": "postgres",
            "password": "not-checked-by-trust-auth",
            "allowed_roles": "*",
            "verify_connection": True,
            **extra,
        }

    def creation(self) -> list[str]:
        return [
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
            "VALID UNTIL '{{expiration}}';",
            'GRANT SELECT ON items TO "{{name}}";',
        ]

    def exists(self, user: str) -> bool:
        return self.db.exists(user)

    def can_login(self, user: str, password: str) -> bool:
        return self.db.can_login(user, password)

    def valid_until(self, user: str) -> datetime | None:
        role = self.db.role(user)
        return role["valid_until"] if role else None

    def check_grants(self, user: str, password: str) -> None:
        """The login runs what the role grants (SELECT on items) and nothing more."""
        with self.db.login(user, password) as conn:
            assert conn.execute("SELECT name FROM items ORDER BY id").fetchall() == [
                ("one",),
                ("two",),
            ]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM secret_stuff")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO items VALUES (3, 'three')")

    def create_static_user(self, user: str, password: str) -> None:
        self.db.create_user(user, password)


class MariaKind:
    label = "mariadb"
    plugin = "mysql-database-plugin"
    limit = 32

    def __init__(self, db: Maria) -> None:
        self.db = db

    def config(self, *, port: int | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "plugin_name": self.plugin,
            "connection_url": self.db.url(port),
            "username": "root",
            "password": "",
            "allowed_roles": "*",
            "verify_connection": True,
            **extra,
        }

    def creation(self) -> list[str]:
        return [
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
            f"GRANT SELECT ON `{self.db.dbname}`.items TO '{{{{name}}}}'@'%';",
        ]

    def exists(self, user: str) -> bool:
        return self.db.exists(user)

    def can_login(self, user: str, password: str) -> bool:
        return self.db.can_login(user, password)

    def valid_until(self, user: str) -> datetime | None:
        return None  # MySQL accounts have no expiry; the lease alone bounds them

    def check_grants(self, user: str, password: str) -> None:
        conn = self.db.login(user, password)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT name FROM items ORDER BY id")
                assert cur.fetchall() == (("one",), ("two",))
                with pytest.raises(pymysql.err.OperationalError, match="denied"):
                    cur.execute("SELECT * FROM secret_stuff")
                with pytest.raises(pymysql.err.OperationalError, match="denied"):
                    cur.execute("INSERT INTO items VALUES (3, 'three')")
        finally:
            conn.close()

    def create_static_user(self, user: str, password: str) -> None:
        self.db.create_user(user, password)


Kind = PgKind | MariaKind
