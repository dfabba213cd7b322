"""The simulator's writes for equipment changes, in the plant's MES: qualification records
(safety review, IQ/OQ/PQ validation) and their withdrawal, NC program releases on the equipment
and their undo, and the equipment's master data. Idempotent by key, in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore


class QualificationRecord(BaseModel):
    kind: Literal["safety_review", "validation"]
    protocol: str = Field(default="", max_length=200)


class Withdraw(BaseModel):
    reason: str = Field(default="", max_length=2000)


class NcRelease(BaseModel):
    equipment: str


class NcRestore(BaseModel):
    revision: str


class EquipmentMaster(BaseModel):
    status: str = Field(min_length=1, max_length=40)
    work_center: str | None = None
    name: str | None = None


class MasterRestore(BaseModel):
    previous: dict[str, Any] | None = Field(
        description="The document as it was; null: the equipment did not exist before."
    )


def add_equipment_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    def mes_write(plant: str, action: str, target: str, body: BaseModel, key, change_id, apply):
        need_plant(plant)
        return write(
            key=key,
            change_id=change_id,
            system="MES",
            plant=plant,
            action=action,
            target=target,
            body=body,
            apply=apply,
        )

    @app.post("/mes/{plant}/equipment/{equipment}/records")
    def add_record(
        plant: str,
        equipment: str,
        body: QualificationRecord,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            record_id = f"{body.kind.upper()}-{equipment}-{(x_change_id or '')[-12:]}"
            doc = {
                "id": record_id,
                "equipment": equipment,
                "kind": body.kind,
                "protocol": body.protocol,
                "change_id": x_change_id,
                "status": "approved",
            }
            store.put(session, "MES", plant, "equipment_record", record_id, doc)
            return doc

        return mes_write(
            plant, f"record_{body.kind}", equipment, body, idempotency_key, x_change_id, apply
        )

    @app.post("/mes/{plant}/equipment-records/{record_id}/withdraw")
    def withdraw_record(
        plant: str,
        record_id: str,
        body: Withdraw,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            store.delete(session, "MES", plant, "equipment_record", record_id)
            return {"id": record_id, "withdrawn": True}

        return mes_write(
            plant, "withdraw_equipment_record", record_id, body, idempotency_key, x_change_id, apply
        )

    @app.post("/mes/{plant}/nc-programs/{program}/release")
    def release_nc(
        plant: str,
        program: str,
        body: NcRelease,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, "MES", plant, "nc_program", program)
            if doc is None:
                raise SimRejection(404, f"NC program {program} does not exist in {plant}")
            if doc["equipment"] != body.equipment:
                raise SimRejection(
                    409, f"NC program {program} runs on {doc['equipment']}, not {body.equipment}"
                )
            previous = str(doc.get("revision", "1"))
            doc["revision"] = str(int(previous) + 1) if previous.isdigit() else previous + "+1"
            store.put(session, "MES", plant, "nc_program", program, doc)
            return {"id": program, "revision": doc["revision"], "previous_revision": previous}

        return mes_write(
            plant, "release_nc_program", program, body, idempotency_key, x_change_id, apply
        )

    @app.post("/mes/{plant}/nc-programs/{program}/restore")
    def restore_nc(
        plant: str,
        program: str,
        body: NcRestore,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            doc = store.read(session, "MES", plant, "nc_program", program)
            if doc is None:
                raise SimRejection(404, f"NC program {program} does not exist in {plant}")
            doc["revision"] = body.revision
            store.put(session, "MES", plant, "nc_program", program, doc)
            return {"id": program, "revision": body.revision}

        return mes_write(
            plant, "restore_nc_program", program, body, idempotency_key, x_change_id, apply
        )

    @app.post("/mes/{plant}/equipment/{equipment}/master")
    def update_master(
        plant: str,
        equipment: str,
        body: EquipmentMaster,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            previous = store.read(session, "MES", plant, "equipment", equipment)
            doc = dict(previous or {"id": equipment, "plant": plant, "work_center": "", "name": ""})
            doc["status"] = body.status
            if body.work_center is not None:
                doc["work_center"] = body.work_center
            if body.name is not None:
                doc["name"] = body.name
            store.put(session, "MES", plant, "equipment", equipment, doc)
            return {"equipment": doc, "previous": previous}

        return mes_write(
            plant, "update_equipment_master", equipment, body, idempotency_key, x_change_id, apply
        )

    @app.post("/mes/{plant}/equipment/{equipment}/master/restore")
    def restore_master(
        plant: str,
        equipment: str,
        body: MasterRestore,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        def apply(session: Session) -> dict[str, Any]:
            if body.previous is None:
                store.delete(session, "MES", plant, "equipment", equipment)
            else:
                store.put(session, "MES", plant, "equipment", equipment, body.previous)
            return {"equipment": equipment, "restored": body.previous is not None}

        return mes_write(
            plant, "restore_equipment_master", equipment, body, idempotency_key, x_change_id, apply
        )

    @app.get("/mes/{plant}/equipment/{equipment}")
    def get_equipment(plant: str, equipment: str) -> dict[str, Any]:
        doc = store.get("MES", plant, "equipment", equipment)
        if doc is None:
            raise SimRejection(404, f"equipment {equipment} does not exist in {plant}")
        return doc

    @app.get("/mes/{plant}/nc-programs/{program}")
    def get_nc(plant: str, program: str) -> dict[str, Any]:
        doc = store.get("MES", plant, "nc_program", program)
        if doc is None:
            raise SimRejection(404, f"NC program {program} does not exist in {plant}")
        return doc

    @app.get("/mes/{plant}/equipment-records/{record_id}")
    def get_record(plant: str, record_id: str) -> dict[str, Any]:
        doc = store.get("MES", plant, "equipment_record", record_id)
        if doc is None:
            raise SimRejection(404, f"record {record_id} does not exist in {plant}")
        return doc
