"""ACL policy documents: HCL (or JSON) text -> Policy, with OpenBao's error texts.

The document grammar is HCL version 1, the one OpenBao parses policies with.
This module reads it itself rather than through pyhcl because the API must
answer exactly as OpenBao does, and pyhcl cannot:

* repeated blocks for one path (`path "x" {...}` twice) must both count
  (their capabilities are unioned); pyhcl keeps only the last;
* malformed input must be reported as `At <line>:<col>: <message>` with the
  positions Go's HCL scanner computes (including the column it reports at end
  of input), and `invalid key "k" on line N` needs the line of each `=`;
* bare identifiers in lists (`["read", write]`) are errors, not strings.

`parse_policy()` returns a `Policy` whose `paths` are already normalized
(leading `/` stripped, trailing `*` turned into a prefix flag, capabilities as
a bit set); acl.py compiles a set of them into the lookup tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from strongroom.durations import DurationError, parse_duration

__all__ = [
    "CAPABILITY_BITS",
    "CAP_CREATE",
    "CAP_DELETE",
    "CAP_DENY",
    "CAP_LIST",
    "CAP_PATCH",
    "CAP_READ",
    "CAP_SCAN",
    "CAP_SUDO",
    "CAP_UPDATE",
    "PathRule",
    "Permissions",
    "Policy",
    "PolicyParseError",
    "capability_names",
    "go_quote",
    "parse_policy",
]

# ---------------------------------------------------------------------------
# Capabilities

CAP_DENY = 1 << 0
CAP_CREATE = 1 << 1
CAP_READ = 1 << 2
CAP_UPDATE = 1 << 3
CAP_DELETE = 1 << 4
CAP_LIST = 1 << 5
CAP_SUDO = 1 << 6
CAP_PATCH = 1 << 7
CAP_SCAN = 1 << 8  # OpenBao only

CAPABILITY_BITS: dict[str, int] = {
    "create": CAP_CREATE,
    "read": CAP_READ,
    "update": CAP_UPDATE,
    "delete": CAP_DELETE,
    "list": CAP_LIST,
    "sudo": CAP_SUDO,
    "patch": CAP_PATCH,
    "scan": CAP_SCAN,
}
_SORTED_CAPS = sorted(CAPABILITY_BITS.items())

# Legacy `policy = "..."` values and what they expand to.
_LEGACY_POLICIES: dict[str, list[str]] = {
    "read": ["read", "list"],
    "write": ["create", "read", "update", "delete", "list"],
    "sudo": ["create", "read", "update", "delete", "list", "sudo"],
}

_TOP_LEVEL_KEYS = frozenset({"name", "path"})
_PATH_KEYS = frozenset(
    {
        "comment",
        "policy",
        "capabilities",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
        "mfa_methods",
        "control_group",
        "pagination_limit",
        "expiration",
        "list_scan_response_keys_filter_path",
    }
)


def capability_names(bits: int) -> list[str]:
    """Sorted capability names of a bit set; `["deny"]` for deny or nothing."""
    if bits & CAP_DENY:
        return ["deny"]
    names = [name for name, bit in _SORTED_CAPS if bits & bit]
    return names or ["deny"]


class PolicyParseError(ValueError):
    """The detail after `failed to parse policy: ` in the API's 400."""


@dataclass(slots=True)
class Permissions:
    """What one path rule grants; several policies' rules merge into one."""

    capabilities: int = 0
    # None = not set. An empty value list = any value.
    allowed_parameters: dict[str, list[Any]] | None = None
    denied_parameters: dict[str, list[Any]] | None = None
    required_parameters: list[str] = field(default_factory=list)
    min_wrapping_ttl: float = 0  # seconds; 0 = no constraint
    max_wrapping_ttl: float = 0

    def clone(self) -> Permissions:
        return Permissions(
            self.capabilities,
            _clone_params(self.allowed_parameters),
            _clone_params(self.denied_parameters),
            list(self.required_parameters),
            self.min_wrapping_ttl,
            self.max_wrapping_ttl,
        )


def _clone_params(params: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
    return None if params is None else {k: list(v) for k, v in params.items()}


@dataclass(slots=True)
class PathRule:
    key: str  # as written in the policy
    path: str  # leading "/" stripped; a prefix rule's trailing "*" removed
    is_prefix: bool
    has_segment_wildcards: bool
    # Paths with identity templates ({{identity.entity.id}}) only match for
    # tokens with an identity entity, which strongroom tokens never have.
    templated: bool
    permissions: Permissions


@dataclass(slots=True)
class Policy:
    name: str
    raw: str
    paths: list[PathRule]


def parse_policy(text: str, name: str = "") -> Policy:
    """Parse and validate a policy document (HCL, or JSON when it starts with `{`)."""
    if text.lstrip(" \t\r\n").startswith("{"):
        items = _JsonParser(text).parse()
    else:
        items = _HclParser(text).parse()
    return _build_policy(items, text, name)


# ---------------------------------------------------------------------------
# Go-compatible helpers


def go_quote(value: str) -> str:
    """Go's strconv.Quote (the `%q` verb)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _multierror(errors: list[str]) -> str:
    """hashicorp/go-multierror's rendering."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    body = "\n\t".join(f"* {e}" for e in errors)
    return f"{len(errors)} errors occurred:\n\t{body}\n\n"


_OCTAL = re.compile(r"[+-]?0[0-7_]+")


def _go_parse_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64)."""
    try:
        value = int(text, 8) if _OCTAL.fullmatch(text) and "_" not in text else int(text, 0)
    except ValueError:
        raise _DecodeError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax") from None
    if not -(1 << 63) <= value < (1 << 63):
        raise _DecodeError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


# ---------------------------------------------------------------------------
# Syntax tree (shaped like Go HCL's, which the error messages name)


@dataclass(frozen=True, slots=True)
class _Pos:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}" if self.line > 0 else "-"


_NOPOS = _Pos(0, 0)


@dataclass(slots=True)
class _Token:
    type: str  # Go's token type names: IDENT, STRING, LBRACE, ...
    text: str
    pos: _Pos
    value: Any = None  # decoded literal (strings unquoted, numbers as text)


@dataclass(slots=True)
class _Literal:
    token: _Token

    @property
    def pos(self) -> _Pos:
        return self.token.pos

    go_type = "*ast.LiteralType"


@dataclass(slots=True)
class _ListType:
    pos: _Pos
    items: list[_Node]
    go_type = "*ast.ListType"


@dataclass(slots=True)
class _Item:
    keys: list[_Token]
    assign: _Pos  # position of "=" (line 0 for blocks)
    val: _Node
    go_type = "*ast.ObjectItem"

    @property
    def pos(self) -> _Pos:
        return self.keys[0].pos if self.keys else self.val.pos


@dataclass(slots=True)
class _ObjectType:
    pos: _Pos
    items: list[_Item]
    go_type = "*ast.ObjectType"


@dataclass(slots=True)
class _ObjectList:
    """A bare list of items (an object's body), as Go HCL's decoder sees it."""

    items: list[_Item]
    go_type = "*ast.ObjectList"

    @property
    def pos(self) -> _Pos:
        return self.items[0].pos if self.items else _NOPOS


_Node = _Literal | _ListType | _ObjectType | _ObjectList | _Item


class _PosError(Exception):
    def __init__(self, pos: _Pos, message: str) -> None:
        super().__init__(f"At {pos}: {message}")
        self.text = f"At {pos}: {message}"


class _EndOfInput(Exception):
    """Go HCL's errEofToken: input ended where an item could start."""


# ---------------------------------------------------------------------------
# HCL scanner. Positions follow Go HCL's scanner exactly, quirks included
# (each read past the end advances the column, so an error "at EOF" is
# reported one or two columns after the last character).

_EOF = ""
_WHITESPACE = frozenset(" \t\n\r")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}


def _is_letter(ch: str) -> bool:
    return ch != _EOF and (
        "a" <= ch <= "z" or "A" <= ch <= "Z" or ch == "_" or (ch >= "\x80" and ch.isalpha())
    )


def _is_digit(ch: str) -> bool:
    return ch != _EOF and ("0" <= ch <= "9" or (ch >= "\x80" and ch.isdigit()))


def _is_decimal(ch: str) -> bool:
    return ch != _EOF and "0" <= ch <= "9"


def _digit_val(ch: str) -> int:
    if ch != _EOF:
        lower = ch.lower()
        if "0" <= ch <= "9":
            return ord(ch) - ord("0")
        if "a" <= lower <= "f":
            return ord(lower) - ord("a") + 10
    return 16


class _Scanner:
    def __init__(self, src: str, *, json_mode: bool = False) -> None:
        self.json = json_mode
        self.src = src
        self.end = len(src)
        self.offset = 0
        self.line = 1
        self.column = 0
        self.prev = (0, 1, 0)
        self.last_line_len = 0
        self.last_char_len = 0
        self.error: str | None = None  # the last one wins, as in Go

    def next(self) -> str:
        if self.offset >= self.end:
            self.column += 1
            self.last_char_len = 0
            return _EOF
        ch = self.src[self.offset]
        self.prev = (self.offset, self.line, self.column)
        self.column += 1
        self.last_char_len = 1
        self.offset += 1
        if ch == "\n":
            self.line += 1
            self.last_line_len = self.column
            self.column = 0
        elif ch == "\x00":
            self.err("unexpected null character (0x00)")
            return _EOF
        return ch

    def unread(self) -> None:
        self.offset, self.line, self.column = self.prev

    def peek(self) -> str:
        return self.src[self.offset] if self.offset < self.end else _EOF

    def err(self, message: str) -> None:
        if self.column > 0:
            pos = _Pos(self.line, self.column)
        elif self.last_line_len > 0:
            pos = _Pos(self.line - 1, self.last_line_len)
        else:
            pos = _Pos(1, 1)
        # The HCL reader formats errors as PosError; the JSON one as "pos: msg".
        self.error = f"{pos}: {message}" if self.json else f"At {pos}: {message}"

    def scan(self) -> _Token:
        ch = self.next()
        while ch in _WHITESPACE and ch != _EOF:
            ch = self.next()
        start = self.offset - self.last_char_len
        if self.column > 0:
            pos = _Pos(self.line, self.column)
        else:
            pos = _Pos(self.line - 1, self.last_line_len)
        kind = "ILLEGAL"
        if self.json:
            kind = self._scan_json(ch)
        elif _is_letter(ch):
            self._scan_identifier()
            kind = "IDENT"
        elif _is_decimal(ch):
            kind = self._scan_number(ch)
        elif ch == _EOF:
            kind = "EOF"
        elif ch == '"':
            kind = "STRING"
            self._scan_string()
        elif ch in "#/":
            kind = "COMMENT"
            self._scan_comment(ch)
        elif ch == ".":
            kind = "PERIOD"
            if _is_decimal(self.peek()):
                kind = "FLOAT"
                self._scan_exponent(self._scan_mantissa(self.peek()))
        elif ch == "<":
            kind = "HEREDOC"
            self._scan_heredoc()
        elif ch in _PUNCT:
            kind = _PUNCT[ch]
        elif ch == "-":
            kind = self._scan_number(self.next()) if _is_decimal(self.peek()) else "SUB"
        else:
            self.err("illegal char")
        text = self.src[start : self.offset]
        if kind == "IDENT" and text in ("true", "false"):
            kind = "BOOL"
        return _Token(kind, text, pos)

    def _scan_json(self, ch: str) -> str:
        if _is_letter(ch):
            start = self.offset - 1
            ch = self.next()
            while _is_letter(ch) or _is_digit(ch):
                ch = self.next()
            if ch != _EOF:
                self.unread()
            word = self.src[start : self.offset]
            if word in ("true", "false"):
                return "BOOL"
            if word == "null":
                return "NULL"
            self.err("illegal char")
            return "ILLEGAL"
        if _is_decimal(ch):
            return self._scan_json_number(ch)
        if ch == _EOF:
            return "EOF"
        if ch == '"':
            self._scan_string()
            return "STRING"
        if ch == ".":
            if _is_decimal(self.peek()):
                self._scan_exponent(self._scan_mantissa(self.peek()))
                return "FLOAT"
            return "PERIOD"
        if ch in _JSON_PUNCT:
            return _JSON_PUNCT[ch]
        if ch == "-":
            if _is_decimal(self.peek()):
                return self._scan_json_number(self.next())
            self.err("illegal char")
            return "ILLEGAL"
        self.err(f"illegal char: {ch}")
        return "ILLEGAL"

    def _scan_json_number(self, ch: str) -> str:
        zero = ch == "0"
        before = (self.offset, self.line, self.column)
        self._scan_mantissa(ch)
        ch = self.next()
        if ch in ("e", "E"):
            self._scan_exponent(ch)
            return "FLOAT"
        if ch == ".":
            ch = self._scan_fraction(ch)
            if ch in ("e", "E"):
                self._scan_exponent(self.next())
            return "FLOAT"
        if ch != _EOF:
            self.unread()
        if zero and before != (self.offset, self.line, self.column):
            self.err("numbers cannot start with 0")
        return "NUMBER"

    def _scan_identifier(self) -> None:
        ch = self.next()
        while _is_letter(ch) or _is_digit(ch) or ch in ("-", "."):
            ch = self.next()
        if ch != _EOF:
            self.unread()

    # Numbers: Go's scanner reads one character too far and puts it back,
    # except at the end of input, which moves the reported EOF column; these
    # follow its steps so positions match.
    def _scan_mantissa(self, ch: str) -> str:
        scanned = False
        while _is_decimal(ch):
            ch = self.next()
            scanned = True
        if scanned and ch != _EOF:
            self.unread()
        return ch

    def _scan_fraction(self, ch: str) -> str:
        if ch == ".":
            ch = self._scan_mantissa(self.peek())
        return ch

    def _scan_exponent(self, ch: str) -> str:
        if ch in ("e", "E"):
            ch = self.next()
            if ch in ("-", "+"):
                ch = self.next()
            ch = self._scan_mantissa(ch)
        return ch

    def _scan_number(self, ch: str) -> str:
        if ch == "0":
            ch = self.next()
            if ch in ("x", "X"):
                ch = self.next()
                found = False
                while _digit_val(ch) < 16:
                    ch = self.next()
                    found = True
                if not found:
                    self.err("illegal hexadecimal number")
                if ch != _EOF:
                    self.unread()
                return "NUMBER"
            illegal_octal = False
            while _is_decimal(ch):
                ch = self.next()
                if ch in ("8", "9"):
                    illegal_octal = True
            if ch in ("e", "E"):
                self._scan_exponent(ch)
                return "FLOAT"
            if ch == ".":
                ch = self._scan_fraction(ch)
                if ch in ("e", "E"):
                    self._scan_exponent(self.next())
                return "FLOAT"
            if illegal_octal:
                self.err("illegal octal number")
            if ch != _EOF:
                self.unread()
            return "NUMBER"
        self._scan_mantissa(ch)
        ch = self.next()
        if ch in ("e", "E"):
            self._scan_exponent(ch)
            return "FLOAT"
        if ch == ".":
            ch = self._scan_fraction(ch)
            if ch in ("e", "E"):
                self._scan_exponent(self.next())
            return "FLOAT"
        if ch != _EOF:
            self.unread()
        return "NUMBER"

    def _scan_string(self) -> None:
        braces = 0
        while True:
            ch = self.next()
            if (ch == "\n" and braces == 0) or ch == _EOF:
                self.err("literal not terminated")
                return
            if ch == '"' and braces == 0:
                return
            if braces == 0 and ch == "$" and self.peek() == "{":
                braces += 1
                self.next()
            elif braces > 0 and ch == "{":
                braces += 1
            if braces > 0 and ch == "}":
                braces -= 1
            if ch == "\\":
                self._scan_escape()

    def _scan_escape(self) -> None:
        ch = self.next()
        if ch in _ESCAPES:
            return
        if ch != _EOF and "0" <= ch <= "7":
            self._scan_escape_digits(ch, 8, 3)
        elif ch == "x":
            self._scan_escape_digits(self.next(), 16, 2)
        elif ch == "u":
            self._scan_escape_digits(self.next(), 16, 4)
        elif ch == "U":
            self._scan_escape_digits(self.next(), 16, 8)
        else:
            self.err("illegal char escape")

    def _scan_escape_digits(self, ch: str, base: int, count: int) -> None:
        if self.json:  # the JSON scanner always puts the last character back
            while count > 0 and _digit_val(ch) < base:
                ch = self.next()
                count -= 1
            if count > 0:
                self.err("illegal char escape")
            self.unread()
            return
        start = count
        while count > 0 and _digit_val(ch) < base:
            ch = self.next()
            if ch == _EOF:
                break
            count -= 1
        if count > 0:
            self.err("illegal char escape")
        if count != start and ch != _EOF:
            self.unread()

    def _scan_comment(self, ch: str) -> None:
        if ch == "#" or (ch == "/" and self.peek() != "*"):
            if ch == "/" and self.peek() != "/":
                self.err("expected '/' for comment")
                return
            ch = self.next()
            while ch not in ("\n", _EOF):
                ch = self.next()
            if ch != _EOF:
                self.unread()
            return
        self.next()  # the "*" of "/*"
        ch = self.next()
        while True:
            if ch == _EOF:
                self.err("comment not terminated")
                return
            before, ch = ch, self.next()
            if before == "*" and ch == "/":
                return

    def _scan_heredoc(self) -> None:
        if self.next() != "<":
            self.err("heredoc expected second '<', didn't see it")
            return
        anchor_start = self.offset
        ch = self.next()
        if ch == "-":
            ch = self.next()
        while _is_letter(ch) or _is_digit(ch):
            ch = self.next()
        if ch == _EOF:
            self.err("heredoc not terminated")
            return
        if ch == "\r" and self.peek() == "\n":
            ch = self.next()
        if ch != "\n":
            self.err("invalid characters in heredoc anchor")
            return
        anchor = self.src[anchor_start : self.offset - 1].rstrip("\r")
        if anchor in ("", "-"):
            self.err("zero-length heredoc anchor")
            return
        ident = anchor[1:] if anchor.startswith("-") else anchor
        terminator = re.compile(rf"\s*{re.escape(ident)}\r*")
        line_start = self.offset
        while True:
            ch = self.next()
            if ch == "\n":
                line = self.src[line_start : self.offset - 1]
                if len(line) >= len(anchor) and terminator.fullmatch(line):
                    return
                line_start = self.offset
            if ch == _EOF:
                self.err("heredoc not terminated")
                return


_PUNCT = {
    "[": "LBRACK",
    "]": "RBRACK",
    "{": "LBRACE",
    "}": "RBRACE",
    ",": "COMMA",
    "=": "ASSIGN",
    "+": "ADD",
}
_JSON_PUNCT = {
    "[": "LBRACK",
    "]": "RBRACK",
    "{": "LBRACE",
    "}": "RBRACE",
    ",": "COMMA",
    ":": "COLON",
}
_LITERALS = frozenset({"NUMBER", "FLOAT", "BOOL", "STRING", "HEREDOC"})


def _unquote(text: str) -> str:
    """The value of a STRING token (Go HCL's Unquote, lenient)."""
    body = text[1:-1] if len(text) >= 2 and text.endswith('"') else text[1:]
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                out.append(body[i : i + 2 + width])
            i += 2 + width
        elif "0" <= esc <= "7":
            digits = body[i + 1 : i + 4]
            try:
                out.append(chr(int(digits, 8)))
            except ValueError:
                out.append(digits)
            i += 4
        else:
            out.append(esc)
            i += 2
    return "".join(out)


def _heredoc_value(text: str) -> str:
    """Go HCL's heredoc value: it cuts as many characters off the end as the
    anchor line has, wherever the terminator really starts."""
    idx = text.find("\n")
    if text[2:3] != "-":
        return text[idx + 1 : len(text) - idx + 1]
    lines = text[idx + 1 : len(text) - idx + 2].split("\n")
    prefix = lines[-1]
    if not all(line.startswith(prefix) for line in lines):
        return text[idx + 1 : len(text) - idx + 1].rstrip(" \t")
    return "\n".join([line[len(prefix) :] for line in lines[:-1]] + [""])


def _literal_value(token: _Token) -> Any:
    if token.type == "STRING":
        return _unquote(token.text)
    if token.type == "HEREDOC":
        return _heredoc_value(token.text)
    return token.text


# ---------------------------------------------------------------------------
# HCL parser (Go HCL v1's grammar and error texts)


class _HclParser:
    def __init__(self, src: str) -> None:
        self.scanner = _Scanner(src)
        self.tok = _Token("EOF", "", _NOPOS)
        self.buffered = False

    def parse(self) -> list[_Item]:
        error: _PosError | None = None
        items: list[_Item] = []
        try:
            items = self._object_list(in_object=False)
        except _PosError as err:
            error = err
        if self.scanner.error is not None:
            raise PolicyParseError(self.scanner.error)
        if error is not None:
            raise PolicyParseError(error.text)
        return items

    def _scan(self) -> _Token:
        if self.buffered:
            self.buffered = False
            return self.tok
        tok = self.scanner.scan()
        while tok.type == "COMMENT":
            tok = self.scanner.scan()
        if tok.type in ("STRING", "HEREDOC"):
            tok.value = _literal_value(tok)
        else:
            tok.value = tok.text
        self.tok = tok
        return tok

    def _unscan(self) -> None:
        self.buffered = True

    def _object_list(self, *, in_object: bool) -> list[_Item]:
        items: list[_Item] = []
        while True:
            if in_object:
                tok = self._scan()
                self._unscan()
                if tok.type == "RBRACE":
                    break
            try:
                item = self._object_item()
            except _EndOfInput:
                break
            items.append(item)
            # Items may be separated by commas.
            if self._scan().type != "COMMA":
                self._unscan()
        return items

    def _object_item(self) -> _Item:
        keys, error = self._object_key()
        if keys and isinstance(error, _EndOfInput):
            error = None
        if keys and error is not None and self.tok.type == "RBRACE":
            error = None
            self.tok = _Token("EOF", self.tok.text, self.tok.pos, self.tok.value)
        if error is not None:
            raise error
        assign = _NOPOS
        if self.tok.type == "ASSIGN":
            assign = self.tok.pos
            val = self._object()
        elif self.tok.type == "LBRACE":
            val = self._object_type()
        else:
            names = " ".join(k.text for k in keys)
            raise _PosError(
                self.tok.pos,
                f"key '{names}' expected start of object ('{{') or assignment ('=')",
            )
        # Go looks one token ahead here (for a line comment); the scan may
        # record a scanner error, so it is kept.
        self._scan()
        self._unscan()
        return _Item(keys, assign, val)

    def _object_key(self) -> tuple[list[_Token], Exception | None]:
        keys: list[_Token] = []
        while True:
            tok = self._scan()
            kind = tok.type
            if kind == "EOF":
                return keys, _EndOfInput()
            if kind == "ASSIGN":
                if len(keys) > 1:
                    return [], _PosError(tok.pos, "nested object expected: LBRACE got: ASSIGN")
                if not keys:
                    return [], _PosError(tok.pos, "no object keys found!")
                return keys, None
            if kind == "LBRACE":
                if not keys:
                    return keys, _PosError(tok.pos, "expected: IDENT | STRING got: LBRACE")
                return keys, None
            if kind in ("IDENT", "STRING"):
                keys.append(tok)
                continue
            if kind == "ILLEGAL":
                return keys, _PosError(tok.pos, "illegal character")
            return keys, _PosError(
                tok.pos, f"expected: IDENT | STRING | ASSIGN | LBRACE got: {kind}"
            )

    def _object(self) -> _Node:
        tok = self._scan()
        if tok.type in _LITERALS:
            return _Literal(tok)
        if tok.type == "LBRACE":
            return self._object_type()
        if tok.type == "LBRACK":
            return self._list_type()
        if tok.type == "EOF":
            raise _EndOfInput()
        raise _PosError(tok.pos, f"Unknown token: {tok.pos} {tok.type} {tok.text}")

    def _object_type(self) -> _ObjectType:
        lbrace = self.tok.pos
        items = self._object_list(in_object=True)
        tok = self._scan()
        if tok.type != "RBRACE":
            raise _PosError(tok.pos, f"object expected closing RBRACE got: {tok.type}")
        return _ObjectType(lbrace, items)

    def _list_type(self) -> _ListType:
        lbrack = self.tok.pos
        items: list[_Node] = []
        need_comma = False
        while True:
            tok = self._scan()
            kind = tok.type
            if need_comma and kind not in ("COMMA", "RBRACK"):
                raise _PosError(
                    tok.pos, f"error parsing list, expected comma or list end, got: {kind}"
                )
            if kind in _LITERALS:
                items.append(_Literal(tok))
                need_comma = True
            elif kind == "COMMA":
                self._scan()
                self._unscan()
                need_comma = False
            elif kind == "LBRACE":
                try:
                    items.append(self._object_type())
                except _PosError as err:
                    raise _PosError(
                        tok.pos, f"error while trying to parse object within list: {err.text}"
                    ) from None
                need_comma = True
            elif kind == "LBRACK":
                try:
                    items.append(self._list_type())
                except _PosError as err:
                    raise _PosError(
                        tok.pos, f"error while trying to parse list within list: {err.text}"
                    ) from None
            elif kind == "RBRACK":
                return _ListType(lbrack, items)
            else:
                raise _PosError(tok.pos, f"unexpected token while parsing list: {kind}")


# ---------------------------------------------------------------------------
# JSON form. Go HCL turns JSON into the same tree (nodes carry no positions,
# only the ":" of each item does) and then flattens nested objects into
# multi-key items: {"path": {"x": {...}}} reads like `path "x" {...}`.


class _JsonParser:
    """Go HCL's JSON parser, leniencies included: after an item anything but a
    comma ends the object (so truncated input can parse), booleans in lists
    are skipped, and text after the top-level object is ignored."""

    def __init__(self, src: str) -> None:
        self.scanner = _Scanner(src, json_mode=True)
        self.tok = _Token("EOF", "", _NOPOS)

    def parse(self) -> list[_Item]:
        items: list[_Item] = []
        error: str | None = None
        try:
            tok = self._scan()
            if tok.type == "LBRACE":
                items = self._object_type().items
            else:
                error = f"Expected object, got unknown token: {tok.pos} {tok.type} {tok.text}"
        except _JsonError as err:
            error = str(err)
        if self.scanner.error is not None:
            raise PolicyParseError(self.scanner.error)
        if error is not None:
            raise PolicyParseError(error)
        _flatten(items)
        return items

    def _scan(self) -> _Token:
        self.tok = self.scanner.scan()
        return self.tok

    def _object_list(self) -> tuple[list[_Item], _JsonError | None]:
        """The items read, and the error that stopped reading (if any)."""
        items: list[_Item] = []
        while True:
            try:
                item = self._object_item()
            except _EndOfInput:
                break
            except _JsonError as err:
                return items, err
            items.append(item)
            if self._scan().type != "COMMA":
                break
        return items, None

    def _object_item(self) -> _Item:
        keys: list[_Token] = []
        while True:
            tok = self._scan()
            if tok.type == "EOF":
                raise _EndOfInput()
            if tok.type == "STRING":
                keys.append(_Token("STRING", tok.text, _NOPOS, _unquote(tok.text)))
            elif tok.type == "COLON":
                if not keys:
                    raise _JsonError("expected: STRING got: COLON")
                break
            elif tok.type == "ILLEGAL":
                raise _JsonError("illegal")
            else:
                raise _JsonError(f"expected: STRING got: {tok.type}")
        colon = self.tok.pos
        return _Item(keys, colon, self._object_value())

    def _object_value(self) -> _Node:
        tok = self._scan()
        if tok.type in ("NUMBER", "FLOAT", "BOOL", "NULL", "STRING"):
            return self._literal(tok)
        if tok.type == "LBRACE":
            return self._object_type()
        if tok.type == "LBRACK":
            return self._list_type()
        if tok.type == "EOF":
            raise _EndOfInput()
        raise _JsonError(
            f"Expected object value, got unknown token: {tok.pos} {tok.type} {tok.text}"
        )

    @staticmethod
    def _literal(tok: _Token) -> _Literal:
        value = _unquote(tok.text) if tok.type == "STRING" else tok.text
        return _Literal(_Token(tok.type, tok.text, _NOPOS, value))

    def _object_type(self) -> _ObjectType:
        items, error = self._object_list()
        # An error right at a "}" just ends the object (this is how "{}" parses).
        if error is not None and self.tok.type != "RBRACE":
            raise error
        return _ObjectType(_NOPOS, items)

    def _list_type(self) -> _ListType:
        values: list[_Node] = []
        while True:
            tok = self._scan()
            kind = tok.type
            if kind in ("NUMBER", "FLOAT", "STRING"):
                values.append(self._literal(tok))
            elif kind == "LBRACE":
                values.append(self._object_type())
            elif kind == "RBRACK":
                return _ListType(_NOPOS, values)
            elif kind not in ("COMMA", "BOOL", "LBRACK"):
                raise _JsonError(f"unexpected token while parsing list: {kind}")


class _JsonError(Exception):
    pass


def _flatten(items: list[_Item]) -> None:
    """Go HCL's JSON flattening, applied to every object list in the tree."""
    flat: list[_Item] = []
    frontier = list(items)
    while frontier:
        item = frontier.pop()
        val = item.val
        if (
            isinstance(val, _ObjectType)
            and val.items
            and all(isinstance(sub.val, _ObjectType) for sub in val.items)
        ):
            frontier.extend(
                _Item([*item.keys, *sub.keys], item.assign, sub.val) for sub in val.items
            )
        elif (
            isinstance(val, _ListType)
            and val.items
            and all(isinstance(sub, _ObjectType) for sub in val.items)
        ):
            frontier.extend(_Item(item.keys, item.assign, sub) for sub in val.items)
        else:
            flat.append(item)
    flat.reverse()
    items[:] = flat
    for item in items:
        _flatten_node(item.val)


def _flatten_node(node: _Node) -> None:
    if isinstance(node, _ObjectType):
        _flatten(node.items)
    elif isinstance(node, _ListType):
        for sub in node.items:
            _flatten_node(sub)


# ---------------------------------------------------------------------------
# Decoding (Go HCL's DecodeObject into Vault's PathRules; its error texts)


class _DecodeError(Exception):
    pass


def _key_value(token: _Token) -> str:
    return str(token.value)


def _check_keys(node: _Node, valid: frozenset[str]) -> str | None:
    if isinstance(node, _ObjectType | _ObjectList):
        items = node.items
    else:
        return f"cannot check HCL keys of type {node.go_type}"
    errors = [
        f"invalid key {go_quote(_key_value(item.keys[0]))} on line {item.assign.line}"
        for item in items
        if item.keys and _key_value(item.keys[0]) not in valid
    ]
    return _multierror(errors) if errors else None


def _filter(items: list[_Item], key: str) -> list[_Item]:
    """ObjectList.Filter: items whose first key matches (case-insensitively), key removed."""
    lowered = key.lower()
    return [
        _Item(item.keys[1:], item.assign, item.val)
        for item in items
        if item.keys and _key_value(item.keys[0]).lower() == lowered
    ]


def _field_nodes(items: list[_Item], key: str) -> list[_Node]:
    out: list[_Node] = []
    for item in _filter(items, key):
        if item.keys:
            out.append(_ObjectList([item]))
        elif isinstance(item.val, _ObjectType):
            out.append(_ObjectList(item.val.items))
        else:
            out.append(item.val)
    return out


def _decode_string(name: str, node: _Node) -> str:
    if isinstance(node, _Literal):
        tok = node.token
        if tok.type in ("NUMBER", "FLOAT"):
            return tok.text
        if tok.type in ("STRING", "HEREDOC"):
            return str(tok.value)
    raise _DecodeError(f"At {node.pos}: {name}: unknown type for string {node.go_type}")


def _slice_items(node: _Node) -> list[_Node]:
    if isinstance(node, _ObjectList):
        return list(node.items)
    if isinstance(node, _ObjectType):
        return [node]
    if isinstance(node, _ListType):
        return node.items
    raise _DecodeError(f"At {node.pos}: unknown slice type: {node.go_type}")


def _decode_strings(name: str, node: _Node) -> list[str]:
    return [_decode_string(f"{name}[{i}]", sub) for i, sub in enumerate(_slice_items(node))]


def _decode_any(node: _Node) -> Any:
    if isinstance(node, _Literal):
        tok = node.token
        if tok.type == "NUMBER":
            return _go_parse_int(tok.text)
        if tok.type == "FLOAT":
            return float(tok.text)
        if tok.type == "BOOL":
            return tok.text == "true"
        if tok.type == "NULL":
            return None
        return tok.value
    if isinstance(node, _ListType):
        return [_decode_any(sub) for sub in node.items]
    if isinstance(node, _ObjectType | _ObjectList):
        return {_key_value(item.keys[0]): _decode_any(item.val) for item in node.items if item.keys}
    return _decode_any(node.val)


def _decode_param_map(name: str, nodes: list[_Node]) -> dict[str, list[Any]] | None:
    if not nodes:
        return None
    result: dict[str, list[Any]] = {}
    for node in nodes:
        if isinstance(node, _Item):
            node = _ObjectList([node])
        elif isinstance(node, _ObjectType):
            node = _ObjectList(node.items)
        if not isinstance(node, _ObjectList):
            raise _DecodeError(
                f"At {node.pos}: {name}: not an object type for map ({node.go_type})"
            )
        for item in node.items:
            if not item.keys:
                raise _DecodeError(f"At {node.pos}: {name}: map must have string keys")
            key = _key_value(item.keys[0])
            val: _Node = item.val
            if len(item.keys) > 1:
                val = _ObjectList([_Item(item.keys[1:], item.assign, item.val)])
            values = result.setdefault(key, [])
            values.extend(_decode_any(sub) for sub in _slice_items(val))
    return result


def _wrapping_ttl(nodes: list[_Node], name: str) -> float:
    if not nodes:
        return 0
    value = _decode_any(nodes[-1])
    try:
        if isinstance(value, float):
            return value
        return parse_duration(value)
    except DurationError as err:
        raise _FieldError(f"error parsing {name}: {err}") from None


class _FieldError(Exception):
    """A path block error reported with one `path "x": ` prefix."""


def _build_policy(items: list[_Item], raw: str, name: str) -> Policy:
    error = _check_keys(_ObjectList(items), _TOP_LEVEL_KEYS)
    if error is not None:
        raise PolicyParseError(error)
    try:
        for node in _field_nodes(items, "name"):
            _decode_string("root.name", node)
    except _DecodeError as err:
        raise PolicyParseError(str(err)) from None
    paths = [_build_path(item) for item in _filter(items, "path")]
    return Policy(name=name, raw=raw, paths=paths)


def _build_path(item: _Item) -> PathRule:
    key = _key_value(item.keys[0]) if item.keys else "path"
    prefix = f"path {go_quote(key)}: "
    error = _check_keys(item.val, _PATH_KEYS)
    if error is not None:
        raise PolicyParseError(prefix + error)
    try:
        return _path_rule(key, item.val)
    except _DecodeError as err:
        raise PolicyParseError(f"{prefix}{prefix}{err}") from None
    except _FieldError as err:
        raise PolicyParseError(f"{prefix}{err}") from None


def _path_rule(key: str, block: _Node) -> PathRule:
    body = block.items if isinstance(block, _ObjectType | _ObjectList) else []
    legacy = ""
    for node in _field_nodes(body, "policy"):
        legacy = _decode_string("root.Policy", node)
    capabilities: list[str] = []
    for node in _field_nodes(body, "capabilities"):
        capabilities.extend(_decode_strings("root.Capabilities", node))
    min_nodes = _field_nodes(body, "min_wrapping_ttl")
    max_nodes = _field_nodes(body, "max_wrapping_ttl")
    for node in (*min_nodes, *max_nodes):
        _decode_any(node)
    allowed = _decode_param_map("root.allowed_parameters", _field_nodes(body, "allowed_parameters"))
    denied = _decode_param_map("root.denied_parameters", _field_nodes(body, "denied_parameters"))
    required: list[str] = []
    for node in _field_nodes(body, "required_parameters"):
        required.extend(_decode_strings("root.required_parameters", node))
    for node in _field_nodes(body, "mfa_methods"):
        _decode_strings("root.mfa_methods", node)
    control_groups = _field_nodes(body, "control_group")

    path = key[1:] if key.startswith("/") else key
    if "+*" in path:
        raise _FieldError(f"path {go_quote(path)}: invalid use of wildcards ('+*' is forbidden)")
    wildcards = path == "+" or "/+" in path or path.startswith("+/")
    is_prefix = False
    if path.endswith("*") and not wildcards:
        path, is_prefix = path[:-1], True
    rule = PathRule(
        key=key,
        path=path,
        is_prefix=is_prefix,
        has_segment_wildcards=wildcards,
        templated="{{" in key or "}}" in key,
        permissions=Permissions(),
    )

    if legacy:
        if legacy == "deny":
            capabilities = ["deny"]
        elif legacy in _LEGACY_POLICIES:
            capabilities = capabilities + _LEGACY_POLICIES[legacy]
        else:
            raise _FieldError(f"path {go_quote(key)}: invalid policy {go_quote(legacy)}")
    bits = 0
    for cap in capabilities:
        if cap == "deny":
            rule.permissions.capabilities = CAP_DENY
            return rule  # deny discards everything else in the block
        bit = CAPABILITY_BITS.get(cap)
        if bit is None:
            raise _FieldError(f"path {go_quote(key)}: invalid capability {go_quote(cap)}")
        bits |= bit
    perms = rule.permissions
    perms.capabilities = bits
    perms.min_wrapping_ttl = _wrapping_ttl(min_nodes, "min_wrapping_ttl")
    perms.max_wrapping_ttl = _wrapping_ttl(max_nodes, "max_wrapping_ttl")
    if 0 != perms.max_wrapping_ttl < perms.min_wrapping_ttl != 0:
        raise _FieldError("max_wrapping_ttl cannot be less than min_wrapping_ttl")
    if allowed is not None:
        perms.allowed_parameters = {k.lower(): v for k, v in allowed.items()}
    if denied is not None:
        perms.denied_parameters = {k.lower(): v for k, v in denied.items()}
    perms.required_parameters = required
    for node in control_groups:
        if not _has_factor(node):
            problem = _multierror(["requires at least one factor but had none"])
            raise _FieldError(f"error handling control_group: {problem}")
    return rule


def _has_factor(node: _Node) -> bool:
    items = node.items if isinstance(node, _ObjectType | _ObjectList) else []
    return any(item.keys and _key_value(item.keys[0]) == "factor" for item in items)
