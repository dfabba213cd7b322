"""The thread-sync schedules exist once the central worker has started (defect 12)."""

from __future__ import annotations

from tests.helpers import start_dev_server
from workflows.schedules import AUDIT_ANCHOR, INCREMENTAL, NIGHTLY, ensure_schedules


async def test_schedules_are_created_once_and_stay() -> None:
    env = await start_dev_server()
    try:
        first = await ensure_schedules(env.client, "sched-test")
        assert sorted(first) == sorted([INCREMENTAL, NIGHTLY, AUDIT_ANCHOR])
        assert await ensure_schedules(env.client, "sched-test") == []  # idempotent
        described = await env.client.get_schedule_handle(INCREMENTAL).describe()
        assert described.schedule.spec.intervals[0].every.total_seconds() == 15 * 60
    finally:
        await env.shutdown()
