"""login/<username>: check the password, hand the core a Login for the token.

Every failure (unknown user, wrong password, address outside the user's
token_bound_cidrs) reads `invalid username or password` and costs one Argon2
verification, so neither the text nor the time tells whether a user exists.
"""

from __future__ import annotations

import asyncio
import logging

from strongroom.auth.cidrs import addr_allowed
from strongroom.auth.token_fields import login_display_name
from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import password as kdf
from .path_users import NAME
from .store import UserStore

log = logging.getLogger(__name__)

INVALID = "invalid username or password"
MISSING_PASSWORD = "missing password"


def login_paths(ctx: BackendContext, store: UserStore, lock: asyncio.Lock) -> list[Path]:
    async def login(req: Request, fd: FieldData) -> Response | None:
        secret = fd.get("password") or ""
        if not secret:
            # Vault answers this with a 500; clients only look at the text.
            raise VaultError(MISSING_PASSWORD, status=500)
        entry = await store.get(fd.get("username"))
        ok = await kdf.verify_async(entry.password_hash if entry else None, secret)
        if entry is None or not ok:
            raise BadRequest(INVALID)
        if not addr_allowed(req.remote_addr, entry.token.token_bound_cidrs):
            raise BadRequest(INVALID)
        if kdf.needs_rehash(entry.password_hash):
            await _rehash(entry.username, secret)
        return Response(
            login=entry.token.login(
                display_name=login_display_name(ctx.mount.path, entry.username),
                metadata={"username": entry.username},
            )
        )

    async def _rehash(username: str, secret: str) -> None:
        """Upgrade a hash made with older parameters; a failure only costs the upgrade."""
        try:
            hashed = await kdf.hash_async(secret)
            async with lock:
                current = await store.get(username)
                if current is not None and kdf.needs_rehash(current.password_hash):
                    current.password_hash = hashed
                    await store.put(current)
        except Exception:
            log.warning("userpass: could not rehash the password of a user", exc_info=True)

    return [
        Path(
            pattern=rf"login/(?P<username>{NAME})",
            fields={
                "username": Field(FieldType.STRING, "Username of the user."),
                "password": Field(FieldType.STRING, "Password of the user."),
            },
            operations={Operation.UPDATE: login},
            synopsis="Log in with a username and password.",
        )
    ]
