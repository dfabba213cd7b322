"""The simulator's MES work instructions and QMS inspection plans: read one, publish a new
revision for a part revision, and restore an earlier one (the undo), idempotent by key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore


class DocumentRevision(BaseModel):
    part: str
    part_revision: str


class RestoreDocument(BaseModel):
    revision: int
    part: str | None = Field(default=None, description="Omitted: only the revision goes back.")
    part_revision: str | None = None


def add_document_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    # -- MES / QMS document revisions -------------------------------------------------------
    def revise_document(
        system: str,
        kind: str,
        plant: str,
        doc_id: str,
        body: DocumentRevision,
        key: str | None,
        change_id: str | None,
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, system, plant, kind, doc_id)
            if doc is None:
                raise SimRejection(
                    404, f"{kind.replace('_', ' ')} {doc_id} does not exist in {plant}"
                )
            previous = doc["revision"]
            if kind == "work_instruction":
                refs = [r for r in doc["parts"] if r["part"] == body.part]
                if not refs:
                    raise SimRejection(409, f"work instruction {doc_id} does not show {body.part}")
                for ref in refs:
                    ref["revision"] = body.part_revision
                doc["status"] = "released"
            else:
                if doc["part"] != body.part:
                    raise SimRejection(
                        409, f"inspection plan {doc_id} inspects {doc['part']}, not {body.part}"
                    )
                doc["part_revision"] = body.part_revision
            doc["revision"] = previous + 1
            store.put(session, system, plant, kind, doc_id, doc)
            return {
                "id": doc_id,
                "revision": doc["revision"],
                "previous_revision": previous,
                "part": body.part,
                "part_revision": body.part_revision,
            }

        action = (
            "publish_work_instruction" if kind == "work_instruction" else "revise_inspection_plan"
        )
        return write(
            key=key,
            change_id=change_id,
            system=system,
            plant=plant,
            action=action,
            target=doc_id,
            body=body,
            apply=apply,
        )

    def restore_document(
        system: str,
        kind: str,
        plant: str,
        doc_id: str,
        body: RestoreDocument,
        key: str | None,
        change_id: str | None,
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, system, plant, kind, doc_id)
            if doc is None:
                raise SimRejection(404, f"{kind.replace('_', ' ')} {doc_id} does not exist")
            if body.part is None:
                pass  # a reissued document: only its revision goes back
            elif kind == "work_instruction":
                for ref in doc["parts"]:
                    if ref["part"] == body.part:
                        ref["revision"] = body.part_revision
            else:
                doc["part_revision"] = body.part_revision
            doc["revision"] = body.revision
            store.put(session, system, plant, kind, doc_id, doc)
            return {"id": doc_id, "revision": body.revision, "part_revision": body.part_revision}

        return write(
            key=key,
            change_id=change_id,
            system=system,
            plant=plant,
            action=f"restore_{kind}",
            target=doc_id,
            body=body,
            apply=apply,
        )

    @app.get("/mes/{plant}/work-instructions/{wi_id}")
    def get_wi(plant: str, wi_id: str) -> dict[str, Any]:
        doc = store.get("MES", plant, "work_instruction", wi_id)
        if doc is None:
            raise HTTPException(404, f"work instruction {wi_id} does not exist in {plant}")
        return doc

    @app.post("/mes/{plant}/work-instructions/{wi_id}/revisions")
    def publish_wi(
        plant: str,
        wi_id: str,
        body: DocumentRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        return revise_document(
            "MES", "work_instruction", plant, wi_id, body, idempotency_key, x_change_id
        )

    @app.post("/mes/{plant}/work-instructions/{wi_id}/restore")
    def restore_wi(
        plant: str,
        wi_id: str,
        body: RestoreDocument,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        return restore_document(
            "MES", "work_instruction", plant, wi_id, body, idempotency_key, x_change_id
        )

    @app.get("/qms/{plant}/inspection-plans/{plan_id}")
    def get_plan(plant: str, plan_id: str) -> dict[str, Any]:
        doc = store.get("QMS", plant, "inspection_plan", plan_id)
        if doc is None:
            raise HTTPException(404, f"inspection plan {plan_id} does not exist in {plant}")
        return doc

    @app.post("/qms/{plant}/inspection-plans/{plan_id}/revisions")
    def revise_plan(
        plant: str,
        plan_id: str,
        body: DocumentRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        return revise_document(
            "QMS", "inspection_plan", plant, plan_id, body, idempotency_key, x_change_id
        )

    @app.post("/qms/{plant}/inspection-plans/{plan_id}/restore")
    def restore_plan(
        plant: str,
        plan_id: str,
        body: RestoreDocument,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        return restore_document(
            "QMS", "inspection_plan", plant, plan_id, body, idempotency_key, x_change_id
        )
