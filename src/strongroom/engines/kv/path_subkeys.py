"""`<mount>/subkeys/<path>`: the shape of a version's data without its values."""

from __future__ import annotations

from typing import Any

from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .common import PATH_FIELD, version_response
from .store import KVStore


def subkeys(data: dict[str, Any], depth: int, level: int = 1) -> dict[str, Any]:
    """`data` with every leaf replaced by None; maps below `depth` (0 = no limit) too."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict) and (depth == 0 or level < depth):
            out[name] = subkeys(value, depth, level + 1)
        else:
            out[name] = None
    return out


def subkeys_paths(store: KVStore) -> list[Path]:
    async def read(req: Request, fd: FieldData) -> Response | None:
        depth: int = fd.get("depth")
        if depth < 0:
            raise BadRequest("depth must be a non-negative integer")
        key: str = fd.get("path")
        meta = await store.get(key)
        if meta is None:
            raise NotFound()
        number = fd.get("version") or meta.current_version
        vm = meta.versions.get(number)
        if vm is None:
            raise NotFound()
        metadata = version_response(meta, number, vm)
        if vm.destroyed or vm.is_deleted(store.now()):
            return Response(data={"metadata": metadata, "subkeys": None}, status=404)
        data = await store.version_data(key, meta, number)
        if data is None:
            raise VaultError("could not find version data")
        return Response(data={"metadata": metadata, "subkeys": subkeys(data, depth)})

    return [
        Path(
            pattern=r"subkeys/(?P<path>.*)",
            fields={
                "path": PATH_FIELD,
                "version": Field(FieldType.INT, default=0, description="The version to read."),
                "depth": Field(
                    FieldType.INT, default=0, description="How deep to descend (0 = no limit)."
                ),
            },
            operations={Operation.READ: read},
            synopsis="Read the structure of a secret's data with every value replaced by null.",
        )
    ]
