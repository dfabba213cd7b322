"""The simulator's documents from a columnar thread: the demo factory or a generated one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from connectors.sim.factory_gen import generate_factory
from connectors.sim.seed import PLANTS, build_demo_thread
from domain.thread.tables import ThreadTables, from_snapshot

Row = tuple[str, str, str, str, dict[str, Any]]


def dataset(name: str) -> ThreadTables:
    """`demo` (the electric drive), `large` (300k parts, 5 plants) or a part count like `20000`."""
    if name == "demo":
        return from_snapshot(build_demo_thread())
    if name == "large":
        return generate_factory(parts=300_000, plants=5)
    if name.isdigit():
        return generate_factory(parts=int(name), plants=5)
    raise ValueError(f"unknown dataset '{name}' (demo, large or a number of parts)")


def _groups(keys: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(key, row numbers) for each distinct key, in key order."""
    if keys.size == 0:
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    for chunk in np.split(order, cuts):
        yield int(keys[chunk[0]]), chunk


def tables_rows(t: ThreadTables) -> Iterator[Row]:
    """(system, plant, kind, key, document) for every object, documents shaped like the
    domain models the connectors parse."""
    names = dict(zip(t.plants, t.plant_names, strict=True))
    countries = {p.code: p.country for p in PLANTS}
    for code in t.plants:
        yield (
            "SIM",
            "",
            "plant",
            code,
            {"code": code, "name": names[code], "country": countries.get(code, "")},
        )
    parts = t["parts"]
    num = parts["number"]
    for i in range(len(num)):
        current = str(parts["revision"][i])
        revs = str(parts["revisions"][i]).split(",") if parts["revisions"][i] else [current]
        yield (
            "PLM",
            "",
            "part",
            str(num[i]),
            {
                "number": str(num[i]),
                "name": str(parts["name"][i]),
                "kind": str(parts["kind"][i]),
                "revisions": [
                    {"revision": r, "status": "released" if r == current else "superseded"}
                    for r in revs
                ],
                "current_revision": current,
                "safety_critical": bool(parts["safety"][i]),
                "regulated": bool(parts["regulated"][i]),
                "unit_cost": float(parts["cost"][i]),
            },
        )
    e = t["ebom"]
    for i in range(len(e["parent"])):
        parent, child = str(num[e["parent"][i]]), str(num[e["child"][i]])
        yield (
            "PLM",
            "",
            "ebom_line",
            f"{parent}|{child}",
            {
                "parent": parent,
                "child": child,
                "qty": float(e["qty"][i]),
                "find_no": 10 * (i % 50 + 1),
            },
        )
    m = t["mbom"]
    for i in range(len(m["parent"])):
        plant, parent, child = (
            t.plants[m["plant"][i]],
            str(num[m["parent"][i]]),
            str(num[m["child"][i]]),
        )
        yield (
            "ERP",
            plant,
            "mbom_line",
            f"{parent}|{child}",
            {
                "plant": plant,
                "parent": parent,
                "component": child,
                "component_revision": str(m["rev"][i]),
                "qty": float(m["qty"][i]),
                "operation": None,
            },
        )
    ops = t["ops"]
    op_parts = t["op_parts"]
    consumed: dict[int, list[str]] = {}
    for op, rows in _groups(op_parts["op"]):
        consumed[op] = [str(num[p]) for p in op_parts["part"][rows]]
    routing_codes = (
        np.unique(ops["routing"].astype(str), return_inverse=True)[1]
        if len(ops["routing"])
        else np.empty(0, np.int64)
    )
    for _code, rows in _groups(routing_codes):
        first = rows[0]
        plant, routing = t.plants[ops["plant"][first]], str(ops["routing"][first])
        yield (
            "MES",
            plant,
            "routing",
            routing,
            {
                "id": routing,
                "plant": plant,
                "part": str(num[ops["part"][first]]),
                "revision": 1,
                "operations": [
                    {
                        "op_no": int(ops["op_no"][o]),
                        "work_center": str(ops["work_center"][o]),
                        "description": str(ops["description"][o]),
                        "std_time_min": float(ops["std_time"][o]),
                        "parts": consumed.get(int(o), []),
                    }
                    for o in rows
                ],
            },
        )
    wis, wi_parts = t["wis"], t["wi_parts"]
    shown: dict[int, list[dict[str, str]]] = {}
    for wi, rows in _groups(wi_parts["wi"]):
        shown[wi] = [
            {"part": str(num[wi_parts["part"][r]]), "revision": str(wi_parts["rev"][r])}
            for r in rows
        ]
    for w in range(len(wis["id"])):
        op = int(wis["op"][w])
        plant = t.plants[wis["plant"][w]]
        yield (
            "MES",
            plant,
            "work_instruction",
            str(wis["id"][w]),
            {
                "id": str(wis["id"][w]),
                "plant": plant,
                "title": str(wis["title"][w]),
                "revision": int(wis["revision"][w]),
                "status": str(wis["status"][w]),
                "routing_id": str(ops["routing"][op]) if op >= 0 else "",
                "op_no": int(ops["op_no"][op]) if op >= 0 else 0,
                "parts": shown.get(w, []),
            },
        )
    q = t["quals"]
    for i in range(len(q["op"])):
        op, plant = int(q["op"][i]), t.plants[q["plant"][i]]
        routing, op_no = str(ops["routing"][op]), int(ops["op_no"][op])
        yield (
            "MES",
            plant,
            "qualification",
            f"{q['operator'][i]}|{routing}|{op_no}",
            {
                "operator": str(q["operator"][i]),
                "plant": plant,
                "routing_id": routing,
                "op_no": op_no,
            },
        )
    eq = t["equipment"]
    for i in range(len(eq["id"])):
        plant = t.plants[eq["plant"][i]]
        yield (
            "MES",
            plant,
            "equipment",
            str(eq["id"][i]),
            {
                "id": str(eq["id"][i]),
                "plant": plant,
                "work_center": str(eq["work_center"][i]),
                "name": str(eq["name"][i]),
            },
        )
    nc = t["nc"]
    for i in range(len(nc["id"])):
        plant, op = t.plants[nc["plant"][i]], int(nc["op"][i])
        yield (
            "MES",
            plant,
            "nc_program",
            str(nc["id"][i]),
            {
                "id": str(nc["id"][i]),
                "plant": plant,
                "equipment": str(eq["id"][nc["equipment"][i]]),
                "routing_id": str(ops["routing"][op]) if op >= 0 else "",
                "op_no": int(ops["op_no"][op]) if op >= 0 else 0,
                "part": str(num[nc["part"][i]]),
                "revision": str(nc["revision"][i]),
            },
        )
    plans, chars = t["plans"], t["chars"]
    plan_chars: dict[int, list[dict[str, Any]]] = {}
    for plan, rows in _groups(chars["plan"]):
        plan_chars[plan] = [
            {
                "id": str(chars["id"][r]),
                "name": str(chars["name"][r]),
                "key": bool(chars["key"][r]),
                "safety_critical": bool(chars["safety"][r]),
            }
            for r in rows
        ]
    for i in range(len(plans["id"])):
        plant = t.plants[plans["plant"][i]]
        yield (
            "QMS",
            plant,
            "inspection_plan",
            str(plans["id"][i]),
            {
                "id": str(plans["id"][i]),
                "plant": plant,
                "part": str(num[plans["part"][i]]),
                "part_revision": str(plans["part_rev"][i]),
                "revision": int(plans["revision"][i]),
                "characteristics": plan_chars.get(i, []),
            },
        )
    o = t["orders"]
    for i in range(len(o["id"])):
        plant = t.plants[o["plant"][i]]
        yield (
            "ERP",
            plant,
            "production_order",
            str(o["id"][i]),
            {
                "id": str(o["id"][i]),
                "plant": plant,
                "part": str(num[o["part"][i]]),
                "qty": int(o["qty"][i]),
                "due": str(o["due"][i]),
                "status": str(o["status"][i]),
                "critical": bool(o["critical"][i]),
            },
        )
    inv = t["inventory"]
    for i in range(len(inv["part"])):
        plant, part = t.plants[inv["plant"][i]], str(num[inv["part"][i]])
        yield (
            "ERP",
            plant,
            "inventory",
            f"{part}|{inv['rev'][i]}|{inv['location'][i]}",
            {
                "plant": plant,
                "part": part,
                "revision": str(inv["rev"][i]),
                "location": str(inv["location"][i]),
                "qty": float(inv["qty"][i]),
                "unit_cost": float(inv["cost"][i]),
            },
        )
    pur = t["purchases"]
    for i in range(len(pur["id"])):
        plant = t.plants[pur["plant"][i]]
        yield (
            "ERP",
            plant,
            "purchase_order",
            str(pur["id"][i]),
            {
                "id": str(pur["id"][i]),
                "plant": plant,
                "supplier": str(pur["supplier"][i]),
                "part": str(num[pur["part"][i]]),
                "revision": str(pur["rev"][i]),
                "qty": float(pur["qty"][i]),
                "due": str(pur["due"][i]),
            },
        )
