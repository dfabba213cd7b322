"""The simulator's MES reports completed units: `POST /sim/units` builds units of an assembly in
a plant from what is in force there now (its MBOM's component revisions, its routing and work
instructions), and `GET /mes/{plant}/units` lists them, as a real MES's production records."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from connectors.sim.store import SimStore


class BuildUnits(BaseModel):
    plant: str
    part: str = Field(description="The assembly built.")
    count: int = Field(default=1, ge=1, le=1000)


def add_unit_routes(app: FastAPI, store: SimStore, need_plant: Callable) -> None:
    @app.post("/sim/units", status_code=201)
    def build_units_route(body: BuildUnits) -> list[dict[str, Any]]:
        """Complete `count` units of `part` in `plant` with what is in force there now."""
        need_plant(body.plant)
        return build_units(store, body)


def stream_units(store: SimStore, every_s: float, stop: threading.Event) -> threading.Thread:
    """A production line in each plant: every `every_s` seconds, one unit of each plant's first
    assembly is completed with what is in force then (`--units-every`)."""

    def run() -> None:
        while not stop.wait(every_s):
            for plant in store.plants():
                parents = sorted({d["parent"] for d in store.all_docs("ERP", plant, "mbom_line")})
                if parents:
                    build_units(store, BuildUnits(plant=plant, part=parents[0]))

    thread = threading.Thread(target=run, name="unit-stream", daemon=True)
    thread.start()
    return thread


def build_units(store: SimStore, body: BuildUnits) -> list[dict[str, Any]]:
    """Units of `body.part` completed in `body.plant` now, with what is in force there."""
    lines = [d for d in store.all_docs("ERP", body.plant, "mbom_line") if d["parent"] == body.part]
    if not lines:
        raise HTTPException(404, f"{body.part} has no MBOM in {body.plant}")
    routings = [d for d in store.all_docs("MES", body.plant, "routing") if d["part"] == body.part]
    documents = [{"kind": "routing", "id": r["id"], "revision": r["revision"]} for r in routings]
    ids = {r["id"] for r in routings}
    documents += [
        {"kind": "work_instruction", "id": w["id"], "revision": w["revision"]}
        for w in store.all_docs("MES", body.plant, "work_instruction")
        if w.get("routing_id") in ids
    ]
    components = [
        {"part": line["component"], "revision": line["component_revision"]} for line in lines
    ]
    with store.write_lock, Session(store.engine) as session:
        made = len(store.find(session, "MES", body.plant, "unit"))
        units = []
        for n in range(made + 1, made + body.count + 1):
            unit = {
                "serial": f"{body.plant}-{body.part}-{n:06d}",
                "part": body.part,
                "plant": body.plant,
                "completed_at": datetime.now(UTC).isoformat(),
                "components": components,
                "documents": documents,
            }
            store.put(session, "MES", body.plant, "unit", unit["serial"], unit)
            units.append(unit)
        session.commit()
    return units
