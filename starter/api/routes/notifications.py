"""The notification outbox over HTTP: what a mail or Teams integration delivers (reminders,
escalations, expiries, overdue retrospective approvals) and marks sent. The integration's user
has the role `notifier`: it reads and marks the outbox and can do nothing else."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from domain.approvals.decisions import Role
from starter.api.deps import OutboxUser, engine_of, responses
from store.outbox import Notification, mark_sent, notifications

router = APIRouter(tags=["notifications"])
NotificationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:|/-]{0,300}$")]


@router.get("/api/notifications", response_model=list[Notification], responses=responses(401, 422))
async def list_notifications(
    request: Request,
    _user: OutboxUser,
    status: Literal["pending", "sent"] | None = None,
    change_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[Notification]:
    """Oldest first; `status=pending` is what still has to be delivered."""
    return await asyncio.to_thread(
        notifications, engine_of(request), status=status, change_id=change_id, limit=limit
    )


@router.post(
    "/api/notifications/{notification_id}/sent",
    response_model=Notification,
    responses=responses(401, 403, 404, 422),
)
async def notification_sent(
    notification_id: NotificationId, request: Request, user: OutboxUser
) -> Notification:
    """An integration delivered it (its user: role notifier, or an admin)."""
    if user.role not in (Role.notifier, Role.admin):
        raise HTTPException(
            403, "only a notifier (the integration's user) or an admin marks notifications sent"
        )
    done = await asyncio.to_thread(mark_sent, engine_of(request), notification_id)
    if done is None:
        raise HTTPException(404, f"no notification {notification_id}")
    return done
