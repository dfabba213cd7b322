"""One small row maker per thread document kind (ROW_MAKERS): the rows of the thread tables that
one document of PLM, ERP, MES or QMS becomes. A new kind is one more maker here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlmodel import SQLModel

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

Rows = list[tuple[type[SQLModel], dict[str, Any]]]
RowMaker = Callable[[dict[str, Any]], Rows]
ROW_MAKERS: dict[str, RowMaker] = {}


def _maker(kind: str) -> Callable[[RowMaker], RowMaker]:
    def register(fn: RowMaker) -> RowMaker:
        ROW_MAKERS[kind] = fn
        return fn

    return register


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@_maker("plant")
def _plant(d: dict[str, Any]) -> Rows:
    return [(ThreadPlant, {"code": d["code"], "name": d.get("name", "")})]


@_maker("part")
def _part(d: dict[str, Any]) -> Rows:
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


@_maker("ebom_line")
def _ebom_line(d: dict[str, Any]) -> Rows:
    return [
        (
            ThreadEbom,
            {"parent": d["parent"], "child": d["child"], "qty": float(d.get("qty", 1))},
        )
    ]


@_maker("mbom_line")
def _mbom_line(d: dict[str, Any]) -> Rows:
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


@_maker("routing")
def _routing(d: dict[str, Any]) -> Rows:
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
            (ThreadOperationPart, {**key, "part": p}) for p in dict.fromkeys(op.get("parts", []))
        ]
    return rows


@_maker("work_instruction")
def _work_instruction(d: dict[str, Any]) -> Rows:
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


@_maker("inspection_plan")
def _inspection_plan(d: dict[str, Any]) -> Rows:
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


@_maker("equipment")
def _equipment(d: dict[str, Any]) -> Rows:
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


@_maker("nc_program")
def _nc_program(d: dict[str, Any]) -> Rows:
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


@_maker("production_order")
def _production_order(d: dict[str, Any]) -> Rows:
    return [
        (
            ThreadProductionOrder,
            {
                "plant": d["plant"],
                "id": d["id"],
                "part": d["part"],
                "qty": int(d.get("qty", 0)),
                "due": as_date(d["due"]),
                "status": d.get("status", "released"),
                "critical": bool(d.get("critical")),
            },
        )
    ]


@_maker("inventory")
def _inventory(d: dict[str, Any]) -> Rows:
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


@_maker("purchase_order")
def _purchase_order(d: dict[str, Any]) -> Rows:
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
                "due": as_date(d["due"]),
            },
        )
    ]


@_maker("qualification")
def _qualification(d: dict[str, Any]) -> Rows:
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
