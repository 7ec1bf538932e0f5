"""YAML output byte-compatible with the reference CLI.

The reference client renders YAML by encoding the value to JSON, parsing that
JSON back as YAML 1.1 and emitting it with a libyaml-style block emitter (80
column folding, 2-space indent, sequences not indented under mapping keys).
This module reproduces the visible effects:

* numbers are re-typed the way a YAML 1.1 parser reads them (`1.50` -> `1.5`,
  `1e21` -> `1e+21`, `-0` -> `0`);
* map keys are sorted in "natural" order (`k2` < `k10`, `_k` < `Zk`);
* strings are quoted only when a plain scalar would read back as something
  else (`"1"`, `"yes"`, `"2026-01-01"`, `""`) or contains indicator
  characters, chosen between plain, single-quoted, double-quoted and literal
  block styles with the emitter's rules, and folded past column 80;
* a raw NEL inside a string is folded (it is a YAML line break), and raw
  characters YAML forbids make the whole conversion fail with
  `yaml: control characters are not allowed`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from strongroom.jsonutil import JsonNumber

__all__ = ["YamlError", "to_yaml"]

_BEST_WIDTH = 80
_BEST_INDENT = 2
_MIN_INT64 = -(1 << 63)
_MAX_INT64 = (1 << 63) - 1
_MAX_UINT64 = (1 << 64) - 1


class YamlError(ValueError):
    """The value cannot be rendered; str() is the reference error text."""


class _Float(float):
    """A YAML float (as opposed to an int) produced by re-reading a JSON number."""


# --------------------------------------------------------------------------- JSON -> YAML values

# Characters Go's JSON encoder writes raw but a YAML reader rejects.
_FORBIDDEN = re.compile("[\x7f-\x84\x86-\x9f\ufffe\uffff]")
_NEL_RUN = re.compile("[ \t]*(?:\x85[ \t]*)+")


def _fold_nel(match: re.Match[str]) -> str:
    # A single line break inside a flow scalar reads as a space, n breaks as n-1 newlines.
    breaks = match.group(0).count("\x85")
    return " " if breaks == 1 else "\n" * (breaks - 1)


def _reread_string(text: str) -> str:
    if _FORBIDDEN.search(text):
        raise YamlError("yaml: control characters are not allowed")
    if "\x85" in text:
        text = _NEL_RUN.sub(_fold_nel, text)
    return text


def _reread_number(text: str) -> int | float | str:
    value = _go_parse_int(text, allow_sign=True)
    if value is not None:
        return value
    value = _go_parse_int(text, allow_sign=False, unsigned=True)
    if value is not None:
        return value
    if _YAML_FLOAT.match(text):
        number = float(text)
        if number not in (float("inf"), float("-inf")):
            return _Float(number)
    return text


def _reread(value: Any) -> Any:
    """The value a YAML parser builds from the Go JSON encoding of `value`."""
    if isinstance(value, dict):
        return {_reread_string(str(k)): _reread(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reread(v) for v in value]
    if isinstance(value, str):
        return _reread_string(value)
    if isinstance(value, JsonNumber):
        return _reread_number(value.text)
    if isinstance(value, float) and not isinstance(value, _Float):
        return _Float(value)
    return value


# --------------------------------------------------------------------------- YAML 1.1 resolution

_BOOL_NULL_WORDS = frozenset(
    (
        *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"),
        *("true", "True", "TRUE", "false", "False", "FALSE"),
        *("on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL"),
        *(".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"),
        *("+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"),
    )
)
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# strconv.ParseFloat input starting with ".": underscores allowed between digits.
_DOT_FLOAT = re.compile(r"^\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?$")
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIME = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?"
_TIMESTAMPS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[Tt]" + _TIME + r"(?:Z|[+-](\d\d):(\d\d))$"),
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2}) " + _TIME + r"$"),
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_DIGITS_FOR_BASE = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _go_parse_int(text: str, *, allow_sign: bool, unsigned: bool = False) -> int | None:
    """strconv.ParseInt/ParseUint(text, 0, 64), or None on error."""
    body = text
    negative = False
    if body[:1] in ("+", "-"):
        if not allow_sign:
            return None
        negative = body[0] == "-"
        body = body[1:]
    base = 10
    lowered = body[:2].lower()
    if lowered == "0x":
        base, body = 16, body[2:]
    elif lowered == "0o":
        base, body = 8, body[2:]
    elif lowered == "0b":
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or not all(c in _DIGITS_FOR_BASE[base] for c in body):
        return None
    value = int(body, base)
    if negative:
        value = -value
    if unsigned:
        return value if 0 <= value <= _MAX_UINT64 else None
    return value if _MIN_INT64 <= value <= _MAX_INT64 else None


def _is_timestamp(text: str) -> bool:
    for pattern in _TIMESTAMPS:
        m = pattern.match(text)
        if m is None:
            continue
        year, month, day = (int(g) for g in m.groups()[:3])
        if not 1 <= month <= 12 or not 1 <= day <= _DAYS[month - 1]:
            return False
        if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 or year % 400 == 0)):
            return False
        parts = m.groups()[3:6]
        if parts:
            hour, minute, second = (int(p) for p in parts)
            if hour > 23 or minute > 59 or second > 59:
                return False
        return True
    return False


def _resolves_to_non_string(text: str) -> bool:
    """Would this text, written as a plain scalar, read back as a non-string?"""
    if text == "":
        return True
    first = text[0]
    if first in "yYnNtTfFoO~":
        return text in _BOOL_NULL_WORDS
    if first == ".":
        if text in _BOOL_NULL_WORDS:
            return True
        return bool(_DOT_FLOAT.match(text)) and float(text.replace("_", "")) != float("inf")
    if first in "+-0123456789":
        if text in _BOOL_NULL_WORDS:
            return True
        if first.isdigit() and _is_timestamp(text):
            return True
        plain = text.replace("_", "")
        if plain and (
            _go_parse_int(plain, allow_sign=True) is not None
            or _go_parse_int(plain, allow_sign=False, unsigned=True) is not None
        ):
            return True
        if _YAML_FLOAT.match(plain) and float(plain) not in (float("inf"), float("-inf")):
            return True
        for prefix in ("0b", "-0b"):
            digits = plain[len(prefix) :]
            if plain.startswith(prefix) and digits and set(digits) <= {"0", "1"}:
                return len(digits.lstrip("0")) <= 64
    return False


# --------------------------------------------------------------------------- key order


def _wrap_int64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _natural_less(a: str, b: str) -> bool:
    """The YAML encoder's key order: letters by code point, digit runs numerically."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = _wrap_int64(an * 10 + ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = _wrap_int64(bn * 10 + ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_cmp(a: str, b: str) -> int:
    if _natural_less(a, b):
        return -1
    if _natural_less(b, a):
        return 1
    return 0


_KEY_ORDER = cmp_to_key(_key_cmp)


# --------------------------------------------------------------------------- scalar formatting


def _go_format_float(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64)."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    negative = str(value).startswith("-")
    sign = "-" if negative else ""
    if value == 0:
        return sign + "0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = len(digit_tuple) + int(exponent)
    exp = point - 1
    # The shortest form switches to an exponent outside 1e-4 <= |v| < 1e6.
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


_BREAKS = "\r\n\x85\u2028\u2029"


def _printable(ch: str) -> bool:
    cp = ord(ch)
    return (
        cp == 0x0A
        or 0x20 <= cp <= 0x7E
        or 0xA0 <= cp <= 0xD7FF
        or (0xE000 <= cp <= 0xFFFD and cp != 0xFEFF)
    )


class _Analysis:
    __slots__ = ("block", "block_plain", "flow_plain", "multiline", "single")

    def __init__(self, text: str) -> None:
        self.multiline = False
        if not text:
            self.flow_plain = False
            self.block_plain = True
            self.single = True
            self.block = False
            return
        block_ind = flow_ind = False
        if text.startswith(("---", "...")):
            block_ind = flow_ind = True
        line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = previous_space = previous_break = False
        preceded_by_ws = True
        n = len(text)
        for i, ch in enumerate(text):
            followed_by_ws = i + 1 >= n or text[i + 1] in " \t"
            if i == 0:
                if ch in "#,[]{}&*!|>'\"%@`":
                    flow_ind = block_ind = True
                elif ch in "?:":
                    flow_ind = True
                    block_ind = block_ind or followed_by_ws
                elif ch == "-" and followed_by_ws:
                    flow_ind = block_ind = True
            elif ch in ",?[]{}":
                flow_ind = True
            elif ch == ":":
                flow_ind = True
                block_ind = block_ind or followed_by_ws
            elif ch == "#" and preceded_by_ws:
                flow_ind = block_ind = True
            if not _printable(ch):
                special = True
            if ch == " ":
                leading_space = leading_space or i == 0
                trailing_space = trailing_space or i == n - 1
                break_space = break_space or previous_break
                previous_space, previous_break = True, False
            elif ch in _BREAKS:
                line_breaks = True
                leading_break = leading_break or i == 0
                trailing_break = trailing_break or i == n - 1
                space_break = space_break or previous_space
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_ws = ch in " \t\x00" or ch in _BREAKS
        self.multiline = line_breaks
        self.flow_plain = self.block_plain = self.single = self.block = True
        if leading_space or leading_break or trailing_space or trailing_break:
            self.flow_plain = self.block_plain = False
        if trailing_space:
            self.block = False
        if break_space:
            self.flow_plain = self.block_plain = self.single = False
        if space_break or special:
            self.flow_plain = self.block_plain = self.single = self.block = False
        if line_breaks:
            self.flow_plain = self.block_plain = False
        if flow_ind:
            self.flow_plain = False
        if block_ind:
            self.block_plain = False


_PLAIN, _SINGLE, _DOUBLE, _LITERAL = "plain", "single", "double", "literal"
_SHORT_ESCAPES = {
    0x00: "0",
    0x07: "a",
    0x08: "b",
    0x09: "t",
    0x0A: "n",
    0x0B: "v",
    0x0C: "f",
    0x0D: "r",
    0x1B: "e",
    0x22: '"',
    0x5C: "\\",
    0x85: "N",
    0xA0: "_",
    0x2028: "L",
    0x2029: "P",
}


# --------------------------------------------------------------------------- emitter


class _Emitter:
    """A block-style emitter tracking the column like libyaml does."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.indents: list[int] = []

    # low-level writes
    def put(self, text: str) -> None:
        self.parts.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.parts.append("\n")
        self.column = 0

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
        else:
            self.parts.append(ch)
            self.column = 0

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True
        self.indention = True

    def increase_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = _BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += _BEST_INDENT

    def restore_indent(self) -> None:
        self.indent = self.indents.pop()

    # nodes
    def node(self, value: Any, *, mapping: bool = False, simple_key: bool = False) -> None:
        if isinstance(value, dict):
            if value:
                self.block_mapping(value)
            else:
                self.empty_flow("{", "}")
        elif isinstance(value, list):
            if value:
                self.block_sequence(value, mapping)
            else:
                self.empty_flow("[", "]")
        else:
            self.scalar(value, simple_key)

    def empty_flow(self, start: str, end: str) -> None:
        self.indicator(start, True, True, False)
        self.indicator(end, False, False, False)

    def block_sequence(self, items: list[Any], mapping_context: bool) -> None:
        self.increase_indent(False, mapping_context and not self.indention)
        for item in items:
            self.write_indent()
            self.indicator("-", True, False, True)
            self.node(item)
        self.restore_indent()

    def block_mapping(self, mapping: dict[str, Any]) -> None:
        self.increase_indent(False, False)
        for key in sorted(mapping, key=_KEY_ORDER):
            value = mapping[key]
            self.write_indent()
            if not _Analysis(key).multiline and len(key.encode("utf-8", "surrogatepass")) <= 128:
                self.node(key, mapping=True, simple_key=True)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.node(key, mapping=True)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.node(value, mapping=True)
        self.restore_indent()

    def scalar(self, value: Any, simple_key: bool) -> None:
        if value is None:
            text, style = "null", _PLAIN
        elif value is True or value is False:
            text, style = ("true" if value else "false"), _PLAIN
        elif isinstance(value, float):
            text, style = _go_format_float(value), _PLAIN
        elif isinstance(value, int):
            text, style = str(value), _PLAIN
        else:
            text = str(value)
            if "\n" in text:
                style = _LITERAL
            elif _resolves_to_non_string(text) or _BASE60_FLOAT.match(text):
                style = _DOUBLE
            else:
                style = _PLAIN
        info = _Analysis(text)
        if simple_key and info.multiline:
            style = _DOUBLE
        if style == _PLAIN and (not info.block_plain or (not text and simple_key)):
            style = _SINGLE
        if style == _SINGLE and not info.single:
            style = _DOUBLE
        if style == _LITERAL and (not info.block or simple_key):
            style = _DOUBLE
        self.increase_indent(True, False)
        allow_breaks = not simple_key
        if style == _PLAIN:
            self.write_plain(text, allow_breaks)
        elif style == _SINGLE:
            self.write_single(text, allow_breaks)
        elif style == _DOUBLE:
            self.write_double(text, allow_breaks)
        else:
            self.write_literal(text)
        self.restore_indent()

    def write_plain(self, text: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        n = len(text)
        for i, ch in enumerate(text):
            if ch == " ":
                if (
                    allow_breaks
                    and not spaces
                    and self.column > _BEST_WIDTH
                    and i + 1 < n
                    and text[i + 1] != " "
                ):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.whitespace = False
        self.indention = False

    def write_single(self, text: str, allow_breaks: bool) -> None:
        self.indicator("'", True, False, False)
        spaces = breaks = False
        n = len(text)
        for i, ch in enumerate(text):
            if ch == " ":
                if (
                    allow_breaks
                    and not spaces
                    and self.column > _BEST_WIDTH
                    and 0 < i < n - 1
                    and text[i + 1] != " "
                ):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put("''" if ch == "'" else ch)
                self.indention = False
                spaces = breaks = False
        self.indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def write_double(self, text: str, allow_breaks: bool) -> None:
        self.indicator('"', True, False, False)
        spaces = False
        n = len(text)
        # The reference emitter's byte-order-mark test looks at the start of the
        # string rather than the current character, so a leading BOM makes it
        # escape every character.
        escape_all = text.startswith("\ufeff")
        for i, ch in enumerate(text):
            if escape_all or not _printable(ch) or ch in _BREAKS or ch in '"\\':
                cp = ord(ch)
                short = _SHORT_ESCAPES.get(cp)
                if short is not None:
                    self.put("\\" + short)
                elif cp <= 0xFF:
                    self.put(f"\\x{cp:02X}")
                elif cp <= 0xFFFF:
                    self.put(f"\\u{cp:04X}")
                else:
                    self.put(f"\\U{cp:08X}")
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > _BEST_WIDTH and 0 < i < n - 1:
                    self.write_indent()
                    if text[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(ch)
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, text: str) -> None:
        self.indicator("|", True, False, False)
        if text[0] == " " or text[0] in _BREAKS:
            self.indicator(str(_BEST_INDENT), False, False, False)
        if not text or text[-1] not in _BREAKS:
            self.indicator("-", False, False, False)
        elif len(text) == 1 or text[-2] in _BREAKS:
            self.indicator("+", False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for ch in text:
            if ch in _BREAKS:
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


def to_yaml(value: Any) -> str:
    """yaml.Marshal of the JSON encoding of `value`: the document text, ending in a newline."""
    emitter = _Emitter()
    emitter.node(_reread(value))
    # Document end: finish the last line.
    emitter.indent = -1
    emitter.write_indent()
    return "".join(emitter.parts)
