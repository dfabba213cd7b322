"""Shared test helpers: Temporal environments started from the installed binaries, free ports,
one polling helper (`eventually`) and waiting for a workflow to reach a stage, decisions."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.approvals.decisions import ApprovalDecision, Decision, RequiredApproval
from domain.change.stages import ChangeStage
from domain.lifecycle.state import ChangeState
from domain.signatures.signing import DECISION, M, SigningKey, signed
from starter.api.live_progress import with_live_progress
from tests.conftest import TEST_KEYRING
from workflows.change.workflow import ChangeWorkflow
from workflows.search_attributes import cli_flags, indexed_types

BIN = Path(sys.executable).parent
T = TypeVar("T")


def binary(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make test` to bootstrap .venv")
    return path


async def start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace="default", search_attributes=indexed_types())
    )
    return env


async def start_dev_server(metrics_port: int | None = None) -> WorkflowEnvironment:
    """The dev server; with `metrics_port`, its Prometheus metrics there (the benchmark reads
    the requests it served)."""
    metrics = ["--metrics-port", str(metrics_port)] if metrics_port else []
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[*cli_flags(), "--headless", *metrics],
        ui=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    failure: Callable[[T], str] = repr,
) -> T:
    """Call `probe` every `interval` seconds until `until` holds for what it returned, and return
    that; after `timeout` seconds fail with an AssertionError saying `failure(last result)`.

    The one polling loop of the tests: `wait_for` (a workflow's state) and the end-to-end
    `poll` (a change over HTTP) are both made of it; use it for anything else that settles."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s: {failure(result)}")
        await asyncio.sleep(interval)


async def wait_for(
    handle: WorkflowHandle,
    predicate: Callable[[ChangeState], bool],
    *,
    timeout: float = 30.0,
) -> ChangeState:
    """Poll the state (as readers see it: with its running plants' progress) until the
    predicate holds."""

    async def state() -> ChangeState:
        return await with_live_progress(handle._client, await handle.query(ChangeWorkflow.state))

    return await eventually(
        state,
        predicate,
        timeout=timeout,
        failure=lambda s: f"change is {s.stage}: {s.outcome}",
    )


def at_stage(*stages: ChangeStage) -> Callable[[ChangeState], bool]:
    return lambda state: state.stage in stages


def decision_for(
    required: RequiredApproval,
    approver: str,
    decision: Decision = Decision.approve,
    approval_id: str | None = None,
    comment: str = "",
) -> ApprovalDecision:
    return ApprovalDecision(
        approval_id=approval_id or uuid4().hex,
        decision=decision,
        role=required.role,
        plant=required.plant,
        approver=approver,
        comment=comment,
        decided_at=datetime.now(UTC),
    )


def signed_decision(
    change_id: str,
    required: RequiredApproval,
    approver: str,
    decision: Decision = Decision.approve,
    *,
    approval_id: str | None = None,
    comment: str = "",
    revision: int = 1,
    key: SigningKey | None = None,
) -> ApprovalDecision:
    """A decision as the API sends it: bound to the change and revision, signed."""
    unsigned = decision_for(required, approver, decision, approval_id, comment).model_copy(
        update={"change_id": change_id, "revision": revision}
    )
    return signed(DECISION, change_id, unsigned, key or TEST_KEYRING.active)


def signed_input(change_id: str, kind: str, message: M, key: SigningKey | None = None) -> M:
    return signed(kind, change_id, message, key or TEST_KEYRING.active)
