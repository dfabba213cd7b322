"""Objects of the digital thread: what PLM, ERP, MES and QMS hold about a product and process."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class System(StrEnum):
    PLM = "PLM"
    ERP = "ERP"
    MES = "MES"
    QMS = "QMS"
    LMS = "LMS"


class Plant(BaseModel):
    code: str
    name: str
    country: str = ""


class PartRevision(BaseModel):
    revision: str
    status: str = "released"  # in_work | released | withdrawn | superseded
    change_id: str | None = None


class Part(BaseModel):
    number: str
    name: str
    kind: str = "component"  # end_item | assembly | component | fastener | raw
    revisions: list[PartRevision] = Field(default_factory=list)
    current_revision: str = "A"
    safety_critical: bool = False
    regulated: bool = False
    unit_cost: float = 0.0


class BomLine(BaseModel):
    """An engineering BOM line in PLM: `parent` uses `qty` of `child`."""

    parent: str
    child: str
    qty: float = 1.0
    find_no: int = 0


class MbomLine(BaseModel):
    """A plant's manufacturing BOM line in ERP, with the component revision it consumes."""

    plant: str
    parent: str
    component: str
    component_revision: str
    qty: float = 1.0
    operation: int | None = None


class Operation(BaseModel):
    op_no: int
    work_center: str
    description: str
    std_time_min: float = 0.0
    parts: list[str] = Field(default_factory=list, description="Parts consumed at this operation.")


class Routing(BaseModel):
    id: str
    plant: str
    part: str
    revision: int = 1
    operations: list[Operation] = Field(default_factory=list)


class PartRef(BaseModel):
    part: str
    revision: str


class WorkInstruction(BaseModel):
    id: str
    plant: str
    title: str
    revision: int = 1
    status: str = "released"  # draft | released | superseded
    routing_id: str
    op_no: int
    parts: list[PartRef] = Field(default_factory=list)


class Characteristic(BaseModel):
    id: str
    name: str
    key: bool = False
    safety_critical: bool = False


class InspectionPlan(BaseModel):
    id: str
    plant: str
    part: str
    part_revision: str
    revision: int = 1
    characteristics: list[Characteristic] = Field(default_factory=list)


class Equipment(BaseModel):
    id: str
    plant: str
    work_center: str
    name: str = ""


class NcProgram(BaseModel):
    """A machine program: runs on `equipment` at an operation to make `part`."""

    id: str
    plant: str
    equipment: str
    routing_id: str
    op_no: int
    part: str
    revision: str = "1"


class ProductionOrder(BaseModel):
    id: str
    plant: str
    part: str
    qty: int
    due: date
    status: str = "released"  # planned | released | in_process
    critical: bool = False


class InventoryRecord(BaseModel):
    plant: str
    part: str
    revision: str
    location: str
    qty: float
    unit_cost: float = 0.0


class PurchaseOrder(BaseModel):
    id: str
    plant: str
    supplier: str
    part: str
    revision: str
    qty: float
    due: date


class Qualification(BaseModel):
    operator: str
    plant: str
    routing_id: str
    op_no: int


class ThreadSnapshot(BaseModel):
    """Everything the systems of record hold that an assessment reads, in one model."""

    plants: list[Plant] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    ebom: list[BomLine] = Field(default_factory=list)
    mbom: list[MbomLine] = Field(default_factory=list)
    routings: list[Routing] = Field(default_factory=list)
    work_instructions: list[WorkInstruction] = Field(default_factory=list)
    inspection_plans: list[InspectionPlan] = Field(default_factory=list)
    equipment: list[Equipment] = Field(default_factory=list)
    nc_programs: list[NcProgram] = Field(default_factory=list)
    production_orders: list[ProductionOrder] = Field(default_factory=list)
    inventory: list[InventoryRecord] = Field(default_factory=list)
    purchase_orders: list[PurchaseOrder] = Field(default_factory=list)
    qualifications: list[Qualification] = Field(default_factory=list)
