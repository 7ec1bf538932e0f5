"""sys/audit (list, enable, disable) and sys/audit-hash (spec §2.11).

The work is the broker's (core/audit); these handlers parse and answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path, match_all

if TYPE_CHECKING:
    from strongroom.core.core import Core


def audit_paths(core: Core) -> list[Path]:
    async def list_devices(req: Request, fd: FieldData) -> Response:
        return Response(data=core.audit.table(), top_level_copy=True)

    async def enable(req: Request, fd: FieldData) -> None:
        await core.audit.enable(
            fd.get("path"),
            fd.get("type"),
            fd.get("description"),
            fd.get("options"),
            fd.get("local"),
        )

    async def disable(req: Request, fd: FieldData) -> None:
        await core.audit.disable(fd.get("path"))

    async def audit_hash(req: Request, fd: FieldData) -> Response:
        value = fd.get("input")
        if value == "":
            raise BadRequest('the "input" parameter is empty')
        return Response(data={"hash": core.audit.hash(fd.get("path"), value)}, top_level_copy=True)

    return [
        Path(
            "audit",
            operations={Operation.READ: list_devices},
            synopsis="The enabled audit devices.",
        ),
        Path(
            f"audit/{match_all('path')}",
            fields={
                "path": Field(FieldType.STRING, "Where the device is mounted"),
                "type": Field(FieldType.STRING, "file or socket", default=""),
                "description": Field(FieldType.STRING, "A description", default=""),
                "options": Field(FieldType.KV_PAIRS, "The device's options", default={}),
                "local": Field(FieldType.BOOL, "Not replicated (no effect)", default=False),
            },
            operations={Operation.UPDATE: enable, Operation.DELETE: disable},
            synopsis="Enable or disable an audit device.",
        ),
        Path(
            f"audit-hash/{match_all('path')}",
            fields={
                "path": Field(FieldType.STRING, "The audit device"),
                "input": Field(FieldType.STRING, "The value to hash", default=""),
            },
            operations={Operation.UPDATE: audit_hash},
            synopsis="HMAC a value with an audit device's salt, as it appears in its log.",
        ),
    ]
