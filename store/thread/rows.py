"""Connector documents (the domain models' JSON) as rows of the thread tables: a document
through its kind's row maker (store/thread/row_makers.py), a page of documents as staged rows
per table (page_rows), made where the page is fetched, and staged rows back as rows to write."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import Date
from sqlmodel import SQLModel

from store.thread.row_makers import ROW_MAKERS, Rows, as_date
from store.thread.schema import ThreadCharacteristic, ThreadOperationPart, ThreadWiPart

# composite documents: their child rows are replaced whole when the document changes
CHILDREN: dict[str, tuple[type[SQLModel], tuple[str, str]]] = {
    "routing": (ThreadOperationPart, ("plant", "routing")),
    "work_instruction": (ThreadWiPart, ("plant", "wi")),
    "inspection_plan": (ThreadCharacteristic, ("plant", "plan")),
}


class InvalidDocumentError(ValueError):
    """A fetched document cannot become thread rows (a field missing or of the wrong type):
    the sync is refused whole, naming the document."""


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
            row[names[i]] = as_date(row[names[i]])
        rows.append(row)
    return rows
