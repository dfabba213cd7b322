"""Connector documents (the domain models' JSON) as rows of the thread tables: one small row
maker per document kind (ROW_MAKERS), and a page of documents as staged rows per table
(page_rows), made where the page is fetched."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Date
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
# composite documents: their child rows are replaced whole when the document changes
CHILDREN: dict[str, tuple[type[SQLModel], tuple[str, str]]] = {
    "routing": (ThreadOperationPart, ("plant", "routing")),
    "work_instruction": (ThreadWiPart, ("plant", "wi")),
    "inspection_plan": (ThreadCharacteristic, ("plant", "plan")),
}
ROW_MAKERS: dict[str, RowMaker] = {}


class InvalidDocumentError(ValueError):
    """A fetched document cannot become thread rows (a field missing or of the wrong type):
    the sync is refused whole, naming the document."""


def _maker(kind: str) -> Callable[[RowMaker], RowMaker]:
    def register(fn: RowMaker) -> RowMaker:
        ROW_MAKERS[kind] = fn
        return fn

    return register


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def doc_rows(kind: str, d: dict[str, Any]) -> Rows:
    """The rows one document becomes."""
    maker = ROW_MAKERS.get(kind)
    if maker is None:
        raise ValueError(f"unknown document kind {kind}")
    return maker(d)


def checked_rows(kind: str, doc: Any) -> Rows:
    """doc_rows, with a clear refusal for a document that does not fit its kind."""
    try:
        return doc_rows(kind, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        name = next(
            (str(doc[k]) for k in ("id", "number", "code") if isinstance(doc, dict) and k in doc),
            str(doc)[:120],
        )
        plant = f" of plant {doc['plant']}" if isinstance(doc, dict) and doc.get("plant") else ""
        raise InvalidDocumentError(
            f"{kind} {name}{plant} is not a valid document: {type(exc).__name__} {exc}"
        ) from exc


@functools.cache
def columns(table: type[SQLModel]) -> list[str]:
    """A table's columns, in the order staged rows hold them."""
    return [c.name for c in table.__table__.columns]


@functools.cache
def _values_of(table: type[SQLModel]) -> Callable[[dict[str, Any]], tuple]:
    names = columns(table)
    getter = operator.itemgetter(*names)
    return getter if len(names) > 1 else lambda row: (getter(row),)


def page_rows(
    kind: str, docs: list[dict[str, Any]]
) -> tuple[dict[type[SQLModel], list[tuple]], list[tuple[str, str]]]:
    """A page of documents as rows per table (values in column order) and, for a composite
    kind, the keys of the documents whose child rows it replaces. InvalidDocumentError names
    the first document that does not fit its kind."""
    tables: dict[type[SQLModel], list[tuple]] = {}
    for doc in docs:
        for table, row in checked_rows(kind, doc):
            found = tables.get(table)
            if found is None:
                found = tables[table] = []
            found.append(_values_of(table)(row))
    parents = [(d["plant"], d["id"]) for d in docs] if kind in CHILDREN else []
    return tables, parents


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
                "due": _date(d["due"]),
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
                "due": _date(d["due"]),
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


@functools.cache
def _dates(table: type[SQLModel]) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(table.__table__.columns) if isinstance(c.type, Date))


def staged_dicts(table: type[SQLModel], staged: list[list[Any]]) -> list[dict[str, Any]]:
    """Staged rows (values in column order, as JSON keeps them) as rows to write."""
    names, dates = columns(table), _dates(table)
    rows = []
    for values in staged:
        row = dict(zip(names, values, strict=True))
        for i in dates:
            row[names[i]] = _date(row[names[i]])
        rows.append(row)
    return rows
