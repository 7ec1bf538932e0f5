"""The database secrets engine: its paths, the `creds` secret type, and its background work.

The backend owns one plugin instance (connection pool) per configured
connection, opened on first use and closed in `cleanup()`, a bounded thread
pool for blocking drivers (PyMySQL), and two tasks started by `initialize()`:
the static-role rotation (on the backend's clock) and the WAL pass that
removes users left by an issue the server did not finish.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .connections import ConfigMissing, Connections
from .path_config import config_paths
from .path_creds import CredsIssuer
from .path_roles import role_paths
from .path_static import StaticRoles
from .secret import Creds
from .store import Store
from .wal import INTERVAL, MIN_AGE, Wal, WalEntry

log = logging.getLogger("strongroom.database")

HELP = """\
The database backend generates database credentials dynamically based on configured roles.

Configure a connection (config/<name>) with a plugin (postgresql-database-plugin,
mysql-database-plugin, mysql-aurora-database-plugin, mysql-rds-database-plugin,
mysql-legacy-database-plugin) and its connection_url, write roles (roles/<name>)
with the statements that create a user, then read creds/<name> for a new user
under a lease: it is dropped when the lease is revoked or expires. Static roles
(static-roles/<name>) rotate the password of an existing user; read it from
static-creds/<name>.
"""


class DatabaseBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.store = Store(ctx.storage)
        label = "db-" + ctx.mount.path.strip("/").replace("/", "-")
        self.connections = Connections(self.store, name=label)
        self.wal = Wal(ctx.storage, self._now)
        self.creds = Creds(
            self.store, self.connections, ctx.clock, ctx.default_lease_ttl, ctx.max_lease_ttl
        )
        self.issuer = CredsIssuer(
            self.store,
            self.connections,
            self.wal,
            ctx.clock,
            ctx.default_lease_ttl,
            ctx.max_lease_ttl,
        )
        self.static = StaticRoles(self.store, self.connections, ctx.clock)
        super().__init__(
            [
                *config_paths(self.store, self.connections),
                *role_paths(self.store),
                *self.issuer.paths(),
                *self.static.paths(),
            ],
            help=HELP,
            secret_types=[self.creds.secret_type()],
        )
        self._label = label
        self._tasks: set[asyncio.Task[Any]] = set()

    def _now(self) -> float:
        return self.ctx.clock().timestamp()

    async def initialize(self) -> None:
        self._start(self.static.run(), "static-rotation")
        self._start(self._rollback_loop(), "wal-rollback")

    def _start(self, coro: Any, what: str) -> None:
        task = asyncio.create_task(coro, name=f"{self._label}-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cleanup(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.connections.close_all()

    async def rollback(self, min_age: float = MIN_AGE) -> int:
        """Revoke the users of WAL entries at least `min_age` old (unfinished issues)."""

        async def undo(entry: WalEntry) -> None:
            role = await self.store.role(entry.role)
            statements = role.revocation_statements if role else entry.revocation_statements
            try:
                plugin = await self.connections.get(entry.db_name)
            except ConfigMissing:
                log.warning(
                    "database: connection %s is gone; forgetting user %s",
                    entry.db_name,
                    entry.username,
                )
                return
            await plugin.delete_user(entry.username, list(statements))

        return await self.wal.rollback(undo, min_age)

    async def _rollback_loop(self) -> None:
        while True:
            try:
                await self.rollback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("database: WAL rollback pass failed")
            await asyncio.sleep(INTERVAL)
