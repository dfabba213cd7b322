"""The notification outbox: what changeflow asks to be told to people (reminders, escalations,
expiries, overdue retrospective approvals), for a mail or Teams integration to deliver."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.tables import NotificationRow


class Notification(BaseModel):
    id: str
    change_id: str
    kind: str
    recipient: str
    approval: str
    message: str
    created_at: datetime
    status: str
    sent_at: datetime | None = None


def _view(row: NotificationRow) -> Notification:
    return Notification.model_validate(row, from_attributes=True)


def enqueue(
    engine: Engine,
    *,
    change_id: str,
    key: str,
    kind: str,
    recipient: str,
    approval: str,
    message: str,
) -> bool:
    """Add the notice once (a retried activity finds it there). True if it was new."""
    row_id = f"{change_id}:{key}"
    with Session(engine) as session:
        if session.get(NotificationRow, row_id) is not None:
            return False
        session.add(
            NotificationRow(
                id=row_id,
                change_id=change_id,
                kind=kind,
                recipient=recipient,
                approval=approval,
                message=message,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    return True


def notifications(
    engine: Engine, *, status: str | None = None, change_id: str | None = None, limit: int = 200
) -> list[Notification]:
    with Session(engine) as session:
        query = select(NotificationRow).order_by(NotificationRow.created_at)
        if status:
            query = query.where(NotificationRow.status == status)
        if change_id:
            query = query.where(NotificationRow.change_id == change_id)
        return [_view(r) for r in session.exec(query.limit(limit)).all()]


def mark_sent(engine: Engine, notification_id: str) -> Notification | None:
    """An integration delivered it; None when there is no such notification."""
    with Session(engine) as session:
        row = session.get(NotificationRow, notification_id)
        if row is None:
            return None
        if row.status != "sent":
            row.status, row.sent_at = "sent", datetime.now(UTC)
            session.add(row)
            session.commit()
            session.refresh(row)
        return _view(row)
