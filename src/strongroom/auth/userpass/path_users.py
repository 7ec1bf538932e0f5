"""users/<username> CRUD, users/<username>/password and users/<username>/policies."""

from __future__ import annotations

import asyncio

from strongroom.auth.token_fields import token_fields
from strongroom.core.errors import BadRequest, NotFound, VaultError, multierror
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import password as kdf
from .store import UserEntry, UserStore, normalize

# Vault's GenericNameRegex (word characters, inner `.`/`-`), ASCII as in Go; an
# alternation rather than a nested group keeps the OpenAPI path template simple.
NAME = r"[A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]"
NO_PASSWORD = "must provide either password or password_hash"
NO_SUCH_USER = "username does not exist"

_USERNAME = Field(FieldType.STRING, "Username of the user (stored lowercase).")
_PASSWORD = Field(FieldType.STRING, "Password of the user; stored only as an Argon2id hash.")


def _no_such_user() -> VaultError:
    return VaultError(multierror(NO_SUCH_USER), status=500)


def users_paths(store: UserStore, lock: asyncio.Lock) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.get(fd.get("username")) is not None

    async def list_users(req: Request, fd: FieldData) -> Response | None:
        keys = await store.list()
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    async def read_user(req: Request, fd: FieldData) -> Response | None:
        entry = await store.get(fd.get("username"))
        if entry is None:
            raise NotFound()
        return Response(data=dict(sorted(entry.token.to_api().items())))

    async def write_user(req: Request, fd: FieldData) -> Response | None:
        username = normalize(fd.get("username"))
        secret = fd.get("password") or ""
        # Hash before taking the lock: the KDF is the slow part.
        hashed = await kdf.hash_async(secret) if secret else ""
        async with lock:
            entry = await store.get(username)
            if entry is None:
                if not hashed:
                    raise BadRequest(NO_PASSWORD)
                entry = UserEntry(username=username)
            entry.token.update(fd)
            if hashed:
                entry.password_hash = hashed
            await store.put(entry)
        return None

    async def delete_user(req: Request, fd: FieldData) -> Response | None:
        async with lock:
            await store.delete(fd.get("username"))
        return None

    async def write_password(req: Request, fd: FieldData) -> Response | None:
        secret = fd.get("password") or ""
        if not secret:
            raise BadRequest(NO_PASSWORD)
        if await store.get(fd.get("username")) is None:
            raise _no_such_user()
        hashed = await kdf.hash_async(secret)
        async with lock:
            entry = await store.get(fd.get("username"))
            if entry is None:
                raise _no_such_user()
            entry.password_hash = hashed
            await store.put(entry)
        return None

    async def write_policies(req: Request, fd: FieldData) -> Response | None:
        async with lock:
            entry = await store.get(fd.get("username"))
            if entry is None:
                raise _no_such_user()
            if fd.has("token_policies"):
                entry.token.set_policies(fd.get("token_policies"), legacy=False)
            elif fd.has("policies"):
                entry.token.set_policies(fd.get("policies"), legacy=True)
            await store.put(entry)
        return None

    user_fields = {"username": _USERNAME, "password": _PASSWORD, **token_fields()}
    return [
        Path(
            pattern=r"users/?",
            operations={Operation.LIST: list_users},
            synopsis="List the users.",
        ),
        Path(
            pattern=rf"users/(?P<username>{NAME})",
            fields=user_fields,
            operations={
                Operation.READ: read_user,
                Operation.UPDATE: write_user,
                Operation.DELETE: delete_user,
            },
            existence_check=exists,
            synopsis="Manage a user: password and the settings of the tokens it gets.",
            description=(
                "Creating a user needs a password. Updates change only the fields given. "
                "Reads never return the password."
            ),
        ),
        Path(
            pattern=rf"users/(?P<username>{NAME})/password",
            fields={"username": _USERNAME, "password": _PASSWORD},
            operations={Operation.UPDATE: write_password},
            synopsis="Reset a user's password.",
        ),
        Path(
            pattern=rf"users/(?P<username>{NAME})/policies",
            fields={
                "username": _USERNAME,
                "token_policies": token_fields()["token_policies"],
                "policies": token_fields()["policies"],
            },
            operations={Operation.UPDATE: write_policies},
            synopsis="Replace the policies of a user's tokens.",
        ),
    ]
