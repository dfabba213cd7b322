"""Workflow tests' fixtures: one time-skipping server per module, and a harness per test (its own
task queues, workers with the fake activities on the central and every plant's queue; the
central one runs the workflows as the real worker does, unversioned)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.fakes import Fakes
from tests.support.helpers import start_time_skipping
from worker import workflow_runner
from workflows.all import WORKFLOWS
from workflows.queues import plant_queue

PLANTS = ["DET", "MTY", "BRN"]


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


@pytest.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, str, Fakes]]:
    fakes = Fakes()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    acts = fakes.activities()
    workers = [
        Worker(
            env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            activities=acts,
        )
    ]
    workers += [
        Worker(env.client, task_queue=plant_queue(queue, p), activities=acts) for p in PLANTS
    ]
    for w in workers:
        await w.__aenter__()
    yield env.client, queue, fakes
    for w in workers:
        await w.__aexit__(None, None, None)
