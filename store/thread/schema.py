"""The digital thread's tables: every object of PLM, ERP, MES and QMS by its business key, plus
the staging area of sync runs and the thread's version."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class ThreadPlant(SQLModel, table=True):
    __tablename__ = "thread_plant"
    code: str = Field(primary_key=True)
    name: str = ""


class ThreadPart(SQLModel, table=True):
    __tablename__ = "thread_part"
    number: str = Field(primary_key=True)
    name: str = ""
    kind: str = "component"
    revision: str
    revisions: str = Field(description="Every revision, comma separated, oldest first.")
    safety: bool = False
    regulated: bool = False
    cost: float = 0.0


class ThreadEbom(SQLModel, table=True):
    __tablename__ = "thread_ebom"
    parent: str = Field(primary_key=True)
    child: str = Field(primary_key=True, index=True)
    qty: float = 1.0


class ThreadMbom(SQLModel, table=True):
    __tablename__ = "thread_mbom"
    plant: str = Field(primary_key=True)
    parent: str = Field(primary_key=True)
    child: str = Field(primary_key=True, index=True)
    rev: str
    qty: float = 1.0


class ThreadOperation(SQLModel, table=True):
    __tablename__ = "thread_operation"
    plant: str = Field(primary_key=True)
    routing: str = Field(primary_key=True)
    op_no: int = Field(primary_key=True)
    part: str = Field(index=True)
    work_center: str = ""
    std_time: float = 0.0
    description: str = ""


class ThreadOperationPart(SQLModel, table=True):
    __tablename__ = "thread_operation_part"
    plant: str = Field(primary_key=True)
    routing: str = Field(primary_key=True)
    op_no: int = Field(primary_key=True)
    part: str = Field(primary_key=True, index=True)


class ThreadWorkInstruction(SQLModel, table=True):
    __tablename__ = "thread_work_instruction"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    routing: str = ""
    op_no: int = 0
    revision: int = 1
    status: str = "released"
    title: str = ""


class ThreadWiPart(SQLModel, table=True):
    __tablename__ = "thread_wi_part"
    plant: str = Field(primary_key=True)
    wi: str = Field(primary_key=True)
    part: str = Field(primary_key=True, index=True)
    rev: str


class ThreadInspectionPlan(SQLModel, table=True):
    __tablename__ = "thread_inspection_plan"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    part: str = Field(index=True)
    part_rev: str
    revision: int = 1


class ThreadCharacteristic(SQLModel, table=True):
    __tablename__ = "thread_characteristic"
    plant: str = Field(primary_key=True)
    plan: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str = ""
    key: bool = False
    safety: bool = False


class ThreadEquipment(SQLModel, table=True):
    __tablename__ = "thread_equipment"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    work_center: str = ""
    name: str = ""


class ThreadNcProgram(SQLModel, table=True):
    __tablename__ = "thread_nc_program"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    equipment: str
    routing: str = ""
    op_no: int = 0
    part: str = Field(index=True)
    revision: str = "1"


class ThreadProductionOrder(SQLModel, table=True):
    __tablename__ = "thread_production_order"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    part: str = Field(index=True)
    qty: int = 0
    due: date
    status: str = "released"
    critical: bool = False


class ThreadInventory(SQLModel, table=True):
    __tablename__ = "thread_inventory"
    plant: str = Field(primary_key=True)
    part: str = Field(primary_key=True, index=True)
    rev: str = Field(primary_key=True)
    location: str = Field(primary_key=True)
    qty: float = 0.0
    cost: float = 0.0


class ThreadPurchaseOrder(SQLModel, table=True):
    __tablename__ = "thread_purchase_order"
    plant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    supplier: str = ""
    part: str = Field(index=True)
    rev: str
    qty: float = 0.0
    due: date


class ThreadQualification(SQLModel, table=True):
    __tablename__ = "thread_qualification"
    plant: str = Field(primary_key=True)
    operator: str = Field(primary_key=True)
    routing: str = Field(primary_key=True)
    op_no: int = Field(primary_key=True)


class ThreadStage(SQLModel, table=True):
    """Documents fetched by a sync run, waiting for the run's commit."""

    __tablename__ = "thread_stage"
    id: int | None = Field(default=None, primary_key=True)
    sync_id: str = Field(index=True)
    kind: str
    plant: str = ""
    doc: str = Field(sa_column=Column(Text, nullable=False))


class ThreadSyncRun(SQLModel, table=True):
    __tablename__ = "thread_sync_run"
    sync_id: str = Field(primary_key=True)
    mode: str
    status: str = "running"  # running | committed | failed
    started_at: datetime
    finished_at: datetime | None = None
    version: int | None = None
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))


class ThreadState(SQLModel, table=True):
    """One row: the thread's version (bumped by every commit that brought something) and the
    incremental watermark."""

    __tablename__ = "thread_state"
    id: int = Field(default=1, primary_key=True)
    version: int = 0
    watermark: datetime | None = None
    full_synced_at: datetime | None = None


# kind of connector document -> the table its rows go to (children listed separately)
LIVE_TABLES = [
    ThreadPlant,
    ThreadPart,
    ThreadEbom,
    ThreadMbom,
    ThreadOperation,
    ThreadOperationPart,
    ThreadWorkInstruction,
    ThreadWiPart,
    ThreadInspectionPlan,
    ThreadCharacteristic,
    ThreadEquipment,
    ThreadNcProgram,
    ThreadProductionOrder,
    ThreadInventory,
    ThreadPurchaseOrder,
    ThreadQualification,
]
