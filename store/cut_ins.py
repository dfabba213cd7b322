"""Each change's cut-in per plant, read from the audit trail: for a part revision that
completed, the time its last write in the plant landed (the store outlives Temporal)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.change.trace import CutIn
from store.audit.read import read_events
from store.tables import AuditRow

IN_FORCE = {"stage.completed": False, "stage.completed_with_deviations": True}


def cut_ins(engine: Engine, change_id: str | None = None) -> list[CutIn]:
    if change_id is None:
        with Session(engine) as session:
            ids = sorted(
                set(
                    session.exec(
                        select(AuditRow.change_id).where(AuditRow.action.in_(list(IN_FORCE)))  # type: ignore[attr-defined]
                    ).all()
                )
            )
    else:
        ids = [change_id]
    found: list[CutIn] = []
    for cid in ids:
        events = read_events(engine, cid)
        ends = [e for e in events if e.action in IN_FORCE]
        submitted = next((e for e in events if e.action == "change.submitted"), None)
        if not ends or submitted is None:
            continue
        revised = [e for e in events if e.action == "change.revised"]
        request = (revised[-1].detail if revised else submitted.detail).get("request") or {}
        items = request.get("items") or submitted.detail.get("items") or []
        last_write: dict[str, object] = {}
        for e in events:
            if e.action == "task.applied" and e.detail.get("plant"):
                last_write[e.detail["plant"]] = e.at
        for plant, at in sorted(last_write.items()):
            for item in items:
                if "part" in item and "to_revision" in item:
                    found.append(
                        CutIn(
                            change_id=cid,
                            plant=plant,
                            part=item["part"],
                            from_revision=item.get("from_revision", ""),
                            to_revision=item["to_revision"],
                            at=at,
                            deviation=IN_FORCE[ends[-1].action],
                        )
                    )
    return found
