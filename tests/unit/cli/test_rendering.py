"""Text building blocks: wrapping, tables, %v values, durations, JSON and YAML.

Expected strings are copied from real `bao` (OpenBao 2.7.2) output.
"""

from __future__ import annotations

import pytest

from strongroom.cli.gojson import OrderedObject, marshal, marshal_indent
from strongroom.cli.gotext import columnize, table_output, wrap_at_length
from strongroom.cli.goyaml import YamlError, to_yaml
from strongroom.cli.output import go_quote_list, go_value, humanize, pad
from strongroom.jsonutil import JsonNumber, loads

WARNING = (
    "* Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate "
    "API endpoints to use. If using the OpenBao CLI, use 'bao kv {}' for this operation."
)


def test_warning_wrapping_is_not_greedy() -> None:
    # The same first 75 columns wrap differently depending on the rest of the text.
    assert wrap_at_length(WARNING.format("put"), 2) == (
        "  * Invalid path for a versioned K/V secrets engine. See the API docs for the\n"
        "  appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv put'\n"
        "  for this operation."
    )
    assert wrap_at_length(WARNING.format("list"), 2) == (
        "  * Invalid path for a versioned K/V secrets engine. See the API docs for\n"
        "  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n"
        "  list' for this operation."
    )


def test_init_paragraph_wrapping() -> None:
    text = (
        "Vault initialized with 12 key shares and a key threshold of 10. Please securely "
        "distribute the key shares printed above. When the Vault is re-sealed, restarted, "
        "or stopped, you must supply at least 10 of these keys to unseal it before it can "
        "start servicing requests."
    )
    assert wrap_at_length(text) == (
        "Vault initialized with 12 key shares and a key threshold of 10. Please\n"
        "securely distribute the key shares printed above. When the Vault is re-sealed,\n"
        "restarted, or stopped, you must supply at least 10 of these keys to unseal it\n"
        "before it can start servicing requests."
    )


def test_table_algorithm() -> None:
    rows = ["Key\x00Value", "refresh_interval\x001h", "a\x00  1  ", "empty\x00", "é\x00x\ny"]
    assert table_output(rows) == (
        "Key                 Value\n"
        "---                 -----\n"
        "refresh_interval    1h\n"
        "a                   1\n"
        "empty               n/a\n"
        "é                   x\ny"
    )


def test_columnize_headerless() -> None:
    assert columnize(["Key Term | 1", "Install Time | 25 Nov 26 05:45 UTC"], delim="|") == (
        "Key Term        1\nInstall Time    25 Nov 26 05:45 UTC"
    )


@pytest.mark.parametrize(
    ("title", "width", "expected"),
    [
        ("Secret Path", 15, "= Secret Path ="),
        ("Secret Path", 18, "=== Secret Path ==="),
        ("Secret Path", 20, "==== Secret Path ===="),
        ("Data", 15, "===== Data ====="),
        ("Data", 10, "== Data =="),
        ("Metadata", 24, "======= Metadata ======="),
        ("Data", 1, "== Data =="),
    ],
)
def test_pad(title: str, width: int, expected: str) -> None:
    assert pad(title, width) == expected


def test_go_value() -> None:
    value = loads(b'[1, "a", true, null, 1.50, 1e21, {"z": 1, "a": {"b": []}}, {}]')
    assert go_value(value) == "[1 a true <nil> 1.50 1e21 map[a:map[b:[]] z:1] map[]]"
    assert go_value("") == ""
    assert go_quote_list(["default", 'a "b"']) == '["default" "a \\"b\\""]'
    assert go_quote_list(None) == "[]"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (61, "1m1s"),
        (3599, "59m59s"),
        (3600, "1h"),
        (3601, "1h1s"),
        (3660, "1h1m"),
        (86400, "24h"),
        (90061, "25h1m1s"),
        (2764800, "768h"),
    ],
)
def test_humanize(seconds: int, text: str) -> None:
    assert humanize(seconds) == text


def test_humanize_leaves_non_integers() -> None:
    assert humanize("30m") == "30m"
    assert humanize(JsonNumber("1.5")) == JsonNumber("1.5")
    assert humanize(JsonNumber("-0")) == "0s"
    assert humanize(True) is True


def test_json_marshal_indent() -> None:
    data = loads(b'{"b": [], "a": {"x": "<&>", "c": "\\u0001\\b\\f\\u2028"}, "n": 1.50}')
    assert marshal_indent(data) == (
        "{\n"
        '  "a": {\n'
        '    "c": "\\u0001\\b\\f\\u2028",\n'
        '    "x": "\\u003c\\u0026\\u003e"\n'
        "  },\n"
        '  "b": [],\n'
        '  "n": 1.50\n'
        "}"
    )
    assert marshal(OrderedObject(z=1, a=None)) == '{"z":1,"a":null}'


def test_yaml_document() -> None:
    doc = loads(
        b'{"warnings": null, "data": {"a": "1", "b": "true", "k10": 1, "k2": 2, '
        b'"ts": "2026-11-25T05:48:10.196129402Z", "f": 1.50, "e": 1e21, "n": "y", '
        b'"multi": "x\\n\\n", "list": [{"k": "v"}, []], "lead": " x", "colon": "a: b"}}'
    )
    assert to_yaml(doc) == (
        "data:\n"
        '  a: "1"\n'
        '  b: "true"\n'
        "  colon: 'a: b'\n"
        "  e: 1e+21\n"
        "  f: 1.5\n"
        "  k2: 2\n"
        "  k10: 1\n"
        "  lead: ' x'\n"
        "  list:\n"
        "  - k: v\n"
        "  - []\n"
        "  multi: |+\n"
        "    x\n"
        "\n"
        '  "n": "y"\n'
        '  ts: "2026-11-25T05:48:10.196129402Z"\n'
        "warnings: null\n"
    )


def test_yaml_scalars() -> None:
    assert to_yaml("x\n\n") == "|+\n  x\n\n"
    assert to_yaml(["2026-01-01", "1_000", "<<", "=", "0."]) == (
        '- "2026-01-01"\n- "1_000"\n- <<\n- =\n- "0."\n'
    )
    long = " ".join(["aaaa"] * 20) + ": tail"
    assert to_yaml({"k": long}) == (
        "k: 'aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa\n"
        "  aaaa aaaa aaaa aaaa: tail'\n"
    )


def test_yaml_rejects_control_characters() -> None:
    with pytest.raises(YamlError, match="yaml: control characters are not allowed"):
        to_yaml({"a": "x\x7fy"})
