"""The thread-sync schedules exist once the central worker has started (defect 12)."""

from __future__ import annotations

from tests.support.helpers import start_dev_server
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


async def test_the_namespace_keeps_closed_workflows_as_configured() -> None:
    from datetime import timedelta

    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

    from workflows.schedules import ensure_retention

    env = await start_dev_server()
    try:
        assert await ensure_retention(env.client, "default", 45) is True
        assert await ensure_retention(env.client, "default", 45) is False  # idempotent
        described = await env.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="default")
        )
        ttl = described.config.workflow_execution_retention_ttl.ToTimedelta()
        assert ttl == timedelta(days=45)
    finally:
        await env.shutdown()
