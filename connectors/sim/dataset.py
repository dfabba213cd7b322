"""Turning a thread snapshot into the simulator's documents, system by system."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domain.thread import ThreadSnapshot

Row = tuple[str, str, str, str, dict[str, Any]]


def snapshot_rows(snapshot: ThreadSnapshot) -> Iterator[Row]:
    """(system, plant, kind, key, document) for every object the snapshot holds."""
    for plant in snapshot.plants:
        yield ("SIM", "", "plant", plant.code, plant.model_dump(mode="json"))
    for part in snapshot.parts:
        yield ("PLM", "", "part", part.number, part.model_dump(mode="json"))
    for line in snapshot.ebom:
        yield ("PLM", "", "ebom_line", f"{line.parent}|{line.child}", line.model_dump(mode="json"))
    for line in snapshot.mbom:
        key = f"{line.parent}|{line.component}"
        yield ("ERP", line.plant, "mbom_line", key, line.model_dump(mode="json"))
    for order in snapshot.production_orders:
        yield ("ERP", order.plant, "production_order", order.id, order.model_dump(mode="json"))
    for rec in snapshot.inventory:
        key = f"{rec.part}|{rec.revision}|{rec.location}"
        yield ("ERP", rec.plant, "inventory", key, rec.model_dump(mode="json"))
    for po in snapshot.purchase_orders:
        yield ("ERP", po.plant, "purchase_order", po.id, po.model_dump(mode="json"))
    for routing in snapshot.routings:
        yield ("MES", routing.plant, "routing", routing.id, routing.model_dump(mode="json"))
    for wi in snapshot.work_instructions:
        yield ("MES", wi.plant, "work_instruction", wi.id, wi.model_dump(mode="json"))
    for q in snapshot.qualifications:
        key = f"{q.operator}|{q.routing_id}|{q.op_no}"
        yield ("MES", q.plant, "qualification", key, q.model_dump(mode="json"))
    for plan in snapshot.inspection_plans:
        yield ("QMS", plan.plant, "inspection_plan", plan.id, plan.model_dump(mode="json"))
