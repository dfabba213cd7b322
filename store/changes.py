"""The change registry: every change id ever used and the key that owns its audit chain.

The API reserves an id here before it starts the workflow, so an id is never used twice, even
after Temporal has forgotten the workflow; a run started straight in Temporal registers itself
with its first audit event (see store/audit/trail.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store.tables import ChangeRow
from store.times import as_utc


class RegisteredChange(BaseModel):
    change_id: str
    chain_key: str
    submitted_by: str
    title: str
    created_at: datetime
    source: str


class ChangeIdTakenError(ValueError):
    def __init__(self, existing: RegisteredChange) -> None:
        super().__init__(
            f"change id {existing.change_id} was already used (submitted by "
            f"{existing.submitted_by} on {existing.created_at:%Y-%m-%d %H:%M} UTC); "
            "change ids are never reused: choose another or leave change_id out"
        )
        self.existing = existing


def _to_model(row: ChangeRow) -> RegisteredChange:
    created = as_utc(row.created_at)
    return RegisteredChange(
        change_id=row.change_id,
        chain_key=row.chain_key,
        submitted_by=row.submitted_by,
        title=row.title,
        created_at=created,
        source=row.source,
    )


def registered_change(engine: Engine, change_id: str) -> RegisteredChange | None:
    with Session(engine) as session:
        row = session.get(ChangeRow, change_id)
        return _to_model(row) if row else None


def reserve_change(
    engine: Engine, change_id: str, *, chain_key: str, submitted_by: str, title: str = ""
) -> RegisteredChange:
    """Claim the id for a new change; ChangeIdTakenError when it was ever used."""
    row = ChangeRow(
        change_id=change_id,
        chain_key=chain_key,
        submitted_by=submitted_by,
        title=title,
        created_at=datetime.now(UTC),
    )
    with Session(engine) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.get(ChangeRow, change_id)
            if existing is None:  # removed meanwhile: a retry will settle it
                raise
            raise ChangeIdTakenError(_to_model(existing)) from None
        session.refresh(row)
        return _to_model(row)


def release_change(engine: Engine, change_id: str, chain_key: str) -> None:
    """Undo a reservation whose workflow could not be started (only our own reservation)."""
    with Session(engine) as session:
        row = session.get(ChangeRow, change_id)
        if row is not None and row.chain_key == chain_key:
            session.delete(row)
            session.commit()
