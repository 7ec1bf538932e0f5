"""Vault's TTL rules (spec §3.4), shared by tokens and leases."""

from __future__ import annotations

import math
from dataclasses import dataclass

from strongroom.core.errors import VaultError
from strongroom.durations import human_duration


@dataclass
class TTLInputs:
    """Everything §3.4 needs, in whole seconds."""

    increment: int = 0
    backend_ttl: int = 0
    period: int = 0
    backend_max_ttl: int = 0
    explicit_max_ttl: int = 0
    default_ttl: int = 0  # mount/system default
    max_ttl: int = 0  # mount/system max
    start: float | None = None  # creation/issue time; None = now


def calculate_ttl(inputs: TTLInputs, now: float) -> tuple[int, list[str]]:
    """The granted TTL and its warnings; raises when the hard limit has passed."""
    now_s = math.floor(now)
    start_s = now_s if not inputs.start else math.floor(inputs.start)
    limit = inputs.max_ttl
    if 0 < inputs.backend_max_ttl < limit:
        limit = inputs.backend_max_ttl
    if 0 < inputs.explicit_max_ttl < limit:
        limit = inputs.explicit_max_ttl
    if limit <= 0:
        raise VaultError("max TTL must be greater than zero")
    warnings: list[str] = []
    hard_limit: int | None
    if inputs.period > 0:
        period = inputs.period
        if period > limit:
            warnings.append(
                f'period of "{human_duration(period)}" exceeded the effective max_ttl of '
                f'"{human_duration(limit)}"; period value is capped accordingly'
            )
            period = limit
        ttl = period
        # A periodic token lives as long as it is renewed, unless explicitly capped.
        hard_limit = start_s + inputs.explicit_max_ttl if inputs.explicit_max_ttl > 0 else None
    else:
        if inputs.increment > 0:
            ttl = inputs.increment
        elif inputs.backend_ttl > 0:
            ttl = inputs.backend_ttl
        else:
            ttl = inputs.default_ttl
        hard_limit = start_s + limit
    if hard_limit is not None:
        remaining = hard_limit - now_s
        if remaining <= 0:
            raise VaultError("past the max TTL, cannot renew")
        if ttl > remaining:
            warnings.append(
                f'TTL of "{human_duration(ttl)}" exceeded the effective max_ttl of '
                f'"{human_duration(remaining)}"; TTL value is capped accordingly'
            )
            ttl = remaining
    return ttl, warnings
