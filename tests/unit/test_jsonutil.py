"""JSON the way Vault's Go server reads and writes it (spec §1.3, §1.6)."""

from __future__ import annotations

import pytest

from strongroom.jsonutil import JsonDecodeError, JsonNumber, dumps, dumps_compact, loads

# --- exact numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "1.50",
        "-0.0",
        "1e21",
        "1E+2",
        "0.5e-3",
        "12345678901234567890",  # beyond int64 (and uint64 rounding)
        "18446744073709551615",  # uint64 max: orjson alone would give an int
        "18446744073709551616",  # orjson alone would give a float
        "9223372036854775808",  # int64 max + 1
        "-9223372036854775809",  # int64 min - 1
        "-0",
        "1" * 5000,  # more digits than int() accepts by default
    ],
)
def test_number_literals_round_trip_byte_for_byte(literal: str) -> None:
    body = f'{{"data":{{"n":{literal},"list":[{literal}]}}}}'.encode()
    parsed = loads(body)
    assert parsed["data"]["n"] == JsonNumber(literal)
    assert dumps(parsed) == body + b"\n"
    assert dumps_compact(parsed) == body


def test_top_level_number_literal() -> None:
    assert loads("1.50") == JsonNumber("1.50")
    assert dumps(loads(b"1e21")) == b"1e21\n"


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("-1", -1),
        ("42", 42),
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775808", -9223372036854775808),
        ("123456789012345678", 123456789012345678),
    ],
)
def test_int64_literals_are_plain_ints(literal: str, value: int) -> None:
    for body in (f"[{literal}]", f'{{"a": {literal}, "f": 1.5}}'):  # fast and exact paths
        parsed = loads(body.encode())
        number = parsed[0] if isinstance(parsed, list) else parsed["a"]
        assert type(number) is int
        assert number == value


def test_exact_path_is_used_inside_string_heavy_documents() -> None:
    # A float hidden after many strings must still be caught.
    body = b'{"keys":[' + b",".join(b'"k%d"' % i for i in range(500)) + b'],"x":2.50}'
    assert dumps_compact(loads(body)) == body


def test_json_number_behaviour() -> None:
    a, b = JsonNumber("1.50"), JsonNumber("1.50")
    assert a == b and hash(a) == hash(b)
    assert a != JsonNumber("1.5")
    assert a != "1.50"
    assert repr(a) == "JsonNumber('1.50')"
    assert str(a) == "1.50"
    assert float(a) == 1.5
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.other = 1  # type: ignore[attr-defined]


def test_loads_accepts_str_bytes_bytearray_memoryview() -> None:
    for data in ('{"a":1}', b'{"a":1}', bytearray(b'{"a":1}'), memoryview(b'{"a":1}')):
        assert loads(data) == {"a": 1}


def test_ordinary_documents() -> None:
    body = b'{"b":true,"a":null,"c":"x","d":[1,{"e":"\\u00e9"}],"f":{}}'
    assert loads(body) == {"b": True, "a": None, "c": "x", "d": [1, {"e": "\u00e9"}], "f": {}}


# --- encoding --------------------------------------------------------------------


def test_dumps_is_compact_with_newline_and_keeps_key_order() -> None:
    obj = {"request_id": "x", "lease_id": "", "renewable": False, "data": {"b": 1, "a": [1, 2]}}
    expected = b'{"request_id":"x","lease_id":"","renewable":false,"data":{"b":1,"a":[1,2]}}'
    assert dumps(obj) == expected + b"\n"
    assert dumps_compact(obj) == expected


def test_html_characters_and_line_separators_are_escaped() -> None:
    obj = {"k<": "<script>&</script>", "ls": "a\u2028b\u2029c"}
    out = dumps_compact(obj)
    assert out == (
        b'{"k\\u003c":"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e","ls":"a\\u2028b\\u2029c"}'
    )
    assert loads(out) == obj


def test_non_ascii_is_raw_utf8_and_control_characters_escaped() -> None:
    assert dumps_compact({"s": "h\u00e9llo \u2603 \U0001f600"}) == (
        '{"s":"h\u00e9llo \u2603 \U0001f600"}'.encode()
    )
    assert dumps_compact('\x01\n\t"\\') == b'"\\u0001\\n\\t\\"\\\\"'


def test_round_trip_of_both_encodings() -> None:
    obj = {"a": [1, "two", None, True, {"n": JsonNumber("3.10")}], "<&>": "\u2028"}
    assert loads(dumps(obj)) == obj
    assert loads(dumps_compact(obj)) == obj


def test_python_big_ints_are_encoded() -> None:
    assert dumps_compact({"a": 2**70, "b": -(2**64)}) == (
        b'{"a":1180591620717411303424,"b":-18446744073709551616}'
    )


def test_unsupported_types_raise_type_error() -> None:
    with pytest.raises(TypeError):
        dumps(object())


# --- decode errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"bogus", "invalid character 'b' looking for beginning of value"),
        (b'{"a":', "unexpected EOF"),
        (b'{"a":1', "unexpected EOF"),
        (b'"abc', "unexpected EOF"),
        (b"[1,", "unexpected EOF"),
        (b"tru", "unexpected EOF"),
        (b"{}}", "invalid character '}' after top-level value"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b"{,}", "invalid character ',' looking for beginning of object key string"),
        (b'{"a"}', "invalid character '}' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"[01]", "invalid character '1' after array element"),
        (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
        (b"[nul]", "invalid character ']' in literal null (expecting 'l')"),
        (b'"a\nb"', "invalid character '\\n' in string literal"),
        (b'"\\x"', "invalid character 'x' in string escape code"),
        (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
        (b"-a", "invalid character 'a' in numeric literal"),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
        (b"1ex", "invalid character 'x' in exponent of numeric literal"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
        (b"[Infinity]", "invalid character 'I' looking for beginning of value"),
        (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
        (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
        (b"\x01", "invalid character '\\x01' looking for beginning of value"),
        (b"", "EOF"),
        (b"  \n", "EOF"),
    ],
)
def test_decode_errors_read_like_go(data: bytes, message: str) -> None:
    with pytest.raises(JsonDecodeError) as info:
        loads(data)
    assert str(info.value) == message
    # The same message whether the input is bytes or str.
    with pytest.raises(JsonDecodeError) as info:
        loads(data.decode("utf-8"))
    assert str(info.value) == message


def test_decode_error_is_a_clean_value_error() -> None:
    assert issubclass(JsonDecodeError, ValueError)
    with pytest.raises(ValueError) as info:
        loads(b'{"a": [1, 2.5, }')
    assert str(info.value) == "invalid character '}' looking for beginning of value"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_deep_nesting_is_a_clean_error() -> None:
    with pytest.raises(JsonDecodeError, match="exceeded max depth"):
        loads(b"[" * 20000 + b"]" * 20000)


def test_invalid_utf8_and_lone_surrogates_become_replacement_characters() -> None:
    # Go's decoder substitutes U+FFFD instead of failing.
    assert loads(b'{"a":"x\xffy"}') == {"a": "x\ufffdy"}
    assert loads(b'{"\\ud800":"\\udc00z"}') == {"\ufffd": "\ufffdz"}
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"  # a proper pair stays intact
