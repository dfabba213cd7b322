"""The simulator's HTTP API: PLM, ERP, MES and QMS of every plant, a write ledger, fault injection.

Every write needs an `Idempotency-Key` header (and an `X-Change-Id`): a repeated key returns the
first answer and changes nothing. `GET /sim/ledger` lists every applied write; `GET /sim/state`
every system's current state; `POST /sim/faults` makes the next matching requests fail.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.dataset import dataset, tables_rows
from connectors.sim.routes.documents import add_document_routes
from connectors.sim.routes.equipment import add_equipment_routes
from connectors.sim.routes.mbom import add_mbom_routes
from connectors.sim.routes.plm import add_plm_routes
from connectors.sim.routes.process import add_process_routes
from connectors.sim.routes.releases import add_release_routes
from connectors.sim.routes.supply import add_supply_routes
from connectors.sim.routes.units import add_unit_routes, stream_units
from connectors.sim.store import SimRejection, SimStore
from connectors.sim.tables import SimObject

LISTS: dict[tuple[str, str], str] = {
    ("erp", "mbom"): "mbom_line",
    ("erp", "production-orders"): "production_order",
    ("erp", "inventory"): "inventory",
    ("erp", "purchase-orders"): "purchase_order",
    ("mes", "routings"): "routing",
    ("mes", "work-instructions"): "work_instruction",
    ("mes", "qualifications"): "qualification",
    ("mes", "equipment"): "equipment",
    ("mes", "nc-programs"): "nc_program",
    ("mes", "units"): "unit",  # completed units (connectors/sim/routes/units.py)
    ("qms", "inspection-plans"): "inspection_plan",
}


ADMIN_KINDS = ("system_version", "backup")  # what releases write (connectors/sim/release_routes)


class Fault(BaseModel):
    path_contains: str
    method: str = "POST"
    status: int = Field(default=503, ge=400, le=599)
    times: int = Field(default=1, ge=1)
    delay_s: float = Field(
        default=0.0, ge=0, le=600, description="Answer normally, but this much later (no error)."
    )


class _Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.lock = threading.Lock()

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for rule in self.rules:
                if rule.method.upper() == method and rule.path_contains in path:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                    return rule
        return None


def create_app(
    db_path: Path, *, seed: str | None = "demo", units_every: float | None = None
) -> FastAPI:
    """The simulator over the SQLite file `db_path`, seeded when empty with a dataset:
    `demo` (the electric drive), `large` (300k parts) or a number of parts."""
    store = SimStore(db_path)
    if seed and store.is_empty():
        store.load(tables_rows(dataset(seed)))
    faults = _Faults()
    app = FastAPI(title="changeflow plant-systems simulator", version="0.1.0")
    app.state.store = store

    @app.middleware("http")
    async def inject_faults(request: Request, call_next: Any) -> Any:
        fault = faults.take(request.method, request.url.path)
        if fault is not None and fault.delay_s > 0:
            await asyncio.sleep(fault.delay_s)  # a slow system, not a failing one
        elif fault is not None:
            return JSONResponse(
                {"detail": f"injected fault {fault.status}"}, status_code=fault.status
            )
        return await call_next(request)

    @app.exception_handler(SimRejection)
    async def rejection(_request: Request, exc: SimRejection) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    def write(
        *,
        key: str | None,
        change_id: str | None,
        system: str,
        plant: str | None,
        action: str,
        target: str,
        body: BaseModel,
        apply: Any,
    ) -> dict[str, Any]:
        if not key:
            raise HTTPException(400, "the Idempotency-Key header is required on every write")
        if not change_id:
            raise HTTPException(400, "the X-Change-Id header is required on every write")
        _status, result, replayed = store.apply_write(
            idempotency_key=key,
            change_id=change_id,
            system=system,
            plant=plant,
            action=action,
            target=target,
            request=body.model_dump(mode="json"),
            apply=apply,
        )
        return {**result, "replayed": replayed}

    def need_plant(plant: str) -> None:
        if store.get("SIM", "", "plant", plant) is None:
            raise HTTPException(404, f"plant {plant} does not exist")

    # -- simulator control ---------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sim/plants")
    def plants() -> list[dict[str, Any]]:
        return store.all_docs("SIM", "", "plant")

    @app.get("/sim/ledger")
    def ledger(change_id: str | None = None) -> list[dict[str, Any]]:
        return store.ledger(change_id)

    @app.get("/sim/state")
    def state() -> dict[str, Any]:
        result: dict[str, Any] = {
            "PLM": {
                "parts": store.all_docs("PLM", "", "part"),
                "ebom": store.all_docs("PLM", "", "ebom_line"),
            }
        }
        for plant in store.plants():
            result[plant] = {
                "ERP": {
                    k: store.all_docs("ERP", plant, k)
                    for k in (
                        "mbom_line",
                        "production_order",
                        "inventory",
                        "purchase_order",
                        *ADMIN_KINDS,
                    )
                },
                "MES": {
                    k: store.all_docs("MES", plant, k)
                    for k in (
                        "routing",
                        "work_instruction",
                        "qualification",
                        "equipment",
                        "nc_program",
                        "equipment_record",
                        *ADMIN_KINDS,
                    )
                },
                "QMS": {
                    k: store.all_docs("QMS", plant, k) for k in ("inspection_plan", *ADMIN_KINDS)
                },
            }
        return result

    @app.post("/sim/faults", status_code=201)
    def add_fault(fault: Fault) -> dict[str, Any]:
        with faults.lock:
            faults.rules.append(fault)
        return fault.model_dump()

    @app.put("/sim/objects/{system}/{kind}/{key}")
    def put_object(
        system: str, kind: str, key: str, doc: dict[str, Any], plant: str = ""
    ) -> dict[str, Any]:
        """Test and admin hook: put a document as if a person edited the system directly
        (not a changeflow write: no ledger entry)."""
        with store.write_lock, Session(store.engine) as session:
            store.put(session, system.upper(), plant, kind, key, doc)
            session.commit()
        return doc

    @app.delete("/sim/objects/{system}/{kind}/{key}")
    def delete_object(system: str, kind: str, key: str, plant: str = "") -> dict[str, int]:
        """Test and admin hook: remove a document."""
        with store.write_lock, Session(store.engine) as session:
            row = session.get(SimObject, (system.upper(), plant, kind, key))
            if row is None:
                raise HTTPException(404, f"{system}/{kind}/{key} does not exist")
            session.delete(row)
            session.commit()
        return {"deleted": 1}

    @app.delete("/sim/faults")
    def clear_faults() -> dict[str, int]:
        with faults.lock:
            count = len(faults.rules)
            faults.rules.clear()
        return {"cleared": count}

    add_plm_routes(app, store, write)  # before the generic list route: /plm/parts/{number}

    # -- ERP / MES / QMS lists ---------------------------------------------------------------
    @app.get("/{system}/{plant}/{collection}")
    def list_plant(
        system: str,
        plant: str,
        collection: str,
        after: str | None = None,
        limit: int = Query(1000, ge=1, le=10000),
        updated_since: datetime | None = None,
    ) -> Response:
        kind = LISTS.get((system, collection))
        if kind is None:
            raise HTTPException(404, f"{system.upper()} has no collection '{collection}'")
        need_plant(plant)
        body = store.page_json(
            system.upper(), plant, kind, after=after, limit=limit, updated_since=updated_since
        )
        return Response(body, media_type="application/json")

    add_mbom_routes(app, store, write, need_plant)
    add_document_routes(app, store, write, need_plant)
    add_process_routes(app, store, write, need_plant)
    add_release_routes(app, store, write, need_plant)
    add_equipment_routes(app, store, write, need_plant)
    add_supply_routes(app, store, write, need_plant)
    add_unit_routes(app, store, need_plant)
    if units_every:  # the plants' lines keep completing units
        stream_units(store, units_every, threading.Event())
    return app
