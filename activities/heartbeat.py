"""Heartbeats while an activity waits on a slow system: a worker that dies mid-call is noticed
within the activity's heartbeat timeout (seconds), not its start-to-close timeout (minutes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from temporalio import activity


@contextlib.asynccontextmanager
async def heartbeating(
    interval: float = 2.0, details: Callable[[], tuple] = tuple
) -> AsyncIterator[None]:
    """Heartbeat every `interval` seconds until the block ends, with `details()` (progress a
    retried activity resumes from). The first beat comes after `interval`: a call that answers
    sooner costs the server no heartbeat (most of a change's writes), and a lost worker is still
    noticed within the heartbeat timeout."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat(*details())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
