"""Persistence of the simulator: documents by (system, plant, kind, key) and idempotent writes."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func
from sqlmodel import Session, SQLModel, create_engine, select

from connectors.sim.tables import LedgerEntry, SimObject


class SimRejection(Exception):
    """A business rejection: becomes a 4xx answer (and is recorded in the ledger too)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class SimStore:
    """All systems' state in one SQLite file; writes are serialized and idempotent."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(
            f"sqlite:///{db_path}", connect_args={"check_same_thread": False}
        )

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        SQLModel.metadata.create_all(
            self.engine, tables=[SimObject.__table__, LedgerEntry.__table__]
        )
        self.write_lock = threading.Lock()

    # -- documents -------------------------------------------------------------------------
    def is_empty(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(SimObject).limit(1)).first() is None

    def reset(self) -> None:
        with self.write_lock, Session(self.engine) as session:
            session.exec(delete(SimObject))
            session.exec(delete(LedgerEntry))
            session.commit()

    def load(self, rows: Iterable[tuple[str, str, str, str, dict[str, Any]]]) -> int:
        """Bulk insert (system, plant, kind, key, document) rows."""
        count = 0
        now = _now()
        with self.write_lock, Session(self.engine) as session:
            batch = []
            for system, plant, kind, key, doc in rows:
                batch.append(
                    {
                        "system": system,
                        "plant": plant,
                        "kind": kind,
                        "key": key,
                        "data": json.dumps(doc, default=str),
                        "updated_at": now,
                    }
                )
                if len(batch) >= 5000:
                    session.execute(SimObject.__table__.insert(), batch)
                    count += len(batch)
                    batch = []
            if batch:
                session.execute(SimObject.__table__.insert(), batch)
                count += len(batch)
            session.commit()
        return count

    def get(self, system: str, plant: str, kind: str, key: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            return self.read(session, system, plant, kind, key)

    def page(
        self,
        system: str,
        plant: str,
        kind: str,
        *,
        after: str | None = None,
        limit: int = 1000,
        updated_since: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of documents in key order; the cursor for the next page or None."""
        raw, cursor = self.page_raw(
            system, plant, kind, after=after, limit=limit, updated_since=updated_since
        )
        return [json.loads(data) for data in raw], cursor

    def page_json(self, system: str, plant: str, kind: str, **query: Any) -> bytes:
        """One page as the JSON body of a listing (`{"items": [...], "next_cursor": ...}`),
        the stored documents spliced in as they are: nothing parsed, nothing re-encoded."""
        raw, cursor = self.page_raw(system, plant, kind, **query)
        return (
            '{"items":[' + ",".join(raw) + '],"next_cursor":' + json.dumps(cursor) + "}"
        ).encode()

    def page_raw(
        self,
        system: str,
        plant: str,
        kind: str,
        *,
        after: str | None = None,
        limit: int = 1000,
        updated_since: datetime | None = None,
    ) -> tuple[list[str], str | None]:
        with Session(self.engine) as session:
            query = select(SimObject.key, SimObject.data).where(
                SimObject.system == system, SimObject.plant == plant, SimObject.kind == kind
            )
            if after is not None:
                query = query.where(SimObject.key > after)
            if updated_since is not None:
                query = query.where(SimObject.updated_at > updated_since)
            rows = session.exec(query.order_by(SimObject.key).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [data for _key, data in rows], (rows[-1][0] if more else None)

    def all_docs(self, system: str, plant: str, kind: str) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            return self.find(session, system, plant, kind)

    def put(
        self, session: Session, system: str, plant: str, kind: str, key: str, doc: dict
    ) -> None:
        row = session.get(SimObject, (system, plant, kind, key))
        if row is None:
            row = SimObject(
                system=system, plant=plant, kind=kind, key=key, data="", updated_at=_now()
            )
        row.data = json.dumps(doc, default=str)
        row.updated_at = _now()
        session.add(row)

    def delete(self, session: Session, system: str, plant: str, kind: str, key: str) -> None:
        row = session.get(SimObject, (system, plant, kind, key))
        if row is not None:
            session.delete(row)

    def read(self, session: Session, system: str, plant: str, kind: str, key: str) -> dict | None:
        row = session.get(SimObject, (system, plant, kind, key))
        return json.loads(row.data) if row else None

    def find(self, session: Session, system: str, plant: str, kind: str) -> list[dict[str, Any]]:
        rows = session.exec(
            select(SimObject.data).where(
                SimObject.system == system, SimObject.plant == plant, SimObject.kind == kind
            )
        ).all()
        return [json.loads(data) for data in rows]

    def find_where(
        self, session: Session, system: str, plant: str, kind: str, field: str, value: str
    ) -> list[dict[str, Any]]:
        """The documents whose `field` is `value` (filtered in SQL, not in Python)."""
        rows = session.exec(
            select(SimObject.data).where(
                SimObject.system == system,
                SimObject.plant == plant,
                SimObject.kind == kind,
                func.json_extract(SimObject.data, f"$.{field}") == value,
            )
        ).all()
        return [json.loads(data) for data in rows]

    def plants(self) -> list[str]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(SimObject.plant).where(SimObject.plant != "").distinct()
            ).all()
        return sorted(rows)

    # -- idempotent writes -----------------------------------------------------------------
    def apply_write(
        self,
        *,
        idempotency_key: str,
        change_id: str,
        system: str,
        plant: str | None,
        action: str,
        target: str,
        request: dict[str, Any],
        apply: Callable[[Session], dict[str, Any]],
    ) -> tuple[int, dict[str, Any], bool]:
        """Run `apply` once per key; a repeat returns the first answer and changes nothing.

        Returns (status code, response body, replayed). A key reused for a different request
        is refused with 422. A business rejection is not recorded, so a corrected retry can
        go through with the same key.
        """
        fingerprint = _hash({"action": action, "target": target, "plant": plant, **request})
        with self.write_lock, Session(self.engine) as session:
            prior = session.exec(
                select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key)
            ).first()
            if prior is not None:
                if prior.request_hash != fingerprint:
                    raise SimRejection(
                        422,
                        f"idempotency key {idempotency_key} was used for a different request",
                    )
                return prior.status_code, json.loads(prior.response), True
            result = apply(session)  # may raise SimRejection: nothing is written then
            session.add(
                LedgerEntry(
                    idempotency_key=idempotency_key,
                    change_id=change_id,
                    system=system,
                    plant=plant,
                    action=action,
                    target=target,
                    request_hash=fingerprint,
                    request=json.dumps(request, default=str),
                    status_code=200,
                    response=json.dumps(result, default=str),
                    applied_at=_now(),
                )
            )
            session.commit()
            return 200, result, False

    def ledger(self, change_id: str | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            query = select(LedgerEntry).order_by(LedgerEntry.seq)
            if change_id:
                query = query.where(LedgerEntry.change_id == change_id)
            rows = session.exec(query).all()
        return [
            {
                "seq": r.seq,
                "idempotency_key": r.idempotency_key,
                "change_id": r.change_id,
                "system": r.system,
                "plant": r.plant,
                "action": r.action,
                "target": r.target,
                "request": json.loads(r.request),
                "response": json.loads(r.response),
                "applied_at": r.applied_at.isoformat(),
            }
            for r in rows
        ]
