"""Artifacts: large results (impact reports, plans) stored by id so workflows carry only the id."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.tables import ArtifactRow

M = TypeVar("M", bound=BaseModel)


def artifact_id(change_id: str, kind: str, revision: int) -> str:
    """Deterministic: the same change, kind and revision always name the same artifact."""
    digest = hashlib.sha256(f"{change_id}|{kind}|{revision}".encode()).hexdigest()[:12]
    return f"{kind}-{change_id}-r{revision}-{digest}"


def save_artifact(
    engine: Engine, *, artifact: str, change_id: str, kind: str, content: BaseModel
) -> str:
    """Insert or replace the artifact (idempotent for the same id)."""
    with Session(engine) as session:
        row = session.get(ArtifactRow, artifact)
        if row is None:
            row = ArtifactRow(
                id=artifact,
                change_id=change_id,
                kind=kind,
                created_at=datetime.now(UTC),
                content="",
            )
        row.content = content.model_dump_json()
        session.add(row)
        session.commit()
    return artifact


def load_artifact(engine: Engine, artifact: str, model: type[M]) -> M | None:
    with Session(engine) as session:
        row = session.get(ArtifactRow, artifact)
        return model.model_validate_json(row.content) if row else None


def latest_artifact_id(engine: Engine, change_id: str, kind: str) -> str | None:
    with Session(engine) as session:
        row = session.exec(
            select(ArtifactRow)
            .where(ArtifactRow.change_id == change_id, ArtifactRow.kind == kind)
            .order_by(ArtifactRow.created_at.desc())  # type: ignore[attr-defined]
        ).first()
        return row.id if row else None
