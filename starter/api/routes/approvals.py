"""Approvers' decisions over HTTP: `POST /api/changes/{id}/approvals` checks the signer (role,
plant, password or signing session), adds the electronic signature (printed name, meaning, time,
the revision hash decided on) and sends one signed Update whose id is the approval id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from domain.approvals.decisions import (
    APPROVER_ROLES,
    PLANT_ROLES,
    ApprovalDecision,
    Decision,
    Role,
    meaning,
)
from domain.messages import InputReceipt
from domain.signatures.signing import DECISION, Signature
from infra.logs import get_logger
from starter.api.deps import (
    ChangeId,
    Writer,
    change_handle,
    change_state,
    engine_of,
    responses,
    temporal,
)
from starter.api.routes.input import INPUT_ID, IdempotencyKey, send_input, sign_input
from store.credentials import SigningRefused, authorize_signing, printed_name
from store.users import User
from workflows.change.workflow import ChangeWorkflow

router = APIRouter(tags=["decisions"])
log = get_logger(component="api")


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
    if body.revision is not None and body.revision_hash:  # what the approver saw: enough
        await change_handle(temporal(request), change_id)
        revision, revision_hash = body.revision, body.revision_hash
    else:  # the change's current revision
        state = await change_state(temporal(request), change_id)
        revision = body.revision if body.revision is not None else state.revision
        revision_hash = body.revision_hash or state.revision_hash
    signature = await _electronic_signature(
        request, user, body, role, plant, on_behalf, change_id, revision_hash
    )
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
    change_id: str,
    revision_hash: str,
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
            log.info("signing refused", change_id=change_id, by=user.name, reason=str(exc))
            raise HTTPException(403, f"not signed: {exc}") from exc
    return Signature(
        printed_name=await asyncio.to_thread(printed_name, engine, user.name),
        meaning=meaning(body.decision, role, plant, user.role if on_behalf else None),
        signed_at=datetime.now(UTC),
        content_hash=revision_hash,
    )


assert set(ApproverRole.__args__) == {r.value for r in APPROVER_ROLES} | {Role.customer.value}
