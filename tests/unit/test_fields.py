"""Field coercion: what the CLI sends (strings) and what JSON clients send both work."""

from __future__ import annotations

import pytest

from strongroom.core.errors import BadRequest
from strongroom.framework.fields import Field, FieldData, FieldType


def _fd(raw: dict, **schema: Field) -> FieldData:
    fd = FieldData(raw, schema)
    fd.validate()
    return fd


def test_kv_pairs_from_a_map_a_list_or_one_string() -> None:
    spec = Field(FieldType.KV_PAIRS)
    assert _fd({"t": {"a": 1}}, t=spec).get("t") == {"a": "1"}
    assert _fd({"t": ["team=blue", "env=a=b"]}, t=spec).get("t") == {"team": "blue", "env": "a=b"}
    assert _fd({"t": "team=blue"}, t=spec).get("t") == {"team": "blue"}
    with pytest.raises(BadRequest, match=r'field "t".*format must be key=value'):
        _fd({"t": ["noequals"]}, t=spec)


def test_null_is_not_given() -> None:
    fd = _fd({"n": None}, n=Field(FieldType.INT, default=7, required=False))
    assert fd.get("n") == 7 and not fd.has("n")
    with pytest.raises(BadRequest, match="missing required field"):
        _fd({"n": None}, n=Field(FieldType.INT, required=True))


@pytest.mark.parametrize(
    ("value", "seconds"), [("1h", 3600), ("3600", 3600), (90, 90), ("32d", 2764800)]
)
def test_durations(value: object, seconds: int) -> None:
    assert _fd({"ttl": value}, ttl=Field(FieldType.DURATION)).get("ttl") == seconds


def test_bad_duration_names_the_field() -> None:
    with pytest.raises(BadRequest) as err:
        _fd({"ttl": "12x"}, ttl=Field(FieldType.DURATION))
    assert (
        str(err.value)
        == 'error converting input for field "ttl": time: unknown unit "x" in duration "12x"'
    )


def test_a_handler_changing_a_default_list_does_not_change_the_schema() -> None:
    spec = Field(FieldType.COMMA_STRING_LIST, default=["a"])
    first = _fd({}, p=spec).get("p")
    first.append("changed")
    assert _fd({}, p=spec).get("p") == ["a"]
    assert _fd({}, n=Field(FieldType.STRING, default="x")).get("n") == "x"
