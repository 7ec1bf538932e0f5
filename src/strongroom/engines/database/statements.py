"""Statement lists as Vault's database plugins read them, and their `{{…}}` templating.

A role field (`creation_statements`, …) is a list of strings. Each string may be
one statement, several joined with ";", a JSON array of statements, or either
of those base64-encoded (go-secure-stdlib's ParseArbitraryStringSlice). The
values `{{name}}`, `{{username}}`, `{{password}}` and `{{expiration}}` are
substituted textually, exactly as Vault does (no quoting: the templates quote).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

_END = re.compile(r"\bEND\b")
_QUOTED = re.compile(r"(\".*?\"|'.*?')", re.DOTALL)


def clean_list(values: list[str], *, drop_empty: bool = False) -> list[str]:
    """A TypeStringSlice field: items trimmed; `drop_empty` as strutil.RemoveEmpty."""
    out = [v.strip() for v in values]
    return [v for v in out if v] if drop_empty else out


def parse_arbitrary(text: str, sep: str = ";") -> list[str]:
    """base64 → JSON array → or `sep`-separated, trimmed, empties dropped."""
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded is not None and text:
        text = decoded
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return [part.strip() for part in text.split(sep) if part.strip()]


def is_multiline_block(statement: str) -> bool:
    """A PostgreSQL block (DO … END, CREATE FUNCTION … END) that must not be split on ";".

    Like Vault's postgresql plugin: look for the word END outside quoted text.
    """
    return bool(_END.search(_QUOTED.sub("", statement)))


def queries(statements: list[str], *, keep_blocks: bool = False) -> list[str]:
    """The individual queries to run, in order."""
    out: list[str] = []
    for statement in statements:
        if keep_blocks and is_multiline_block(statement):
            if statement.strip():
                out.append(statement)
            continue
        out.extend(q.strip() for q in parse_arbitrary(statement) if q.strip())
    return out


def render(query: str, values: dict[str, str]) -> str:
    """dbutil.QueryHelper: replace each `{{key}}` with its value."""
    for key, value in values.items():
        query = query.replace("{{" + key + "}}", value)
    return query
