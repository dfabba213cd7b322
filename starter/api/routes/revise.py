"""Revising a change after changes were requested: the requester sends the new change file,
checked like a submission (422 with every problem, nothing sent); the change is reassessed and
its approvals start over on the new revision. A revision keeps the change's requester, and turns
it into an emergency only from a role the policy lets declare one."""

from __future__ import annotations

from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from domain.approvals.policy import may_declare_emergency
from domain.change.request import ChangeRequest, Priority
from domain.messages import InputReceipt, Revision
from domain.signatures.signing import REVISION
from starter.api.deps import ChangeId, Writer, change_state, responses, temporal, writer
from starter.api.routes.changes import check_change_file
from starter.api.routes.input import IdempotencyKey, send_input, sign_input
from workflows.change.workflow import ChangeWorkflow

router = APIRouter(tags=["decisions"])


class RevisionBody(BaseModel):
    change: ChangeRequest = Field(description="The revised change file (same type).")
    comment: str = Field(default="", max_length=2000, description="What changed, and why.")


@router.post(
    "/api/changes/{change_id}/revise",
    status_code=202,
    response_model=InputReceipt,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
async def revise(
    change_id: ChangeId,
    body: RevisionBody,
    request: Request,
    user: Writer,
    idempotency_key: IdempotencyKey = None,
) -> InputReceipt:
    """The requester's revised change file, once changes were requested (403 someone else,
    409 no changes requested, 422 what is wrong with the file)."""
    writer(user)  # the revise page calls this with its session's user: auditors refused
    state = await change_state(temporal(request), change_id)
    change = body.change.model_copy(update={"change_id": change_id})
    if change.requested_by in (None, state.requested_by):
        change = change.model_copy(update={"requested_by": state.requested_by})
    else:
        raise HTTPException(
            422,
            [
                f"requested_by: a revision keeps the change's requester ({state.requested_by}); "
                "submit a new change for another requester"
            ],
        )
    if change.priority == Priority.emergency and state.request.priority != Priority.emergency:
        refused = may_declare_emergency(request.app.state.settings.approvals, user.role)
        if refused:
            raise HTTPException(403, refused)
    await check_change_file(request, change)
    revision_id = idempotency_key or uuid4().hex
    revision = Revision(
        revision_id=revision_id, by=user.name, role=user.role, request=change, comment=body.comment
    )
    return await send_input(
        request,
        change_id,
        ChangeWorkflow.revise,
        sign_input(REVISION, change_id, revision),
        revision_id,
        kind=REVISION,
        user=user.name,
    )
