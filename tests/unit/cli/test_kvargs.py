"""K=V data arguments (spec §7.2); error texts are the real `bao` ones."""

from __future__ import annotations

import io

import pytest

from strongroom.cli.gojson import marshal
from strongroom.cli.kvargs import KVError, parse_kv_args, parse_kv_string_lists
from strongroom.jsonutil import JsonNumber


def kv(*args: str, stdin: bytes = b"") -> object:
    return parse_kv_args(list(args), io.BytesIO(stdin))


def test_plain_pairs() -> None:
    assert kv("a=1", "b=true", "=v", "k=", "x==y") == {
        "a": "1",
        "b": "true",
        "": "v",
        "k": "",
        "x": "=y",
    }


def test_repeated_keys_become_lists() -> None:
    assert kv("k=v", "k=w", "k=x") == {"k": ["v", "w", "x"]}


def test_files_and_escapes(tmp_path) -> None:
    text = tmp_path / "txt"
    text.write_text("line1\nline2\n")
    obj = tmp_path / "obj.json"
    obj.write_text('{"a":1,"b":{"c":[1.50]}}')
    assert kv(f"k=@{text}") == {"k": "line1\nline2\n"}
    assert kv("k=\\@x", "j=\\\\@x", "b=\\") == {"k": "@x", "j": "\\\\@x", "b": "\\"}
    data = kv(f"@{obj}", "a=2")
    # numbers from JSON keep their literal; a repeated key extends into a list
    assert marshal(data) == '{"a":[1,"2"],"b":{"c":[1.50]}}'


def test_stdin_json_and_value() -> None:
    assert kv("-", stdin=b'{"a":1} {"b":2}') == {"a": 1}
    assert kv("k=-", stdin=b"hello\n") == {"k": "hello\n"}
    assert kv("-", stdin=b"null") is None
    assert kv("a=0", "-", stdin=b'{"a":1.50}') == {"a": JsonNumber("1.50")}


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["noequals"],
            b"",
            'Failed to parse K=V data: invalid key/value pair "noequals": format must be key=value',
        ),
        (
            ["k=@/nonexistent"],
            b"",
            'Failed to parse K=V data: invalid key/value pair "k=@/nonexistent": '
            "error reading file: open /nonexistent: no such file or directory",
        ),
        (
            ["@/nonexistent"],
            b"",
            'Failed to parse K=V data: invalid key/value pair "@/nonexistent": '
            "open /nonexistent: no such file or directory",
        ),
        (
            ["k=@"],
            b"",
            'Failed to parse K=V data: invalid key/value pair "k=@": '
            "error reading file: open : no such file or directory",
        ),
        (["-"], b"", 'Failed to parse K=V data: invalid key/value pair "-": EOF'),
        (
            ["-"],
            b"x",
            'Failed to parse K=V data: invalid key/value pair "-": '
            "invalid character 'x' looking for beginning of value",
        ),
        (
            ["-"],
            b"nul\n",
            'Failed to parse K=V data: invalid key/value pair "-": '
            "invalid character '\\n' in literal null (expecting 'l')",
        ),
        (
            ["-"],
            b'"s"',
            'Failed to parse K=V data: invalid key/value pair "-": '
            "json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        (
            ["k=-", "j=-"],
            b"x",
            'Failed to parse K=V data: invalid key/value pair "j=-": stdin already consumed',
        ),
        (
            ["é"],
            b"",
            'Failed to parse K=V data: invalid key/value pair "é": format must be key=value',
        ),
    ],
)
def test_errors(args: list[str], stdin: bytes, message: str) -> None:
    with pytest.raises(KVError) as info:
        parse_kv_args(args, io.BytesIO(stdin))
    assert str(info.value) == message


def test_array_file_error(tmp_path) -> None:
    arr = tmp_path / "arr.json"
    arr.write_text("[1,2]")
    with pytest.raises(KVError) as info:
        kv(f"@{arr}")
    assert str(info.value) == (
        f'Failed to parse K=V data: invalid key/value pair "@{arr}": '
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    )


def test_string_lists_for_query() -> None:
    stdin = b'{"a":null,"b":true,"c":1.50,"d":[1,false,"x"],"e":[]}'
    params = parse_kv_string_lists(["-"], io.BytesIO(stdin))
    assert params == [("b", "1"), ("c", "1.50"), ("d", "1"), ("d", "0"), ("d", "x")]


def test_string_lists_error() -> None:
    stdin = b'{"m":{"x":1},"n":[[1]], "o":[{"a":1}]}'
    with pytest.raises(KVError) as info:
        parse_kv_string_lists(["-"], io.BytesIO(stdin))
    assert str(info.value) == (
        "Failed to parse K=V data: failed to convert values to strings: decoding failed "
        "due to the following error(s):\n\n"
        "'[m][0]' expected type 'string', got unconvertible type 'map[string]interface {}'\n"
        "'[n][0]' expected type 'string', got unconvertible type '[]interface {}'\n"
        "'[o][0]' expected type 'string', got unconvertible type 'map[string]interface {}'"
    )
