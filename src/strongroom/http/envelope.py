"""Response rendering: Vault's envelope, special bodies and error bodies."""

from __future__ import annotations

from typing import Any

from strongroom import jsonutil
from strongroom.core.ids import request_id
from strongroom.core.request import Response


def render(resp: Response, mount_type: str = "") -> tuple[int, bytes]:
    """Status and body for a handler's Response; `mount_type` as Vault >= 1.13 adds it."""
    if resp.raw is not None:
        body = resp.raw if isinstance(resp.raw, bytes) else jsonutil.dumps(resp.raw)
        return resp.status or 200, body
    if resp.wrap_info is not None:
        # A wrapped response carries nothing but its wrap_info (spec §2.12).
        wrapped = {
            "request_id": "",
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": None,
            "wrap_info": resp.wrap_info,
            "warnings": None,
            "auth": None,
        }
        return 200, jsonutil.dumps(wrapped)
    secret = resp.secret
    lease_duration = secret.ttl if secret is not None else resp.lease_duration
    empty = (
        resp.data is None
        and not resp.warnings
        and resp.auth is None
        and secret is None
        and not lease_duration
    )
    if empty and not resp.status:
        return 204, b""
    envelope: dict[str, Any] = {}
    if resp.top_level_copy and resp.data:
        envelope.update(resp.data)
    envelope.update(
        request_id=resp.request_id or request_id(),
        lease_id=secret.lease_id if secret is not None else "",
        renewable=secret.renewable if secret is not None else False,
        lease_duration=lease_duration,
        data=resp.data,
        wrap_info=None,
        warnings=resp.warnings or None,
        auth=resp.auth,
        mount_type=mount_type,
    )
    return resp.status or 200, jsonutil.dumps(envelope)


def error_body(messages: list[str]) -> bytes:
    return jsonutil.dumps({"errors": messages})
