"""The approle auth method: machines log in with a role ID and a secret ID."""

from __future__ import annotations

import asyncio

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .path_login import login_paths
from .path_role import role_paths
from .path_secret_id import secret_id_paths
from .store import AppRoleStore

HELP = """\
Any registered Role can authenticate itself with OpenBao. The credentials
depend on the constraints that are set on the Role. One common required
credential is the 'role_id', a unique identifier of the Role; the other is a
'secret_id' generated against the Role ("role/<name>/secret-id"). Secret IDs
can be limited by use count, TTL and CIDR blocks, and are stored only as
salted hashes.
"""


class AppRoleBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.store = AppRoleStore(ctx.storage)
        lock = asyncio.Lock()  # serialises changes to roles and secret IDs (use counts)
        super().__init__(
            [
                *role_paths(self.store, lock),
                *secret_id_paths(self.store, lock, ctx.clock),
                *login_paths(ctx, self.store, lock, ctx.clock),
            ],
            help=HELP,
            unauthenticated=["login"],
        )

    async def initialize(self) -> None:
        await self.store.setup()
