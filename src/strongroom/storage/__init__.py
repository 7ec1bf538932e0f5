"""Physical storage backends and the factory the server config uses to pick one."""

from __future__ import annotations

from strongroom.storage.base import Op, Storage

__all__ = ["Op", "Storage", "make_storage"]


def make_storage(kind: str, options: dict[str, str]) -> Storage:
    """Build the backend named by a `storage "<kind>" { ... }` config block.

    Imports are local so that choosing one backend never pays for loading another.
    """
    if kind == "inmem":
        from strongroom.storage.inmem import InmemStorage

        return InmemStorage()
    if kind == "file":
        path = options.get("path", "")
        if not path:
            raise ValueError('storage type "file" requires the "path" option')
        from strongroom.storage.file import FileStorage

        return FileStorage(path)
    if kind == "postgresql":
        from strongroom.storage.postgresql import PostgreSQLStorage

        return PostgreSQLStorage.from_options(options)
    raise ValueError(f'unknown storage type "{kind}"')
