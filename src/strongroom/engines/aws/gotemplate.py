"""A small interpreter for the part of Go's text/template that username templates use.

Supported: text and `{{ … }}` actions (with `{{-`/`-}}` trimming and `/* */`
comments), `if` / `else` / `else if` / `end`, pipelines with `|`, parenthesised
pipelines, field access on the data (`.Type`, `.DisplayName`), string, number
and boolean literals, and the functions given by the caller plus Go's
builtins `and or not len print printf println eq ne lt le gt ge`.

Errors are `TemplateError`, with texts shaped like Go's
(`template: username:1: function "x" not defined`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Template", "TemplateError", "go_sprintf"]


class TemplateError(ValueError):
    """A template that does not parse or fails while executing."""


# ---------------------------------------------------------------- lexing


@dataclass
class _Tok:
    kind: str  # ident, field, string, number, bool, lparen, rparen, pipe, dot
    value: Any
    text: str


_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|\d[\d_]*(\.\d*)?([eE][+-]?\d+)?|\.\d+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*)+")
_GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}


def _unquote(body: str, err: Callable[[str], TemplateError]) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _GO_ESCAPES:
            out.append(_GO_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2 : i + 4]):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", body[i + 2 : i + 10]):
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        else:
            raise err("invalid syntax")
    return "".join(out)


class _Lexer:
    def __init__(self, name: str, text: str, line: int) -> None:
        self.name, self.text, self.line = name, text, line

    def error(self, message: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{self.line}: {message}")

    def tokens(self) -> list[_Tok]:
        s, i, out = self.text, 0, []
        while i < len(s):
            ch = s[i]
            if ch.isspace():
                i += 1
            elif ch == "(":
                out.append(_Tok("lparen", None, ch))
                i += 1
            elif ch == ")":
                out.append(_Tok("rparen", None, ch))
                i += 1
            elif ch == "|":
                out.append(_Tok("pipe", None, ch))
                i += 1
            elif ch == '"':
                j = i + 1
                while j < len(s) and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                if j >= len(s):
                    raise self.error("unterminated quoted string")
                out.append(_Tok("string", _unquote(s[i + 1 : j], self.error), s[i : j + 1]))
                i = j + 1
            elif ch == "`":
                j = s.find("`", i + 1)
                if j < 0:
                    raise self.error("unterminated raw quoted string")
                out.append(_Tok("string", s[i + 1 : j], s[i : j + 1]))
                i = j + 1
            elif ch == "." and (m := _FIELD.match(s, i)):
                out.append(_Tok("field", m.group(0)[1:].split("."), m.group(0)))
                i = m.end()
            elif ch == ".":
                out.append(_Tok("dot", None, "."))
                i += 1
            elif (m := _NUMBER.match(s, i)) and (ch.isdigit() or ch in "+-."):
                out.append(_Tok("number", _number(m.group(0), self.error), m.group(0)))
                i = m.end()
            elif m := _IDENT.match(s, i):
                word = m.group(0)
                if word in ("true", "false"):
                    out.append(_Tok("bool", word == "true", word))
                elif word == "nil":
                    out.append(_Tok("nil", None, word))
                else:
                    out.append(_Tok("ident", word, word))
                i = m.end()
            elif ch == "$":
                raise self.error("variables are not supported in username templates")
            else:
                raise self.error(f"unexpected {ch!r} in command")
        return out


def _number(text: str, err: Callable[[str], TemplateError]) -> int | float:
    clean = text.replace("_", "")
    try:
        if clean.lower().lstrip("+-").startswith("0x"):
            return int(clean, 16)
        if any(c in clean for c in ".eE"):
            return float(clean)
        return int(clean, 10)
    except ValueError:
        raise err(f"bad number syntax: {text!r}") from None


# ---------------------------------------------------------------- parsing


@dataclass
class _Pipeline:
    commands: list[list[Any]]  # each command: a list of operands (_Tok or _Pipeline)


@dataclass
class _If:
    cond: _Pipeline
    then: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_COMMENT = re.compile(r"\s*/\*.*\*/\s*", re.DOTALL)


class Template:
    """A parsed template; `execute(data)` renders it with `data` as dot."""

    def __init__(
        self, text: str, funcs: dict[str, Callable[..., Any]] | None = None, name: str = "t"
    ) -> None:
        self.name = name
        self.funcs = {**_BUILTINS, **(funcs or {})}
        self.nodes = self._parse(text)

    # A flat list of ("text", str) / ("action", tokens, line) items, then a tree.
    def _parse(self, text: str) -> list[Any]:
        items: list[tuple[str, Any, int]] = []
        pos, line = 0, 1
        trim_next = False
        for m in _ACTION.finditer(text):
            chunk = text[pos : m.start()]
            if trim_next:
                chunk = chunk.lstrip()
            if m.group(1):
                chunk = chunk.rstrip()
            if chunk:
                items.append(("text", chunk, line))
            line += text.count("\n", pos, m.start())
            body = m.group(2)
            if not _COMMENT.fullmatch(body):
                items.append(("action", _Lexer(self.name, body, line).tokens(), line))
            line += body.count("\n")
            trim_next = bool(m.group(3))
            pos = m.end()
        rest = text[pos:]
        if "{{" in rest:
            raise TemplateError(f"template: {self.name}:{line}: unclosed action")
        if trim_next:
            rest = rest.lstrip()
        if rest:
            items.append(("text", rest, line))
        nodes, _ = self._block(items, 0, top=True)
        return nodes

    def _block(
        self, items: list[tuple[str, Any, int]], i: int, top: bool = False
    ) -> tuple[list[Any], int]:
        nodes: list[Any] = []
        while i < len(items):
            kind, value, line = items[i]
            if kind == "text":
                nodes.append(value)
                i += 1
                continue
            toks: list[_Tok] = value
            err = _Lexer(self.name, "", line).error
            if not toks:
                raise err("missing value for command")
            head = toks[0]
            if head.kind == "ident" and head.value in ("end", "else"):
                if top:
                    raise err(f"unexpected {{{{{head.value}}}}}")
                return nodes, i
            if head.kind == "ident" and head.value == "if":
                node, i = self._if(items, i, toks[1:], err)
                nodes.append(node)
                continue
            if head.kind == "ident" and head.value in ("range", "with", "define", "template"):
                raise err(f"{{{{{head.value}}}}} is not supported in username templates")
            nodes.append(self._pipeline(toks, err))
            i += 1
        if not top:
            raise TemplateError(f"template: {self.name}: unexpected EOF")
        return nodes, i

    def _if(
        self,
        items: list[tuple[str, Any, int]],
        i: int,
        cond: list[_Tok],
        err: Callable[[str], TemplateError],
    ) -> tuple[_If, int]:
        if not cond:
            raise err("missing value for if")
        node = _If(self._pipeline(cond, err))
        node.then, i = self._block(items, i + 1)
        toks: list[_Tok] = items[i][1]
        if toks[0].value == "else":
            if len(toks) > 1 and toks[1].kind == "ident" and toks[1].value == "if":
                nested, i = self._if(items, i, toks[2:], err)
                node.otherwise = [nested]
                return node, i  # the nested if consumed the shared {{end}}
            node.otherwise, i = self._block(items, i + 1)
            toks = items[i][1]
            if toks[0].value != "end":
                raise err("expected end; found {{else}}")
        return node, i + 1

    def _pipeline(self, toks: list[_Tok], err: Callable[[str], TemplateError]) -> _Pipeline:
        commands: list[list[Any]] = [[]]
        stack: list[list[list[Any]]] = []
        for tok in toks:
            if tok.kind == "lparen":
                stack.append(commands)
                commands = [[]]
            elif tok.kind == "rparen":
                if not stack:
                    raise err("unexpected right paren")
                inner = _Pipeline(self._check(commands, err))
                commands = stack.pop()
                commands[-1].append(inner)
            elif tok.kind == "pipe":
                if not commands[-1]:
                    raise err("missing command before |")
                commands.append([])
            else:
                if tok.kind == "ident" and tok.value not in self.funcs:
                    raise err(f'function "{tok.value}" not defined')
                commands[-1].append(tok)
        if stack:
            raise err("unclosed left paren")
        return _Pipeline(self._check(commands, err))

    @staticmethod
    def _check(commands: list[list[Any]], err: Callable[[str], TemplateError]) -> list[list[Any]]:
        if any(not cmd for cmd in commands):
            raise err("missing value for command")
        return commands

    # ------------------------------------------------------------ execution
    def execute(self, data: dict[str, Any]) -> str:
        out: list[str] = []
        self._run(self.nodes, data, out)
        return "".join(out)

    def _run(self, nodes: list[Any], data: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _If):
                branch = node.then if _truth(self._eval(node.cond, data)) else node.otherwise
                self._run(branch, data, out)
            else:
                out.append(_go_print(self._eval(node, data)))

    def _error(self, message: str) -> TemplateError:
        return TemplateError(f"template: {self.name}: executing: {message}")

    def _eval(self, pipe: _Pipeline, data: dict[str, Any]) -> Any:
        value: Any = _NOTHING
        for cmd in pipe.commands:
            value = self._command(cmd, data, value)
        return value

    def _command(self, cmd: list[Any], data: dict[str, Any], final: Any) -> Any:
        head = cmd[0]
        if isinstance(head, _Tok) and head.kind == "ident":
            args = [self._operand(arg, data) for arg in cmd[1:]]
            if final is not _NOTHING:
                args.append(final)
            try:
                return self.funcs[head.value](*args)
            except TemplateError:
                raise
            except (TypeError, ValueError) as exc:
                raise self._error(f"error calling {head.value}: {exc}") from None
        if len(cmd) > 1 or final is not _NOTHING:
            raise self._error(f"can't give argument to non-function {_describe(head)}")
        return self._operand(head, data)

    def _operand(self, arg: Any, data: dict[str, Any]) -> Any:
        if isinstance(arg, _Pipeline):
            return self._eval(arg, data)
        tok: _Tok = arg
        if tok.kind == "field":
            value: Any = data
            for name in tok.value:
                if not isinstance(value, dict) or name not in value:
                    raise self._error(f"can't evaluate field {name}")
                value = value[name]
            return value
        if tok.kind == "dot":
            return data
        if tok.kind == "ident":
            try:
                return self.funcs[tok.value]()
            except TypeError as exc:
                raise self._error(f"error calling {tok.value}: {exc}") from None
        return tok.value


_NOTHING = object()


def _describe(arg: Any) -> str:
    return arg.text if isinstance(arg, _Tok) else "(pipeline)"


def _truth(value: Any) -> bool:
    if value is None or value is _NOTHING:
        return False
    if isinstance(value, bool | int | float | str | list | dict | tuple):
        return bool(value)
    return True


def _go_print(value: Any) -> str:
    """fmt.Sprint of a template value."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_print(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{_go_print(v)}" for k, v in sorted(value.items()))
        return f"map[{inner}]"
    return str(value)


def _go_float(value: float) -> str:
    if value == int(value) and abs(value) < 1e21:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return repr(value)


# ------------------------------------------------------------ printf


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs (%s %v %d %q %x %X %t %f %%), Go's bad-verb forms."""
    out: list[str] = []
    pos, argi = 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_format_one(flags, width, prec, verb, arg))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{_type_name(a)}={_go_print(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    if verb in "sv":
        text = _go_print(arg)
        if verb == "s" and isinstance(arg, bool | int | float):
            return f"%!s({_type_name(arg)}={_go_print(arg)})"
        if prec is not None and prec != "*":
            text = text[: int(prec)]
    elif verb == "q":
        text = '"' + str(arg).replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif verb == "t":
        if not isinstance(arg, bool):
            return f"%!t({_type_name(arg)}={_go_print(arg)})"
        text = _go_print(arg)
    elif verb in "dxXob":
        if isinstance(arg, bool) or not isinstance(arg, int):
            if verb in "xX" and isinstance(arg, str):
                text = arg.encode().hex()
                text = text.upper() if verb == "X" else text
            else:
                return f"%!{verb}({_type_name(arg)}={_go_print(arg)})"
        else:
            text = format(arg, {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
            if "+" in flags and arg >= 0:
                text = "+" + text
    elif verb in "feg":
        if not isinstance(arg, int | float) or isinstance(arg, bool):
            return f"%!{verb}({_type_name(arg)}={_go_print(arg)})"
        precision = int(prec) if prec and prec != "*" else 6
        text = format(float(arg), f".{precision}{verb}")
    else:
        return f"%!{verb}({_type_name(arg)}={_go_print(arg)})"
    if width and width != "*":
        w = int(width)
        if "-" in flags:
            text = text.ljust(w)
        elif "0" in flags and verb in "dxXobfeg":
            sign = text[0] if text[:1] in "+-" else ""
            text = sign + text[len(sign) :].rjust(w - len(sign), "0")
        else:
            text = text.rjust(w)
    return text


# ------------------------------------------------------------ builtins


def _cmp_args(a: Any, b: Any) -> None:
    numeric = (int, float)
    if isinstance(a, bool) != isinstance(b, bool) or (
        type(a) is not type(b)
        and not (isinstance(a, numeric) and isinstance(b, numeric))
        and a is not None
        and b is not None
    ):
        raise ValueError("incompatible types for comparison")


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise ValueError("missing argument for comparison")
    for other in others:
        _cmp_args(first, other)
        if first == other:
            return True
    return False


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        _cmp_args(a, b)
        if isinstance(a, bool) or a is None:
            raise ValueError("invalid type for comparison")
        return op(a, b)

    return compare


def _and(*args: Any) -> Any:
    if not args:
        raise ValueError("wrong number of args for and: want at least 1 got 0")
    for arg in args:
        if not _truth(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    if not args:
        raise ValueError("wrong number of args for or: want at least 1 got 0")
    for arg in args:
        if _truth(arg):
            return arg
    return args[-1]


def _print(*args: Any) -> str:
    # fmt.Sprint adds spaces between operands when neither is a string.
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_go_print(arg))
    return "".join(out)


def _printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise ValueError(f"wrong type for value; expected string; got {_type_name(fmt)}")
    return go_sprintf(fmt, *args)


_BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": lambda value: not _truth(value),
    "len": lambda value: len(value),
    "print": _print,
    "println": lambda *args: " ".join(_go_print(a) for a in args) + "\n",
    "printf": _printf,
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _ordered(lambda a, b: a < b),
    "le": _ordered(lambda a, b: a <= b),
    "gt": _ordered(lambda a, b: a > b),
    "ge": _ordered(lambda a, b: a >= b),
}
