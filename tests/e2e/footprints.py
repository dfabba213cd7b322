"""What the simulator's systems hold of the objects a change writes: taken before a change and
after its rollback, they must be equal (the connectors' compensations restore each system
exactly)."""

from __future__ import annotations

import httpx


def part_footprint(sim_state: dict, part: str) -> dict[str, list]:
    """Everything the simulator holds about a part that a change of it writes to."""
    result: dict[str, list] = {
        "PLM": [p["current_revision"] for p in sim_state["PLM"]["parts"] if p["number"] == part]
    }
    for plant in ("DET", "MTY", "BRN"):
        systems = sim_state[plant]
        result[f"{plant}.ERP"] = sorted(
            (x["parent"], x["component_revision"])
            for x in systems["ERP"]["mbom_line"]
            if x["component"] == part
        )
        result[f"{plant}.QMS"] = sorted(
            (x["id"], x["revision"], x["part_revision"])
            for x in systems["QMS"]["inspection_plan"]
            if x["part"] == part
        )
        result[f"{plant}.ERP.supply"] = sorted(
            [
                (x["id"], x["revision"])
                for x in systems["ERP"]["purchase_order"]
                if x["part"] == part
            ]
            + [
                (x["location"], x.get("disposition", "-"))
                for x in systems["ERP"]["inventory"]
                if x["part"] == part
            ]
        )
        result[f"{plant}.MES"] = sorted(
            (wi["id"], wi["revision"], wi["status"], r["revision"])
            for wi in systems["MES"]["work_instruction"]
            for r in wi["parts"]
            if r["part"] == part
        )
    return result


def routing_footprint(sim: httpx.Client, plant: str, routing: str) -> dict:
    """A routing in the plant's MES and its work instructions (a process change's writes)."""
    state = sim.get("/sim/state").json()[plant]["MES"]
    doc = next(r for r in state["routing"] if r["id"] == routing)
    wis = sorted((w["id"], w["revision"], w["status"]) for w in state["work_instruction"])
    return {"routing": doc, "work_instructions": wis}


def admin_footprint(sim: httpx.Client, plants: list[str]) -> dict:
    """Each plant's MES version and its backups (a system release's writes)."""
    state = sim.get("/sim/state").json()
    return {p: {k: state[p]["MES"][k] for k in ("system_version", "backup")} for p in plants}


def mes_footprint(sim: httpx.Client, plant: str) -> dict:
    """Equipment, NC programs, equipment records, work instructions (an equipment change's)."""
    mes = sim.get("/sim/state").json()[plant]["MES"]
    kinds = ("equipment", "nc_program", "equipment_record", "work_instruction")
    return {k: sorted(mes[k], key=lambda d: d["id"]) for k in kinds}
