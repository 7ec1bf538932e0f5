"""IAM user names, federation-token names and session names from the username template (§6)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import string
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from .gotemplate import Template, TemplateError

DEFAULT_USERNAME_TEMPLATE = (
    '{{ if (eq .Type "STS") }}'
    '{{ printf "vault-%s-%s"  (unix_time) (random 20) | truncate 32 }}'
    "{{ else }}"
    '{{ printf "vault-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | truncate 42) '
    "(unix_time) (random 20) | truncate 64 }}"
    "{{ end }}"
)

IAM_LIMIT = 64
STS_LIMIT = 32

_INVALID = re.compile(r"[^a-zA-Z0-9+=,.@_-]")
_BASE62 = string.ascii_letters + string.digits


class UsernameError(Exception):
    """The template could not be parsed or rendered, or its result is too long (a 500)."""


def normalize(name: str) -> str:
    """Every character IAM refuses in a user/policy name becomes `_`."""
    return _INVALID.sub("_", name)


# ---------------------------------------------------------------- functions


def _want_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"wrong type for value; expected int; got {type(value).__name__}")
    return value


def _want_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"wrong type for value; expected string; got {type(value).__name__}")
    return value


def _random(length: Any) -> str:
    n = _want_int(length, "length")
    if n <= 0:
        raise ValueError("length must be > 0")
    return "".join(secrets.choice(_BASE62) for _ in range(n))


def _truncate(max_len: Any, text: Any) -> str:
    n, s = _want_int(max_len, "max"), _want_str(text)
    if n <= 0:
        raise ValueError(f"max length must be > 0 but was {n}")
    return s[:n]


def _truncate_sha256(max_len: Any, text: Any) -> str:
    n, s = _want_int(max_len, "max"), _want_str(text)
    if n <= 8:
        raise ValueError(f"max length must be > 8 but was {n}")
    if len(s) <= n:
        return s
    cut = n - 8
    return s[:cut] + hashlib.sha256(s[cut:].encode()).hexdigest()[:8]


def _decode_base64(text: Any) -> str:
    try:
        return base64.b64decode(_want_str(text), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        raise ValueError(str(err)) from None


def _decode_hex(text: Any) -> str:
    try:
        return bytes.fromhex(_want_str(text)).decode()
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(str(err)) from None


# Go reference-time layout elements, longest first.
_LAYOUT = [
    ("January", "%B"),
    ("Monday", "%A"),
    ("2006", "%Y"),
    ("Z07:00", "Z07:00"),
    ("-07:00", "+00:00"),
    ("-0700", "+0000"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "UTC"),
    ("002", "%j"),
    ("01", "%m"),
    ("02", "%d"),
    ("_2", "_2"),
    ("06", "%y"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("PM", "%p"),
    ("pm", "pm"),
    (".000000000", ".nanos"),
    (".000000", ".%f"),
    (".000", ".millis"),
    ("1", "1"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5"),
]


def go_time_format(moment: datetime, layout: str) -> str:
    """time.Time.Format for the common layout elements (UTC)."""
    out: list[str] = []
    i = 0
    while i < len(layout):
        for token, spec in _LAYOUT:
            if layout.startswith(token, i):
                out.append(_format_token(moment, spec))
                i += len(token)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


def _format_token(moment: datetime, spec: str) -> str:
    simple = {
        "Z07:00": "Z",
        "+00:00": "+00:00",
        "+0000": "+0000",
        "UTC": "UTC",
        "_2": f"{moment.day:2d}",
        "pm": moment.strftime("%p").lower(),
        ".nanos": f".{moment.microsecond:06d}000",
        ".millis": f".{moment.microsecond // 1000:03d}",
        "1": str(moment.month),
        "2": str(moment.day),
        "3": str(moment.hour % 12 or 12),
        "4": str(moment.minute),
        "5": str(moment.second),
    }
    if spec in simple:
        return simple[spec]
    return moment.strftime(spec)


FUNCS = {
    "random": _random,
    "truncate": _truncate,
    "truncate_sha256": _truncate_sha256,
    "uppercase": lambda s: _want_str(s).upper(),
    "lowercase": lambda s: _want_str(s).lower(),
    "replace": lambda old, new, s: _want_str(s).replace(_want_str(old), _want_str(new)),
    "sha256": lambda s: hashlib.sha256(_want_str(s).encode()).hexdigest(),
    "base64": lambda s: base64.b64encode(_want_str(s).encode()).decode(),
    "decode_base64": _decode_base64,
    "hex": lambda s: _want_str(s).encode().hex(),
    "decode_hex": _decode_hex,
    "unix_time": lambda: str(int(time.time())),
    "unix_time_millis": lambda: str(time.time_ns() // 1_000_000),
    "timestamp": lambda layout: go_time_format(datetime.now(UTC), _want_str(layout)),
    "uuid": lambda: str(uuid.uuid4()),
}


# ---------------------------------------------------------------- rendering

_cache: dict[str, Template] = {}


def compile_template(text: str) -> Template:
    """Parse (and cache) a username template; UsernameError when it does not parse."""
    found = _cache.get(text)
    if found is None:
        try:
            found = Template(text, FUNCS, name="template")
        except TemplateError as err:
            raise UsernameError(f"unable to initialize username template: {err}") from None
        if len(_cache) > 64:
            _cache.clear()
        _cache[text] = found
    return found


def render(template: str, kind: str, display_name: str, policy_name: str) -> str:
    """The name for an `IAM` (user, session) or `STS` (federation token) identity.

    Raises UsernameError (an internal error for the caller) when the template
    fails or the result is over AWS's limit for the kind.
    """
    parsed = compile_template(template or DEFAULT_USERNAME_TEMPLATE)
    data = {
        "Type": kind,
        "DisplayName": normalize(display_name),
        "PolicyName": normalize(policy_name),
    }
    try:
        name = parsed.execute(data)
    except TemplateError as err:
        raise UsernameError(f"failed to generate username: {err}") from None
    limit = STS_LIMIT if kind == "STS" else IAM_LIMIT
    if len(name) > limit:
        raise UsernameError(
            f"the username generated by the template exceeds the {kind} username length "
            f"limits of {limit} chars"
        )
    return name


def session_name(requested: str) -> str:
    """A caller-supplied AssumeRole session name: normalised and cut to AWS's 64."""
    return normalize(requested)[:IAM_LIMIT]
