"""The Alibaba Cloud secrets engine: its paths, the secret type it issues, its background work.

The backend owns the mount's SDK thread pool (shut down in `cleanup()`) and
one background task started by `initialize()`: the WAL rollback (a first pass
at start-up, then every minute).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from . import ram_user
from .client import AliCloudClients, Credentials
from .path_config import config_paths
from .path_creds import CredsIssuer
from .path_roles import role_paths
from .secret import AliCloudSecret
from .settings import Settings, SettingsError
from .store import Store
from .wal import INTERVAL, MIN_AGE, Wal, WalEntry

log = logging.getLogger("strongroom.alicloud")

HELP = """\
The AliCloud backend dynamically generates Alibaba Cloud access keys.

After configuring the root access key (config), write roles (role/<name>) with
inline_policies and/or remote_policies (a new RAM user per credential) or with
a role_arn (STS AssumeRole), then read creds/<name> for keys under a lease.
RAM users are deleted when their lease is revoked or expires; STS credentials
expire on their own.
"""


class AliCloudBackend(Backend):
    def __init__(self, ctx: BackendContext, settings: Settings | None = None) -> None:
        self.ctx = ctx
        settings_error = ""
        if settings is None:
            try:
                settings = Settings.from_env()
            except SettingsError as err:
                # Not fatal: a bad variable must not stop the server from unsealing.
                log.error("alicloud: %s; mount %s cannot reach the cloud", err, ctx.mount.path)
                settings_error, settings = str(err), Settings()
        self.settings = settings
        self.store = Store(ctx.storage)
        name = "alicloud-" + ctx.mount.path.strip("/").replace("/", "-")
        self.clients = AliCloudClients(self.settings, name=name, settings_error=settings_error)
        self.wal = Wal(ctx.storage, self._now)
        self.creds = CredsIssuer(self.store, self.clients, self.wal, ctx.clock)
        self.secret = AliCloudSecret(self.store, self.clients)
        super().__init__(
            [
                *config_paths(self.store, self.clients),
                *role_paths(self.store, ctx.max_lease_ttl),
                *self.creds.paths(),
            ],
            help=HELP,
            secret_types=[self.secret.secret_type()],
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
        """Remove the RAM users of WAL entries at least `min_age` old (unfinished issues)."""

        async def undo(entry: WalEntry) -> None:
            config = await self.store.config()
            if config is None:
                raise RuntimeError("no credentials are configured")
            ram = await self.clients.ram(Credentials(config.access_key, config.secret_key))
            await ram_user.sweep(ram, entry.username, entry.inline_policies)

        return await self.wal.rollback(undo, min_age)

    async def _rollback_loop(self) -> None:
        while True:
            try:
                await self.rollback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alicloud: WAL rollback pass failed")
            await asyncio.sleep(INTERVAL)
