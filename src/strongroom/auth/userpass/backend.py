"""The userpass auth method: users with passwords log in for a token."""

from __future__ import annotations

import asyncio

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from . import password as kdf
from .path_login import login_paths
from .path_users import users_paths
from .store import UserStore

HELP = """\
The "userpass" credential provider allows authentication using a combination of
a username and password. No additional factors are supported.

The username/password combination is configured using the "users/" endpoints
by a user with root access. Authentication is then done by supplying the two
fields for "login".
"""


class UserpassBackend(Backend):
    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.store = UserStore(ctx.storage)
        lock = asyncio.Lock()  # serialises read-modify-write of user records
        super().__init__(
            [*users_paths(self.store, lock), *login_paths(ctx, self.store, lock)],
            help=HELP,
            unauthenticated=["login/*"],
        )

    async def initialize(self) -> None:
        # Make the dummy hash now, so the first login of an unknown user
        # costs no more than any other.
        await asyncio.to_thread(kdf.dummy_hash)
