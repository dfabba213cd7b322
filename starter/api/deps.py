"""What every API route shares: the bearer-token user, the error body and the statuses each route
documents, and reaching a change's workflow (404 for unknown ids and for workflows of other
types, 503 with the reason when a change's workflow cannot answer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.approvals.decisions import Role
from domain.change.request import CHANGE_ID_PATTERN
from domain.lifecycle.state import ChangeState
from starter.api.live_progress import with_live_progress
from store.users import User, user_for_token
from workflows.change.workflow import ChangeWorkflow

QUERY_TIMEOUT = timedelta(seconds=10)
UPDATE_TIMEOUT = timedelta(seconds=20)


class ErrorBody(BaseModel):
    """Every error the API answers: one reason, or one line per problem (`field: reason`)."""

    detail: str | list[str]


REASONS = {
    401: "No token, or an unknown, revoked or expired one.",
    403: "Authenticated, but this user may not do this.",
    404: "No such change (or not a change).",
    409: "The change is not in a state that allows this.",
    413: "The request body is too large.",
    422: "The request is not valid; every problem is listed.",
    429: "Too many wrong passwords from this name or address lately: wait Retry-After seconds.",
    503: "A system changeflow depends on cannot answer now; nothing was changed.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route: each status with the error body and its meaning."""
    return {code: {"model": ErrorBody, "description": REASONS[code]} for code in codes}


bearer = HTTPBearer(auto_error=False, description="A token from `changeflow users add`.")
ChangeId = Annotated[
    str, Path(pattern=CHANGE_ID_PATTERN, max_length=64, description="The change id.")
]


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "missing bearer token (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = user_for_token(request.app.state.engine, credentials.credentials)
    if user is None:
        raise HTTPException(
            401, "unknown, revoked or expired token", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


def _not_a_notifier(user: User) -> None:
    if user.role == Role.notifier:
        raise HTTPException(
            403,
            f"{user.name} is a notifier: notifiers read the notification outbox and mark it "
            "sent, nothing else",
        )


def reader(user: Annotated[User, Depends(current_user)]) -> User:
    """A user who may read changes: everyone but notifiers (they see only the outbox)."""
    _not_a_notifier(user)
    return user


def writer(user: Annotated[User, Depends(current_user)]) -> User:
    """A user who may change something: everyone but auditors and notifiers. The pages call it
    too, with their session's user, before anything they send on."""
    if user.role == Role.auditor:
        raise HTTPException(403, f"{user.name} is an auditor: auditors read, they do not write")
    _not_a_notifier(user)
    return user


def outbox_user(user: Annotated[User, Depends(current_user)]) -> User:
    """A user who may read the notification outbox: everyone, notifiers included."""
    return user


Reader = Annotated[User, Depends(reader)]
Writer = Annotated[User, Depends(writer)]
OutboxUser = Annotated[User, Depends(outbox_user)]


def temporal(request: Request) -> Client:
    return request.app.state.client


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


async def workflow_type(handle: WorkflowHandle) -> str | None:
    """The workflow type behind an id, or None when Temporal knows no such workflow."""
    try:
        return (await handle.describe()).workflow_type
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise


class NotAnsweringError(HTTPException):
    """503: the change exists but its workflow cannot answer (its workflow task is failing)."""


def _failing(change_id: str, problem: str) -> str:
    return (
        f"change {change_id} cannot answer now: {problem}. Its workflow may be failing; it can "
        "still be cancelled (the cancellation runs once it can proceed), and an admin can "
        f"terminate it (POST /api/changes/{change_id}/terminate)."
    )


async def not_answering(handle: WorkflowHandle, change_id: str, problem: str) -> HTTPException:
    """The error for a change whose workflow did not answer: 404 if it is no change at all,
    else 503 with what is wrong and what can still be done."""
    if await workflow_type(handle) != "ChangeWorkflow":
        return HTTPException(404, f"change {change_id} does not exist")
    return NotAnsweringError(503, _failing(change_id, problem))


async def change_handle(client: Client, change_id: str) -> WorkflowHandle:
    """The change's workflow, asked of Temporal alone (no worker): 404 unknown or not a change,
    503 when its workflow task keeps failing."""
    handle = client.get_workflow_handle(change_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise HTTPException(404, f"change {change_id} does not exist") from exc
        raise HTTPException(503, f"Temporal cannot answer now: {exc.message}") from exc
    if description.workflow_type != "ChangeWorkflow":
        raise HTTPException(404, f"change {change_id} does not exist")
    pending = description.raw_description.pending_workflow_task
    if pending.attempt > 1:
        raise NotAnsweringError(
            503, _failing(change_id, f"its workflow task has failed {pending.attempt - 1} times")
        )
    return handle


async def change_state(client: Client, change_id: str) -> ChangeState:
    """The change's state from its workflow (404 unknown or not a change, 503 not answering).
    A change whose workflow task keeps failing is answered at once, not after a query timeout."""
    handle = await change_handle(client, change_id)
    try:
        state = await handle.query(ChangeWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowQueryFailedError as exc:
        raise NotAnsweringError(503, _failing(change_id, str(exc))) from exc
    except RPCError as exc:  # the workflow task is not failing (see above): nobody answered
        raise HTTPException(
            503,
            f"no worker answered for change {change_id} within "
            f"{QUERY_TIMEOUT.total_seconds():.0f}s ({exc.message}): are changeflow's workers "
            "running?",
        ) from exc
    return await with_live_progress(client, state)
