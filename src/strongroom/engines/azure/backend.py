"""The Azure secrets engine: its paths, the secret types it issues, and its background work.

The backend owns the mount's SDK thread pool (shut down in `cleanup()`) and two
background tasks started by `initialize()`: the journal rollback (first pass
at start-up, then every minute) and the promotion of a rotated root secret.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .builder import undo_app_create, undo_role_assign
from .client import AzureClients
from .path_config import RootRotation, config_paths
from .path_creds import CredsIssuer
from .path_roles import Roles
from .secret import Secrets
from .store import Store
from .wal import APP_CREATE, INTERVAL, MIN_AGE, ROLE_ASSIGN, ROTATE_ROOT, Wal, WalEntry

log = logging.getLogger("strongroom.azure")

HELP = """\
The Azure backend dynamically generates Azure service principals.

After configuring the root credentials (config), write roles (roles/<name>) that
list Azure roles to assign (azure_roles), Entra ID groups to join (azure_groups),
or an existing application (application_object_id); then read creds/<name> for a
client ID and secret under a lease. When the lease is revoked or expires, the
service principal, its application and its grants are deleted (for an existing
application: only the password that was added).
"""


class AzureBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.store = Store(ctx.storage)
        name = "azure-" + ctx.mount.path.strip("/").replace("/", "-")
        self.clients = AzureClients(self.store, name=name)
        self.wal = Wal(ctx.storage, self._now)
        self.rotation = RootRotation(self.store, self.clients, self.wal, ctx.clock)
        self.roles = Roles(self.store, self.clients, self.wal, ctx.clock)
        self.creds = CredsIssuer(self.store, self.clients, self.wal, ctx.clock)
        self.secrets = Secrets(self.store, self.clients, self._now, ctx.default_lease_ttl)
        super().__init__(
            [
                *config_paths(self.store, self.clients, self.rotation),
                *self.roles.paths(),
                *self.creds.paths(),
            ],
            help=HELP,
            secret_types=self.secrets.secret_types(),
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    def _now(self) -> float:
        return self.ctx.clock().timestamp()

    async def initialize(self) -> None:
        self._start(self._rollback_loop(), "journal-rollback")
        self._start(self.rotation.run(), "root-rotation")

    def _start(self, coro: Any, what: str) -> None:
        task = asyncio.create_task(coro, name=f"{self.clients.executor._thread_name_prefix}-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cleanup(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clients.shutdown()

    async def rollback(self, min_age: float = MIN_AGE) -> int:
        """Undo journal records at least `min_age` old (requests that never finished)."""

        async def app_create(entry: WalEntry) -> None:
            await undo_app_create(await self.clients.get(), entry.data)

        async def role_assign(entry: WalEntry) -> None:
            await undo_role_assign(await self.clients.get(), entry.data)

        async def rotate_root(entry: WalEntry) -> None:
            await self.rotation.undo(entry.data)

        return await self.wal.rollback(
            {APP_CREATE: app_create, ROLE_ASSIGN: role_assign, ROTATE_ROOT: rotate_root},
            min_age,
        )

    async def _rollback_loop(self) -> None:
        while True:
            try:
                if await self.store.config() is not None:
                    await self.rollback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("azure: journal rollback pass failed")
            await asyncio.sleep(INTERVAL)
