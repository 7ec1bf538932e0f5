"""Timestamps as Vault renders them."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | float) -> str:
    """RFC3339Nano in UTC with the fraction's trailing zeros dropped, like Go."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    else:
        moment = moment.astimezone(UTC)
    # Formatted by hand: strftime costs several times more, on every lookup.
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
