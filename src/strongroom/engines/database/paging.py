"""LIST responses with OpenBao's `after`/`limit` paging."""

from __future__ import annotations

from strongroom.core.errors import NotFound
from strongroom.core.request import Response
from strongroom.framework.fields import FieldData


def list_response(names: list[str], fd: FieldData) -> Response:
    keys = sorted(names)
    after = fd.get("after")
    if after:
        keys = [k for k in keys if k > after]
    limit = fd.get("limit")
    if limit and limit > 0:
        keys = keys[:limit]
    if not keys:
        raise NotFound()
    return Response(data={"keys": keys})
