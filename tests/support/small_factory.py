"""A small hand-made factory where the right impact is known by hand (drawn in
tests/unit/test_impact_engine.py's docstring)."""

from __future__ import annotations

from datetime import date

from domain.thread.objects import (
    BomLine,
    Characteristic,
    Equipment,
    InspectionPlan,
    InventoryRecord,
    MbomLine,
    NcProgram,
    Operation,
    Part,
    PartRef,
    PartRevision,
    Plant,
    ProductionOrder,
    PurchaseOrder,
    Qualification,
    Routing,
    ThreadSnapshot,
    WorkInstruction,
)

D = date(2026, 12, 1)


def part(number: str, kind: str = "component", rev: str = "A", **kw) -> Part:
    return Part(
        number=number,
        name=f"part {number}",
        kind=kind,
        current_revision=rev,
        revisions=[PartRevision(revision=rev)],
        **kw,
    )


def factory() -> ThreadSnapshot:
    ebom = [("E1", "A"), ("A", "B"), ("B", "P"), ("B", "F"), ("A", "F"), ("E2", "C"), ("C", "Q")]
    mbom = [("PX", p, c) for p, c in ebom[:5]] + [("PY", p, c) for p, c in ebom[5:]]
    return ThreadSnapshot(
        plants=[Plant(code="PX", name="Plant X"), Plant(code="PY", name="Plant Y")],
        parts=[
            part("E1", "end_item", regulated=True),
            part("E2", "end_item"),
            part("A", "assembly"),
            part("B", "assembly"),
            part("C", "assembly"),
            part("P"),
            part("Q"),
            part("F", "fastener"),
        ],
        ebom=[BomLine(parent=p, child=c) for p, c in ebom],
        mbom=[
            MbomLine(plant=pl, parent=p, component=c, component_revision="A") for pl, p, c in mbom
        ],
        routings=[
            Routing(
                id="R-B",
                plant="PX",
                part="B",
                operations=[
                    Operation(op_no=10, work_center="WC1", description="press P", parts=["P"]),
                    Operation(op_no=20, work_center="WC2", description="fasten", parts=["F"]),
                ],
            )
        ],
        work_instructions=[
            WorkInstruction(
                id="W1",
                plant="PX",
                title="press",
                routing_id="R-B",
                op_no=10,
                parts=[PartRef(part="P", revision="A")],
            ),
            WorkInstruction(id="W2", plant="PX", title="press check", routing_id="R-B", op_no=10),
            WorkInstruction(
                id="W3",
                plant="PX",
                title="fasten",
                routing_id="R-B",
                op_no=20,
                parts=[PartRef(part="F", revision="A")],
            ),
        ],
        inspection_plans=[
            InspectionPlan(
                id="IP-P",
                plant="PX",
                part="P",
                part_revision="A",
                characteristics=[Characteristic(id="C1", name="bore", key=True)],
            ),
            InspectionPlan(
                id="IP-B",
                plant="PX",
                part="B",
                part_revision="A",
                characteristics=[Characteristic(id="C1", name="torque", safety_critical=True)],
            ),
        ],
        equipment=[Equipment(id="M1", plant="PX", work_center="WC1", name="press 200 t")],
        nc_programs=[
            NcProgram(id="NC-P", plant="PX", equipment="M1", routing_id="R-B", op_no=10, part="P")
        ],
        production_orders=[
            ProductionOrder(id="O1", plant="PX", part="E1", qty=5, due=D, critical=True),
            ProductionOrder(id="O2", plant="PX", part="B", qty=5, due=D, status="closed"),
            ProductionOrder(id="O3", plant="PX", part="P", qty=50, due=D, status="planned"),
            ProductionOrder(id="O4", plant="PY", part="E2", qty=5, due=D, critical=True),
        ],
        inventory=[
            InventoryRecord(
                plant="PX", part="P", revision="A", location="S1", qty=10, unit_cost=2.5
            ),
            InventoryRecord(
                plant="PX", part="P", revision="0", location="S2", qty=3, unit_cost=2.5
            ),
        ],
        purchase_orders=[
            PurchaseOrder(
                id="PO1", plant="PX", supplier="Acme", part="P", revision="A", qty=100, due=D
            )
        ],
        qualifications=[
            Qualification(operator=u, plant="PX", routing_id="R-B", op_no=10) for u in ("u1", "u2")
        ]
        + [
            Qualification(operator="u3", plant="PX", routing_id="R-B", op_no=20),
            Qualification(operator="y1", plant="PY", routing_id="R-B", op_no=20),
        ],
    )
