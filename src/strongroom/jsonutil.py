"""JSON encoded and decoded the way Vault's Go server does it (spec §1.3, §1.6).

* Decoding keeps every number literal that is not a plain int64 as a
  `JsonNumber` holding the exact text, so `1.50`, `-0.0`, `1e21` and huge
  integers survive a round trip byte for byte (Go decodes with UseNumber).
* Encoding is compact, escapes `<`, `>`, `&`, U+2028 and U+2029 like Go's
  encoder, writes other non-ASCII characters as raw UTF-8, and emits
  `JsonNumber` text verbatim.
* Decode errors carry the message Go's decoder would produce, because the API
  returns it to clients (`failed to decode JSON input: <message>`).

orjson does the work on the common path; the standard library (with literal-
preserving hooks) only runs when the input may hold such numbers or is invalid.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["JsonDecodeError", "JsonNumber", "dumps", "dumps_compact", "loads"]

_MIN_INT64 = -(1 << 63)
_MAX_INT64 = (1 << 63) - 1
# Go's decoder refuses deeper nesting with this limit.
_MAX_DEPTH = 10000


class JsonNumber:
    """A JSON number literal kept as written because no Python int holds it exactly.

    The text is emitted verbatim by `dumps`, so it must be a valid JSON number.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonNumber):
            return self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"JsonNumber({self.text!r})"

    def __str__(self) -> str:
        # Vault stringifies json.Number this way (e.g. before parsing a duration).
        return self.text

    def __float__(self) -> float:
        return float(self.text)


class JsonDecodeError(ValueError):
    """Input that is not valid JSON; str() is a Go-style one-line message."""


# ---------------------------------------------------------------------------
# Decoding

# Literals orjson would not keep exactly: floats (a digit followed by `.`, `e`
# or `E`), integers of 19+ digits (may exceed int64) and negative zero. These
# checks scan the raw text, strings included: a hit inside a string is a false
# positive that only costs the slower exact parse. Patterns start with a
# literal byte so `re` can use its fast substring search; a character class
# first would be several times slower here.
_DOT_AFTER_DIGIT = re.compile(rb"\.(?<=[0-9]\.)")
_LOWER_E_AFTER_DIGIT = re.compile(rb"e(?<=[0-9]e)")
_UPPER_E_AFTER_DIGIT = re.compile(rb"E(?<=[0-9]E)")
_NEGATIVE_ZERO = re.compile(rb"-0(?![0-9])")
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def _may_hold_inexact_numbers(raw: bytes | bytearray) -> bool:
    return (
        (b"." in raw and _DOT_AFTER_DIGIT.search(raw) is not None)
        or _LOWER_E_AFTER_DIGIT.search(raw) is not None
        or (b"E" in raw and _UPPER_E_AFTER_DIGIT.search(raw) is not None)
        or (b"-0" in raw and _NEGATIVE_ZERO.search(raw) is not None)
        or _LONG_DIGIT_RUN in raw.translate(_DIGITS_AS_ZERO)
    )


# Lone surrogates: escaped in the text, or produced by decoding invalid UTF-8
# bytes with surrogateescape. Go turns each into U+FFFD.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")


class _RejectedConstant(Exception):
    """NaN/Infinity: the stdlib accepts them, JSON (and Go) do not."""


def _parse_int(text: str) -> int | JsonNumber:
    if len(text) < 19:
        return JsonNumber(text) if text == "-0" else int(text)
    # Only call int() on short texts: int() of thousands of digits raises.
    if len(text) <= 20:
        value = int(text)
        if _MIN_INT64 <= value <= _MAX_INT64:
            return value
    return JsonNumber(text)


def _reject_constant(name: str) -> Any:
    raise _RejectedConstant(name)


_EXACT_DECODER = json.JSONDecoder(
    parse_float=JsonNumber, parse_int=_parse_int, parse_constant=_reject_constant
)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse one JSON document; non-int64 numbers come back as `JsonNumber`.

    Stricter than Go's streaming decoder in one way: data after the top-level
    value is an error (`invalid character 'x' after top-level value`). Empty
    input raises `JsonDecodeError("EOF")`, which HTTP callers treat as no body.
    """
    if isinstance(data, memoryview):
        data = data.tobytes()
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not _may_hold_inexact_numbers(raw):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # invalid, or valid but beyond orjson (surrogates, bad UTF-8, depth)
    return _loads_exact(data)


def _loads_exact(data: bytes | bytearray | memoryview | str) -> Any:
    # Go tolerates invalid UTF-8 inside strings; surrogateescape keeps such bytes
    # recognisable so they become U+FFFD below (and are named in error messages).
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "surrogateescape")
    try:
        obj = _EXACT_DECODER.decode(text)
    except (json.JSONDecodeError, _RejectedConstant):
        raise JsonDecodeError(_syntax_error(text) or "invalid JSON input") from None
    except RecursionError:
        raise JsonDecodeError(_syntax_error(text) or "exceeded max depth") from None
    if _SURROGATE_CHAR.search(text) or _SURROGATE_ESCAPE.search(text):
        obj = _replace_surrogates(obj)
    return obj


def _replace_surrogates(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE_CHAR.sub("\ufffd", obj)
    if isinstance(obj, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_surrogates(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------
# Go-style syntax error messages (only run once a parse has already failed)

_WS = " \t\n\r"
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_SIMPLE_ESCAPES = frozenset('"\\/bfnrt')
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_GO_CONTROL_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


class _Syntax(Exception):
    """Internal: carries the Go message out of the scanner."""


def _first_byte(ch: str) -> int:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an invalid input byte kept by surrogateescape
        return code - 0xDC00
    return ch.encode("utf-8", "surrogatepass")[0]


def _quote_char(ch: str) -> str:
    """Go's quoteChar: Go scans bytes, so a multi-byte character shows its first byte."""
    b = _first_byte(ch)
    if b == 0x27:
        return "'\\''"
    if b == 0x22:
        return "'\"'"
    if b == 0x5C:
        return "'\\\\'"
    if b in _GO_CONTROL_ESCAPES:
        return f"'{_GO_CONTROL_ESCAPES[b]}'"
    if b < 0x20 or b == 0x7F:
        return f"'\\x{b:02x}'"
    rune = chr(b)
    if b >= 0x80 and not rune.isprintable():
        return f"'\\u{b:04x}'"
    return f"'{rune}'"


def _invalid(ch: str, context: str) -> _Syntax:
    return _Syntax(f"invalid character {_quote_char(ch)} {context}")


class _Scanner:
    """A validating JSON scanner that reports errors with Go's wording."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def char(self, i: int) -> str:
        if i >= self.n:
            raise _Syntax("unexpected EOF")
        return self.text[i]

    def skip_ws(self, i: int) -> int:
        text, n = self.text, self.n
        while i < n and text[i] in _WS:
            i += 1
        return i

    def run(self) -> str:
        i = self.skip_ws(0)
        if i == self.n:
            return "EOF"
        stack: list[str] = []  # "{" or "[" for each open container
        expect_value = True
        while True:
            if expect_value:
                i = self.skip_ws(i)
                c = self.char(i)
                if c == "{":
                    stack.append("{")
                    i = self.skip_ws(i + 1)
                    if self.char(i) == "}":
                        stack.pop()
                        i += 1
                        expect_value = False
                    else:
                        i = self.object_key(i)
                elif c == "[":
                    stack.append("[")
                    i = self.skip_ws(i + 1)
                    if self.char(i) == "]":
                        stack.pop()
                        i += 1
                        expect_value = False
                else:
                    i = self.scalar(i)
                    expect_value = False
                if len(stack) > _MAX_DEPTH:
                    return "exceeded max depth"
                continue
            # A value just ended.
            i = self.skip_ws(i)
            if not stack:
                if i < self.n:
                    raise _invalid(self.text[i], "after top-level value")
                return ""
            c = self.char(i)
            if stack[-1] == "{":
                if c == ",":
                    i = self.object_key(self.skip_ws(i + 1))
                    expect_value = True
                elif c == "}":
                    stack.pop()
                    i += 1
                else:
                    raise _invalid(c, "after object key:value pair")
            elif c == ",":
                i += 1
                expect_value = True
            elif c == "]":
                stack.pop()
                i += 1
            else:
                raise _invalid(c, "after array element")

    def object_key(self, i: int) -> int:
        """Scan `"key" :` starting at i; return the index after the colon."""
        c = self.char(i)
        if c != '"':
            raise _invalid(c, "looking for beginning of object key string")
        i = self.skip_ws(self.string(i))
        c = self.char(i)
        if c != ":":
            raise _invalid(c, "after object key")
        return i + 1

    def scalar(self, i: int) -> int:
        c = self.text[i]
        if c == '"':
            return self.string(i)
        if c == "-" or c in _DIGITS:
            return self.number(i)
        word = _LITERALS.get(c)
        if word is not None:
            for k, expected in enumerate(word[1:], start=1):
                got = self.char(i + k)
                if got != expected:
                    raise _invalid(got, f"in literal {word} (expecting '{expected}')")
            return i + len(word)
        raise _invalid(c, "looking for beginning of value")

    def string(self, i: int) -> int:
        i += 1  # opening quote
        while True:
            c = self.char(i)
            if c == '"':
                return i + 1
            if c == "\\":
                e = self.char(i + 1)
                if e == "u":
                    for k in range(2, 6):
                        h = self.char(i + k)
                        if h not in _HEX:
                            raise _invalid(h, "in \\u hexadecimal character escape")
                    i += 6
                    continue
                if e not in _SIMPLE_ESCAPES:
                    raise _invalid(e, "in string escape code")
                i += 2
                continue
            if c < " ":
                raise _invalid(c, "in string literal")
            i += 1

    def number(self, i: int) -> int:
        text, n = self.text, self.n
        if text[i] == "-":
            i += 1
            c = self.char(i)
            if c not in _DIGITS:
                raise _invalid(c, "in numeric literal")
        # A leading 0 stands alone; a following digit is then out of place.
        i = i + 1 if text[i] == "0" else self.digits(i)
        if i < n and text[i] == ".":
            c = self.char(i + 1)
            if c not in _DIGITS:
                raise _invalid(c, "after decimal point in numeric literal")
            i = self.digits(i + 1)
        if i < n and text[i] in "eE":
            i += 1
            if self.char(i) in "+-":
                i += 1
            c = self.char(i)
            if c not in _DIGITS:
                raise _invalid(c, "in exponent of numeric literal")
            i = self.digits(i)
        return i

    def digits(self, i: int) -> int:
        text, n = self.text, self.n
        while i < n and text[i] in _DIGITS:
            i += 1
        return i


def _syntax_error(text: str) -> str:
    """Go's message for the first syntax error in `text`; "" if none is found."""
    try:
        return _Scanner(text).run()
    except _Syntax as exc:
        return str(exc)


# ---------------------------------------------------------------------------
# Encoding


def _default(obj: Any) -> Any:
    if isinstance(obj, JsonNumber):
        return orjson.Fragment(obj.text.encode())
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def _widen_big_ints(obj: Any) -> Any:
    """Replace ints orjson cannot encode (beyond 64 bits) by verbatim fragments."""
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        if obj < _MIN_INT64 or obj >= 1 << 64:
            return orjson.Fragment(str(obj).encode())
        return obj
    if isinstance(obj, dict):
        return {k: _widen_big_ints(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_widen_big_ints(v) for v in obj]
    return obj


def _encode(obj: Any, option: int) -> bytes:
    try:
        out = orjson.dumps(obj, default=_default, option=option)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        out = orjson.dumps(_widen_big_ints(obj), default=_default, option=option)
    # Outside strings these bytes never occur in JSON, so plain replacement is
    # safe. Single-byte membership tests are memchr-fast and usually all miss;
    # multi-byte searches are much slower, so they sit behind the E2 lead byte.
    if b"<" in out or b">" in out or b"&" in out:
        out = out.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    if b"\xe2" in out and (b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out):
        out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return out


def dumps(obj: Any) -> bytes:
    """Compact JSON plus a trailing newline, as Go's json.Encoder writes it."""
    return _encode(obj, orjson.OPT_APPEND_NEWLINE)


def dumps_compact(obj: Any) -> bytes:
    """Compact JSON without the newline (storage entries, embedded values)."""
    return _encode(obj, 0)
