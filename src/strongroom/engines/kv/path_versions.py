"""`<mount>/delete|undelete|destroy/<path>`: act on listed versions of a key."""

from __future__ import annotations

from collections.abc import Callable

from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Handler, Path
from strongroom.storage.base import Op

from .common import PATH_FIELD, VERSIONS_FIELD, versions_from
from .store import KeyMetadata, KVStore

# Changes `meta` for the given versions and returns extra storage ops.
VersionAction = Callable[[str, KeyMetadata, list[int]], list[Op]]


def version_paths(store: KVStore) -> list[Path]:
    def soft_delete(key: str, meta: KeyMetadata, numbers: list[int]) -> list[Op]:
        now = store.now()
        for number in numbers:
            vm = meta.versions.get(number)
            # Missing, destroyed and already deleted versions are skipped.
            if vm is None or vm.destroyed or vm.is_deleted(now):
                continue
            vm.deleted = now
        return []

    def undelete(key: str, meta: KeyMetadata, numbers: list[int]) -> list[Op]:
        for number in numbers:
            vm = meta.versions.get(number)
            if vm is not None and not vm.destroyed:
                vm.deleted = 0  # also cancels a pending delete_version_after
        return []

    def destroy(key: str, meta: KeyMetadata, numbers: list[int]) -> list[Op]:
        ops: list[Op] = []
        for number in dict.fromkeys(numbers):
            vm = meta.versions.get(number)
            if vm is not None and not vm.destroyed:
                ops += store.destroy_version(key, meta, number)
        return ops

    def handler(action: VersionAction) -> Handler:
        async def handle(req: Request, fd: FieldData) -> Response | None:
            numbers = versions_from(fd.get("versions"))
            key: str = fd.get("path")
            async with store.lock(key):
                meta = await store.get(key)
                if meta is None:
                    return None
                ops = action(key, meta, numbers)
                await store.save(key, meta, ops)
            return None

        return handle

    def path(name: str, action: VersionAction, synopsis: str) -> Path:
        return Path(
            pattern=name + r"/(?P<path>.*)",
            fields={"path": PATH_FIELD, "versions": VERSIONS_FIELD},
            operations={Operation.UPDATE: handler(action)},
            synopsis=synopsis,
        )

    return [
        path("delete", soft_delete, "Mark versions as deleted; their data is kept."),
        path("undelete", undelete, "Restore soft-deleted versions."),
        path("destroy", destroy, "Permanently remove the data of versions."),
    ]
