"""The sys/ backend: seal, mounts, keys, and the OpenAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strongroom.core import sys_generate_root, sys_rekey, sys_wrapping
from strongroom.core.request import Operation, Request, Response
from strongroom.core.sys_audit import audit_paths
from strongroom.core.sys_leases import lease_paths
from strongroom.core.sys_mounts import mount_paths
from strongroom.core.sys_policy import policy_paths
from strongroom.core.sys_seal import seal_paths
from strongroom.framework.backend import Backend
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.core import Core

UNAUTHENTICATED = [
    "init",
    "seal-status",
    "unseal",
    "health",
    "leader",
    "internal/ui/mounts",
    "internal/ui/mounts/*",
    "internal/specs/openapi",
    *sys_wrapping.UNAUTHENTICATED,  # wrapping/lookup, wrapping/unwrap
    *sys_rekey.UNAUTHENTICATED,  # rekey/init|update|verify (Vault's special handlers)
    *sys_generate_root.UNAUTHENTICATED,  # generate-root/attempt|update
]
# Paths that need the `sudo` capability on top of the operation's own (spec §5.6).
SUDO = [
    "auth/*",
    "remount",
    "audit",
    "audit/*",
    "raw",
    "raw/*",
    "rotate",
    "rotate/keyring",
    "rotate/root",
    "config/cors",
    "config/auditing/*",
    "config/ui/headers/*",
    "plugins/catalog/*",
    "seal",
    "step-down",
    "leases",
    "leases/revoke-prefix/*",
    "leases/revoke-force/*",
    "leases/lookup/*",
    "revoke-prefix/*",
    "revoke-force/*",
    "internal/inspect/*",
    *sys_rekey.SUDO,  # rekey/backup
]


def key_paths(core: Core) -> list[Path]:
    async def key_status(req: Request, fd: FieldData) -> Response:
        return Response(data=core.barrier.key_status(), top_level_copy=True)

    async def rotate(req: Request, fd: FieldData) -> None:
        await core.barrier.rotate()

    return [
        Path(
            "key-status",
            operations={Operation.READ: key_status},
            synopsis="The active encryption key's term and install time.",
        ),
        Path(
            "rotate(?:/keyring)?",
            operations={Operation.UPDATE: rotate},
            synopsis="Add a new encryption key term; old data stays readable.",
        ),
    ]


def openapi_document(core: Core) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for mount_path, route in sorted(core.routes.items()):
        paths.update(route.backend.openapi(mount_path))
    return {
        "openapi": "3.0.2",
        "info": {
            "title": "strongroom",
            "description": "HTTP API that gives you full access "
            "to strongroom. All API routes are prefixed with `/v1/`.",
            "version": core.version,
            "license": {"name": "MPL-2.0"},
        },
        "paths": paths,
        "components": {"schemas": {}},
    }


def system_backend(core: Core) -> Backend:
    async def openapi(req: Request, fd: FieldData) -> Response:
        return Response(raw=openapi_document(core))

    paths = [
        *seal_paths(core),
        *mount_paths(core),
        *key_paths(core),
        *lease_paths(core),
        *policy_paths(core),
        *audit_paths(core),
        *sys_wrapping.wrapping_paths(core),
        *sys_rekey.rekey_paths(core),
        *sys_generate_root.generate_root_paths(core),
        Path(
            "internal/specs/openapi",
            operations={Operation.READ: openapi},
            synopsis="The OpenAPI 3 document of every mounted path.",
        ),
    ]
    return Backend(
        paths,
        help="System endpoints used for control, policy and debugging.",
        unauthenticated=UNAUTHENTICATED,
        sudo=SUDO,
    )
