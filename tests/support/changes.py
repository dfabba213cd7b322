"""Driving a ChangeWorkflow in tests: start one, decide, approve every required approval,
resolve a hold, cancel; read refusals, failed workflow tasks and the audit actions."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.approvals.decisions import RequiredApproval, Role
from domain.change.stages import ChangeStage
from domain.messages import (
    CancelRequest,
    ChangeInput,
    Resolution,
    ResolveAction,
)
from domain.signatures.signing import CANCEL, RESOLUTION
from tests.support.data import bracket_request
from tests.support.fakes import Fakes
from tests.support.helpers import (
    at_stage,
    signed_decision,
    signed_input,
    wait_for,
)
from workflows.change.workflow import ChangeWorkflow

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


async def record_history(handle, name: str) -> None:
    """CHANGEFLOW_RECORD_HISTORIES=1 writes the workflow's history to
    tests/workflows/histories/{name}.json for the replay test (docs/upgrading.md): one event a
    line, so that a re-recorded history reads as a diff."""
    if os.environ.get("CHANGEFLOW_RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        events = [json.dumps(e, separators=(",", ":")) for e in history.to_json_dict()["events"]]
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text('{"events":[\n' + ",\n".join(events) + "\n]}\n")


async def start(client: Client, queue: str, **overrides: object):
    change_id = f"ECO-{uuid.uuid4().hex[:8]}"
    request = bracket_request(**overrides)
    return await client.start_workflow(
        ChangeWorkflow.run,
        ChangeInput(change_id=change_id, request=request, submitted_by="maria.engineer"),
        id=change_id,
        task_queue=queue,
    )


def actions(fakes: Fakes) -> list[str]:
    return [a.action for a in fakes.audits]


async def decide(handle, required: RequiredApproval, approver: str, **kwargs):
    decision = signed_decision(handle.id, required, approver, **kwargs)
    return await handle.execute_update(
        ChangeWorkflow.submit_decision, decision, id=decision.approval_id
    )


async def approve_all(handle, approver_prefix: str = "approver") -> None:
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    for required in state.approvals.required:
        await decide(
            handle,
            required,
            f"{approver_prefix}.{required.role.value}",
            revision=state.revision,
        )


async def resolve(handle, action: ResolveAction, role: Role = Role.admin, **kwargs):
    state = await handle.query(ChangeWorkflow.state)
    resolution = Resolution(
        task_id=kwargs.pop("task_id", state.hold.task_id),
        action=action,
        by=kwargs.pop("by", "ops.admin"),
        role=role,
        resolution_id=uuid.uuid4().hex,
        hold_id=state.hold.hold_id,
        **kwargs,
    )
    signed = signed_input(handle.id, RESOLUTION, resolution)
    return await handle.execute_update(ChangeWorkflow.resolve_hold, signed, id=uuid.uuid4().hex)


async def cancel(handle, by: str = "maria.engineer", role: Role = Role.analyst):
    request = CancelRequest(by=by, role=role, cancel_id=uuid.uuid4().hex, reason="test")
    signed = signed_input(handle.id, CANCEL, request)
    return await handle.execute_update(ChangeWorkflow.request_cancel, signed, id=request.cancel_id)


def refusal_type(err: WorkflowUpdateFailedError) -> str | None:
    cause = err.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def workflow_task_failures(handle) -> list[str]:
    history = await handle.fetch_history()
    return [
        str(e.workflow_task_failed_event_attributes.failure.message)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
