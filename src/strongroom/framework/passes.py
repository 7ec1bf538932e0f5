"""A background task that works in passes: run one, sleep until the next is due.

Engines with timed work (static-role rotation) give it a pass function that
returns the seconds until it is needed again, and an event that cuts the
sleep short (a role was written).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def run_passes(
    run_pass: Callable[[], Awaitable[float]],
    wake: asyncio.Event,
    *,
    log: logging.Logger,
    what: str,
    retry_after: float,
    max_sleep: float,
) -> None:
    while True:
        # Cleared before the pass, not after: a wake-up during it starts another.
        wake.clear()
        try:
            delay = await run_pass()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.0fs", what, retry_after)
            delay = retry_after
        try:
            await asyncio.wait_for(wake.wait(), timeout=min(delay, max_sleep))
        except TimeoutError:
            pass
