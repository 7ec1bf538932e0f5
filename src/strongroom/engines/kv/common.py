"""Pieces shared by the KV v2 paths: fields, response shapes, check-and-set."""

from __future__ import annotations

from typing import Any

from strongroom.core.errors import BadRequest
from strongroom.core.request import Response
from strongroom.framework.fields import Field, FieldData, FieldError, FieldType, coerce

from .store import KeyMetadata, VersionMetadata
from .timestamps import rfc3339_or_empty

PATH_FIELD = Field(FieldType.STRING, description="Location of the secret.")
VERSIONS_FIELD = Field(
    FieldType.COMMA_INT_LIST, description="The versions to act on (list, or comma separated)."
)

CAS_MISMATCH = "check-and-set parameter did not match the current version"
CAS_REQUIRED = "check-and-set parameter required for this call"


def key_for_write(fd: FieldData) -> str:
    """The key a write targets; the mount root itself is not a key."""
    key: str = fd.get("path")
    if not key:
        raise BadRequest("missing path")
    return key


def version_response(meta: KeyMetadata, number: int, vm: VersionMetadata) -> dict[str, Any]:
    """The version metadata object of writes and reads (spec §6.2)."""
    return {
        "created_time": rfc3339_or_empty(vm.created),
        "custom_metadata": meta.custom_metadata,
        "deletion_time": rfc3339_or_empty(vm.deleted),
        "destroyed": vm.destroyed,
        "version": number,
    }


def empty_not_found() -> Response:
    """A 404 with an empty body (PATCH of a missing or deleted key)."""
    return Response(status=404, raw=b"")


def parse_cas(value: Any) -> int:
    if value is None:  # Go decodes null into the zero value
        return 0
    try:
        return coerce(FieldType.INT, value)
    except FieldError:
        raise BadRequest("error parsing check-and-set parameter") from None


def check_cas(options: dict[str, Any], required: bool, current: int) -> None:
    """Enforce `options.cas` against the current version; cas 0 = "must not exist yet"."""
    if "cas" in options:
        if parse_cas(options["cas"]) != current:
            raise BadRequest(CAS_MISMATCH)
    elif required:
        raise BadRequest(CAS_REQUIRED)


def versions_from(values: list[int] | None) -> list[int]:
    if not values:
        raise BadRequest("No version number provided")
    return values
