"""Durations the way Vault's API accepts and prints them (spec §8).

Input follows Go's `parseutil.ParseDurationSecond`: integers and digit strings
are seconds, `<int>d` is days, anything else goes through Go's
`time.ParseDuration`. Error texts are Go's, because the API returns them to
clients verbatim. Output follows `time.Duration.String()`.
"""

from __future__ import annotations

from strongroom.jsonutil import JsonNumber

__all__ = ["DurationError", "go_duration", "human_duration", "parse_duration"]

_NS_PER_S = 1_000_000_000
_MAX_INT64 = (1 << 63) - 1
_MIN_INT64 = -(1 << 63)
# Go accumulates into a uint64 and allows exactly 1<<63 so that the most
# negative duration can be written.
_LIMIT = 1 << 63

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": _NS_PER_S,
    "m": 60 * _NS_PER_S,
    "h": 3600 * _NS_PER_S,
}

_DIGITS = frozenset("0123456789")


class DurationError(ValueError):
    """A value that is not a duration; str() is the Go message sent to clients."""


def parse_duration(value: object) -> int:
    """Whole seconds for an API/config duration value (negative values kept)."""
    if value is None:
        return 0
    # bool is an int subclass, but `true` is never a TTL.
    if isinstance(value, bool):
        raise DurationError("could not parse duration from input")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _parse_string(value)
    if isinstance(value, float | JsonNumber):
        # Vault decodes bodies with UseNumber, so `3600.0` reaches the parser as
        # the text "3600.0" and fails as a unit-less duration.
        return _parse_string(str(value))
    raise DurationError("could not parse duration from input")


def _parse_string(text: str) -> int:
    if text == "":
        return 0
    seconds = _parse_go_int(text)
    if seconds is not None:
        return seconds
    if text.endswith("d"):
        days_text = text[:-1]
        days = _parse_go_int(days_text)
        if days is None:
            raise DurationError(_strconv_error(days_text))
        return days * 86400
    return _truncate_to_seconds(_go_parse_duration(text))


def _parse_go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None when Go would reject it."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not all(c in _DIGITS for c in body):
        return None
    magnitude = _bounded_int(body)
    if magnitude is None:
        return None
    value = -magnitude if text[0] == "-" else magnitude
    if _MIN_INT64 <= value <= _MAX_INT64:
        return value
    return None


def _bounded_int(digits: str) -> int | None:
    """int(digits) ("" is 0), or None above 1<<63; avoids int() on huge inputs."""
    significant = digits.lstrip("0")
    if len(significant) > 19:
        return None
    value = int(significant) if significant else 0
    return value if value <= _LIMIT else None


def _strconv_error(text: str) -> str:
    body = text[1:] if text[:1] in ("+", "-") else text
    reason = "value out of range" if body and all(c in _DIGITS for c in body) else "invalid syntax"
    return f"strconv.ParseInt: parsing {_go_quote(text)}: {reason}"


def _truncate_to_seconds(nanoseconds: int) -> int:
    # Go converts with int(d.Seconds()), which truncates toward zero.
    whole = abs(nanoseconds) // _NS_PER_S
    return -whole if nanoseconds < 0 else whole


def _go_parse_duration(orig: str) -> int:
    """Go's time.ParseDuration: nanoseconds, or DurationError with Go's text."""
    invalid = DurationError(f"time: invalid duration {_go_quote(orig)}")
    s = orig
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or s[0] in _DIGITS):
            raise invalid
        i = _span_digits(s, 0)
        int_part = s[:i]
        whole = _bounded_int(int_part)
        if whole is None:
            raise invalid
        s = s[i:]
        frac_digits = ""
        has_frac = False
        if s[:1] == ".":
            j = _span_digits(s, 1)
            frac_digits = s[1:j]
            has_frac = j > 1
            s = s[j:]
        if not int_part and not has_frac:
            raise invalid
        k = 0
        while k < len(s) and not (s[k] == "." or s[k] in _DIGITS):
            k += 1
        if k == 0:
            raise DurationError(f"time: missing unit in duration {_go_quote(orig)}")
        unit_text, s = s[:k], s[k:]
        unit = _UNIT_NS.get(unit_text)
        if unit is None:
            raise DurationError(
                f"time: unknown unit {_go_quote(unit_text)} in duration {_go_quote(orig)}"
            )
        if whole > _LIMIT // unit:
            raise invalid
        value = whole * unit
        value += _fraction_ns(frac_digits, unit)
        if value > _LIMIT:
            raise invalid
        total += value
        if total > _LIMIT:
            raise invalid
    if negative:
        return -total
    if total > _MAX_INT64:
        raise invalid
    return total


def _span_digits(s: str, start: int) -> int:
    i = start
    while i < len(s) and s[i] in _DIGITS:
        i += 1
    return i


def _fraction_ns(digits: str, unit: int) -> int:
    """The fractional part of one number-unit pair, computed like Go does.

    Go keeps at most the digits that fit in an int64 and then scales with a
    float64, so very long fractions lose precision in exactly the same way.
    """
    value = 0
    scale = 1.0
    for c in digits:
        if value > _MAX_INT64 // 10:
            break
        nxt = value * 10 + ord(c) - 48
        if nxt > _LIMIT:
            break
        value = nxt
        scale *= 10
    if value == 0:
        return 0
    return int(float(value) * (float(unit) / scale))


def _go_quote(s: str) -> str:
    """Quote like Go's time package: non-ASCII and control bytes as \\xHH."""
    out = ['"']
    for ch in s:
        if ch < " " or ch >= "\x80":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        elif ch in ('"', "\\"):
            out.append("\\" + ch)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for a number of seconds ("1h0m0s", "500ms")."""
    # Integers stay exact; floats are rounded to the nearest nanosecond.
    ns = seconds * _NS_PER_S if isinstance(seconds, int) else round(seconds * _NS_PER_S)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < _NS_PER_S:
        # Sub-second values pick the largest unit that keeps a non-zero integer part.
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_with_fraction(u, 3)}\u00b5s"
        return f"{sign}{_with_fraction(u, 6)}ms"
    secs = _with_fraction(u % (60 * _NS_PER_S), 9)
    minutes_total = u // (60 * _NS_PER_S)
    if minutes_total == 0:
        return f"{sign}{secs}s"
    hours, minutes = divmod(minutes_total, 60)
    if hours == 0:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{hours}h{minutes}m{secs}s"


def _with_fraction(value: int, precision: int) -> str:
    """value / 10**precision printed with trailing fractional zeros removed."""
    whole, frac = divmod(value, 10**precision)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:0{precision}d}".rstrip("0")


def human_duration(seconds: float) -> str:
    """The CLI/warning form: Go's string with empty trailing units dropped ("1h30m")."""
    text = go_duration(seconds)
    if text.endswith("m0s"):
        text = text[:-2]
    return text.replace("h0m", "h", 1)
