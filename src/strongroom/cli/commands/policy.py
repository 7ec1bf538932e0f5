"""`policy` commands: write, read, list, delete, fmt (spec §7.7, `sys/policies/acl`).

`policy fmt` is local: the file is validated as an ACL policy (with the
server's parser, so the error texts are the server's), then rewritten in the
canonical layout of the reference HCL (version 1) printer. That printer works
on a syntax tree that keeps comments, so this module has its own small HCL
scanner and parser (`_Parser`) building that tree, and a port of the printer's
layout rules (`_Printer`): blank lines between blocks, two-space indents,
`=` aligned over runs of adjacent one-line assignments, lists kept on one line
when they were written on one line, and comments kept where they were.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Any, Union

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import ClientError
from strongroom.cli.commands.token import client_or_none
from strongroom.cli.gotext import go_trim_space
from strongroom.cli.kvargs import go_quote
from strongroom.cli.secret import SecretDecodeError

register_group(
    "policy",
    "Interact with policies",
    f"""Usage: {PROG} policy <subcommand> [options] [args]

  This command groups subcommands for interacting with policies.
  Users can write, read, and list policies on the server.

  List all enabled policies:

      $ {PROG} policy list

  Create a policy named "my-policy" from contents on local disk:

      $ {PROG} policy write my-policy ./my-policy.hcl

  Delete the policy named my-policy:

      $ {PROG} policy delete my-policy

  Please see the individual subcommand help for detailed usage information.""",
)


def _os_error(op: str, path: str, exc: OSError) -> str:
    """Go's *PathError text: `open /x: no such file or directory`."""
    if exc.errno == errno.EISDIR:
        return f"read {path}: is a directory"
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"{op} {path}: {reason}"


class _Empty(ValueError):
    """The reference client's `data from server response is empty` and friends."""


# --------------------------------------------------------------------------- list / read


@command
class PolicyList(Command):
    name = "policy list"
    synopsis = "Lists the installed policies"
    usage = "policy list [options]"
    description = """
  Lists the names of the policies that are installed on the server.
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if args:
            ctx.ui.error(f"Too many arguments (expected 0, got {len(args)})")
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            response = client.request("GET", "sys/policies/acl", params=[("list", "true")])
            from strongroom.cli.secret import parse_secret

            secret = parse_secret(response.body)
            if secret is None or secret.data is None:
                raise _Empty("data from server response is empty")
            keys = secret.data.get("keys")
            if keys is not None and (
                not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
            ):
                raise _Empty("'' expected type 'string'")
        except (ClientError, SecretDecodeError, _Empty) as exc:
            ctx.ui.error(f"Error listing policies: {exc}")
            return 2
        if ctx.format == "table":
            for name in keys or []:
                ctx.ui.output(name)
            return 0
        return ctx.output_data(keys)


@command
class PolicyRead(Command):
    name = "policy read"
    synopsis = "Prints the contents of a policy"
    usage = "policy read [options] [NAME]"
    description = f"""
  Prints the contents and metadata of the policy named NAME. If the policy
  does not exist, an error is returned.

  Read the policy named "my-policy":

      $ {PROG} policy read my-policy
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = client_or_none(ctx)
        if client is None:
            return 2
        name = go_trim_space(args[0]).lower()
        try:
            rules = _get_policy(client, name)
        except (ClientError, SecretDecodeError, _Empty) as exc:
            ctx.ui.error(f"Error reading policy named {name}: {exc}")
            return 2
        if rules == "":
            ctx.ui.error(f"No policy named: {name}")
            return 2
        if ctx.format == "table":
            ctx.ui.output(go_trim_space(rules))
            return 0
        return ctx.output_data({"policy": rules})


def _get_policy(client: Any, name: str) -> str:
    """GET sys/policies/acl/NAME: the rules, "" when there is no such policy."""
    from strongroom.cli.secret import parse_secret

    request = client.new_request("GET", f"sys/policies/acl/{name}")
    response = client.send(request)
    if response.status == 404:
        return ""
    error = response.error()
    if error is not None:
        raise error
    secret = parse_secret(response.body)
    if secret is None or secret.data is None:
        raise _Empty("data from server response is empty")
    if "policy" not in secret.data:
        raise _Empty("no policy found in response")
    policy = secret.data["policy"]
    return policy if isinstance(policy, str) else ""


# --------------------------------------------------------------------------- write / delete


@command
class PolicyWrite(Command):
    name = "policy write"
    synopsis = "Uploads a named policy from a file"
    usage = "policy write [options] NAME PATH"
    description = f"""
  Uploads a policy with name NAME from the contents of a local file PATH or
  stdin. If PATH is "-", the policy is read from stdin. Otherwise, it is
  loaded from the file at the given path on the local disk.

  Upload a policy named "my-policy" from "/tmp/policy.hcl" on the local disk:

      $ {PROG} policy write my-policy /tmp/policy.hcl

  Upload a policy from stdin:

      $ cat my-policy.hcl | {PROG} policy write my-policy -
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 2)) is not None:
            return code
        client = client_or_none(ctx)
        if client is None:
            return 2
        given = args[0]
        name = go_trim_space(given.lower())
        path = go_trim_space(args[1])
        if path == "-":
            data = ctx.stdin.read()
        else:
            try:
                fh = open(path, "rb")  # noqa: SIM115 - two error texts
            except OSError as exc:
                # Go opens a directory fine; reading it is what fails.
                stage = "reading policy" if exc.errno == errno.EISDIR else "opening policy file"
                ctx.ui.error(f"Error {stage}: {_os_error('open', path, exc)}")
                return 2
            try:
                with fh:
                    data = fh.read()
            except OSError as exc:
                ctx.ui.error(f"Error reading policy: {_os_error('read', path, exc)}")
                return 2
        rules = data.decode("utf-8", "surrogateescape")
        try:
            client.request("PUT", f"sys/policies/acl/{name}", data={"policy": rules})
        except ClientError as exc:
            ctx.ui.error(f"Error uploading policy: {exc}")
            return 2
        if given != name:
            ctx.ui.warn(f'Policy name was converted from "{given}" to "{name}"')
        ctx.ui.output(f"Success! Uploaded policy: {name}")
        return 0


@command
class PolicyDelete(Command):
    name = "policy delete"
    synopsis = "Deletes a policy by name"
    usage = "policy delete [options] NAME"
    description = f"""
  Deletes the policy named NAME on the server. Once the policy is deleted, all
  tokens associated with the policy are affected immediately.

  Delete the policy named "my-policy":

      $ {PROG} policy delete my-policy

  Note that it is not possible to delete the "default" or "root" policies.
  These are built-in policies.
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = client_or_none(ctx)
        if client is None:
            return 2
        name = go_trim_space(args[0].lower())
        try:
            client.request("DELETE", f"sys/policies/acl/{name}")
        except ClientError as exc:
            ctx.ui.error(f"Error deleting {name}: {exc}")
            return 2
        ctx.ui.output(f"Success! Deleted policy: {name}")
        return 0


# --------------------------------------------------------------------------- fmt


@command
class PolicyFmt(Command):
    name = "policy fmt"
    synopsis = "Formats a policy on disk"
    usage = "policy fmt [options] PATH"
    description = f"""
  Formats a local policy file to the policy specification. This command will
  overwrite the file at the given PATH with the properly-formatted policy
  file contents.

  Format the local file "my-policy.hcl" as a policy file:

      $ {PROG} policy fmt my-policy.hcl
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        path = _expand_home(go_trim_space(args[0]), ctx.environ)
        try:
            with open(path, "rb") as fh:
                source = fh.read()
        except OSError as exc:
            ctx.ui.error(f"Error reading source file: {_os_error('open', path, exc)}")
            return 1
        text = source.decode("utf-8", "surrogateescape")
        from strongroom.core.policy import PolicyParseError, parse_policy

        try:
            parse_policy(text)
        except PolicyParseError as exc:
            ctx.ui.error(f"failed to parse policy: {exc}")
            return 1
        try:
            result = format_hcl(text)
        except HclError as exc:
            ctx.ui.error(f"Error printing result: {exc}")
            return 1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(result.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            ctx.ui.error(f"Error writing result: {_os_error('open', path, exc)}")
            return 1
        ctx.ui.output(f"Success! Formatted policy: {path}")
        return 0


def _expand_home(path: str, environ: Any) -> str:
    """homedir.Expand: a leading `~` (alone or followed by `/`) is the home directory."""
    if not path.startswith("~") or (len(path) > 1 and path[1] not in "/\\"):
        return path
    home = environ.get("HOME") or os.path.expanduser("~")
    return home + path[1:]


# ----------------------------------------------------------------------- HCL syntax tree


class HclError(ValueError):
    """A parse error of the reference HCL parser (`At 1:1: ...`)."""


@dataclass(frozen=True)
class _Pos:
    offset: int = 0
    line: int = 0
    column: int = 0

    @property
    def valid(self) -> bool:
        return self.line > 0

    def before(self, other: _Pos) -> bool:
        return other.offset > self.offset or other.line > self.line

    def after(self, other: _Pos) -> bool:
        return other.offset < self.offset or other.line < self.line

    def __str__(self) -> str:
        return f"{self.line}:{self.column}" if self.valid else "-"


_INFINITY = _Pos(1 << 30, 1 << 30, 0)


@dataclass
class _Token:
    type: str
    text: str
    pos: _Pos


@dataclass
class _Comment:
    pos: _Pos
    text: str


@dataclass
class _CommentGroup:
    comments: list[_Comment]

    @property
    def pos(self) -> _Pos:
        return self.comments[0].pos


@dataclass
class _Literal:
    token: _Token
    lead: _CommentGroup | None = None
    line: _CommentGroup | None = None

    @property
    def pos(self) -> _Pos:
        return self.token.pos


@dataclass
class _List:
    lbrack: _Pos
    items: list[_Node] = field(default_factory=list)
    rbrack: _Pos = _Pos()

    @property
    def pos(self) -> _Pos:
        return self.lbrack


@dataclass
class _Object:
    lbrace: _Pos
    items: list[_Item] = field(default_factory=list)
    rbrace: _Pos = _Pos()

    @property
    def pos(self) -> _Pos:
        return self.lbrace


@dataclass
class _Item:
    keys: list[_Token]
    assign: _Pos = _Pos()
    val: _Node | None = None
    lead: _CommentGroup | None = None
    line: _CommentGroup | None = None

    @property
    def pos(self) -> _Pos:
        return self.keys[0].pos if self.keys else _Pos()


_Node = Union[_Literal, _List, _Object]  # noqa: UP007 - a runtime alias


# ----------------------------------------------------------------------- scanner


def _is_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_" or (ch >= "\x80" and ch.isalpha())


def _is_digit(ch: str) -> bool:
    return ("0" <= ch <= "9") or (ch >= "\x80" and ch.isdigit())


_PUNCT = {"[": "LBRACK", "]": "RBRACK", "{": "LBRACE", "}": "RBRACE", ",": "COMMA"}
_PUNCT.update({"=": "ASSIGN", "+": "ADD"})


class _Scanner:
    """Go HCL's scanner, for input the policy parser has already accepted."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.line = 1
        self.col = 0
        self.last_line_len = 0

    def _peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.src[j] if j < len(self.src) else ""

    def _next(self) -> str:
        if self.i >= len(self.src):
            return ""
        ch = self.src[self.i]
        self.i += 1
        self.col += 1
        if ch == "\n":
            self.line += 1
            self.last_line_len = self.col
            self.col = 0
        return ch

    def scan(self) -> _Token:
        while self._peek() in (" ", "\t", "\n", "\r") and self._peek():
            self._next()
        start = self.i
        pos = _Pos(self.i, self.line, self.col + 1)
        ch = self._next()
        if ch == "":
            kind = "EOF"
        elif _is_letter(ch):
            while (c := self._peek()) and (_is_letter(c) or _is_digit(c) or c in "-."):
                self._next()
            kind = "BOOL" if self.src[start : self.i] in ("true", "false") else "IDENT"
        elif "0" <= ch <= "9":
            kind = self._number(ch)
        elif ch == '"':
            self._string()
            kind = "STRING"
        elif ch in "#/":
            self._comment(ch)
            kind = "COMMENT"
        elif ch == ".":
            kind = "PERIOD"
            if "0" <= self._peek() <= "9" and self._peek():
                kind = "FLOAT"
                self._digits()
                self._exponent()
        elif ch == "<":
            self._heredoc()
            kind = "HEREDOC"
        elif ch in _PUNCT:
            kind = _PUNCT[ch]
        elif ch == "-":
            if "0" <= self._peek() <= "9" and self._peek():
                kind = self._number(self._next())
            else:
                kind = "SUB"
        else:
            kind = "ILLEGAL"
        return _Token(kind, self.src[start : self.i], pos)

    def _digits(self) -> None:
        while self._peek() and "0" <= self._peek() <= "9":
            self._next()

    def _exponent(self) -> None:
        if self._peek() in ("e", "E") and self._peek():
            self._next()
            if self._peek() in ("+", "-") and self._peek():
                self._next()
            self._digits()

    def _number(self, first: str) -> str:
        if first == "0" and self._peek() in ("x", "X") and self._peek():
            self._next()
            while self._peek() and self._peek() in "0123456789abcdefABCDEF":
                self._next()
            return "NUMBER"
        self._digits()
        if self._peek() in ("e", "E") and self._peek():
            self._exponent()
            return "FLOAT"
        if self._peek() == ".":
            self._next()
            self._digits()
            self._exponent()
            return "FLOAT"
        return "NUMBER"

    def _string(self) -> None:
        braces = 0
        while True:
            ch = self._next()
            if ch == "" or (ch == "\n" and braces == 0):
                return
            if ch == '"' and braces == 0:
                return
            if braces == 0 and ch == "$" and self._peek() == "{":
                braces += 1
                self._next()
            elif braces > 0 and ch == "{":
                braces += 1
            if braces > 0 and ch == "}":
                braces -= 1
            if ch == "\\":
                self._next()

    def _comment(self, first: str) -> None:
        if first == "#" or self._peek() != "*":
            while self._peek() not in ("\n", ""):
                self._next()
            return
        self._next()  # the "*"
        previous = ""
        while True:
            ch = self._next()
            if ch == "" or (previous == "*" and ch == "/"):
                return
            previous = ch

    def _heredoc(self) -> None:
        import re

        self._next()  # the second "<"
        start = self.i
        while self._peek() not in ("\n", ""):
            self._next()
        anchor = self.src[start : self.i].rstrip("\r")
        self._next()  # the newline
        anchor = anchor[1:] if anchor.startswith("-") else anchor
        end = re.compile(r"[ \t\n\v\f\r]*" + re.escape(anchor) + r"\r*")
        line_start = self.i
        while True:
            ch = self._next()
            if ch == "":
                return
            if ch == "\n":
                if end.fullmatch(self.src[line_start : self.i - 1]):
                    return
                line_start = self.i


# ----------------------------------------------------------------------- parser


class _Parser:
    """Go HCL's parser (hcl/parser), comment attachment included."""

    def __init__(self, src: str) -> None:
        self.sc = _Scanner(src)
        self.tok = _Token("", "", _Pos())
        self.buffered = False
        self.comments: list[_CommentGroup] = []
        self.lead: _CommentGroup | None = None
        self.line: _CommentGroup | None = None

    def parse(self) -> list[_Item]:
        return self._object_list(in_object=False)

    # -- tokens and comments

    def _scan(self) -> _Token:
        if self.buffered:
            self.buffered = False
            return self.tok
        prev = self.tok
        self.tok = self.sc.scan()
        if self.tok.type == "COMMENT":
            group: _CommentGroup | None = None
            if self.tok.pos.line == prev.pos.line:
                group, endline = self._comment_group(0)
                if self.tok.pos.line != endline:
                    self.line = group
            endline = -1
            while self.tok.type == "COMMENT":
                group, endline = self._comment_group(1)
            if endline + 1 == self.tok.pos.line and self.tok.type not in ("RBRACE", "RBRACK"):
                self.lead = group
        return self.tok

    def _unscan(self) -> None:
        self.buffered = True

    def _comment_group(self, n: int) -> tuple[_CommentGroup, int]:
        comments: list[_Comment] = []
        endline = self.tok.pos.line
        while self.tok.type == "COMMENT" and self.tok.pos.line <= endline + n:
            endline = self.tok.pos.line
            if self.tok.text.startswith("/*"):
                endline += self.tok.text.count("\n")
            comments.append(_Comment(self.tok.pos, self.tok.text))
            self.tok = self.sc.scan()
        group = _CommentGroup(comments)
        self.comments.append(group)
        return group, endline

    # -- grammar

    def _object_list(self, in_object: bool) -> list[_Item]:
        items: list[_Item] = []
        seen: set[str] = set()
        while True:
            if in_object:
                tok = self._scan()
                self._unscan()
                if tok.type == "RBRACE":
                    break
            item = self._object_item()
            if item is None:
                break
            if item.assign.valid:
                for key in item.keys:
                    if key.text in seen:
                        raise HclError(
                            f"The argument {go_quote(key.text)} at {key.pos} was already set. "
                            "Each argument can only be defined once"
                        )
                    seen.add(key.text)
            items.append(item)
            if self._scan().type != "COMMA":
                self._unscan()
        return items

    def _object_item(self) -> _Item | None:
        keys = self._object_key()
        if keys is None:
            return None
        item = _Item(keys)
        if self.lead is not None:
            item.lead, self.lead = self.lead, None
        if self.tok.type == "ASSIGN":
            item.assign = self.tok.pos
            item.val = self._value()
        elif self.tok.type == "LBRACE":
            item.val = self._object_type()
        else:
            names = " ".join(k.text for k in keys)
            raise HclError(
                f"At {self.tok.pos}: key '{names}' expected start of object ('{{') or "
                "assignment ('=')"
            )
        if self.line is not None:
            item.line, self.line = self.line, None
        self._scan()
        same_line = item.val is not None and item.val.pos.line == keys[0].pos.line
        if keys and same_line and self.line is not None:
            item.line, self.line = self.line, None
        self._unscan()
        return item

    def _object_key(self) -> list[_Token] | None:
        keys: list[_Token] = []
        while True:
            tok = self._scan()
            if tok.type == "EOF":
                if keys:
                    raise HclError(
                        f"At {tok.pos}: key '{' '.join(k.text for k in keys)}' expected start "
                        "of object ('{') or assignment ('=')"
                    )
                return None
            if tok.type == "ASSIGN":
                if len(keys) > 1:
                    raise HclError(f"At {tok.pos}: nested object expected: LBRACE got: ASSIGN")
                if not keys:
                    raise HclError(f"At {tok.pos}: no object keys found!")
                return keys
            if tok.type == "LBRACE":
                if not keys:
                    raise HclError(f"At {tok.pos}: expected: IDENT | STRING got: LBRACE")
                return keys
            if tok.type in ("IDENT", "STRING"):
                keys.append(tok)
                continue
            raise HclError(
                f"At {tok.pos}: expected: IDENT | STRING | ASSIGN | LBRACE got: {tok.type}"
            )

    def _value(self) -> _Node:
        tok = self._scan()
        if tok.type in ("NUMBER", "FLOAT", "BOOL", "STRING", "HEREDOC"):
            return _Literal(tok)
        if tok.type == "LBRACE":
            return self._object_type()
        if tok.type == "LBRACK":
            return self._list_type()
        raise HclError(f"At {tok.pos}: Unknown token: {tok.pos} {tok.type} {tok.text}")

    def _object_type(self) -> _Object:
        obj = _Object(self.tok.pos)
        obj.items = self._object_list(in_object=True)
        tok = self._scan()
        if tok.type != "RBRACE":
            raise HclError(f"At {tok.pos}: object expected closing RBRACE got: {tok.type}")
        obj.rbrace = tok.pos
        return obj

    def _list_type(self) -> _List:
        lst = _List(self.tok.pos)
        need_comma = False
        while True:
            tok = self._scan()
            if need_comma and tok.type not in ("COMMA", "RBRACK"):
                raise HclError(
                    f"At {tok.pos}: error parsing list, expected comma or list end, got: {tok.type}"
                )
            if tok.type in ("BOOL", "NUMBER", "FLOAT", "STRING", "HEREDOC"):
                node = _Literal(tok)
                if self.lead is not None:
                    node.lead, self.lead = self.lead, None
                lst.items.append(node)
                need_comma = True
            elif tok.type == "COMMA":
                self._scan()
                if self.line is not None and lst.items and isinstance(lst.items[-1], _Literal):
                    lst.items[-1].line, self.line = self.line, None
                self._unscan()
                need_comma = False
            elif tok.type == "LBRACE":
                lst.items.append(self._object_type())
                need_comma = True
            elif tok.type == "LBRACK":
                lst.items.append(self._list_type())
            elif tok.type == "RBRACK":
                lst.rbrack = tok.pos
                return lst
            else:
                raise HclError(f"At {tok.pos}: unexpected token while parsing list: {tok.type}")


# ----------------------------------------------------------------------- printer

_UNINDENT = "\ue123"  # marks lines that must not be indented (heredoc bodies)


def _blen(text: str) -> int:
    """Go's len(): bytes."""
    return len(text.encode("utf-8", "surrogateescape"))


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _indent(text: str) -> str:
    out = []
    bol = True
    for ch in text:
        if bol and ch != "\n":
            out.append("  ")
        out.append(ch)
        bol = ch == "\n"
    return "".join(out)


def _heredoc_indent(text: str) -> str:
    out = []
    bol = False
    for ch in text:
        if bol and ch != "\n":
            out.append(_UNINDENT)
        out.append(ch)
        bol = ch == "\n"
    return "".join(out)


def _unindent(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch != _UNINDENT:
            out.append(ch)
            continue
        while out and out[-1] != "\n":
            out.pop()
    return "".join(out)


class _Printer:
    """The layout rules of Go HCL's printer (hcl/printer), side effects included."""

    def __init__(self, items: list[_Item], comments: list[_CommentGroup]) -> None:
        attached: set[int] = set()

        def walk(node: Any) -> None:
            if isinstance(node, _Item):
                for group in (node.lead, node.line):
                    if group is not None:
                        attached.add(id(group))
                walk(node.val)
            elif isinstance(node, _Literal):
                for group in (node.lead, node.line):
                    if group is not None:
                        attached.add(id(group))
            elif isinstance(node, _List | _Object):
                for child in node.items:
                    walk(child)

        for item in items:
            walk(item)
        self.standalone = sorted(
            (g for g in comments if id(g) not in attached),
            key=lambda g: (g.pos.offset, g.pos.line),
        )
        self.prev = _Pos()

    def file(self, items: list[_Item]) -> str:
        out: list[str] = []
        index = 0
        while True:
            next_pos = items[index].pos if index != len(items) else _INFINITY
            for group in self.standalone:
                printed = newline_printed = False
                for comment in group.comments:
                    if comment.pos.after(self.prev) and comment.pos.before(next_pos):
                        if not newline_printed and self.prev.valid and index == len(items):
                            out.append("\n\n")
                            newline_printed = True
                        out.append(comment.text + "\n")
                        printed = True
                if printed and index != len(items):
                    out.append("\n")
            if index == len(items):
                break
            out.append(self.output(items[index]))
            if index != len(items) - 1:
                out.append("\n")
                current, following = items[index], items[index + 1]
                if (
                    following.pos.line != current.pos.line + 1
                    or not self._single_line_object(following)
                    or not self._single_line_object(current)
                ):
                    out.append("\n")
            index += 1
        return "".join(out)

    def output(self, node: Any) -> str:
        if isinstance(node, _Item):
            self.prev = node.pos
            return self.object_item(node)
        if isinstance(node, _Literal):
            return self.literal(node)
        if isinstance(node, _List):
            return self.list(node)
        if isinstance(node, _Object):
            return self.object_type(node)
        return ""

    def literal(self, lit: _Literal) -> str:
        text = lit.token.text
        if lit.token.type == "HEREDOC":
            if text.endswith("\n"):
                text = text[:-1]
            return _heredoc_indent(text)
        if lit.token.type == "STRING" and "\n" in text:
            return _heredoc_indent(text)
        return text

    def object_item(self, item: _Item) -> str:
        out: list[str] = []
        assert item.val is not None
        if item.lead is not None:
            out.extend(c.text + "\n" for c in item.lead.comments)
        if item.line is not None and item.val.pos.line != item.keys[0].pos.line:
            out.extend(c.text + "\n" for c in item.line.comments)
        for i, key in enumerate(item.keys):
            out.append(key.text + " ")
            if item.assign.valid and i == len(item.keys) - 1 and len(item.keys) == 1:
                out.append("= ")
        out.append(self.output(item.val))
        if item.line is not None and item.val.pos.line == item.keys[0].pos.line:
            out.append(" ")
            out.extend(c.text for c in item.line.comments)
        return "".join(out)

    def object_type(self, obj: _Object) -> str:
        out = ["{"]
        items = obj.items
        index = 0
        commented = newline_printed = False
        while True:
            next_pos = items[index].pos if index != len(items) else obj.rbrace
            for group in self.standalone:
                printed = False
                last = _Pos()
                for comment in group.comments:
                    if comment.pos.after(self.prev) and comment.pos.before(next_pos):
                        if not newline_printed:
                            newline_printed = True
                            out.append("\n")
                        if index > 0:
                            commented = True
                            out.append("\n")
                        last = comment.pos
                        out.append(_indent(_heredoc_indent(comment.text)))
                        printed = True
                if printed:
                    out.append("\n")
                    if next_pos != obj.rbrace and next_pos.line != last.line + 1:
                        out.append("\n")
            if index == len(items):
                self.prev = obj.rbrace
                break
            if not newline_printed:
                out.append("\n")
                newline_printed = True
            aligned: list[_Item] = []
            for item in items[index:]:
                if len(items) == 1:
                    break
                if _lines(self.object_item(item)) > 2:
                    break
                cur = item.pos
                nxt = items[index + 1].pos if index != len(items) - 1 else _Pos()
                prv = items[index - 1].pos if index != 0 else _Pos()
                if cur.line + 1 == nxt.line:
                    aligned.append(item)
                    index += 1
                    continue
                if cur.line - 1 == prv.line:
                    aligned.append(item)
                    index += 1
                    if cur.line + 1 != nxt.line:
                        break
                    continue
                break
            if not commented and index != len(aligned):
                out.append("\n")
            if aligned:
                self.prev = aligned[-1].pos
                out.append(_indent(self.aligned_items(aligned)))
            else:
                self.prev = items[index].pos
                out.append(_indent(self.object_item(items[index])))
                index += 1
            out.append("\n")
        out.append("}")
        return "".join(out)

    def aligned_items(self, items: list[_Item]) -> str:
        longest_key = max(_blen(item.keys[0].text) for item in items)
        longest_val = max(_blen(self.output(item.val)) for item in items)
        out: list[str] = []
        for i, item in enumerate(items):
            assert item.val is not None
            if item.lead is not None:
                out.extend(c.text + "\n" for c in item.lead.comments)
            for j, key in enumerate(item.keys):
                out.append(key.text + " " * (longest_key - _blen(key.text) + 1))
                if j == len(item.keys) - 1 and len(item.keys) == 1:
                    out.append("= ")
            value = self.output(item.val)
            out.append(value)
            if item.val.pos.line == item.keys[0].pos.line and item.line is not None:
                out.append(" " * (longest_val - _blen(value) + 1))
                out.extend(c.text for c in item.line.comments)
            if i != len(items) - 1:
                out.append("\n")
        return "".join(out)

    def list(self, lst: _List) -> str:
        if self._single_line_list(lst):
            parts = []
            for item in lst.items:
                text = self.output(item)
                if isinstance(item, _Literal) and item.token.type == "HEREDOC":
                    text += "\n"
                parts.append(text)
            return "[" + ", ".join(parts) + "]"
        out = ["[\n"]
        longest = max(
            (_blen(i.token.text) for i in lst.items if isinstance(i, _Literal)), default=0
        )
        have_empty_line = False
        for i, item in enumerate(lst.items):
            lead = False
            if isinstance(item, _Literal) and item.lead is not None:
                lead = True
                if not have_empty_line and i != 0:
                    out.append("\n")
                out.extend(_indent(c.text) + "\n" for c in item.lead.comments)
            value = self.output(item)
            out.append(_indent(value))
            comma = ","
            if isinstance(item, _Literal) and item.token.type == "HEREDOC":
                out.append("\n")
                comma = _indent(comma)
            out.append(comma)
            if isinstance(item, _Literal) and item.line is not None:
                out.append(" " + " " * (longest - _blen(value)))
                out.extend(c.text for c in item.line.comments)
            out.append("\n")
            have_empty_line = lead and i != len(lst.items) - 1
            if have_empty_line:
                out.append("\n")
        out.append("]")
        return "".join(out)

    @staticmethod
    def _single_line_list(lst: _List) -> bool:
        for item in lst.items:
            if item.pos.line != lst.lbrack.line or not isinstance(item, _Literal):
                return False
            if item.token.type == "HEREDOC" and len(lst.items) != 1:
                return False
            if item.line is not None:
                return False
        return True

    @staticmethod
    def _single_line_object(item: _Item) -> bool:
        if item.lead is not None or item.assign.valid:
            return False
        return isinstance(item.val, _Object) and not item.val.items


def format_hcl(text: str) -> str:
    """The reference printer's output for an HCL document (ends with a newline)."""
    parser = _Parser(text.replace("\r\n", "\n"))
    items = parser.parse()
    printer = _Printer(items, parser.comments)
    return _unindent(printer.file(items)) + "\n"
