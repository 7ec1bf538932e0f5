"""A scratch PostgreSQL database per test run, on the local server (never stopped here)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

ADMIN_URL = os.environ.get(
    "STRONGROOM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def available() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def scratch_database(prefix: str = "strongroom_ha") -> Iterator[str]:
    """CREATE DATABASE <prefix>_<random>; yield its URL; drop it (forcibly) afterwards."""
    if not available():
        pytest.skip(f"no PostgreSQL at {ADMIN_URL}")
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
