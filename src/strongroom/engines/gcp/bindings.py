"""The bindings document: HCL (v1) or JSON, raw or base64, resource -> roles (§5).

    resource "//cloudresourcemanager.googleapis.com/projects/my-project" {
      roles = ["roles/viewer", "roles/storage.objectViewer"],
    }

A small parser of the HCL subset bindings use (comments, quoted strings,
identifiers, `=`, lists, nested blocks, trailing commas) keeps line numbers
for messages and unions repeated blocks of the same resource, as the
reference does. JSON documents (what hvac sends) go through `json`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from .resources import ResourceError, parse

ROLE = re.compile(
    r"^(roles/[^/\s]+|projects/[^/\s]+/roles/[^/\s]+|organizations/[^/\s]+/roles/[^/\s]+)$"
)
ROLE_FORMATS = "'roles/X', 'projects/X/roles/Y', 'organizations/X/roles/Y'"


class BindingsError(ValueError):
    """A bindings document strongroom cannot use; the text is shown to the user."""


@dataclass
class _Tok:
    kind: str  # str | ident | num | punct
    value: str
    line: int


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*|//[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][\w.\-]*)
  | (?P<punct>[{}\[\]=,:])
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    line, pos = 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise BindingsError(f"unexpected character {text[pos]!r} (line {line})")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "str":
            try:
                out.append(_Tok("str", json.loads(value), line))
            except ValueError:
                raise BindingsError(f"invalid string {value} (line {line})") from None
        elif kind in ("num", "ident", "punct"):
            out.append(_Tok(kind, value, line))
        line += value.count("\n")
        pos = m.end()
    return out


class _Parser:
    """HCL v1 object lists: `key [label...] [=] value`, values: strings, lists, blocks."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            last = self.toks[-1].line if self.toks else 1
            raise BindingsError(f"unexpected end of input (line {last})")
        self.i += 1
        return tok

    def expect(self, value: str) -> _Tok:
        tok = self.take()
        if tok.kind != "punct" or tok.value != value:
            raise BindingsError(f"expected '{value}', found {tok.value!r} (line {tok.line})")
        return tok

    def object_list(self, closing: str | None) -> list[tuple[list[_Tok], Any, int]]:
        items: list[tuple[list[_Tok], Any, int]] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing is not None:
                    self.take()  # raises: unexpected end
                return items
            if tok.kind == "punct" and tok.value == closing:
                return items
            keys: list[_Tok] = []
            while (nxt := self.peek()) is not None and nxt.kind in ("ident", "str"):
                keys.append(self.take())
            if not keys:
                raise BindingsError(f"expected a key, found {tok.value!r} (line {tok.line})")
            nxt = self.peek()
            if nxt is not None and nxt.kind == "punct" and nxt.value in ("=", ":"):
                self.take()
            value = self.value()
            items.append((keys, value, keys[0].line))
            nxt = self.peek()
            if nxt is not None and nxt.kind == "punct" and nxt.value == ",":
                self.take()

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return (tok.value, tok.line)
        if tok.kind in ("num", "ident"):
            return (tok.value, tok.line)
        if tok.value == "{":
            items = self.object_list("}")
            self.expect("}")
            return {"__block__": items, "__line__": tok.line}
        if tok.value == "[":
            out: list[Any] = []
            while True:
                nxt = self.peek()
                if nxt is not None and nxt.kind == "punct" and nxt.value == "]":
                    self.take()
                    return out
                out.append(self.value())
                nxt = self.peek()
                if nxt is not None and nxt.kind == "punct" and nxt.value == ",":
                    self.take()
                elif nxt is None or nxt.value != "]":
                    found = nxt.value if nxt else "end of input"
                    line = nxt.line if nxt else tok.line
                    raise BindingsError(f"expected ',' or ']', found {found!r} (line {line})")
        raise BindingsError(f"unexpected {tok.value!r} (line {tok.line})")


def _check_role(role: Any, line: int) -> str:
    if not isinstance(role, str) or not ROLE.match(role):
        raise BindingsError(
            f'invalid role "{role}" (line {line}) must be one of following formats: {ROLE_FORMATS}'
        )
    return role


def _add(out: dict[str, set[str]], resource: str, roles: list[str], line: int) -> None:
    try:
        parse(resource)
    except ResourceError as err:
        raise BindingsError(f"{err} (line {line})") from None
    out.setdefault(resource, set()).update(roles)


def _from_hcl(text: str) -> dict[str, set[str]]:
    parser = _Parser(_tokens(text))
    items = parser.object_list(None)
    out: dict[str, set[str]] = {}
    for keys, value, line in items:
        if keys[0].value != "resource":
            raise BindingsError(
                f'invalid key "{keys[0].value}" (line {line}): only "resource" blocks are allowed'
            )
        if len(keys) != 2 or keys[1].kind != "str":
            raise BindingsError(f"resource block needs one quoted resource name (line {line})")
        if not isinstance(value, dict):
            raise BindingsError(f'resource "{keys[1].value}" (line {line}) must be a block')
        _add(out, keys[1].value, _block_roles(keys[1].value, value), line)
    return out


def _block_roles(resource: str, block: dict[str, Any]) -> list[str]:
    items = block["__block__"]
    if not items:
        raise BindingsError(
            f'resource "{resource}" (line {block["__line__"]}) has no roles: '
            "write roles = [...] inside it"
        )
    roles: list[str] = []
    for keys, value, line in items:
        if len(keys) != 1 or keys[0].value != "roles":
            raise BindingsError(
                f'invalid key "{keys[0].value}" in resource "{resource}" (line {line}): '
                'only "roles" is allowed'
            )
        if not isinstance(value, list):
            raise BindingsError(f'roles of resource "{resource}" (line {line}) must be a list')
        for item in value:
            if not isinstance(item, tuple):
                raise BindingsError(f'invalid role in resource "{resource}" (line {line})')
            roles.append(_check_role(item[0], item[1]))
    return roles


def _line_of(text: str, needle: str) -> int:
    index = text.find(json.dumps(needle))
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _from_json(text: str, doc: Any) -> dict[str, set[str]]:
    if not isinstance(doc, dict):
        raise BindingsError("bindings JSON must be an object")
    out: dict[str, set[str]] = {}
    for key, value in doc.items():
        if key != "resource":
            raise BindingsError(
                f'invalid key "{key}" (line {_line_of(text, key)}): '
                'only "resource" blocks are allowed'
            )
        blocks = value if isinstance(value, list) else [value]
        for block in blocks:
            if not isinstance(block, dict):
                raise BindingsError('"resource" must map resource names to blocks')
            for resource, body in block.items():
                line = _line_of(text, resource)
                bodies = body if isinstance(body, list) else [body]
                for inner in bodies:
                    if not isinstance(inner, dict) or not inner:
                        raise BindingsError(
                            f'resource "{resource}" (line {line}) has no roles: '
                            'give {"roles": [...]}'
                        )
                    for name in inner:
                        if name != "roles":
                            raise BindingsError(
                                f'invalid key "{name}" in resource "{resource}" (line {line}): '
                                'only "roles" is allowed'
                            )
                    roles = inner["roles"]
                    if isinstance(roles, str):
                        roles = [roles]
                    if not isinstance(roles, list):
                        raise BindingsError(f'roles of resource "{resource}" must be a list')
                    checked = [_check_role(r, _line_of(text, str(r))) for r in roles]
                    _add(out, resource, checked, line)
    return out


def _maybe_base64(raw: str) -> str:
    compact = "".join(raw.split())
    if not compact:
        return raw
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return raw
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def parse_bindings(raw: str) -> dict[str, set[str]]:
    """resource -> roles; BindingsError (text for `unable to parse bindings: ...`)."""
    text = _maybe_base64(raw)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise BindingsError(f"invalid JSON: {err}") from None
        return _from_json(text, doc)
    return _from_hcl(text)
