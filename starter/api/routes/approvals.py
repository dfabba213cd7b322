"""Approvers' decisions over HTTP: `POST /api/changes/{id}/approvals` checks the signer (role,
plant, password), adds the electronic signature (printed name, meaning, time, the revision hash
decided on, the signature components executed) and sends one signed Update whose id is the
approval id.

The API keeps no signing session: every decision it signs needs the signer's password (21 CFR
11.200(a)(1)); whoever holds a token alone signs nothing. The approver pages sign through
`record_decision` too, with their own check of the components (starter/web/pages.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
    writer,
)
from starter.api.routes.input import INPUT_ID, IdempotencyKey, send_input, sign_input
from starter.api.throttle import Throttled, checked_password, too_many
from store.credentials import SigningRefused, printed_name
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
        description="Your password, to sign: needed with every decision the API signs.",
    )
    name: str | None = Field(
        default=None,
        max_length=100,
        description="Your user name, the other component of your signature: when given it "
        "must be the token's user, and the signature records both (`signed_with`).",
    )
    evidence: str | None = Field(
        default=None,
        max_length=500,
        description="For an approval recorded on someone's behalf (role customer): the "
        "reference of their evidence (letter, portal record).",
    )


# the signature components a signer executed: checked, then recorded in the signature
Authorize = Callable[[], Awaitable[list[str]]]
SIGNATURE_STATUS = 403


@router.post(
    "/api/changes/{change_id}/approvals",
    status_code=202,
    response_model=InputReceipt,
    responses=responses(401, 403, 404, 409, 413, 422, 429, 503),
)
async def decide(
    change_id: ChangeId,
    body: ApprovalBody,
    request: Request,
    user: Writer,
    idempotency_key: IdempotencyKey = None,
) -> InputReceipt:
    """Approve, reject or request changes in your own role (and plant), signed with your
    password (every time: the API keeps no signing session)."""
    return await record_decision(
        change_id,
        body,
        request,
        user,
        idempotency_key,
        authorize=lambda: password_signing(request, user, body, channel="api"),
    )


async def password_signing(
    request: Request, user: User, body: ApprovalBody, *, channel: str
) -> list[str]:
    """The signer's password (and name, when given) checked for one signature: the components
    executed, or 403 (429 when throttled) with why not."""
    if not body.password:
        raise HTTPException(SIGNATURE_STATUS, "not signed: signing needs your password")
    if body.name is not None and body.name != user.name:
        raise HTTPException(
            SIGNATURE_STATUS, f"not signed: you sign as {user.name}, not {body.name}"
        )
    try:
        await checked_password(request, user.name, body.password, channel=channel)
    except Throttled as exc:
        raise too_many(exc) from exc
    except SigningRefused as exc:
        log.info("signing refused", by=user.name, channel=channel, reason=str(exc))
        raise HTTPException(SIGNATURE_STATUS, f"not signed: {exc}") from exc
    return ["name", "password"] if body.name else ["password"]


async def record_decision(
    change_id: str,
    body: ApprovalBody,
    request: Request,
    user: User,
    idempotency_key: str | None,
    *,
    authorize: Authorize,
) -> InputReceipt:
    """A decision checked (role, plant, revision), signed by `authorize` (which checks the
    components the channel asks for and says which were executed) and sent to the change."""
    writer(user)  # the pages call this with their session's user: auditors and notifiers refused
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
    policy = request.app.state.settings.approvals
    signed_with = await authorize() if policy.require_password else None
    signature = Signature(
        printed_name=await asyncio.to_thread(printed_name, engine_of(request), user.name),
        meaning=meaning(body.decision, role, plant, user.role if on_behalf else None),
        signed_at=datetime.now(UTC),
        content_hash=revision_hash,
        signed_with=signed_with,
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
    log.info(
        "decision recorded",
        change_id=change_id,
        by=user.name,
        decision=body.decision.value,
        signed_with=signed_with,
    )
    return receipt


assert set(ApproverRole.__args__) == {r.value for r in APPROVER_ROLES} | {Role.customer.value}
