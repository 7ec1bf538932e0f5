"""RFC3339Nano timestamps as Vault prints them, from integer microseconds.

KV records keep times as integer microseconds since the epoch: cheap to store,
exact, and comparable ("is this deletion time in the past?") without parsing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _ONE_MICROSECOND


# The same few timestamps are rendered on every read of a key, so remembering
# recent ones saves the strftime work on the hot path.
@lru_cache(maxsize=4096)
def rfc3339_micros(micros: int) -> str:
    """`2026-11-25T05:48:26.342676Z`: UTC, fraction without trailing zeros (Go's RFC3339Nano)."""
    seconds, fraction = divmod(micros, 1_000_000)
    t = time.gmtime(seconds)  # several times cheaper than datetime + strftime
    text = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    if fraction:
        text += "." + f"{fraction:06d}".rstrip("0")
    return text + "Z"


def rfc3339(dt: datetime) -> str:
    return rfc3339_micros(to_micros(dt))


def rfc3339_or_empty(micros: int) -> str:
    """Vault prints an unset timestamp as ""; 0 means unset in KV records."""
    return rfc3339_micros(micros) if micros else ""
