"""People's input to a change: resolutions of a held task, cancel and terminate, and the
signing and sending every kind of input shares (decisions: starter/api/routes/approvals.py).

The API authenticates the person, signs what they decide with the key only the API and the
workers hold, and sends it as one Workflow Update. The workflow's validator answers at once:
202 with the receipt once recorded, or 403/409/422 with the reason, before anything enters the
workflow's history; the API puts those refusals in the audit trail itself. An Update id (the
approval id, or the client's Idempotency-Key) makes a retried request the same decision.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.approvals.decisions import Role
from domain.lifecycle.human_input import RefusalKind
from domain.messages import CancelRequest, InputReceipt, Resolution, ResolveAction
from domain.signatures.signing import CANCEL, RESOLUTION, signed
from infra import signing
from infra.logs import get_logger
from starter.api.deps import (
    UPDATE_TIMEOUT,
    ChangeId,
    NotAnsweringError,
    Writer,
    change_state,
    engine_of,
    not_answering,
    responses,
    temporal,
)
from store.audit.trail import append_event
from store.changes import registered_change
from workflows.change.input import AUDITED
from workflows.change.workflow import ChangeWorkflow

router = APIRouter(tags=["decisions"])
log = get_logger(component="api")

INPUT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
STATUS_FOR = {
    RefusalKind.forbidden.value: 403,
    RefusalKind.conflict.value: 409,
    RefusalKind.invalid.value: 422,
}


class ResolveBody(BaseModel):
    task_id: str = Field(max_length=200)
    action: ResolveAction
    comment: str = Field(default="", max_length=2000)


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=2000)


class TerminateBody(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", pattern=INPUT_ID, description="Makes a retry the same input."),
]


def sign_input(kind: str, change_id: str, message: Any) -> Any:
    ring = signing.keyring()
    if ring is None:
        raise HTTPException(503, "the API has no signing key (CHANGEFLOW_SIGNING_KEY)")
    return signed(kind, change_id, message, ring.active)


def _append_audit(
    request: Request, change_id: str, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Input the workflow never saw (refused by its validator, or sent around it) is recorded
    here, on the change's own chain."""
    engine = engine_of(request)
    registered = registered_change(engine, change_id)
    append_event(
        engine,
        change_id=change_id,
        event_key=f"{change_id}:{action}:{uuid4().hex}",
        chain_key=registered.chain_key if registered else None,
        actor=actor,
        action=action,
        detail=detail,
    )


async def send_input(
    request: Request,
    change_id: str,
    update: Any,
    message: Any,
    update_id: str,
    *,
    kind: str,
    user: str,
) -> InputReceipt:
    handle = temporal(request).get_workflow_handle(change_id)
    try:
        return await handle.execute_update(
            update, message, id=update_id, result_type=InputReceipt, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if not isinstance(cause, ApplicationError) or cause.type not in STATUS_FOR:
            if isinstance(cause, ApplicationError) and cause.type == RefusalKind.unsigned.value:
                raise HTTPException(
                    503,
                    "the workers refuse this API's signature: CHANGEFLOW_SIGNING_KEY differs "
                    "between the API and the workers",
                ) from exc
            raise await not_answering(handle, change_id, str(cause or exc)) from exc
        if cause.details[:1] != (AUDITED,):
            detail = {"kind": kind, "input_id": update_id, "reason": cause.message}
            await asyncio.to_thread(
                _append_audit,
                request,
                change_id,
                user,
                "input.refused",
                {**detail, "refusal": cause.type},
            )
        raise HTTPException(STATUS_FOR[cause.type], cause.message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise NotAnsweringError(
            503,
            f"change {change_id} did not answer in time; send the same request again (with "
            "the same Idempotency-Key or approval_id it counts once)",
        ) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise await _closed_or_unknown(handle, change_id) from exc
        if exc.status == RPCStatusCode.FAILED_PRECONDITION:  # its workflow task is failing
            raise await not_answering(handle, change_id, exc.message) from exc
        raise HTTPException(503, f"Temporal cannot take the input now: {exc.message}") from exc


async def _closed_or_unknown(handle: Any, change_id: str) -> HTTPException:
    try:
        state = await handle.query(ChangeWorkflow.state)
    except Exception:  # noqa: BLE001 - unknown or not a change: the same answer
        return HTTPException(404, f"change {change_id} does not exist")
    return HTTPException(409, f"change {change_id} is already {state.stage.value}")


@router.post(
    "/api/changes/{change_id}/resolve",
    status_code=202,
    response_model=InputReceipt,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
async def resolve(
    change_id: ChangeId,
    body: ResolveBody,
    request: Request,
    user: Writer,
    idempotency_key: IdempotencyKey = None,
) -> InputReceipt:
    """Retry, skip (with a comment) or roll back the task a change is on hold for."""
    state = await change_state(temporal(request), change_id)
    if state.hold is None:
        raise HTTPException(409, f"change {change_id} is {state.stage.value}, not on hold")
    resolution_id = idempotency_key or uuid4().hex
    resolution = Resolution(
        task_id=body.task_id,
        action=body.action,
        by=user.name,
        comment=body.comment,
        resolution_id=resolution_id,
        hold_id=state.hold.hold_id,
        role=user.role,
        plant=user.plant,
    )
    return await send_input(
        request,
        change_id,
        ChangeWorkflow.resolve_hold,
        sign_input(RESOLUTION, change_id, resolution),
        resolution_id,
        kind=RESOLUTION,
        user=user.name,
    )


@router.post(
    "/api/changes/{change_id}/cancel",
    status_code=202,
    response_model=InputReceipt,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
async def cancel(
    change_id: ChangeId,
    body: ReasonBody,
    request: Request,
    user: Writer,
    idempotency_key: IdempotencyKey = None,
) -> InputReceipt:
    """Cancel a change; whatever it already applied is rolled back first."""
    cancel_id = idempotency_key or uuid4().hex
    message = CancelRequest(by=user.name, reason=body.reason, cancel_id=cancel_id, role=user.role)
    try:
        await change_state(temporal(request), change_id)  # 404, or 503 when it is failing
        return await send_input(
            request,
            change_id,
            ChangeWorkflow.request_cancel,
            sign_input(CANCEL, change_id, message),
            cancel_id,
            kind=CANCEL,
            user=user.name,
        )
    except NotAnsweringError:
        pass
    # the workflow cannot take an Update (its task is failing): ask Temporal to cancel it; the
    # cancellation (rollback included) runs as soon as the workflow can proceed again
    registered = await asyncio.to_thread(registered_change, engine_of(request), change_id)
    if user.role != Role.admin and (registered is None or registered.submitted_by != user.name):
        raise HTTPException(403, "only the submitter or an admin can cancel a failing change")
    await temporal(request).get_workflow_handle(change_id).cancel()
    await asyncio.to_thread(
        _append_audit,
        request,
        change_id,
        user.name,
        "change.cancel_requested",
        {"reason": body.reason, "via": "temporal cancellation (the workflow is failing)"},
    )
    return InputReceipt(
        input_id=cancel_id,
        recorded="cancellation requested in Temporal: it runs (rollback included) as soon as "
        "the change's workflow can proceed",
    )


@router.post(
    "/api/changes/{change_id}/terminate",
    status_code=202,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
async def terminate(
    change_id: ChangeId, body: TerminateBody, request: Request, user: Writer
) -> dict[str, str]:
    """Admin only, last resort for a change whose workflow is failing: stop it where it is.
    Nothing is rolled back; the audit trail records who terminated it and why."""
    if user.role != Role.admin:
        raise HTTPException(403, "only an admin can terminate a change")
    handle = temporal(request).get_workflow_handle(change_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise HTTPException(404, f"change {change_id} does not exist") from exc
        raise
    if description.workflow_type != "ChangeWorkflow":
        raise HTTPException(404, f"change {change_id} does not exist")
    if description.close_time is not None:
        raise HTTPException(409, f"change {change_id} has already ended")
    await handle.terminate(reason=json.dumps({"by": user.name, "reason": body.reason}))
    await asyncio.to_thread(
        _append_audit, request, change_id, user.name, "change.terminated", {"reason": body.reason}
    )
    return {"status": "terminated"}
