"""The KV backends: version 1 (plain entries) and version 2 (versioned keys)."""

from __future__ import annotations

from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.backend import Backend
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Path

from .path_config import config_paths
from .path_data import data_paths
from .path_kv1 import kv1_paths
from .path_metadata import metadata_paths
from .path_subkeys import subkeys_paths
from .path_versions import version_paths
from .store import KVStore

_WRITES = frozenset({Operation.CREATE, Operation.UPDATE, Operation.PATCH})
TRAILING_SLASH = "cannot write to a path ending in '/'"

V1_HELP = """\
The kv backend reads and writes arbitrary secrets to the backend storage.

Each path holds one JSON object; writing replaces it. A "ttl" key in the object
sets the refresh interval reported to readers.
"""

V2_HELP = """\
The kv backend reads and writes arbitrary, versioned secrets to the backend storage.

Paths: data/ (read, write, patch, delete the latest version), metadata/ (key
settings, version history, listing), delete/, undelete/, destroy/ (act on
versions), subkeys/ (the shape of a secret), config (mount defaults).
"""

_CLI_VERB = {
    Operation.READ: "get",
    Operation.CREATE: "put",
    Operation.UPDATE: "put",
    Operation.LIST: "list",
    Operation.DELETE: "delete",
}


class KVBackend(Backend):
    """A Backend that refuses writes to folder paths (`.../dir/`), as Vault does."""

    async def handle(self, req: Request) -> Response | None:
        if req.operation in _WRITES and (req.path or req.rel_path).endswith("/"):
            raise BadRequest(TRAILING_SLASH)
        return await super().handle(req)


async def _invalid_path(req: Request, fd: FieldData) -> Response | None:
    verb = _CLI_VERB.get(req.operation, "get")
    return Response(
        warnings=[
            "Invalid path for a versioned K/V secrets engine. See the API docs for the "
            "appropriate API endpoints to use. If using the OpenBao CLI, use "
            f"'bao kv {verb}' for this operation."
        ],
        status=404,
    )


def _invalid_paths() -> list[Path]:
    return [
        Path(
            pattern=r".*",
            operations={op: _invalid_path for op in _CLI_VERB},
            arbitrary_data=True,
            synopsis="Anything else under a versioned mount: a hint to use the kv commands.",
        )
    ]


def build_v1(ctx: BackendContext) -> KVBackend:
    return KVBackend(kv1_paths(ctx), help=V1_HELP)


def build_v2(ctx: BackendContext) -> KVBackend:
    store = KVStore(ctx)
    paths = [
        *config_paths(store),
        *data_paths(store),
        *metadata_paths(store),
        *version_paths(store),
        *subkeys_paths(store),
        *_invalid_paths(),  # last: it matches everything
    ]
    return KVBackend(paths, help=V2_HELP)
