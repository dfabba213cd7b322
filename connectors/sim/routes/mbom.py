"""The simulator's ERP MBOM: which lines consume a component (the ERP's where-used, filtered
in SQL), and pointing them at a new revision of it (idempotent by key, in the ledger)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header
from pydantic import BaseModel
from sqlmodel import Session

from connectors.sim.store import SimRejection, SimStore


class ComponentRevision(BaseModel):
    component: str
    from_revision: str
    to_revision: str


def add_mbom_routes(
    app: FastAPI, store: SimStore, write: Callable[..., dict[str, Any]], need_plant: Callable
) -> None:
    @app.get("/erp/{plant}/mbom/uses/{component}")
    def mbom_uses(plant: str, component: str) -> dict[str, Any]:
        """The plant's MBOM lines that consume `component` (the ERP's where-used)."""
        need_plant(plant)
        with Session(store.engine) as session:
            lines = store.find_where(session, "ERP", plant, "mbom_line", "component", component)
        return {"component": component, "lines": sorted(lines, key=lambda line: line["parent"])}

    @app.post("/erp/{plant}/mbom/component-revision")
    def set_component_revision(
        plant: str,
        body: ComponentRevision,
        idempotency_key: str | None = Header(None),
        x_change_id: str | None = Header(None),
    ) -> dict[str, Any]:
        need_plant(plant)

        def apply(session: Session) -> dict[str, Any]:
            lines = store.find_where(
                session, "ERP", plant, "mbom_line", "component", body.component
            )
            at_from = [line for line in lines if line["component_revision"] == body.from_revision]
            if not at_from:
                raise SimRejection(
                    409,
                    f"no MBOM line in {plant} consumes {body.component} rev {body.from_revision}",
                )
            for line in at_from:
                line["component_revision"] = body.to_revision
                store.put(
                    session,
                    "ERP",
                    plant,
                    "mbom_line",
                    f"{line['parent']}|{line['component']}",
                    line,
                )
            return {
                "component": body.component,
                "revision": body.to_revision,
                "lines_updated": len(at_from),
                "parents": sorted(line["parent"] for line in at_from),
            }

        return write(
            key=idempotency_key,
            change_id=x_change_id,
            system="ERP",
            plant=plant,
            action="set_component_revision",
            target=body.component,
            body=body,
            apply=apply,
        )
