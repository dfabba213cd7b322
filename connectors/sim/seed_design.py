"""The demo dataset's design side (PLM): about 150 parts of a multi-level electric drive and its
engineering BOM. connectors/sim/seed.py builds the plants' side on it."""

from __future__ import annotations

import random

from domain.thread.objects import BomLine, Part, PartRevision


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


def design(rng: random.Random) -> tuple[dict[str, Part], list[BomLine]]:
    """The parts by number and the EBOM lines, drawn from `rng` (the same for the same seed)."""
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
    return parts, ebom
