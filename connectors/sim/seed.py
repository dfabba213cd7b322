"""The simulator's demo dataset: a multi-level electric drive built in three plants.

About 150 parts: three drive variants (end items), housing, gearbox and motor assemblies, the
mounting bracket 100-200 (rev B, the part the demo change revises) and shared fasteners.
DET builds ED-1000 and ED-2000, MTY builds ED-1000, BRN builds the compact ED-3000, which uses a
different bracket: so the bracket touches two of the three plants.
The parts and the EBOM are drawn in connectors/sim/seed_design.py; this module builds each
plant's side on them (MBOM, routings, work instructions, inspection plans, orders, stock,
purchases, qualifications, equipment and NC programs).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from connectors.sim.seed_design import design
from domain.thread.objects import (
    BomLine,
    Characteristic,
    Equipment,
    InspectionPlan,
    InventoryRecord,
    MbomLine,
    NcProgram,
    Operation,
    PartRef,
    Plant,
    ProductionOrder,
    PurchaseOrder,
    Qualification,
    Routing,
    ThreadSnapshot,
    WorkInstruction,
)

PLANTS = [
    Plant(code="DET", name="Detroit Assembly", country="US"),
    Plant(code="MTY", name="Monterrey Drives", country="MX"),
    Plant(code="BRN", name="Brno Compact Drives", country="CZ"),
]
BUILDS = {"DET": ["ED-1000", "ED-2000"], "MTY": ["ED-1000"], "BRN": ["ED-3000"]}
TODAY = date(2026, 11, 23)


def build_demo_thread(seed: int = 7) -> ThreadSnapshot:
    """The demo factory, the same for the same seed."""
    rng = random.Random(seed)
    parts, ebom = design(rng)
    fasteners = {n for n, p in parts.items() if p.kind == "fastener"}

    plants_mbom: list[MbomLine] = []
    routings: list[Routing] = []
    wis: list[WorkInstruction] = []
    plans: list[InspectionPlan] = []
    orders: list[ProductionOrder] = []
    stock: list[InventoryRecord] = []
    pos: list[PurchaseOrder] = []
    quals: list[Qualification] = []
    children: dict[str, list[BomLine]] = {}
    for line in ebom:
        children.setdefault(line.parent, []).append(line)
    seen_mbom: set[tuple[str, str, str]] = set()

    for plant, ends in BUILDS.items():
        built: list[str] = []
        stack = list(ends)
        while stack:
            parent = stack.pop()
            if parent in built:
                continue
            built.append(parent)
            for line in children.get(parent, []):
                if (plant, parent, line.child) in seen_mbom:
                    continue
                seen_mbom.add((plant, parent, line.child))
                plants_mbom.append(
                    MbomLine(
                        plant=plant,
                        parent=parent,
                        component=line.child,
                        component_revision=parts[line.child].current_revision,
                        qty=line.qty,
                        operation=10,
                    )
                )
                if line.child in children:
                    stack.append(line.child)
        for assembly in sorted(built):
            lines = [line for line in children.get(assembly, []) if line.child not in fasteners]
            ops = []
            chunks = [lines[i : i + 3] for i in range(0, len(lines), 3)] or [[]]
            for index, chunk in enumerate(chunks, start=1):
                op_no = index * 10
                ops.append(
                    Operation(
                        op_no=op_no,
                        work_center=f"{plant}-WC{(index % 4) + 1:02d}",
                        description=f"Assemble {parts[assembly].name.lower()} step {index}",
                        std_time_min=round(rng.uniform(1.5, 12.0), 1),
                        parts=[line.child for line in chunk],
                    )
                )
            routing_id = f"R-{plant}-{assembly}"
            routings.append(Routing(id=routing_id, plant=plant, part=assembly, operations=ops))
            for op in ops:
                wi_id = f"WI-{plant}-{assembly}-{op.op_no}"
                wis.append(
                    WorkInstruction(
                        id=wi_id,
                        plant=plant,
                        title=f"{parts[assembly].name}, op {op.op_no}",
                        revision=rng.randint(1, 5),
                        routing_id=routing_id,
                        op_no=op.op_no,
                        parts=[
                            PartRef(part=p, revision=parts[p].current_revision) for p in op.parts
                        ],
                    )
                )
                for _ in range(rng.randint(1, 3)):
                    quals.append(
                        Qualification(
                            operator=f"{plant.lower()}-op{rng.randint(1, 40):02d}",
                            plant=plant,
                            routing_id=routing_id,
                            op_no=op.op_no,
                        )
                    )
        inspected = [p for p in built if p in ("200-100", "200-300", "300-100")] + [
            line.component
            for line in plants_mbom
            if line.plant == plant
            and line.component in ("100-200", "100-210", "310-003", "310-004")
        ]
        for part in dict.fromkeys(inspected):
            chars = [
                Characteristic(id="C1", name="Hole position", key=True),
                Characteristic(id="C2", name="Flatness"),
                Characteristic(id="C3", name="Material certificate"),
            ]
            plans.append(
                InspectionPlan(
                    id=f"IP-{plant}-{part}",
                    plant=plant,
                    part=part,
                    part_revision=parts[part].current_revision,
                    revision=rng.randint(1, 4),
                    characteristics=chars,
                )
            )
        for n, end in enumerate(ends * 2 + ["500-100"] if "ED-1000" in ends else ends * 2):
            orders.append(
                ProductionOrder(
                    id=f"PO-{plant}-{4100 + n}",
                    plant=plant,
                    part=end,
                    qty=rng.choice([20, 40, 60, 120]),
                    due=TODAY + timedelta(days=7 + 5 * n),
                    status=rng.choice(["released", "in_process", "planned"]),
                    critical=(n == 0),
                )
            )
        for line in plants_mbom:
            if line.plant != plant or parts[line.component].kind == "assembly":
                continue
            if line.component in ("100-200", "100-210") or rng.random() < 0.3:
                stock.append(
                    InventoryRecord(
                        plant=plant,
                        part=line.component,
                        revision=line.component_revision,
                        location=f"{plant}-RM-{rng.randint(1, 3):02d}",
                        qty=float(rng.choice([40, 120, 240, 500])),
                        unit_cost=parts[line.component].unit_cost,
                    )
                )
        for component in ("100-200", "100-210"):
            if any(line.plant == plant and line.component == component for line in plants_mbom):
                pos.append(
                    PurchaseOrder(
                        id=f"PUR-{plant}-{component}",
                        plant=plant,
                        supplier="Great Lakes Stamping" if plant != "BRN" else "Morava Lisovna",
                        part=component,
                        revision=parts[component].current_revision,
                        qty=500.0,
                        due=TODAY + timedelta(days=21),
                    )
                )
    # Machining centers and the NC programs that make the housings and gear parts
    equipment: list[Equipment] = []
    programs: list[NcProgram] = []
    machined = {
        "110-001": "200-100",
        "120-001": "200-300",
        "310-001": "300-100",
        "310-002": "300-100",
        "310-003": "300-100",
    }
    for plant in BUILDS:
        for n in (1, 2):
            equipment.append(
                Equipment(
                    id=f"M-{plant}-{n:02d}",
                    plant=plant,
                    work_center=f"{plant}-WC{n:02d}",
                    name="5-axis machining center" if n == 1 else "lathe",
                )
            )
        for part, assembly in machined.items():
            routing = next((r for r in routings if r.plant == plant and r.part == assembly), None)
            if routing is None:
                continue
            op = next((o for o in routing.operations if part in o.parts), routing.operations[0])
            programs.append(
                NcProgram(
                    id=f"NC-{plant}-{part}",
                    plant=plant,
                    equipment=f"M-{plant}-{1 if part < '310' else 2:02d}",
                    routing_id=routing.id,
                    op_no=op.op_no,
                    part=part,
                    revision=str(rng.randint(1, 6)),
                )
            )
    # de-duplicate stock rows by (plant, part, rev, location)
    merged: dict[tuple[str, str, str, str], InventoryRecord] = {}
    for record in stock:
        key = (record.plant, record.part, record.revision, record.location)
        if key in merged:
            merged[key].qty += record.qty
        else:
            merged[key] = record
    return ThreadSnapshot(
        plants=PLANTS,
        parts=list(parts.values()),
        ebom=ebom,
        mbom=plants_mbom,
        routings=routings,
        work_instructions=wis,
        inspection_plans=plans,
        equipment=equipment,
        nc_programs=programs,
        production_orders=orders,
        inventory=list(merged.values()),
        purchase_orders=pos,
        qualifications=list({(q.operator, q.routing_id, q.op_no): q for q in quals}.values()),
    )
