"""People's input to a change: decisions, resolutions of a held task, cancel and terminate.

The API authenticates the person, signs what they decide with the key only the API and the
workers hold, and sends it as one Workflow Update. The workflow's validator answers at once:
202 with the receipt once recorded, or 403/409/422 with the reason, before anything enters the
workflow's history; the API puts those refusals in the audit trail itself. An Update id (the
approval id, or the client's Idempotency-Key) makes a retried request the same decision.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.approvals import APPROVER_ROLES, PLANT_ROLES, ApprovalDecision, Decision, Role
from domain.esign import meaning
from domain.human_input import RefusalKind
from domain.messages import CancelRequest, InputReceipt, Resolution, ResolveAction
from domain.signing import CANCEL, DECISION, RESOLUTION, Signature, signed
from domain.state import ChangeState
from infra import signing
from infra.logs import get_logger
from starter.api_support import (
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
from store.audit import append_event
from store.changes import registered_change
from store.credentials import SigningRefused, authorize_signing, printed_name
from store.users import User
from workflows.change_input import AUDITED
from workflows.change_workflow import ChangeWorkflow

router = APIRouter(tags=["decisions"])
log = get_logger(component="api")

INPUT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
STATUS_FOR = {
    RefusalKind.forbidden.value: 403,
    RefusalKind.conflict.value: 409,
    RefusalKind.invalid.value: 422,
}


ApproverRole = Literal[
    "engineering", "quality", "production", "supply_chain", "safety", "it_ot", "customer"
]


class ApprovalBody(BaseModel):
    decision: Decision
    role: ApproverRole = Field(description="The role you decide in: one of the approver roles.")
    plant: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2,8}$")
    comment: str = Field(default="", max_length=2000)
    approval_id: str | None = Field(
        default=None,
        pattern=INPUT_ID,
        description="Names this decision: sending it again records it once "
        "(default: the Idempotency-Key header, else a new id).",
    )
    revision: int | None = Field(
        default=None, ge=1, description="The revision decided on (default: the current one)."
    )
    revision_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The revision hash of the change as you saw it (GET /api/changes/{id}): "
        "your signature covers it; 409 if the change has moved on (default: the current one).",
    )
    password: str | None = Field(
        default=None,
        max_length=200,
        description="Your password, to sign (omit within a signing session).",
    )
    evidence: str | None = Field(
        default=None,
        max_length=500,
        description="For an approval recorded on someone's behalf (role customer): the "
        "reference of their evidence (letter, portal record).",
    )


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
    "/api/changes/{change_id}/approvals",
    status_code=202,
    response_model=InputReceipt,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
async def decide(
    change_id: ChangeId,
    body: ApprovalBody,
    request: Request,
    user: Writer,
    idempotency_key: IdempotencyKey = None,
) -> InputReceipt:
    """Approve, reject or request changes in your own role (and plant)."""
    role = Role(body.role)
    on_behalf = role == Role.customer  # recorded by an internal user; the policy says who
    if user.role != role and not on_behalf:
        raise HTTPException(403, f"{user.name} has role {user.role.value}, not {role.value}")
    plant = None
    if role in PLANT_ROLES:
        plant = body.plant or user.plant
        if plant != user.plant:
            raise HTTPException(403, f"{user.name} decides for plant {user.plant}, not {plant}")
    state = await change_state(temporal(request), change_id)
    revision = body.revision if body.revision is not None else state.revision
    signature = await _electronic_signature(request, user, body, role, plant, on_behalf, state)
    approval_id = body.approval_id or idempotency_key or uuid4().hex
    decision = ApprovalDecision(
        approval_id=approval_id,
        decision=body.decision,
        role=role,
        plant=plant,
        approver=user.name,
        comment=body.comment,
        decided_at=datetime.now(UTC),
        change_id=change_id,
        revision=revision,
        evidence=body.evidence,
        on_behalf_role=user.role if on_behalf else None,
        signature=signature,
    )
    receipt = await send_input(
        request,
        change_id,
        ChangeWorkflow.submit_decision,
        sign_input(DECISION, change_id, decision),
        approval_id,
        kind=DECISION,
        user=user.name,
    )
    log.info("decision recorded", change_id=change_id, by=user.name, decision=body.decision.value)
    return receipt


async def _electronic_signature(
    request: Request,
    user: User,
    body: ApprovalBody,
    role: Role,
    plant: str | None,
    on_behalf: bool,
    state: ChangeState,
) -> Signature:
    """The signer re-enters their password (or is within a signing session); the signature
    names them, says what it means and hashes exactly the revision they decided on."""
    policy = request.app.state.settings.approvals
    engine = engine_of(request)
    if policy.require_password:
        try:
            await asyncio.to_thread(
                authorize_signing, engine, user.name, body.password, policy.signing_session_minutes
            )
        except SigningRefused as exc:
            log.info("signing refused", change_id=state.change_id, by=user.name, reason=str(exc))
            raise HTTPException(403, f"not signed: {exc}") from exc
    return Signature(
        printed_name=await asyncio.to_thread(printed_name, engine, user.name),
        meaning=meaning(body.decision, role, plant, user.role if on_behalf else None),
        signed_at=datetime.now(UTC),
        content_hash=body.revision_hash or state.revision_hash,
    )


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


assert set(ApproverRole.__args__) == {r.value for r in APPROVER_ROLES} | {Role.customer.value}
