"""Where a large plan's task statuses live (the workflow keeps only counts and the failures):
one row per (change, task), written by the batch activities, read by the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from store.tables import PlanTaskRow


class TaskState(BaseModel):
    status: str
    before: dict[str, str] = {}
    error: str | None = None
    verified: bool | None = None


def task_states(engine: Engine, change_id: str, task_ids: list[str]) -> dict[str, TaskState]:
    with Session(engine) as session:
        rows = session.exec(
            select(PlanTaskRow).where(
                PlanTaskRow.change_id == change_id,
                PlanTaskRow.task_id.in_(task_ids),  # type: ignore[attr-defined]
            )
        ).all()
    return {
        r.task_id: TaskState(
            status=r.status, before=json.loads(r.before), error=r.error, verified=r.verified
        )
        for r in rows
    }


def mark_task(
    engine: Engine,
    change_id: str,
    task_id: str,
    status: str,
    *,
    before: dict[str, str] | None = None,
    error: str | None = None,
    verified: bool | None = None,
) -> None:
    """Record a task's status (and what it found before its write, for the compensation)."""
    with Session(engine) as session:
        row = session.get(PlanTaskRow, (change_id, task_id))
        if row is None:
            row = PlanTaskRow(change_id=change_id, task_id=task_id, status=status, before="{}")
        row.status = status
        if before is not None:
            row.before = json.dumps(before)
        row.error = error
        if verified is not None:
            row.verified = verified
        row.updated_at = datetime.now(UTC)
        session.add(row)
        session.commit()


def status_counts(engine: Engine, change_id: str) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(PlanTaskRow.status, func.count())
            .where(PlanTaskRow.change_id == change_id)
            .group_by(PlanTaskRow.status)
        ).all()
    return {status: count for status, count in rows}
