"""The simulator's demo dataset: a multi-level electric drive built in three plants.

About 150 parts: three drive variants (end items), housing, gearbox and motor assemblies, the
mounting bracket 100-200 (rev B, the part the demo change revises) and shared fasteners.
DET builds ED-1000 and ED-2000, MTY builds ED-1000, BRN builds the compact ED-3000, which uses a
different bracket: so the bracket touches two of the three plants.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from domain.thread import (
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

PLANTS = [
    Plant(code="DET", name="Detroit Assembly", country="US"),
    Plant(code="MTY", name="Monterrey Drives", country="MX"),
    Plant(code="BRN", name="Brno Compact Drives", country="CZ"),
]
BUILDS = {"DET": ["ED-1000", "ED-2000"], "MTY": ["ED-1000"], "BRN": ["ED-3000"]}
TODAY = date(2026, 11, 23)


def _part(number: str, name: str, kind: str, rev: str = "A", cost: float = 1.0, **kw) -> Part:
    revs = []
    letters = [chr(c) for c in range(ord("A"), ord(rev) + 1)]
    for label in letters:
        status = "released" if label == rev else "superseded"
        revs.append(PartRevision(revision=label, status=status))
    return Part(
        number=number,
        name=name,
        kind=kind,
        revisions=revs,
        current_revision=rev,
        unit_cost=cost,
        **kw,
    )


def build_demo_thread(seed: int = 7) -> ThreadSnapshot:
    """The demo factory, the same for the same seed."""
    rng = random.Random(seed)
    parts: dict[str, Part] = {}
    ebom: list[BomLine] = []

    def add(part: Part) -> str:
        parts[part.number] = part
        return part.number

    def use(parent: str, child: str, qty: float = 1) -> None:
        if any(line.parent == parent and line.child == child for line in ebom):
            return
        ebom.append(BomLine(parent=parent, child=child, qty=qty, find_no=10 * (len(ebom) % 50 + 1)))

    # End items and top assemblies
    add(_part("ED-1000", "Electric drive EDU-150", "end_item", "D", 2450.0, regulated=True))
    add(_part("ED-2000", "Electric drive EDU-220", "end_item", "B", 3120.0, regulated=True))
    add(_part("ED-3000", "Electric drive EDU-90 compact", "end_item", "C", 1890.0))
    add(_part("200-100", "Housing assembly", "assembly", "C", 310.0))
    add(_part("200-300", "Housing assembly compact", "assembly", "B", 240.0))
    add(_part("300-100", "Gearbox assembly", "assembly", "E", 520.0))
    add(_part("400-100", "Motor assembly 150 kW", "assembly", "C", 880.0))
    add(_part("400-200", "Motor assembly 220 kW", "assembly", "B", 1130.0))
    add(_part("400-300", "Motor assembly 90 kW", "assembly", "A", 640.0))
    add(_part("500-100", "Motor mount subassembly", "assembly", "B", 64.0))
    add(_part("100-200", "Mounting bracket", "component", "B", 18.5))
    add(_part("100-210", "Mounting bracket compact", "component", "A", 14.2))
    add(_part("100-300", "Isolator pad", "component", "A", 3.1))
    for end, housing, motor in [
        ("ED-1000", "200-100", "400-100"),
        ("ED-2000", "200-100", "400-200"),
        ("ED-3000", "200-300", "400-300"),
    ]:
        use(end, housing)
        use(end, "300-100")
        use(end, motor)
    use("400-100", "500-100")
    use("400-200", "500-100")
    use("500-100", "100-200", 2)
    use("500-100", "100-300", 4)
    use("200-100", "100-200", 1)
    use("200-300", "100-210", 2)
    add(_part("600-100", "Inverter assembly 800 V", "assembly", "C", 940.0))
    add(_part("600-300", "Inverter assembly 400 V", "assembly", "B", 610.0))
    add(_part("700-100", "Cable harness", "assembly", "A", 85.0))
    use("ED-1000", "600-100")
    use("ED-2000", "600-100")
    use("ED-3000", "600-300")
    use("600-100", "700-100")
    use("600-300", "700-100")

    # Components of housings, gearbox and motors
    groups = {
        "200-100": (
            "110",
            [
                "Housing casting",
                "End cover",
                "Shaft seal",
                "Vent plug",
                "Gasket",
                "Cooling jacket",
                "Drain plug",
                "Nameplate",
                "Dowel pin",
                "O-ring",
            ],
        ),
        "200-300": (
            "120",
            [
                "Compact housing casting",
                "Compact end cover",
                "Compact seal",
                "Compact gasket",
                "Compact nameplate",
                "Compact dowel",
            ],
        ),
        "300-100": (
            "310",
            [
                "Input shaft",
                "Output shaft",
                "Gear set stage 1",
                "Gear set stage 2",
                "Bearing 6206",
                "Bearing 6308",
                "Bearing 32008",
                "Circlip 30",
                "Circlip 40",
                "Oil seal 45",
                "Spacer ring",
                "Gearbox cover",
                "Breather",
                "Oil level plug",
                "Thrust washer",
                "Shim pack",
                "Park lock pawl",
                "Park lock spring",
                "Differential case",
                "Differential pinion",
            ],
        ),
        "400-100": (
            "410",
            [
                "Stator 150",
                "Rotor 150",
                "Magnet set 150",
                "Resolver",
                "Winding kit",
                "Terminal block",
                "Motor shaft 150",
                "Cooling sleeve 150",
                "Bearing 6209",
                "Encoder ring",
                "Busbar set",
                "Potting compound",
            ],
        ),
        "400-200": (
            "420",
            [
                "Stator 220",
                "Rotor 220",
                "Magnet set 220",
                "Resolver 220",
                "Winding kit 220",
                "Terminal block 220",
                "Motor shaft 220",
                "Cooling sleeve 220",
                "Bearing 6210",
                "Busbar set 220",
            ],
        ),
        "600-100": (
            "610",
            [
                "Power module",
                "DC-link capacitor",
                "Gate driver board",
                "Control board",
                "Current sensor",
                "Heat sink",
                "Coolant plate",
                "DC connector",
                "AC busbar",
                "EMI filter",
                "Inverter cover",
                "Inverter gasket",
            ],
        ),
        "600-300": (
            "630",
            [
                "Power module 400 V",
                "DC-link capacitor 400 V",
                "Control board 400 V",
                "Heat sink 400 V",
                "Inverter cover 400 V",
                "Current sensor 400 V",
            ],
        ),
        "700-100": (
            "710",
            ["HV cable", "Signal cable", "Connector housing", "Cable tie", "Grommet"],
        ),
        "400-300": (
            "430",
            [
                "Stator 90",
                "Rotor 90",
                "Magnet set 90",
                "Resolver 90",
                "Winding kit 90",
                "Motor shaft 90",
                "Bearing 6205",
                "Busbar set 90",
            ],
        ),
    }
    for parent, (prefix, names) in groups.items():
        for i, name in enumerate(names, start=1):
            number = f"{prefix}-{i:03d}"
            rev = rng.choice("ABC")
            add(
                _part(
                    number,
                    name,
                    "component",
                    rev,
                    round(rng.uniform(2, 140), 2),
                    safety_critical=name.startswith("Park lock"),
                )
            )
            use(parent, number, rng.choice([1, 1, 1, 2]))

    # Shared fasteners: used across many assemblies
    sizes = ["M3", "M4", "M5", "M6", "M8", "M10", "M12", "M16"]
    kinds = ["Hex bolt", "Socket screw", "Flange nut", "Washer", "Lock washer"]
    fasteners = []
    for i, (size, kind) in enumerate(((s, k) for s in sizes for k in kinds), start=1):
        number = f"900-{i:03d}"
        add(_part(number, f"{kind} {size}", "fastener", "A", round(rng.uniform(0.02, 0.9), 3)))
        fasteners.append(number)
    assemblies = [
        "200-100",
        "200-300",
        "300-100",
        "400-100",
        "400-200",
        "400-300",
        "500-100",
        "600-100",
        "600-300",
        "700-100",
    ]
    for assembly in assemblies:
        for number in rng.sample(fasteners, 8):
            use(assembly, number, rng.choice([2, 4, 6, 8, 12]))
    use("500-100", "900-021", 4)  # M8 hex bolts hold the bracket

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
