"""K=V data arguments (spec §7.2), parsed like the reference CLI.

`parse_kv_args(args, stdin)` returns the data map for `write`, `patch`,
`kv put`, ...; `parse_kv_string_lists` converts it to query parameters for
`read`/`delete`. Errors are `KVError` whose str() is the full message the
command prints (`Failed to parse K=V data: invalid key/value pair "x": ...`).
"""

from __future__ import annotations

from typing import IO, Any

from strongroom.cli.secret import SecretDecodeError, decode_json
from strongroom.jsonutil import JsonNumber

__all__ = ["KVError", "go_quote", "parse_kv_args", "parse_kv_string_lists"]


class KVError(ValueError):
    """Bad K=V data; str() is the complete error line(s)."""


def go_quote(text: str) -> str:
    """Go's %q / strconv.Quote: printable Unicode kept, the rest escaped."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _go_os_error(op: str, path: str, exc: OSError) -> str:
    import errno
    import os

    if exc.errno == errno.EISDIR:
        return f"read {path}: is a directory"
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"{op} {path}: {reason}"


class _Builder:
    def __init__(self, stdin: IO[bytes] | None) -> None:
        self.stdin = stdin
        self.stdin_used = False
        self.result: dict[str, Any] | None = {}

    def _read_stdin(self) -> bytes:
        if self.stdin is None:
            raise ValueError("stdin is not supported")
        if self.stdin_used:
            raise ValueError("stdin already consumed")
        self.stdin_used = True
        return self.stdin.read()

    def _merge_json(self, raw: bytes) -> None:
        if not raw.strip(b" \t\r\n"):
            raise ValueError("EOF")
        try:
            value = decode_json(raw)
        except SecretDecodeError as exc:
            raise ValueError(str(exc)) from None
        if value is None:
            self.result = None  # decoding null into the map clears it
            return
        if not isinstance(value, dict):
            kind = {str: "string", bool: "bool", list: "array"}.get(type(value), "number")
            raise ValueError(
                f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            )
        if self.result is None:
            self.result = {}
        self.result.update(value)

    def add(self, raw: str) -> None:
        if raw == "":
            return
        key, eq, value = raw.partition("=")
        if not eq:
            if raw == "-":
                self._merge_json(self._read_stdin())
                return
            if raw.startswith("@"):
                try:
                    with open(raw[1:], "rb") as fh:
                        content = fh.read()
                except OSError as exc:
                    raise ValueError(_go_os_error("open", raw[1:], exc)) from None
                self._merge_json(content)
                return
            raise ValueError("format must be key=value")
        if value.startswith("@"):
            try:
                with open(value[1:], "rb") as fh:
                    value = fh.read().decode("utf-8", "surrogateescape")
            except OSError as exc:
                raise ValueError(
                    f"error reading file: {_go_os_error('open', value[1:], exc)}"
                ) from None
        elif value.startswith("\\@"):
            value = value[1:]
        elif value == "-":
            value = self._read_stdin().decode("utf-8", "surrogateescape")
        if self.result is None:
            self.result = {}
        if key in self.result:
            existing = self.result[key]
            items = list(existing) if isinstance(existing, list) else [existing]
            self.result[key] = [*items, value]
        else:
            self.result[key] = value


def parse_kv_args(args: list[str], stdin: IO[bytes] | None = None) -> dict[str, Any] | None:
    """The data map for K=V arguments (None only when stdin JSON was `null`)."""
    builder = _Builder(stdin)
    for arg in args:
        try:
            builder.add(arg)
        except ValueError as exc:
            raise KVError(
                f"Failed to parse K=V data: invalid key/value pair {go_quote(arg)}: {exc}"
            ) from None
    return builder.result


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "[]interface {}"


def _weak_string(value: Any) -> str | None:
    """mapstructure's weak conversion to string; None if not convertible."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, JsonNumber):
        return value.text
    return None


def parse_kv_string_lists(args: list[str], stdin: IO[bytes] | None = None) -> list[tuple[str, str]]:
    """K=V arguments as query parameters (keys sorted, list values repeated)."""
    data = parse_kv_args(args, stdin) or {}
    params: list[tuple[str, str]] = []
    errors: list[str] = []
    for key in sorted(data):
        value = data[key]
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            text = _weak_string(item)
            if text is None:
                errors.append(
                    f"'[{key}][{index}]' expected type 'string', "
                    f"got unconvertible type '{_go_type(item)}'"
                )
            else:
                params.append((key, text))
    if errors:
        raise KVError(
            "Failed to parse K=V data: failed to convert values to strings: "
            "decoding failed due to the following error(s):\n\n" + "\n".join(errors)
        )
    return params
