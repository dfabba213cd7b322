"""The simulator's writes for process changes: a routing operation's standard time and work
center (and their undo), and a new revision of a work instruction for a changed process. Each
is idempotent by key and recorded in the ledger, like every simulator write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore


class OperationUpdate(BaseModel):
    std_time_min: float | None = Field(default=None, gt=0)
    work_center: str | None = None


class OperationRestore(BaseModel):
    revision: int
    std_time_min: float
    work_center: str


class Reissue(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def add_process_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    def operation_of(session: Session, plant: str, routing_id: str, op_no: int) -> tuple:
        routing = store.read(session, "MES", plant, "routing", routing_id)
        if routing is None:
            raise SimRejection(404, f"routing {routing_id} does not exist in {plant}")
        for op in routing["operations"]:
            if op["op_no"] == op_no:
                return routing, op
        raise SimRejection(404, f"routing {routing_id} has no operation {op_no}")

    @app.get("/mes/{plant}/routings/{routing_id}")
    def get_routing(plant: str, routing_id: str) -> dict[str, Any]:
        doc = store.get("MES", plant, "routing", routing_id)
        if doc is None:
            raise HTTPException(404, f"routing {routing_id} does not exist in {plant}")
        return doc

    @app.post("/mes/{plant}/routings/{routing_id}/operations/{op_no}")
    def update_operation(
        plant: str,
        routing_id: str,
        op_no: int,
        body: OperationUpdate,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            routing, op = operation_of(session, plant, routing_id, op_no)
            previous = {
                "revision": routing.get("revision", 1),
                "std_time_min": op["std_time_min"],
                "work_center": op["work_center"],
            }
            if body.std_time_min is not None:
                op["std_time_min"] = body.std_time_min
            if body.work_center is not None:
                op["work_center"] = body.work_center
            routing["revision"] = previous["revision"] + 1
            store.put(session, "MES", plant, "routing", routing_id, routing)
            return {
                "routing": routing_id,
                "op_no": op_no,
                "revision": routing["revision"],
                "std_time_min": op["std_time_min"],
                "work_center": op["work_center"],
                "previous": previous,
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="MES",
            plant=plant,
            action="update_routing_operation",
            target=f"{routing_id}/{op_no}",
            body=body,
            apply=apply,
        )

    @app.post("/mes/{plant}/routings/{routing_id}/operations/{op_no}/restore")
    def restore_operation(
        plant: str,
        routing_id: str,
        op_no: int,
        body: OperationRestore,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            routing, op = operation_of(session, plant, routing_id, op_no)
            op["std_time_min"], op["work_center"] = body.std_time_min, body.work_center
            routing["revision"] = body.revision
            store.put(session, "MES", plant, "routing", routing_id, routing)
            return {"routing": routing_id, "op_no": op_no, "revision": body.revision}

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="MES",
            plant=plant,
            action="restore_routing_operation",
            target=f"{routing_id}/{op_no}",
            body=body,
            apply=apply,
        )

    @app.post("/mes/{plant}/work-instructions/{wi_id}/reissue")
    def reissue_wi(
        plant: str,
        wi_id: str,
        body: Reissue,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, "MES", plant, "work_instruction", wi_id)
            if doc is None:
                raise SimRejection(404, f"work instruction {wi_id} does not exist in {plant}")
            previous = doc["revision"]
            doc["revision"] = previous + 1
            doc["status"] = "released"
            store.put(session, "MES", plant, "work_instruction", wi_id, doc)
            return {"id": wi_id, "revision": doc["revision"], "previous_revision": previous}

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="MES",
            plant=plant,
            action="reissue_work_instruction",
            target=wi_id,
            body=body,
            apply=apply,
        )
