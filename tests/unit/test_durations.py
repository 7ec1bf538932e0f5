"""Duration parsing and formatting (spec §8.1, §8.2 and the CLI humanizing of §7.6)."""

from __future__ import annotations

import pytest

from strongroom.durations import DurationError, go_duration, human_duration, parse_duration
from strongroom.jsonutil import JsonNumber, loads

# --- §8.1 accepted input -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (3600, 3600),  # JSON integer
        ("3600", 3600),  # digit strings are seconds
        ("10", 10),
        ("+5", 5),  # strconv.ParseInt accepts a sign
        ("1h", 3600),
        ("30m", 1800),
        ("90s", 90),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("2h45m30s", 9930),
        ("1m30s", 90),
        (".5m", 30),
        ("5.s", 5),
        ("1000ms", 1),
        ("1500ms", 1),  # sub-second parts are truncated
        ("500ms", 0),
        ("1500000us", 1),
        ("1500000\u00b5s", 1),  # micro sign
        ("1500000\u03bcs", 1),  # Greek mu
        ("2000000000ns", 2),
        ("32d", 2764800),  # number + d only
        ("1d", 86400),
        ("0d", 0),
        ("", 0),
        ("0", 0),
        (0, 0),
        (None, 0),
        ("-0", 0),
        ("+0", 0),
        ("00001h", 3600),  # leading zeros are fine in Go
    ],
)
def test_accepted(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("-1h", -3600), (-30, -30), ("-90", -90), ("-1.5s", -1), ("-1d", -86400)],
)
def test_negative_values_are_returned_negative(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1d12h", 'time: unknown unit "d" in duration "1d12h"'),
        ("1w", 'time: unknown unit "w" in duration "1w"'),
        ("1y", 'time: unknown unit "y" in duration "1y"'),
        ("1H", 'time: unknown unit "H" in duration "1H"'),
        ("12x", 'time: unknown unit "x" in duration "12x"'),
        ("1hour", 'time: unknown unit "hour" in duration "1hour"'),
        (" 1h", 'time: invalid duration " 1h"'),
        ("1h ", 'time: unknown unit "h " in duration "1h "'),
        ("PT1H", 'time: invalid duration "PT1H"'),
        ("bogus", 'time: invalid duration "bogus"'),
        ("-", 'time: invalid duration "-"'),
        (".", 'time: invalid duration "."'),
        ("h", 'time: invalid duration "h"'),
        ("1h30", 'time: missing unit in duration "1h30"'),
        ("1.5", 'time: missing unit in duration "1.5"'),
        ("99999999999999999999", 'time: invalid duration "99999999999999999999"'),
        ("9999999999h", 'time: invalid duration "9999999999h"'),
        ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
        ("1\u00e9", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
        ("1\n", 'time: unknown unit "\\x0a" in duration "1\\x0a"'),
        # `<n>d` goes through strconv.ParseInt, with its messages.
        ("1.5d", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
        ("d", 'strconv.ParseInt: parsing "": invalid syntax'),
        (
            "99999999999999999999d",
            'strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
    ],
)
def test_rejected_with_go_message(value: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(value)
    assert str(info.value) == message


def test_float_is_stringified_then_parsed() -> None:
    # A JSON float arrives as its literal (UseNumber) and has no unit.
    with pytest.raises(DurationError, match=r'^time: missing unit in duration "3600.0"$'):
        parse_duration(3600.0)
    with pytest.raises(DurationError, match=r'^time: missing unit in duration "3600.0"$'):
        parse_duration(loads(b'{"ttl":3600.0}')["ttl"])
    with pytest.raises(DurationError, match=r'^time: missing unit in duration "1.50"$'):
        parse_duration(JsonNumber("1.50"))
    with pytest.raises(DurationError, match=r'unknown unit "e" in duration "1e3"'):
        parse_duration(JsonNumber("1e3"))


def test_big_json_integer_is_rejected() -> None:
    with pytest.raises(DurationError, match=r'^time: invalid duration "12345678901234567890"$'):
        parse_duration(JsonNumber("12345678901234567890"))


@pytest.mark.parametrize("value", [True, False, [1], {"a": 1}, b"1h", object()])
def test_other_types_are_rejected(value: object) -> None:
    with pytest.raises(DurationError, match="could not parse duration from input"):
        parse_duration(value)


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


# --- §8.2 output ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m0s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (7200, "2h0m0s"),
        (2764800, "768h0m0s"),
        (90061, "25h1m1s"),
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (0.0015, "1.5ms"),
        (0.000002, "2\u00b5s"),
        (0.000000007, "7ns"),
        (61.25, "1m1.25s"),
        (-3600, "-1h0m0s"),
        (-0.5, "-500ms"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        # §8.2 human form
        (2764800, "768h"),
        (7200, "2h"),
        (5400, "1h30m"),
        (3601, "1h1s"),
        (3599, "59m59s"),
        (0, "0s"),
        # §7.6 item 6 examples
        (59, "59s"),
        (60, "1m"),
        (61, "1m1s"),
        (3600, "1h"),
        (3660, "1h1m"),
        (86400, "24h"),
        (90061, "25h1m1s"),
        (600, "10m"),
        (36000, "10h"),
        (36030, "10h30s"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_round_trip_through_go_string() -> None:
    for seconds in (0, 1, 59, 60, 3599, 3600, 5400, 90061, 2764800):
        assert parse_duration(go_duration(seconds)) == seconds
        assert parse_duration(human_duration(seconds)) == seconds
