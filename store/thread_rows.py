"""Connector documents (the domain models' JSON) as rows of the thread tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import SQLModel

from store.thread_schema import (
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

Rows = list[tuple[type[SQLModel], dict[str, Any]]]
# composite documents: their child rows are replaced whole when the document changes
CHILDREN: dict[str, tuple[type[SQLModel], tuple[str, str]]] = {
    "routing": (ThreadOperationPart, ("plant", "routing")),
    "work_instruction": (ThreadWiPart, ("plant", "wi")),
    "inspection_plan": (ThreadCharacteristic, ("plant", "plan")),
}


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def doc_rows(kind: str, d: dict[str, Any]) -> Rows:
    """The rows one document becomes."""
    if kind == "plant":
        return [(ThreadPlant, {"code": d["code"], "name": d.get("name", "")})]
    if kind == "part":
        revs = [r["revision"] for r in d.get("revisions", [])] or [d["current_revision"]]
        return [
            (
                ThreadPart,
                {
                    "number": d["number"],
                    "name": d.get("name", ""),
                    "kind": d.get("kind", "component"),
                    "revision": d["current_revision"],
                    "revisions": ",".join(revs),
                    "safety": bool(d.get("safety_critical")),
                    "regulated": bool(d.get("regulated")),
                    "cost": float(d.get("unit_cost", 0.0)),
                },
            )
        ]
    if kind == "ebom_line":
        return [
            (
                ThreadEbom,
                {"parent": d["parent"], "child": d["child"], "qty": float(d.get("qty", 1))},
            )
        ]
    if kind == "mbom_line":
        return [
            (
                ThreadMbom,
                {
                    "plant": d["plant"],
                    "parent": d["parent"],
                    "child": d["component"],
                    "rev": d["component_revision"],
                    "qty": float(d.get("qty", 1)),
                },
            )
        ]
    if kind == "routing":
        rows: Rows = []
        for op in d.get("operations", []):
            key = {"plant": d["plant"], "routing": d["id"], "op_no": int(op["op_no"])}
            rows.append(
                (
                    ThreadOperation,
                    {
                        **key,
                        "part": d["part"],
                        "work_center": op.get("work_center", ""),
                        "std_time": float(op.get("std_time_min", 0)),
                        "description": op.get("description", ""),
                    },
                )
            )
            rows += [
                (ThreadOperationPart, {**key, "part": p})
                for p in dict.fromkeys(op.get("parts", []))
            ]
        return rows
    if kind == "work_instruction":
        key = {"plant": d["plant"], "wi": d["id"]}
        refs = {r["part"]: r["revision"] for r in d.get("parts", [])}
        return [
            (
                ThreadWorkInstruction,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "routing": d.get("routing_id", ""),
                    "op_no": int(d.get("op_no", 0)),
                    "revision": int(d.get("revision", 1)),
                    "status": d.get("status", "released"),
                    "title": d.get("title", ""),
                },
            )
        ] + [(ThreadWiPart, {**key, "part": part, "rev": rev}) for part, rev in refs.items()]
    if kind == "inspection_plan":
        return [
            (
                ThreadInspectionPlan,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "part": d["part"],
                    "part_rev": d["part_revision"],
                    "revision": int(d.get("revision", 1)),
                },
            )
        ] + [
            (
                ThreadCharacteristic,
                {
                    "plant": d["plant"],
                    "plan": d["id"],
                    "id": c["id"],
                    "name": c.get("name", ""),
                    "key": bool(c.get("key")),
                    "safety": bool(c.get("safety_critical")),
                },
            )
            for c in d.get("characteristics", [])
        ]
    if kind == "equipment":
        return [
            (
                ThreadEquipment,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "work_center": d.get("work_center", ""),
                    "name": d.get("name", ""),
                },
            )
        ]
    if kind == "nc_program":
        return [
            (
                ThreadNcProgram,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "equipment": d["equipment"],
                    "routing": d.get("routing_id", ""),
                    "op_no": int(d.get("op_no", 0)),
                    "part": d["part"],
                    "revision": str(d.get("revision", "1")),
                },
            )
        ]
    if kind == "production_order":
        return [
            (
                ThreadProductionOrder,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "part": d["part"],
                    "qty": int(d.get("qty", 0)),
                    "due": _date(d["due"]),
                    "status": d.get("status", "released"),
                    "critical": bool(d.get("critical")),
                },
            )
        ]
    if kind == "inventory":
        return [
            (
                ThreadInventory,
                {
                    "plant": d["plant"],
                    "part": d["part"],
                    "rev": d["revision"],
                    "location": d["location"],
                    "qty": float(d.get("qty", 0)),
                    "cost": float(d.get("unit_cost", 0)),
                },
            )
        ]
    if kind == "purchase_order":
        return [
            (
                ThreadPurchaseOrder,
                {
                    "plant": d["plant"],
                    "id": d["id"],
                    "supplier": d.get("supplier", ""),
                    "part": d["part"],
                    "rev": d["revision"],
                    "qty": float(d.get("qty", 0)),
                    "due": _date(d["due"]),
                },
            )
        ]
    if kind == "qualification":
        return [
            (
                ThreadQualification,
                {
                    "plant": d["plant"],
                    "operator": d["operator"],
                    "routing": d["routing_id"],
                    "op_no": int(d["op_no"]),
                },
            )
        ]
    raise ValueError(f"unknown document kind {kind}")
