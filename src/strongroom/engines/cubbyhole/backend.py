"""Cubbyhole: KV-v1-like storage private to each token, destroyed with it.

Every entry is stored under `<cubbyhole_id>/<path>`, where `cubbyhole_id` is a
random string the token store gives each token (never the token itself, so
storage keys reveal nothing usable).
"""

from __future__ import annotations

from strongroom.core.context import BackendContext, clear_prefix
from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.kv.backend import KVBackend
from strongroom.engines.kv.path_kv1 import decode_entry, encode_entry, list_prefix
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Path

NO_CUBBYHOLE = 'cubbyhole operations are only supported by "service" type tokens'

HELP = """\
The cubbyhole backend reads and writes arbitrary secrets to storage scoped to
the calling token. No other token, not even a root token, can read them, and
they are destroyed when the token is revoked.
"""


def _namespace(req: Request) -> str:
    """The calling token's storage folder ("<cubbyhole_id>/")."""
    cubbyhole_id = req.token.cubbyhole_id if req.token is not None else ""
    # Without an id every such token would share one folder: refuse instead.
    if not cubbyhole_id:
        raise BadRequest(NO_CUBBYHOLE)
    return cubbyhole_id + "/"


class CubbyholeBackend(KVBackend):
    def __init__(self, ctx: BackendContext) -> None:
        self._storage = ctx.storage
        super().__init__(self._paths(), help=HELP)

    async def destroy(self, cubbyhole_id: str) -> None:
        """Delete everything one token stored (called when the token is revoked)."""
        if cubbyhole_id:
            await clear_prefix(self._storage, cubbyhole_id + "/")

    def _paths(self) -> list[Path]:
        storage = self._storage

        async def exists(req: Request, fd: FieldData) -> bool:
            return await storage.get(_namespace(req) + req.rel_path) is not None

        async def read(req: Request, fd: FieldData) -> Response | None:
            raw = await storage.get(_namespace(req) + req.rel_path)
            if raw is None:
                raise NotFound()
            return Response(data=decode_entry(raw))  # no refresh hint: lease_duration 0

        async def write(req: Request, fd: FieldData) -> Response | None:
            folder = _namespace(req)
            if not req.rel_path:
                raise BadRequest("missing path")
            await storage.put(folder + req.rel_path, encode_entry(req.data))
            return None

        async def delete(req: Request, fd: FieldData) -> Response | None:
            folder = _namespace(req)
            if req.rel_path:
                await storage.delete(folder + req.rel_path)
            return None

        async def list_keys(req: Request, fd: FieldData) -> Response | None:
            keys = await storage.list(_namespace(req) + list_prefix(req.rel_path))
            if not keys:
                raise NotFound()
            return Response(data={"keys": keys})

        return [
            Path(
                pattern=r".*",
                operations={
                    Operation.READ: read,
                    Operation.UPDATE: write,
                    Operation.DELETE: delete,
                    Operation.LIST: list_keys,
                },
                existence_check=exists,
                arbitrary_data=True,
                synopsis="Pass-through secret storage to a token-specific cubbyhole.",
            )
        ]
