"""`<mount>/config`: defaults for every key of a KV v2 mount."""

from __future__ import annotations

from dataclasses import replace

from strongroom.core.request import Operation, Request, Response
from strongroom.durations import go_duration
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .store import KVStore


def config_paths(store: KVStore) -> list[Path]:
    async def read(req: Request, fd: FieldData) -> Response | None:
        config = await store.config()
        return Response(
            data={
                "cas_required": config.cas_required,
                "delete_version_after": go_duration(config.delete_version_after),
                "max_versions": config.max_versions,
                "metadata_cas_required": config.metadata_cas_required,
            }
        )

    async def write(req: Request, fd: FieldData) -> Response | None:
        config = replace(await store.config())
        changed = False
        if fd.has("max_versions"):
            config.max_versions = max(fd.get("max_versions"), 0)
            changed = True
        if fd.has("cas_required"):
            config.cas_required = fd.get("cas_required")
            changed = True
        if fd.has("delete_version_after"):
            config.delete_version_after = max(fd.get("delete_version_after"), 0)
            changed = True
        if fd.has("metadata_cas_required"):
            config.metadata_cas_required = fd.get("metadata_cas_required")
            changed = True
        if changed:
            await store.set_config(config)
        return None

    return [
        Path(
            pattern="config",
            fields={
                "max_versions": Field(
                    FieldType.INT, default=0, description="Versions to keep per key (0 = 10)."
                ),
                "cas_required": Field(
                    FieldType.BOOL, default=False, description="Require cas on every write."
                ),
                "delete_version_after": Field(
                    FieldType.DURATION,
                    default=0,
                    description="How long after writing a version it becomes deleted.",
                ),
                "metadata_cas_required": Field(
                    FieldType.BOOL, default=False, description="Require cas on metadata writes."
                ),
            },
            operations={Operation.READ: read, Operation.UPDATE: write},
            synopsis="Configure the defaults of the key/value store.",
        )
    ]
