"""Audit entries in Vault's JSON shape, and their HMAC obfuscation.

The broker builds one `RawEntry` per request or response, holding the clear
values; each device then renders it with `render()` under its own salt and
settings (`log_raw`, `hmac_accessor`, `elide_list_responses`), so several
devices never share a hashed copy. `RawEntry` is never mutated after it is
built: devices render it concurrently, each in its own writer thread.

Field names and nesting follow Vault's audit format (Go `omitempty`: empty
strings, zeros, empty maps and lists are left out):

    {"time","type","auth":{…},"request":{…},"response":{…},"error"}
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HMAC_PREFIX = "hmac-sha256:"


def hmac_string(key: bytes, value: str) -> str:
    """`hmac-sha256:<hex>` of a value under a device's salt (what sys/audit-hash returns)."""
    return HMAC_PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """A device's settings that change what an entry shows."""

    salt: bytes
    log_raw: bool = False
    hmac_accessor: bool = True
    elide_list_responses: bool = False


@dataclass(slots=True)
class RawEntry:
    """One audit record with clear values; devices hash it as they render it.

    `auth` and `request`/`response` hold Vault's keys with clear values; the
    keys that get hashed are listed in the `_*_TOKENS` tables below.
    """

    type: str  # "request" or "response"
    time: str
    auth: dict[str, Any]
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str = ""
    is_list: bool = False  # a list operation (elide_list_responses)
    non_hmac_request_keys: frozenset[str] = field(default_factory=frozenset)
    non_hmac_response_keys: frozenset[str] = field(default_factory=frozenset)


# Keys holding a token (always hashed) or an accessor (hashed when hmac_accessor).
_AUTH_TOKENS = ("client_token",)
_AUTH_ACCESSORS = ("accessor",)
_REQUEST_TOKENS = ("client_token",)
_REQUEST_ACCESSORS = ("client_token_accessor",)
_WRAP_TOKENS = ("token",)
_WRAP_ACCESSORS = ("accessor", "wrapped_accessor")


def compact(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A dict without Go-`omitempty` values (None, "", 0, False, {}, [])."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if value is None or value == "" or value is False or value == {} or value == []:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value == 0:
            continue
        out[key] = value
    return out


def hash_value(key: bytes, value: Any) -> Any:
    """Every string leaf of a JSON value replaced by its HMAC; other leaves as they are."""
    if isinstance(value, str):
        return hmac_string(key, value)
    if isinstance(value, dict):
        return {k: hash_value(key, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hash_value(key, v) for v in value]
    return value


def _hash_data(key: bytes, data: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    return {k: (v if k in keep else hash_value(key, v)) for k, v in data.items()}


def _elide(data: dict[str, Any]) -> dict[str, Any]:
    """`keys` and `key_info` of a list response replaced by their sizes."""
    out = dict(data)
    if isinstance(out.get("keys"), list):
        out["keys"] = len(out["keys"])
    if isinstance(out.get("key_info"), dict):
        out["key_info"] = len(out["key_info"])
    return out


def _hash_fields(
    block: dict[str, Any],
    opts: RenderOptions,
    tokens: tuple[str, ...],
    accessors: tuple[str, ...],
) -> dict[str, Any]:
    out = dict(block)
    for name in tokens:
        if isinstance(out.get(name), str) and out[name]:
            out[name] = hmac_string(opts.salt, out[name])
    if opts.hmac_accessor:
        for name in accessors:
            if isinstance(out.get(name), str) and out[name]:
                out[name] = hmac_string(opts.salt, out[name])
    return out


def render(entry: RawEntry, opts: RenderOptions) -> dict[str, Any]:
    """The JSON document a device writes for `entry` (without the hash-chain fields)."""
    raw = opts.log_raw
    auth = entry.auth if raw else _hash_fields(entry.auth, opts, _AUTH_TOKENS, _AUTH_ACCESSORS)
    request = entry.request
    if not raw:
        request = _hash_fields(request, opts, _REQUEST_TOKENS, _REQUEST_ACCESSORS)
        if isinstance(request.get("data"), dict):
            request["data"] = _hash_data(opts.salt, request["data"], entry.non_hmac_request_keys)
    doc: dict[str, Any] = {"time": entry.time, "type": entry.type, "auth": auth}
    doc["request"] = request
    if entry.response is not None:
        doc["response"] = _render_response(entry, opts)
    if entry.error:
        doc["error"] = entry.error
    return doc


def _render_response(entry: RawEntry, opts: RenderOptions) -> dict[str, Any]:
    response = dict(entry.response or {})
    data = response.get("data")
    if isinstance(data, dict):
        if opts.elide_list_responses and entry.is_list:
            data = _elide(data)
        if not opts.log_raw:
            data = _hash_data(opts.salt, data, entry.non_hmac_response_keys)
        response["data"] = data
    if opts.log_raw:
        return response
    if isinstance(response.get("auth"), dict):
        response["auth"] = _hash_fields(response["auth"], opts, _AUTH_TOKENS, _AUTH_ACCESSORS)
    if isinstance(response.get("wrap_info"), dict):
        response["wrap_info"] = _hash_fields(
            response["wrap_info"], opts, _WRAP_TOKENS, _WRAP_ACCESSORS
        )
    return response
