"""The committed digital thread read from the store into columns (ThreadTables), the form the
impact engine's index is built from; rows that name parts the thread does not know are left
out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.thread.tables import ThreadTables, make_table
from store.thread.schema import (
    ThreadCharacteristic,
    ThreadEbom,
    ThreadEquipment,
    ThreadInspectionPlan,
    ThreadInventory,
    ThreadMbom,
    ThreadNcProgram,
    ThreadOperation,
    ThreadOperationPart,
    ThreadPart,
    ThreadPlant,
    ThreadProductionOrder,
    ThreadPurchaseOrder,
    ThreadQualification,
    ThreadWiPart,
    ThreadWorkInstruction,
)


def load_tables(engine: Engine) -> ThreadTables:
    """Every live thread table into columns; rows naming unknown parts are left out."""
    with Session(engine) as session:

        def rows(*cols: Any) -> list[tuple]:
            return list(session.execute(select(*cols).order_by(*cols[:3])).all())

        plants = rows(ThreadPlant.code, ThreadPlant.name)
        part_rows = rows(
            ThreadPart.number,
            ThreadPart.name,
            ThreadPart.kind,
            ThreadPart.revision,
            ThreadPart.revisions,
            ThreadPart.safety,
            ThreadPart.regulated,
            ThreadPart.cost,
        )
        codes = [p[0] for p in plants]
        t = ThreadTables(plants=codes, plant_names=[p[1] for p in plants])
        pl = {c: i for i, c in enumerate(codes)}
        pid = {r[0]: i for i, r in enumerate(part_rows)}
        t.tables["parts"] = make_table(
            "parts",
            **_columns(
                part_rows,
                ["number", "name", "kind", "revision", "revisions", "safety", "regulated", "cost"],
            ),
        )

        def known(*values: str) -> bool:
            return all(v in pid for v in values)

        ebom = [
            (pid[p], pid[c], q)
            for p, c, q in rows(ThreadEbom.parent, ThreadEbom.child, ThreadEbom.qty)
            if known(p, c)
        ]
        t.tables["ebom"] = make_table("ebom", **_columns(ebom, ["parent", "child", "qty"]))
        mbom = [
            (pl[a], pid[p], pid[c], r, q)
            for a, p, c, r, q in rows(
                ThreadMbom.plant,
                ThreadMbom.parent,
                ThreadMbom.child,
                ThreadMbom.rev,
                ThreadMbom.qty,
            )
            if a in pl and known(p, c)
        ]
        t.tables["mbom"] = make_table(
            "mbom", **_columns(mbom, ["plant", "parent", "child", "rev", "qty"])
        )
        op_rows = [
            r
            for r in rows(
                ThreadOperation.plant,
                ThreadOperation.routing,
                ThreadOperation.op_no,
                ThreadOperation.part,
                ThreadOperation.work_center,
                ThreadOperation.std_time,
                ThreadOperation.description,
            )
            if r[0] in pl and known(r[3])
        ]
        op_id = {(r[0], r[1], r[2]): i for i, r in enumerate(op_rows)}
        t.tables["ops"] = make_table(
            "ops",
            **_columns(
                [(pl[a], rt, pid[p], no, wc, st, d) for a, rt, no, p, wc, st, d in op_rows],
                ["plant", "routing", "part", "op_no", "work_center", "std_time", "description"],
            ),
        )
        op_parts = [
            (op_id[(a, rt, no)], pid[p])
            for a, rt, no, p in rows(
                ThreadOperationPart.plant,
                ThreadOperationPart.routing,
                ThreadOperationPart.op_no,
                ThreadOperationPart.part,
            )
            if (a, rt, no) in op_id and known(p)
        ]
        t.tables["op_parts"] = make_table("op_parts", **_columns(op_parts, ["op", "part"]))
        wi_rows = [
            r
            for r in rows(
                ThreadWorkInstruction.plant,
                ThreadWorkInstruction.id,
                ThreadWorkInstruction.routing,
                ThreadWorkInstruction.op_no,
                ThreadWorkInstruction.revision,
                ThreadWorkInstruction.status,
                ThreadWorkInstruction.title,
            )
            if r[0] in pl
        ]
        wi_id = {(r[0], r[1]): i for i, r in enumerate(wi_rows)}
        t.tables["wis"] = make_table(
            "wis",
            **_columns(
                [
                    (i, pl[a], op_id.get((a, rt, no), -1), rev, st, ti)
                    for a, i, rt, no, rev, st, ti in wi_rows
                ],
                ["id", "plant", "op", "revision", "status", "title"],
            ),
        )
        wi_parts = [
            (wi_id[(a, w)], pid[p], r)
            for a, w, p, r in rows(
                ThreadWiPart.plant, ThreadWiPart.wi, ThreadWiPart.part, ThreadWiPart.rev
            )
            if (a, w) in wi_id and known(p)
        ]
        t.tables["wi_parts"] = make_table("wi_parts", **_columns(wi_parts, ["wi", "part", "rev"]))
        plan_rows = [
            r
            for r in rows(
                ThreadInspectionPlan.plant,
                ThreadInspectionPlan.id,
                ThreadInspectionPlan.part,
                ThreadInspectionPlan.part_rev,
                ThreadInspectionPlan.revision,
            )
            if r[0] in pl and known(r[2])
        ]
        plan_id = {(r[0], r[1]): i for i, r in enumerate(plan_rows)}
        t.tables["plans"] = make_table(
            "plans",
            **_columns(
                [(i, pl[a], pid[p], pr, rev) for a, i, p, pr, rev in plan_rows],
                ["id", "plant", "part", "part_rev", "revision"],
            ),
        )
        chars = [
            (plan_id[(a, p)], i, n, k, s)
            for a, p, i, n, k, s in rows(
                ThreadCharacteristic.plant,
                ThreadCharacteristic.plan,
                ThreadCharacteristic.id,
                ThreadCharacteristic.name,
                ThreadCharacteristic.key,
                ThreadCharacteristic.safety,
            )
            if (a, p) in plan_id
        ]
        t.tables["chars"] = make_table(
            "chars", **_columns(chars, ["plan", "id", "name", "key", "safety"])
        )
        eq_rows = [
            r
            for r in rows(
                ThreadEquipment.plant,
                ThreadEquipment.id,
                ThreadEquipment.work_center,
                ThreadEquipment.name,
            )
            if r[0] in pl
        ]
        eq_id = {(r[0], r[1]): i for i, r in enumerate(eq_rows)}
        t.tables["equipment"] = make_table(
            "equipment",
            **_columns(
                [(i, pl[a], wc, n) for a, i, wc, n in eq_rows],
                ["id", "plant", "work_center", "name"],
            ),
        )
        nc = [
            (i, pl[a], eq_id[(a, e)], op_id.get((a, rt, no), -1), pid[p], rev)
            for a, i, e, rt, no, p, rev in rows(
                ThreadNcProgram.plant,
                ThreadNcProgram.id,
                ThreadNcProgram.equipment,
                ThreadNcProgram.routing,
                ThreadNcProgram.op_no,
                ThreadNcProgram.part,
                ThreadNcProgram.revision,
            )
            if (a, e) in eq_id and known(p)
        ]
        t.tables["nc"] = make_table(
            "nc", **_columns(nc, ["id", "plant", "equipment", "op", "part", "revision"])
        )
        orders = [
            (i, pl[a], pid[p], q, d, s, c)
            for a, i, p, q, d, s, c in rows(
                ThreadProductionOrder.plant,
                ThreadProductionOrder.id,
                ThreadProductionOrder.part,
                ThreadProductionOrder.qty,
                ThreadProductionOrder.due,
                ThreadProductionOrder.status,
                ThreadProductionOrder.critical,
            )
            if a in pl and known(p)
        ]
        t.tables["orders"] = make_table(
            "orders",
            **_columns(orders, ["id", "plant", "part", "qty", "due", "status", "critical"]),
        )
        inv = [
            (pl[a], pid[p], r, loc, q, c)
            for a, p, r, loc, q, c in rows(
                ThreadInventory.plant,
                ThreadInventory.part,
                ThreadInventory.rev,
                ThreadInventory.location,
                ThreadInventory.qty,
                ThreadInventory.cost,
            )
            if a in pl and known(p)
        ]
        t.tables["inventory"] = make_table(
            "inventory", **_columns(inv, ["plant", "part", "rev", "location", "qty", "cost"])
        )
        pur = [
            (i, pl[a], s, pid[p], r, q, d)
            for a, i, s, p, r, q, d in rows(
                ThreadPurchaseOrder.plant,
                ThreadPurchaseOrder.id,
                ThreadPurchaseOrder.supplier,
                ThreadPurchaseOrder.part,
                ThreadPurchaseOrder.rev,
                ThreadPurchaseOrder.qty,
                ThreadPurchaseOrder.due,
            )
            if a in pl and known(p)
        ]
        t.tables["purchases"] = make_table(
            "purchases", **_columns(pur, ["id", "plant", "supplier", "part", "rev", "qty", "due"])
        )
        quals = [
            (o, pl[a], op_id[(a, rt, no)])
            for a, o, rt, no in rows(
                ThreadQualification.plant,
                ThreadQualification.operator,
                ThreadQualification.routing,
                ThreadQualification.op_no,
            )
            if (a, rt, no) in op_id
        ]
        t.tables["quals"] = make_table("quals", **_columns(quals, ["operator", "plant", "op"]))
    return t


def _columns(rows: list[tuple], names: list[str]) -> dict[str, list[Any]]:
    if not rows:
        return {n: [] for n in names}
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}
