"""`<mount>/data/<path>`: read, write, patch and soft-delete the versions of a key."""

from __future__ import annotations

from typing import Any

from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .common import PATH_FIELD, check_cas, empty_not_found, key_for_write, version_response
from .store import KeyMetadata, KVStore


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new value and leaves `target` untouched."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def data_paths(store: KVStore) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.get(fd.get("path")) is not None

    async def read(req: Request, fd: FieldData) -> Response | None:
        key: str = fd.get("path")
        meta = await store.get(key)
        if meta is None:
            raise NotFound()
        number = fd.get("version") or meta.current_version
        vm = meta.versions.get(number)
        if vm is None:
            raise NotFound()
        metadata = version_response(meta, number, vm)
        # Deleted or destroyed versions still show their metadata, with a 404.
        if vm.destroyed or (vm.deleted and vm.is_deleted(store.now())):
            return Response(data={"data": None, "metadata": metadata}, status=404)
        data = await store.version_data(key, meta, number)
        if data is None:
            raise VaultError("could not find version data")
        return Response(data={"data": data, "metadata": metadata})

    async def write(req: Request, fd: FieldData) -> Response | None:
        key = key_for_write(fd)
        if not fd.has("data"):
            raise BadRequest("no data provided")
        data: dict[str, Any] = fd.get("data")
        config = await store.config()
        async with store.lock(key):
            meta = await store.get(key)
            if meta is None:
                meta = KeyMetadata()
            check_cas(
                fd.get("options"), config.cas_required or meta.cas_required, meta.current_version
            )
            ops = store.add_version(key, meta, data, config)
            await store.save(key, meta, ops)
        number = meta.current_version
        return Response(data=version_response(meta, number, meta.versions[number]))

    async def patch(req: Request, fd: FieldData) -> Response | None:
        key = key_for_write(fd)
        if not fd.has("data"):
            raise BadRequest("no data provided")
        changes: dict[str, Any] = fd.get("data")
        config = await store.config()
        async with store.lock(key):
            meta = await store.get(key)
            if meta is None:
                return empty_not_found()
            check_cas(
                fd.get("options"), config.cas_required or meta.cas_required, meta.current_version
            )
            vm = meta.versions.get(meta.current_version)
            if vm is None or vm.destroyed or vm.is_deleted(store.now()):
                return empty_not_found()
            if meta.current_data is None:
                return empty_not_found()
            merged = merge_patch(meta.current_data, changes)
            ops = store.add_version(key, meta, merged, config)
            await store.save(key, meta, ops)
        number = meta.current_version
        return Response(data=version_response(meta, number, meta.versions[number]))

    async def delete(req: Request, fd: FieldData) -> Response | None:
        key: str = fd.get("path")
        async with store.lock(key):
            meta = await store.get(key)
            if meta is None:
                return None
            vm = meta.versions.get(meta.current_version)
            now = store.now()
            # Already gone: nothing to do (a future deletion time is brought forward).
            if vm is None or vm.destroyed or vm.is_deleted(now):
                return None
            vm.deleted = now
            await store.save(key, meta)
        return None

    return [
        Path(
            # `.*`, not `.+`: LIST on `data/` must reach this path and get 405.
            pattern=r"data/(?P<path>.*)",
            fields={
                "path": PATH_FIELD,
                "data": Field(FieldType.MAP, description="The contents of the data map."),
                "options": Field(
                    FieldType.MAP, default={}, description='Options for writing, e.g. {"cas": 1}.'
                ),
                "version": Field(FieldType.INT, default=0, description="The version to read."),
            },
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.PATCH: patch,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Write, patch, read, and delete data in the key/value store.",
            description=(
                "Writing creates a new version of the key; reading returns the latest "
                "version or the one given by `version`; deleting soft-deletes the "
                "latest version."
            ),
        )
    ]
