"""JSON encoding byte-compatible with Go's encoding/json (Marshal / MarshalIndent).

Differences from `json.dumps` that matter for identical output: map keys are
sorted, `<`, `>`, `&`, U+2028 and U+2029 are escaped, `\\b`/`\\f` use short
escapes, other control characters use lowercase `\\u00xx`, DEL and non-ASCII
text are written raw, `JsonNumber` literals are copied verbatim, and an empty
object/array is `{}`/`[]` even when indenting.

An `OrderedObject` keeps its key order (Go structs encode fields in
declaration order); plain dicts are sorted like Go maps.
"""

from __future__ import annotations

from typing import Any

from strongroom.jsonutil import JsonNumber

__all__ = ["OrderedObject", "marshal", "marshal_indent"]


class OrderedObject(dict):
    """A JSON object whose keys are written in insertion order (a Go struct)."""


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
for _code in range(0x20):
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04x}")
_TRANSLATE = {ord(k): v for k, v in _ESCAPES.items()}


def _quote(text: str) -> str:
    escaped = text.translate(_TRANSLATE)
    # Lone surrogates come from undecodable bytes (surrogateescape); Go writes
    # invalid UTF-8 as U+FFFD.
    if any("\ud800" <= ch <= "\udfff" for ch in escaped):
        escaped = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in escaped)
    return '"' + escaped + '"'


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, float):
        return _go_float(value)
    raise TypeError(f"json: unsupported type: {type(value).__name__}")


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of |value| and the decimal point position."""
    mantissa, _, exp = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + int(exp or 0) - (len(whole + frac) - len((whole + frac).lstrip("0")))
    return digits.rstrip("0") or "0", point


def _go_float(value: float) -> str:
    # encoding/json: plain decimal unless |v| < 1e-6 or >= 1e21, then exponent
    # form with a sign and at least two digits, except e-0N is written e-N.
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {value!r}")
    sign = "-" if str(value).startswith("-") else ""
    if value == 0:
        return sign + "0"
    digits, point = _shortest_digits(value)
    if 1e-6 <= abs(value) < 1e21:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits))
        return f"{sign}{digits[:point]}.{digits[point:]}"
    exp = point - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp_text = f"+{exp:02d}" if exp >= 0 else f"-{-exp}"
    return f"{sign}{mant}e{exp_text}"


def _items(obj: dict) -> list[tuple[str, Any]]:
    if isinstance(obj, OrderedObject):
        return list(obj.items())
    return sorted(obj.items())


def marshal(obj: Any) -> str:
    """json.Marshal: compact, no trailing newline."""
    if isinstance(obj, dict):
        inner = ",".join(f"{_quote(k)}:{marshal(v)}" for k, v in _items(obj))
        return "{" + inner + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(marshal(v) for v in obj) + "]"
    return _scalar(obj)


def marshal_indent(obj: Any, indent: str = "  ", prefix: str = "") -> str:
    """json.MarshalIndent(obj, "", indent): one value or key per line."""
    if isinstance(obj, dict):
        items = _items(obj)
        if not items:
            return "{}"
        inner = prefix + indent
        body = ",\n".join(
            f"{inner}{_quote(k)}: {marshal_indent(v, indent, inner)}" for k, v in items
        )
        return "{\n" + body + "\n" + prefix + "}"
    if isinstance(obj, list | tuple):
        if not obj:
            return "[]"
        inner = prefix + indent
        body = ",\n".join(inner + marshal_indent(v, indent, inner) for v in obj)
        return "[\n" + body + "\n" + prefix + "]"
    return _scalar(obj)
