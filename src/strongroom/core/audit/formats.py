"""Serialising audit documents: `json` (one object a line) and `jsonx` (IBM JSONx XML).

Both append the hash-chain fields (`seq`, `prev_hash`) last, so they sit at
the end of the line where `chain.chain_fields` finds them.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from strongroom import jsonutil
from strongroom.jsonutil import JsonNumber

FORMATS = ("json", "jsonx")

_JSONX_ROOT = (
    '<json:object xsi:schemaLocation="http://www.datapower.com/schemas/json jsonx.xsd" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:json="http://www.ibm.com/xmlns/prod/2009/jsonx">'
)


def serialize(doc: dict[str, Any], fmt: str, seq: int, prev: str) -> bytes:
    """One line (no newline) for `doc` with the chain fields appended."""
    if fmt == "jsonx":
        return jsonx_line(doc, seq, prev)
    return jsonutil.dumps_compact({**doc, "seq": seq, "prev_hash": prev})


def jsonx_line(doc: dict[str, Any], seq: int, prev: str) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', _JSONX_ROOT]
    for key, value in doc.items():
        parts.append(_element(value, key))
    parts.append(f'<json:number name="seq">{seq}</json:number>')
    parts.append(f'<json:string name="prev_hash">{prev}</json:string>')
    parts.append("</json:object>")
    # Audit lines are one line each: newlines inside values become entities.
    return "".join(parts).replace("\n", "&#xA;").replace("\r", "&#xD;").encode()


def _element(value: Any, name: str | None) -> str:
    attr = f" name={quoteattr(name)}" if name is not None else ""
    if value is None:
        return f"<json:null{attr}/>"
    if isinstance(value, bool):
        return f"<json:boolean{attr}>{'true' if value else 'false'}</json:boolean>"
    if isinstance(value, int | float | JsonNumber):
        text = value.text if isinstance(value, JsonNumber) else repr(value)
        return f"<json:number{attr}>{text}</json:number>"
    if isinstance(value, str):
        return f"<json:string{attr}>{escape(value)}</json:string>"
    if isinstance(value, dict):
        inner = "".join(_element(v, str(k)) for k, v in value.items())
        return f"<json:object{attr}>{inner}</json:object>"
    if isinstance(value, list | tuple):
        inner = "".join(_element(v, None) for v in value)
        return f"<json:array{attr}>{inner}</json:array>"
    return f"<json:string{attr}>{escape(str(value))}</json:string>"
