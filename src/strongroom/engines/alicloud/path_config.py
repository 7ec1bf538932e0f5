"""config: the root AccessKey pair (§4.1). The secret key is never returned."""

from __future__ import annotations

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .client import AliCloudClients
from .store import Config, Store

CONFIG_FIELDS: dict[str, Field] = {
    "access_key": Field(FieldType.STRING, "Access key with permission to manage RAM and call STS."),
    "secret_key": Field(FieldType.STRING, "Secret key of that access key (never returned)."),
}


def config_paths(store: Store, clients: AliCloudClients) -> list[Path]:
    lock = store.lock("config")

    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.config() is not None

    async def read(req: Request, fd: FieldData) -> Response:
        config = await store.config()
        if config is None:
            raise NotFound()
        return Response(data={"access_key": config.access_key})

    async def write(req: Request, fd: FieldData) -> None:
        access_key, secret_key = fd.get("access_key"), fd.get("secret_key")
        if not access_key:
            raise BadRequest("access_key is required")
        if not secret_key:
            raise BadRequest("secret_key is required")
        async with lock:  # the whole entry is replaced; nothing is checked against the cloud
            await store.put_config(Config(access_key, secret_key))
            clients.reset()

    async def delete(req: Request, fd: FieldData) -> None:
        async with lock:
            await store.delete_config()
            clients.reset()

    return [
        Path(
            pattern="config",
            fields=CONFIG_FIELDS,
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Configure the root access key used to manage RAM users and assume roles.",
            description=(
                "The AccessKey pair of a RAM user (or the account) allowed to manage RAM "
                "users, policies and access keys and to call STS AssumeRole. The secret key "
                "is never returned. The RAM and STS endpoints are server settings "
                "(STRONGROOM_ALICLOUD_* environment variables), not fields of this path."
            ),
        )
    ]
