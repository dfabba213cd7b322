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
    retried activity resumes from)."""

    async def beat() -> None:
        while True:
            activity.heartbeat(*details())
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
