"""The pass loop behind timed engine work (static-role rotation)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from strongroom.framework.passes import run_passes

log = logging.getLogger("test.passes")


async def test_a_wake_up_during_a_pass_starts_another_pass() -> None:
    wake = asyncio.Event()
    passes: list[int] = []

    async def one_pass() -> float:
        passes.append(1)
        if len(passes) == 1:
            wake.set()  # a role written while this pass runs
        return 3600.0

    task = asyncio.create_task(
        run_passes(one_pass, wake, log=log, what="test", retry_after=1, max_sleep=60)
    )
    await asyncio.sleep(0.05)
    assert len(passes) == 2  # not asleep for an hour with the write unseen
    wake.set()
    await asyncio.sleep(0.05)
    assert len(passes) == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_failing_pass_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    wake = asyncio.Event()
    passes: list[int] = []

    async def failing() -> float:
        passes.append(1)
        raise OSError("cloud down")

    task = asyncio.create_task(
        run_passes(failing, wake, log=log, what="test pass", retry_after=0.02, max_sleep=60)
    )
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(passes) >= 3
    assert "test pass failed; retrying in 0s" in caplog.text
