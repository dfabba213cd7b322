"""The simulator's ERP writes for a part revision's supply side: an open purchase order's line
changed to the new revision with the supplier, and the disposition of stock of the old revision
(use up, rework, scrap). Idempotent by key, in the ledger, each with its undo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore


class PoRevision(BaseModel):
    part: str
    revision: str = Field(min_length=1, max_length=8)
    supplier_note: str | None = Field(
        default=None, max_length=500, description="null: the line carries no note"
    )


class Disposition(BaseModel):
    disposition: str | None = Field(default=None, max_length=100)


def add_supply_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    def erp_doc(plant: str, kind: str, key: str, what: str) -> dict[str, Any]:
        doc = store.get("ERP", plant, kind, key)
        if doc is None:
            raise HTTPException(404, f"{what} {key} does not exist in {plant}")
        return doc

    @app.get("/erp/{plant}/purchase-orders/{po}")
    def get_po(plant: str, po: str) -> dict[str, Any]:
        return erp_doc(plant, "purchase_order", po, "purchase order")

    @app.get("/erp/{plant}/inventory/{key}")
    def get_stock(plant: str, key: str) -> dict[str, Any]:
        return erp_doc(plant, "inventory", key, "stock record")

    @app.post("/erp/{plant}/purchase-orders/{po}/revision")
    def revise_po(
        plant: str,
        po: str,
        body: PoRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, "ERP", plant, "purchase_order", po)
            if doc is None:
                raise SimRejection(404, f"purchase order {po} does not exist in {plant}")
            if doc["part"] != body.part:
                raise SimRejection(409, f"purchase order {po} buys {doc['part']}, not {body.part}")
            previous, previous_note = doc["revision"], doc.get("supplier_note")
            doc["revision"] = body.revision
            if body.supplier_note is None:
                doc.pop("supplier_note", None)
            else:
                doc["supplier_note"] = body.supplier_note
            store.put(session, "ERP", plant, "purchase_order", po, doc)
            return {
                "id": po,
                "supplier": doc["supplier"],
                "revision": body.revision,
                "previous_revision": previous,
                "previous_note": previous_note,
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="ERP",
            plant=plant,
            action="revise_purchase_order",
            target=po,
            body=body,
            apply=apply,
        )

    @app.post("/erp/{plant}/inventory/{key}/disposition")
    def set_disposition(
        plant: str,
        key: str,
        body: Disposition,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, "ERP", plant, "inventory", key)
            if doc is None:
                raise SimRejection(404, f"stock record {key} does not exist in {plant}")
            previous = doc.get("disposition")
            if body.disposition is None:
                doc.pop("disposition", None)
            else:
                doc["disposition"] = body.disposition
            store.put(session, "ERP", plant, "inventory", key, doc)
            return {"key": key, "disposition": body.disposition, "previous_disposition": previous}

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="ERP",
            plant=plant,
            action="record_disposition",
            target=key,
            body=body,
            apply=apply,
        )
