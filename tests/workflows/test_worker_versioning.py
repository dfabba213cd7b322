"""Worker Deployment Versioning on the dev server (Server 1.32), as worker.py configures it from
CHANGEFLOW_DEPLOYMENT_NAME and CHANGEFLOW_BUILD_ID: a plant workflow stays on the build it
started on (pinned) while its change moves to the build made current meanwhile (auto-upgrade).
docs/upgrading.md is the procedure."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType, RoutingConfigUpdateState, VersioningBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkerDeploymentConfig

from domain.change.stages import ChangeStage
from tests.support.changes import approve_all, start
from tests.support.fakes import Fakes
from tests.support.helpers import start_dev_server
from tests.workflows.conftest import PLANTS
from worker import BUILD_ID_ENV, DEPLOYMENT_NAME_ENV, deployment_config, workflow_runner
from workflows.all import WORKFLOWS
from workflows.queues import plant_queue


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_dev_server()
    yield environment
    await environment.shutdown()


def test_versioning_is_off_unless_both_names_are_set(monkeypatch) -> None:
    monkeypatch.delenv(DEPLOYMENT_NAME_ENV, raising=False)
    monkeypatch.delenv(BUILD_ID_ENV, raising=False)
    assert deployment_config() is None  # a plain `changeflow up`
    monkeypatch.setenv(BUILD_ID_ENV, "b1")
    with pytest.raises(ValueError, match=DEPLOYMENT_NAME_ENV):
        deployment_config()
    monkeypatch.setenv(DEPLOYMENT_NAME_ENV, "changeflow")
    config = deployment_config()
    assert config is not None and config.use_worker_versioning
    assert config.version == WorkerDeploymentVersion("changeflow", "b1")


def central(client: Client, queue: str, fakes: Fakes, config: WorkerDeploymentConfig) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(versioned=True),
        activities=fakes.activities(),
        deployment_config=config,
    )


async def make_current(client: Client, version: WorkerDeploymentVersion) -> None:
    """What `temporal worker deployment set-current-version` does, once the version's worker
    has polled (the server knows it from then on), and until every queue routes to it."""
    for _ in range(100):
        try:
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=version.deployment_name,
                    build_id=version.build_id,
                )
            )
            break
        except RPCError:
            await asyncio.sleep(0.1)
    for _ in range(100):
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=version.deployment_name
            )
        )
        info = described.worker_deployment_info
        completed = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
        if (
            info.routing_config.current_deployment_version.build_id == version.build_id
            and info.routing_config_update_state == completed
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{version} never became current")


async def builds(handle: WorkflowHandle) -> list[str]:
    """The build of each workflow task the workflow completed, in order."""
    history = await handle.fetch_history()
    return [
        e.workflow_task_completed_event_attributes.deployment_version.build_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


async def test_a_plant_stays_on_its_build_while_the_change_moves_to_the_new_current_one(
    env, monkeypatch
) -> None:
    client, queue, fakes = env.client, f"versioned-{uuid.uuid4().hex[:8]}", Fakes()
    blocked = "DET.ERP.mbom.100-200"
    fakes.blocked.add(blocked)
    monkeypatch.setenv(DEPLOYMENT_NAME_ENV, f"changeflow-{uuid.uuid4().hex[:6]}")
    monkeypatch.setenv(BUILD_ID_ENV, "build-1")
    first = deployment_config()
    monkeypatch.setenv(BUILD_ID_ENV, "build-2")
    second = deployment_config()
    assert first is not None and second is not None
    plants = [
        Worker(client, task_queue=plant_queue(queue, p), activities=fakes.activities())
        for p in PLANTS
    ]  # activities only: unversioned, as worker.py runs them
    for worker in plants:
        await worker.__aenter__()
    try:
        async with central(client, queue, fakes, first):
            await make_current(client, first.version)
            handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
            await approve_all(handle)
            for _ in range(400):  # DET's plant workflow is applying its first task
                if blocked in fakes.started:
                    break
                await asyncio.sleep(0.025)
            async with central(client, queue, fakes, second):
                await make_current(client, second.version)
                fakes.gate.set()
                assert (await handle.result()).stage == ChangeStage.completed
    finally:
        for worker in plants:
            await worker.__aexit__(None, None, None)

    det = client.get_workflow_handle(f"{handle.id}.DET")
    pinned = (await det.describe()).raw_description.workflow_execution_info.versioning_info
    assert pinned.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
    assert set(await builds(det)) == {"build-1"}  # started there, finished there
    moved = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    assert moved.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
    change_builds = await builds(handle)
    assert change_builds[0] == "build-1" and change_builds[-1] == "build-2", change_builds
