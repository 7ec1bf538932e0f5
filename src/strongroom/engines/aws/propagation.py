"""Opt-in: hold a new IAM access key back until AWS accepts it (strongroom, not Vault).

IAM is eventually consistent: a key that CreateAccessKey just returned is often
refused (`InvalidClientTokenId`) for a few seconds (spec §9.1). A role with
`wait_for_propagation=true` polls `sts:GetCallerIdentity`, signed with the new
key, until it answers or `propagation_timeout` passes. On timeout the
credentials are still returned, with a warning: the key is valid and will work
shortly, and the caller asked for a bounded wait, not a failure.
"""

from __future__ import annotations

import asyncio
import logging
import time

from strongroom.durations import human_duration

from .client import AwsClients, Credentials
from .errors import AwsError

log = logging.getLogger("strongroom.aws")

FIRST_DELAY = 0.25
MAX_DELAY = 2.0


async def wait_until_usable(clients: AwsClients, creds: Credentials, timeout: int) -> list[str]:
    """Poll until AWS accepts `creds`; the warnings to return ([] when it did)."""
    deadline = time.monotonic() + timeout
    client = await clients.sts_as(creds, max_retries=0)
    delay = FIRST_DELAY
    attempts = 0
    last = ""
    while True:
        attempts += 1
        try:
            await client.call("GetCallerIdentity")
            if attempts > 1:
                log.info("aws: new access key accepted after %d attempts", attempts)
            return []
        except AwsError as err:
            last = err.code or err.message
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return [
                f"AWS did not accept the new access key within {human_duration(timeout)} "
                f"(last answer: {last}); IAM changes usually propagate within seconds, "
                "retry calls that fail with InvalidClientTokenId"
            ]
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_DELAY)
