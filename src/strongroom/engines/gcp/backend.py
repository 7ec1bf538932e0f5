"""The gcp secrets engine: its paths, the secret types it issues, and its background work.

The backend owns the mount's thread pool (shut down in `cleanup()`) and one
background task started by `initialize()`: the cleanup-journal rollback
(first pass at start-up, then every minute).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .client import GcpClients
from .ops import Ops
from .path_config import config_paths
from .path_rolesets import RoleSets
from .path_secrets import Secrets
from .path_static import StaticAccounts
from .secret import Keys
from .settings import Settings
from .store import Store
from .wal import INTERVAL, MIN_AGE, Wal

log = logging.getLogger("strongroom.gcp")

HELP = """\
The GCP backend dynamically generates Google Cloud service account keys and OAuth2
access tokens.

After configuring the root credentials (config), write role sets (roleset/<name>):
each owns a service account that the engine creates and binds to the roles listed
in its bindings. Read roleset/<name>/token for an access token or
roleset/<name>/key for a leased service account key (deleted when the lease is
revoked or expires). Static accounts (static-account/<name>) issue secrets of an
existing service account; impersonated accounts (impersonated-account/<name>)
issue access tokens through impersonation.
"""


class GcpBackend(Backend):
    def __init__(self, ctx: BackendContext, settings: Settings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or Settings.from_env()
        self.store = Store(ctx.storage)
        name = "gcp-" + ctx.mount.path.strip("/").replace("/", "-")
        self.clients = GcpClients(self.store, self.settings, name=name)
        self.wal = Wal(ctx.storage, self._now)
        self.ops = Ops(self.store, self.clients, self.wal, self.settings, self._now)
        self.rolesets = RoleSets(self.ops)
        self.static = StaticAccounts(self.ops)
        self.secrets = Secrets(self.ops)
        self.keys = Keys(self.ops)
        super().__init__(
            [
                *config_paths(self.ops),
                *self.rolesets.paths(),
                *self.static.paths(),
                *self.secrets.paths(),
            ],
            help=HELP,
            secret_types=self.keys.secret_types(),
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    def _now(self) -> float:
        return self.ctx.clock().timestamp()

    async def initialize(self) -> None:
        task = asyncio.create_task(
            self._rollback_loop(), name=f"{self.clients.executor._thread_name_prefix}-wal"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cleanup(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clients.shutdown()

    async def rollback(self, min_age: float = MIN_AGE) -> int:
        """Undo the journal entries at least `min_age` old (changes that never finished)."""
        return await self.wal.rollback(self.ops.undo, min_age)

    async def _rollback_loop(self) -> None:
        while True:
            try:
                if await self.wal.entries():
                    await self.rollback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("gcp: journal rollback pass failed")
            await asyncio.sleep(INTERVAL)
