"""The AWS secrets engine: its paths, the secret type it issues, and its background work.

The backend owns the mount's boto3 thread pool (shut down in `cleanup()`) and
two background tasks started by `initialize()`: the WAL rollback (first pass at
start-up, then every minute) and the static-role key rotation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .client import AwsClients
from .iam_user import delete_user
from .path_config import config_paths
from .path_creds import CredsIssuer
from .path_roles import role_paths
from .path_static import StaticRoles
from .secret import AccessKeys
from .store import Store
from .wal import INTERVAL, MIN_AGE, Wal

log = logging.getLogger("strongroom.aws")

HELP = """\
The AWS backend dynamically generates AWS access keys for a set of IAM policies.

After configuring the root credentials (config/root), write roles (roles/<name>)
that say which kind of credential to issue and with which policies, then read
creds/<name> (or sts/<name>) for a fresh set of keys under a lease. IAM users
are deleted when their lease is revoked or expires; STS credentials expire on
their own. Static roles (static-roles/<name>) rotate the key of an existing IAM
user; read it from static-creds/<name>.
"""


class AwsBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.store = Store(ctx.storage)
        name = "aws-" + ctx.mount.path.strip("/").replace("/", "-")
        self.clients = AwsClients(self.store, name=name)
        self.wal = Wal(ctx.storage, self._now)
        self.access_keys = AccessKeys(self.store, self.clients, self._now, ctx.default_lease_ttl)
        self.static = StaticRoles(self.store, self.clients, ctx.clock)
        self.creds = CredsIssuer(self.store, self.clients, self.wal, ctx.clock, ctx.max_lease_ttl)
        super().__init__(
            [
                *config_paths(self.store, self.clients),
                *role_paths(self.store),
                *self.creds.paths(),
                *self.static.paths(),
            ],
            help=HELP,
            secret_types=[self.access_keys.secret_type()],
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    def _now(self) -> float:
        return self.ctx.clock().timestamp()

    async def initialize(self) -> None:
        self._start(self._rollback_loop(), "wal-rollback")
        self._start(self.static.run(), "static-rotation")

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
        """Delete the IAM users of WAL entries at least `min_age` old (unfinished issues)."""

        async def undo(username: str) -> None:
            iam = await self.clients.iam()
            await delete_user(iam, username, accept_missing=True)

        return await self.wal.rollback(undo, min_age)

    async def _rollback_loop(self) -> None:
        while True:
            try:
                await self.rollback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("aws: WAL rollback pass failed")
            await asyncio.sleep(INTERVAL)
