"""KV version 1: one unversioned JSON object per key, stored verbatim.

Cubbyhole reuses the entry helpers here; it differs only in namespacing.
"""

from __future__ import annotations

from typing import Any

from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.durations import DurationError, parse_duration
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Path
from strongroom.jsonutil import dumps_compact, loads

MISSING_DATA = "missing data fields"


def encode_entry(data: dict[str, Any]) -> bytes:
    if not data:
        raise BadRequest(MISSING_DATA)
    # dumps_compact keeps number literals exactly as the client wrote them.
    return dumps_compact(data)


def decode_entry(raw: bytes) -> dict[str, Any]:
    return loads(raw)


def list_prefix(rel_path: str) -> str:
    """The folder a LIST of `rel_path` names ("a" and "a/" both mean "a/")."""
    return rel_path if rel_path == "" or rel_path.endswith("/") else rel_path + "/"


def refresh_hint(data: dict[str, Any], ctx: BackendContext) -> int:
    """The read's lease_duration: the entry's `ttl` (or legacy `lease`), else the default.

    Like Vault, an unparsable or zero value falls back to the mount's default TTL
    and a value above the mount's max TTL is capped.
    """
    raw = data["ttl"] if "ttl" in data else data.get("lease")
    if raw is None:
        return ctx.default_lease_ttl()
    try:
        seconds = parse_duration(raw)
    except DurationError:
        seconds = 0
    if seconds <= 0:
        return ctx.default_lease_ttl()
    return min(seconds, ctx.max_lease_ttl())


def kv1_paths(ctx: BackendContext) -> list[Path]:
    storage = ctx.storage

    async def exists(req: Request, fd: FieldData) -> bool:
        return await storage.get(req.rel_path) is not None

    async def read(req: Request, fd: FieldData) -> Response | None:
        raw = await storage.get(req.rel_path)
        if raw is None:
            raise NotFound()
        data = decode_entry(raw)
        return Response(data=data, lease_duration=refresh_hint(data, ctx))

    async def write(req: Request, fd: FieldData) -> Response | None:
        if not req.rel_path:
            raise BadRequest("missing path")
        await storage.put(req.rel_path, encode_entry(req.data))
        return None

    async def delete(req: Request, fd: FieldData) -> Response | None:
        await storage.delete(req.rel_path)
        return None

    async def list_keys(req: Request, fd: FieldData) -> Response | None:
        keys = await storage.list(list_prefix(req.rel_path))
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    return [
        Path(
            # The whole path inside the mount is the key; no route parameters, so
            # the request data is exactly what the client sent.
            pattern=r".*",
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
                Operation.LIST: list_keys,
            },
            existence_check=exists,
            arbitrary_data=True,
            synopsis="Pass-through secret storage to the mount's storage.",
            description=(
                "Stores any JSON object at any path; a `ttl` key sets the refresh "
                "interval reported when the entry is read."
            ),
        )
    ]
