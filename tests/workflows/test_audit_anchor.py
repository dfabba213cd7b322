"""AuditAnchorWorkflow runs its one activity and returns what it found (time-skipping server, a
fake activity): the daily checkpoint a Temporal Schedule starts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.changes import record_history
from tests.support.helpers import start_time_skipping
from worker import workflow_runner
from workflows.audit_anchor import AuditAnchorWorkflow


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


@activity.defn(name="anchor_audit")
async def anchor_audit() -> dict:
    return {"intact": True, "chains": 2, "records": 7, "problems": [], "signed": True}


async def test_the_daily_anchor_returns_what_its_activity_found(env) -> None:
    queue = f"anchor-{uuid.uuid4().hex[:6]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[AuditAnchorWorkflow],
        workflow_runner=workflow_runner(),
        activities=[anchor_audit],
    ):
        handle = await env.client.start_workflow(
            AuditAnchorWorkflow.run, id=f"audit-anchor-{uuid.uuid4().hex[:6]}", task_queue=queue
        )
        result = await handle.result()
    assert result["intact"] and result["records"] == 7
    await record_history(handle, "audit-anchor")
