"""`<mount>/metadata/<path>`: a key's settings and version history, and listing keys."""

from __future__ import annotations

import json
from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.durations import go_duration
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .common import CAS_MISMATCH, CAS_REQUIRED, PATH_FIELD, empty_not_found, key_for_write
from .store import KeyMetadata, KVConfig, KVStore
from .timestamps import rfc3339_or_empty

MAX_CUSTOM_KEYS = 64
MAX_CUSTOM_KEY_LENGTH = 128
MAX_CUSTOM_VALUE_LENGTH = 512
_CUSTOM_ERROR = "custom_metadata validation errors"
CAS_REQUIRED_IGNORED = (
    '"cas_required" set to false, but is mandated by backend config. This value will be ignored.'
)
# The settings a metadata write may change; a write naming none of them is a no-op.
_SETTINGS = (
    "max_versions",
    "cas_required",
    "delete_version_after",
    "custom_metadata",
    "metadata_cas_required",
)


def metadata_response(meta: KeyMetadata) -> dict[str, Any]:
    return {
        "cas_required": meta.cas_required,
        "created_time": rfc3339_or_empty(meta.created),
        "current_metadata_version": meta.metadata_version,
        "current_version": meta.current_version,
        "custom_metadata": meta.custom_metadata,
        "delete_version_after": go_duration(meta.delete_version_after),
        "max_versions": meta.max_versions,
        "metadata_cas_required": meta.metadata_cas_required,
        "oldest_version": meta.oldest_version,
        "updated_time": rfc3339_or_empty(meta.updated),
        # Go sorts map keys as strings ("1", "10", "2"); do the same.
        "versions": {n: meta.versions[int(n)].to_api() for n in sorted(map(str, meta.versions))},
    }


def _multierror(messages: list[str]) -> str:
    """Go's multierror text, which Vault returns for custom_metadata problems."""
    head = "1 error occurred:" if len(messages) == 1 else f"{len(messages)} errors occurred:"
    return head + "\n" + "".join(f"\t* {m}\n" for m in messages) + "\n"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def validate_custom_metadata(custom: dict[str, str]) -> None:
    if len(custom) > MAX_CUSTOM_KEYS:
        raise BadRequest(
            _multierror(
                [
                    f"{_CUSTOM_ERROR}: payload must contain at most {MAX_CUSTOM_KEYS} keys, "
                    f"provided {len(custom)}"
                ]
            )
        )
    problems: list[str] = []
    for name in sorted(custom):
        value = custom[name]
        size = len(name.encode("utf-8", "surrogatepass"))
        if size == 0 or size > MAX_CUSTOM_KEY_LENGTH:
            problems.append(
                f"{_CUSTOM_ERROR}: length of key {_quote(name)} is {size} "
                f"but must be 0 < len(key) <= {MAX_CUSTOM_KEY_LENGTH}"
            )
        value_size = len(value.encode("utf-8", "surrogatepass"))
        if value_size > MAX_CUSTOM_VALUE_LENGTH:
            problems.append(
                f"{_CUSTOM_ERROR}: length of value for key {_quote(name)} is {value_size} "
                f"but must be <= {MAX_CUSTOM_VALUE_LENGTH}"
            )
        if not name.isprintable():
            problems.append(
                f"{_CUSTOM_ERROR}: key {_quote(name)} ({name}) contains unprintable characters"
            )
        if not value.isprintable():
            problems.append(
                f"{_CUSTOM_ERROR}: value for key {_quote(name)} contains unprintable characters"
            )
    if problems:
        raise BadRequest(_multierror(problems))


def _string_value(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{_CUSTOM_ERROR}: value for key {_quote(name)} must be a string")
    return value


def _custom_metadata(value: dict[str, Any]) -> dict[str, str] | None:
    custom = {name: _string_value(name, v) for name, v in value.items()}
    validate_custom_metadata(custom)
    return custom or None


def _merged_custom_metadata(
    current: dict[str, str] | None, changes: dict[str, Any]
) -> dict[str, str] | None:
    merged = dict(current or {})
    for name, value in changes.items():
        if value is None:  # merge-patch: null removes the entry
            merged.pop(name, None)
        else:
            merged[name] = _string_value(name, value)
    validate_custom_metadata(merged)
    return merged or None


def _check_metadata_cas(fd: FieldData, config: KVConfig, meta: KeyMetadata) -> None:
    """OpenBao's check-and-set on metadata writes, against current_metadata_version."""
    if fd.has("cas"):
        if fd.get("cas") != meta.metadata_version:
            raise BadRequest(CAS_MISMATCH)
    elif config.metadata_cas_required or meta.metadata_cas_required:
        raise BadRequest(CAS_REQUIRED)


def _apply_settings(fd: FieldData, meta: KeyMetadata, *, merge: bool) -> None:
    if fd.has("max_versions"):
        meta.max_versions = max(fd.get("max_versions"), 0)
    if fd.has("cas_required"):
        meta.cas_required = fd.get("cas_required")
    if fd.has("delete_version_after"):
        meta.delete_version_after = max(fd.get("delete_version_after"), 0)
    if fd.has("metadata_cas_required"):
        meta.metadata_cas_required = fd.get("metadata_cas_required")
    if fd.has("custom_metadata"):
        value = fd.get("custom_metadata")
        meta.custom_metadata = (
            _merged_custom_metadata(meta.custom_metadata, value)
            if merge
            else _custom_metadata(value)
        )
    meta.metadata_version += 1


def _warnings(fd: FieldData, config: KVConfig) -> list[str]:
    if fd.has("cas_required") and config.cas_required and not fd.get("cas_required"):
        return [CAS_REQUIRED_IGNORED]
    return []


def metadata_paths(store: KVStore) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.get(fd.get("path")) is not None

    async def read(req: Request, fd: FieldData) -> Response | None:
        meta = await store.get(fd.get("path"))
        if meta is None:
            raise NotFound()
        return Response(data=metadata_response(meta))

    async def list_keys(req: Request, fd: FieldData) -> Response | None:
        prefix: str = fd.get("path")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        keys = await store.list_keys(prefix)
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    async def write(req: Request, fd: FieldData) -> Response | None:
        key = key_for_write(fd)
        if not any(fd.has(name) for name in _SETTINGS):
            return None
        config = await store.config()
        async with store.lock(key):
            meta = await store.get(key) or KeyMetadata()
            _check_metadata_cas(fd, config, meta)
            _apply_settings(fd, meta, merge=False)
            await store.save(key, meta)
        warnings = _warnings(fd, config)
        return Response(warnings=warnings) if warnings else None

    async def patch(req: Request, fd: FieldData) -> Response | None:
        key = key_for_write(fd)
        config = await store.config()
        async with store.lock(key):
            meta = await store.get(key)
            if meta is None:
                return empty_not_found()
            _check_metadata_cas(fd, config, meta)
            _apply_settings(fd, meta, merge=True)
            await store.save(key, meta)
        warnings = _warnings(fd, config)
        return Response(warnings=warnings) if warnings else None

    async def delete(req: Request, fd: FieldData) -> Response | None:
        key: str = fd.get("path")
        async with store.lock(key):
            meta = await store.get(key)
            if meta is not None:
                await store.delete_key(key, meta)
        return None

    return [
        Path(
            pattern=r"metadata/(?P<path>.*)",
            fields={
                "path": PATH_FIELD,
                "max_versions": Field(
                    FieldType.INT,
                    default=0,
                    description="The number of versions to keep (0 = the mount's setting).",
                ),
                "cas_required": Field(
                    FieldType.BOOL, default=False, description="Require cas on every write."
                ),
                "delete_version_after": Field(
                    FieldType.DURATION,
                    default=0,
                    description="How long after writing a version it becomes deleted.",
                ),
                "custom_metadata": Field(
                    FieldType.MAP, default={}, description="User-provided string key/values."
                ),
                "metadata_cas_required": Field(
                    FieldType.BOOL,
                    default=False,
                    description="Require cas on every metadata write.",
                ),
                "cas": Field(
                    FieldType.INT,
                    default=0,
                    description="Write only if current_metadata_version equals this.",
                ),
            },
            operations={
                Operation.READ: read,
                Operation.LIST: list_keys,
                Operation.UPDATE: write,
                Operation.PATCH: patch,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Configure a key, read its version history, list keys.",
            description=(
                "Deleting the metadata removes the key and every one of its versions permanently."
            ),
        )
    ]
