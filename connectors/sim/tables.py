"""The simulator's SQLite tables: every system's objects as JSON documents, and the write ledger."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class SimObject(SQLModel, table=True):
    __tablename__ = "sim_object"

    system: str = Field(primary_key=True)
    plant: str = Field(primary_key=True, description="'' for central systems (PLM)")
    kind: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    data: str
    updated_at: datetime = Field(index=True)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "sim_ledger"

    seq: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, index=True)
    change_id: str = Field(index=True)
    system: str
    plant: str | None = None
    action: str
    target: str
    request_hash: str
    request: str
    status_code: int
    response: str
    applied_at: datetime
