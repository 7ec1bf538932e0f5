"""The database plugins strongroom has built in, by Vault's plugin names.

Drivers are imported when a connection first uses them, so a server without
a database mount never loads psycopg or PyMySQL.
"""

from __future__ import annotations

import importlib

from .base import DatabasePlugin

_PLUGINS: dict[str, tuple[str, str]] = {
    "postgresql-database-plugin": ("postgresql", "PostgreSQL"),
    "mysql-database-plugin": ("mysql", "MySQL"),
    "mysql-aurora-database-plugin": ("mysql", "MySQLLegacy"),
    "mysql-rds-database-plugin": ("mysql", "MySQLLegacy"),
    "mysql-legacy-database-plugin": ("mysql", "MySQLLegacy"),
}
# Extra plugins by name (tests register fakes here).
EXTRA: dict[str, type[DatabasePlugin]] = {}

PLUGIN_NAMES = tuple(_PLUGINS)


def plugin_class(name: str) -> type[DatabasePlugin] | None:
    if name in EXTRA:
        return EXTRA[name]
    found = _PLUGINS.get(name)
    if found is None:
        return None
    module = importlib.import_module(f"{__name__}.{found[0]}")
    cls: type[DatabasePlugin] = getattr(module, found[1])
    return cls


__all__ = ["EXTRA", "PLUGIN_NAMES", "DatabasePlugin", "plugin_class"]
