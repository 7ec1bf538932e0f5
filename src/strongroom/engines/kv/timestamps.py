"""RFC3339Nano timestamps as Vault prints them, from integer microseconds.

KV records keep times as integer microseconds since the epoch: cheap to store,
exact, and comparable ("is this deletion time in the past?") without parsing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from strongroom.core.timefmt import rfc3339 as format_rfc3339

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _ONE_MICROSECOND


# The same few timestamps are rendered on every read of a key, so remembering
# recent ones saves the formatting work on the hot path.
@lru_cache(maxsize=4096)
def rfc3339_micros(micros: int) -> str:
    """`2026-11-25T05:48:26.342676Z`: UTC, fraction without trailing zeros (Go's RFC3339Nano)."""
    return format_rfc3339(_EPOCH + timedelta(microseconds=micros))


def rfc3339(dt: datetime) -> str:
    return rfc3339_micros(to_micros(dt))


def rfc3339_or_empty(micros: int) -> str:
    """Vault prints an unset timestamp as ""; 0 means unset in KV records."""
    return rfc3339_micros(micros) if micros else ""
