"""The database secrets engine: dynamic and static database users (PostgreSQL, MySQL/MariaDB)."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import DatabaseBackend

__all__ = ["DatabaseBackend", "factory"]


def factory(ctx: BackendContext) -> DatabaseBackend:
    return DatabaseBackend(ctx)
