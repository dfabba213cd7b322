"""The digital thread in columns: numpy arrays per table, parts and plants as integer ids.

A factory of 300k parts and a million BOM lines does not fit in pydantic objects; in columns it
takes tens of megabytes and the impact engine works on it with compiled kernels. The object form
(`ThreadSnapshot`) converts to this one in one place, `from_snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.thread.objects import ThreadSnapshot

Columns = dict[str, np.ndarray]

# (table, column) -> dtype. Integer columns that point at another table hold its row index.
SCHEMA: dict[str, dict[str, Any]] = {
    "parts": {
        "number": object,
        "name": object,
        "kind": object,
        "revision": object,
        "revisions": object,
        "safety": bool,
        "regulated": bool,
        "cost": np.float64,
    },
    "ebom": {"parent": np.int32, "child": np.int32, "qty": np.float32},
    "mbom": {
        "plant": np.int16,
        "parent": np.int32,
        "child": np.int32,
        "rev": object,
        "qty": np.float32,
    },
    "ops": {
        "plant": np.int16,
        "routing": object,
        "part": np.int32,
        "op_no": np.int32,
        "work_center": object,
        "std_time": np.float32,
        "description": object,
    },
    "op_parts": {"op": np.int32, "part": np.int32},
    "wis": {
        "id": object,
        "plant": np.int16,
        "op": np.int32,
        "revision": np.int32,
        "status": object,
        "title": object,
    },
    "wi_parts": {"wi": np.int32, "part": np.int32, "rev": object},
    "plans": {
        "id": object,
        "plant": np.int16,
        "part": np.int32,
        "part_rev": object,
        "revision": np.int32,
    },
    "chars": {"plan": np.int32, "id": object, "name": object, "key": bool, "safety": bool},
    "equipment": {"id": object, "plant": np.int16, "work_center": object, "name": object},
    "nc": {
        "id": object,
        "plant": np.int16,
        "equipment": np.int32,
        "op": np.int32,
        "part": np.int32,
        "revision": object,
    },
    "orders": {
        "id": object,
        "plant": np.int16,
        "part": np.int32,
        "qty": np.int32,
        "due": "datetime64[D]",
        "status": object,
        "critical": bool,
    },
    "inventory": {
        "plant": np.int16,
        "part": np.int32,
        "rev": object,
        "location": object,
        "qty": np.float64,
        "cost": np.float64,
    },
    "purchases": {
        "id": object,
        "plant": np.int16,
        "supplier": object,
        "part": np.int32,
        "rev": object,
        "qty": np.float64,
        "due": "datetime64[D]",
    },
    "quals": {"operator": object, "plant": np.int16, "op": np.int32},
}


def empty_table(name: str) -> Columns:
    return {col: np.empty(0, dtype=dtype) for col, dtype in SCHEMA[name].items()}


def make_table(name: str, /, **columns: Any) -> Columns:
    """Columns of one table with the schema's dtypes; every column must be given, same length."""
    schema = SCHEMA[name]
    missing = set(schema) - set(columns)
    if missing:
        raise ValueError(f"{name}: missing columns {sorted(missing)}")
    table = {col: np.asarray(columns[col], dtype=schema[col]) for col in schema}
    lengths = {len(v) for v in table.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name}: columns of different lengths {sorted(lengths)}")
    return table


@dataclass
class ThreadTables:
    plants: list[str]
    plant_names: list[str]
    tables: dict[str, Columns] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in SCHEMA:
            self.tables.setdefault(name, empty_table(name))

    def __getitem__(self, name: str) -> Columns:
        return self.tables[name]

    def rows(self, name: str) -> int:
        first = next(iter(self.tables[name].values()))
        return len(first)

    def counts(self) -> dict[str, int]:
        return {name: self.rows(name) for name in SCHEMA}


def from_snapshot(snapshot: ThreadSnapshot) -> ThreadTables:
    """The object form of the thread, in columns."""
    plants = [p.code for p in snapshot.plants]
    plant_id = {code: i for i, code in enumerate(plants)}
    parts = snapshot.parts
    part_id = {p.number: i for i, p in enumerate(parts)}
    t = ThreadTables(plants=plants, plant_names=[p.name for p in snapshot.plants])

    def pid(number: str) -> int:
        if number not in part_id:
            raise KeyError(f"part {number} is referenced but not in PLM")
        return part_id[number]

    t.tables["parts"] = make_table(
        "parts",
        number=[p.number for p in parts],
        name=[p.name for p in parts],
        kind=[p.kind for p in parts],
        revision=[p.current_revision for p in parts],
        revisions=[",".join(r.revision for r in p.revisions) for p in parts],
        safety=[p.safety_critical for p in parts],
        regulated=[p.regulated for p in parts],
        cost=[p.unit_cost for p in parts],
    )
    e = snapshot.ebom
    t.tables["ebom"] = make_table(
        "ebom",
        parent=[pid(x.parent) for x in e],
        child=[pid(x.child) for x in e],
        qty=[x.qty for x in e],
    )
    m = snapshot.mbom
    t.tables["mbom"] = make_table(
        "mbom",
        plant=[plant_id[x.plant] for x in m],
        parent=[pid(x.parent) for x in m],
        child=[pid(x.component) for x in m],
        rev=[x.component_revision for x in m],
        qty=[x.qty for x in m],
    )
    ops, op_parts, op_index = [], [], {}
    for routing in snapshot.routings:
        for op in routing.operations:
            op_index[(routing.id, op.op_no)] = len(ops)
            ops.append(
                (
                    plant_id[routing.plant],
                    routing.id,
                    pid(routing.part),
                    op.op_no,
                    op.work_center,
                    op.std_time_min,
                    op.description,
                )
            )
            op_parts += [(len(ops) - 1, pid(p)) for p in op.parts]
    t.tables["ops"] = make_table("ops", **_cols(ops, SCHEMA["ops"]))
    t.tables["op_parts"] = make_table("op_parts", **_cols(op_parts, SCHEMA["op_parts"]))
    wis, wi_parts = [], []
    for wi in snapshot.work_instructions:
        wis.append(
            (
                wi.id,
                plant_id[wi.plant],
                op_index.get((wi.routing_id, wi.op_no), -1),
                wi.revision,
                wi.status,
                wi.title,
            )
        )
        wi_parts += [(len(wis) - 1, pid(ref.part), ref.revision) for ref in wi.parts]
    t.tables["wis"] = make_table("wis", **_cols(wis, SCHEMA["wis"]))
    t.tables["wi_parts"] = make_table("wi_parts", **_cols(wi_parts, SCHEMA["wi_parts"]))
    plans, chars = [], []
    for plan in snapshot.inspection_plans:
        plans.append(
            (plan.id, plant_id[plan.plant], pid(plan.part), plan.part_revision, plan.revision)
        )
        chars += [
            (len(plans) - 1, c.id, c.name, c.key, c.safety_critical) for c in plan.characteristics
        ]
    t.tables["plans"] = make_table("plans", **_cols(plans, SCHEMA["plans"]))
    t.tables["chars"] = make_table("chars", **_cols(chars, SCHEMA["chars"]))
    eq_index = {}
    equipment = []
    for eq in snapshot.equipment:
        eq_index[(eq.plant, eq.id)] = len(equipment)
        equipment.append((eq.id, plant_id[eq.plant], eq.work_center, eq.name))
    t.tables["equipment"] = make_table("equipment", **_cols(equipment, SCHEMA["equipment"]))
    nc = [
        (
            p.id,
            plant_id[p.plant],
            eq_index[(p.plant, p.equipment)],
            op_index.get((p.routing_id, p.op_no), -1),
            pid(p.part),
            p.revision,
        )
        for p in snapshot.nc_programs
    ]
    t.tables["nc"] = make_table("nc", **_cols(nc, SCHEMA["nc"]))
    o = snapshot.production_orders
    t.tables["orders"] = make_table(
        "orders",
        id=[x.id for x in o],
        plant=[plant_id[x.plant] for x in o],
        part=[pid(x.part) for x in o],
        qty=[x.qty for x in o],
        due=[x.due for x in o],
        status=[x.status for x in o],
        critical=[x.critical for x in o],
    )
    inv = snapshot.inventory
    t.tables["inventory"] = make_table(
        "inventory",
        plant=[plant_id[x.plant] for x in inv],
        part=[pid(x.part) for x in inv],
        rev=[x.revision for x in inv],
        location=[x.location for x in inv],
        qty=[x.qty for x in inv],
        cost=[x.unit_cost for x in inv],
    )
    pur = snapshot.purchase_orders
    t.tables["purchases"] = make_table(
        "purchases",
        id=[x.id for x in pur],
        plant=[plant_id[x.plant] for x in pur],
        supplier=[x.supplier for x in pur],
        part=[pid(x.part) for x in pur],
        rev=[x.revision for x in pur],
        qty=[x.qty for x in pur],
        due=[x.due for x in pur],
    )
    quals = [
        (q.operator, plant_id[q.plant], op_index[(q.routing_id, q.op_no)])
        for q in snapshot.qualifications
        if (q.routing_id, q.op_no) in op_index
    ]
    t.tables["quals"] = make_table("quals", **_cols(quals, SCHEMA["quals"]))
    return t


def _cols(rows: list[tuple], schema: dict[str, Any]) -> dict[str, list]:
    names = list(schema)
    if not rows:
        return {n: [] for n in names}
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}
