"""KV v2 records and their storage layout.

Layout inside the mount's storage:

    config                      the mount-wide KVConfig
    metadata/<key>              one KeyRecord per key: the key's metadata, every
                                version's metadata, and the data of the
                                *current* version inline
    versions/<sha256(key)>/<n>  the data of each older (non-current) version

Reading the latest version — by far the most common request — therefore costs
exactly one storage get. Keeping the key readable under `metadata/` lets a
LIST use the storage's own folder listing. Older versions live under a hash of
the key so that key "a" version 3 and key "a/3" never share a folder.

A write reads the record, moves the previous current version's data out to its
`versions/` entry, puts the new data inline and removes pruned versions — all
in one atomic storage batch.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from strongroom.core.context import BackendContext
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Op

from .timestamps import rfc3339_or_empty, to_micros

DEFAULT_MAX_VERSIONS = 10
CONFIG_KEY = "config"
METADATA_PREFIX = "metadata/"
VERSIONS_PREFIX = "versions/"
# Writers to the same key serialise on one of these; a fixed pool keeps memory
# bounded however many keys exist (two keys may share a lock, which is harmless).
_LOCK_COUNT = 256
_RECORD_FORMAT = 1


@dataclass(slots=True)
class VersionMetadata:
    created: int  # microseconds since the epoch
    deleted: int = 0  # microseconds; 0 = not deleted. May lie in the future.
    destroyed: bool = False

    def is_deleted(self, now: int) -> bool:
        return self.deleted != 0 and self.deleted < now

    def to_api(self) -> dict[str, Any]:
        return {
            "created_time": rfc3339_or_empty(self.created),
            "deletion_time": rfc3339_or_empty(self.deleted),
            "destroyed": self.destroyed,
        }


@dataclass(slots=True)
class KeyMetadata:
    current_version: int = 0
    oldest_version: int = 0
    max_versions: int = 0  # 0 = unset: the mount's value, else DEFAULT_MAX_VERSIONS
    cas_required: bool = False
    delete_version_after: int = 0  # seconds; 0 = unset
    custom_metadata: dict[str, str] | None = None  # None rather than {} (prints as null)
    created: int = 0  # microseconds; 0 until the first version is written
    updated: int = 0  # time of the last version write
    metadata_version: int = 0  # bumped by every metadata write (OpenBao's field)
    metadata_cas_required: bool = False
    versions: dict[int, VersionMetadata] = field(default_factory=dict)
    # The data of `current_version`; None when there is none or it was destroyed.
    current_data: dict[str, Any] | None = None

    def to_bytes(self) -> bytes:
        return dumps_compact(
            {
                "format": _RECORD_FORMAT,
                "current_version": self.current_version,
                "oldest_version": self.oldest_version,
                "max_versions": self.max_versions,
                "cas_required": self.cas_required,
                "delete_version_after": self.delete_version_after,
                "custom_metadata": self.custom_metadata,
                "created": self.created,
                "updated": self.updated,
                "metadata_version": self.metadata_version,
                "metadata_cas_required": self.metadata_cas_required,
                # [created, deleted, destroyed]: compact, these repeat per version.
                "versions": {
                    str(n): [vm.created, vm.deleted, vm.destroyed]
                    for n, vm in self.versions.items()
                },
                "data": self.current_data,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> KeyMetadata:
        rec = loads(raw)
        return cls(
            current_version=rec["current_version"],
            oldest_version=rec["oldest_version"],
            max_versions=rec["max_versions"],
            cas_required=rec["cas_required"],
            delete_version_after=rec["delete_version_after"],
            custom_metadata=rec["custom_metadata"],
            created=rec["created"],
            updated=rec["updated"],
            metadata_version=rec["metadata_version"],
            metadata_cas_required=rec["metadata_cas_required"],
            versions={
                int(n): VersionMetadata(v[0], v[1], v[2]) for n, v in rec["versions"].items()
            },
            current_data=rec["data"],
        )


@dataclass(slots=True)
class KVConfig:
    """Mount-wide settings (`<mount>/config`)."""

    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0  # seconds
    metadata_cas_required: bool = False

    def to_bytes(self) -> bytes:
        return dumps_compact(
            {
                "max_versions": self.max_versions,
                "cas_required": self.cas_required,
                "delete_version_after": self.delete_version_after,
                "metadata_cas_required": self.metadata_cas_required,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> KVConfig:
        rec = loads(raw)
        return cls(
            max_versions=rec.get("max_versions", 0),
            cas_required=rec.get("cas_required", False),
            delete_version_after=rec.get("delete_version_after", 0),
            metadata_cas_required=rec.get("metadata_cas_required", False),
        )


def metadata_key(key: str) -> str:
    return METADATA_PREFIX + key


def version_key(key: str, number: int) -> str:
    return f"{VERSIONS_PREFIX}{_key_digest(key)}/{number}"


@functools.lru_cache(maxsize=65536)
def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def deletion_deadline(created: int, mount_after: int, key_after: int) -> int:
    """When a new version becomes deleted (0 = never).

    The shorter of the key's and the mount's delete_version_after wins, so a
    key cannot keep versions longer than the mount allows.
    """
    candidates = [s for s in (mount_after, key_after) if s > 0]
    return created + min(candidates) * 1_000_000 if candidates else 0


class KVStore:
    """The v2 engine's access to its storage; handlers never build keys themselves."""

    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.storage = ctx.storage
        # The config is needed by every write; cache it (this backend is the only
        # writer of its mount's storage) and replace the cache when it changes.
        self._config: KVConfig | None = None
        self._locks = [asyncio.Lock() for _ in range(_LOCK_COUNT)]

    def now(self) -> int:
        """The current time in microseconds (through the injectable clock)."""
        return to_micros(self.ctx.clock())

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks[hash(key) % _LOCK_COUNT]

    async def config(self) -> KVConfig:
        if self._config is None:
            raw = await self.storage.get(CONFIG_KEY)
            self._config = KVConfig() if raw is None else KVConfig.from_bytes(raw)
        return self._config

    async def set_config(self, config: KVConfig) -> None:
        await self.storage.put(CONFIG_KEY, config.to_bytes())
        self._config = config

    async def get(self, key: str) -> KeyMetadata | None:
        if not key:
            return None
        raw = await self.storage.get(metadata_key(key))
        return None if raw is None else KeyMetadata.from_bytes(raw)

    async def version_data(self, key: str, meta: KeyMetadata, number: int) -> Any:
        """The data of version `number` (None when its data is gone)."""
        if number == meta.current_version:
            return meta.current_data
        raw = await self.storage.get(version_key(key, number))
        return None if raw is None else loads(raw)

    async def save(self, key: str, meta: KeyMetadata, ops: list[Op] | None = None) -> None:
        """Write the record together with `ops` in one atomic batch."""
        record = meta.to_bytes()
        if ops:
            await self.storage.batch([*ops, Op(metadata_key(key), record)])
        else:
            await self.storage.put(metadata_key(key), record)

    async def delete_key(self, key: str, meta: KeyMetadata) -> None:
        """Remove the key and the data of all its versions."""
        ops = [
            Op(version_key(key, n), None)
            for n, vm in meta.versions.items()
            if n != meta.current_version and not vm.destroyed
        ]
        ops.append(Op(metadata_key(key), None))
        await self.storage.batch(ops)

    async def list_keys(self, prefix: str) -> list[str]:
        return await self.storage.list(METADATA_PREFIX + prefix)

    def add_version(
        self, key: str, meta: KeyMetadata, data: dict[str, Any], config: KVConfig
    ) -> list[Op]:
        """Append a version holding `data` to `meta`; returns the other storage ops needed.

        The previous current version's data moves out of the record into its own
        entry; versions beyond the effective max_versions are pruned.
        """
        now = self.now()
        previous, previous_data = meta.current_version, meta.current_data
        meta.current_version += 1
        meta.versions[meta.current_version] = VersionMetadata(
            created=now,
            deleted=deletion_deadline(now, config.delete_version_after, meta.delete_version_after),
        )
        meta.updated = now
        if not meta.created:
            meta.created = now
        meta.current_data = data

        ops = self._prune(key, meta, previous, config)
        if previous_data is not None and previous in meta.versions:
            ops.append(Op(version_key(key, previous), dumps_compact(previous_data)))
        return ops

    def _prune(self, key: str, meta: KeyMetadata, previous: int, config: KVConfig) -> list[Op]:
        # Vault's rule: the key's max_versions wins over the mount's when set.
        limit = meta.max_versions or config.max_versions or DEFAULT_MAX_VERSIONS
        if meta.current_version - meta.oldest_version < limit:
            return []
        cutoff = meta.current_version - limit
        ops: list[Op] = []
        for number in [n for n in meta.versions if n <= cutoff]:
            vm = meta.versions.pop(number)
            # The previous version's data is still inline (never written out) and a
            # destroyed version has no data left, so neither needs a delete.
            if number != previous and not vm.destroyed:
                ops.append(Op(version_key(key, number), None))
        meta.oldest_version = cutoff + 1
        return ops

    def destroy_version(self, key: str, meta: KeyMetadata, number: int) -> list[Op]:
        """Mark `number` destroyed and return the op dropping its data."""
        meta.versions[number].destroyed = True
        if number == meta.current_version:
            meta.current_data = None
            return []
        return [Op(version_key(key, number), None)]
