"""Go behaviours clients can observe in this engine's messages and stored values."""

from __future__ import annotations

import json
from dataclasses import dataclass

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """strconv.Quote (what `%q` prints for a string)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == "\ufffd" or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def multierror_text(messages: list[str]) -> str:
    """hashicorp/go-multierror's rendering of a list of errors."""
    if len(messages) == 1:
        return f"1 error occurred:\n\t* {messages[0]}\n\n"
    points = "\n\t* ".join(messages)
    return f"{len(messages)} errors occurred:\n\t* {points}\n\n"


def compact_json(text: str) -> str:
    """json.Compact: insignificant whitespace removed, everything else kept as written.

    Raises ValueError when `text` is not one valid JSON value.
    """
    json.loads(text)  # validation (Go's Compact refuses invalid input too)
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            if ch in ("\u2028", "\u2029"):
                out.append(f"\\u{ord(ch):04x}")
                continue
            out.append(ch)
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account_id: str
    resource: str


class ArnError(ValueError):
    pass


def parse_arn(text: str) -> Arn:
    """aws-sdk-go's arn.Parse, with its error texts."""
    if not text.startswith("arn:"):
        raise ArnError("arn: invalid prefix")
    sections = text.split(":", 5)
    if len(sections) != 6:
        raise ArnError("arn: not enough sections")
    if not sections[1]:
        raise ArnError("arn: invalid partition")
    if not sections[2]:
        raise ArnError("arn: invalid service")
    if not sections[5]:
        raise ArnError("arn: invalid resource")
    return Arn(sections[1], sections[2], sections[3], sections[4], sections[5])
