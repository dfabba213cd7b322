"""The impact report: every object a change touches, per plant and system, with the reason why."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.change.request import AnyItem
from domain.thread.objects import System


class ImpactKind(StrEnum):
    part = "part"
    parent_assembly = "parent_assembly"
    end_item = "end_item"
    mbom_line = "mbom_line"
    operation = "operation"
    work_instruction = "work_instruction"
    inspection_plan = "inspection_plan"
    production_order = "production_order"
    inventory = "inventory"
    purchase_order = "purchase_order"
    operator = "operator"
    nc_program = "nc_program"
    system = "system"


class ImpactedObject(BaseModel):
    kind: ImpactKind
    system: System
    plant: str | None = None
    key: str
    item: str = Field(default="", description="The changed part this object is impacted through.")
    summary: str
    path: list[str] = Field(description="The chain of links that explains why it is impacted.")
    disposition: str = ""
    value: float = 0.0
    flags: list[str] = Field(default_factory=list)


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class RiskFactor(BaseModel):
    name: str
    weight: float
    value: float = Field(description="How strongly the factor applies, 0..1.")
    contribution: float
    explanation: str


class RiskAssessment(BaseModel):
    score: float
    level: RiskLevel
    factors: list[RiskFactor] = Field(default_factory=list)


class ImpactReport(BaseModel):
    change_id: str
    items: list[AnyItem]
    plants: list[str]
    objects: list[ImpactedObject]
    risk: RiskAssessment
    fai_required: bool = False
    fai_reasons: list[str] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many impacted objects of each kind."""
        return dict(sorted(Counter(obj.kind.value for obj in self.objects).items()))

    def of_kind(self, kind: ImpactKind, plant: str | None = None) -> list[ImpactedObject]:
        return [o for o in self.objects if o.kind == kind and (plant is None or o.plant == plant)]


class ImpactSummary(BaseModel):
    """What the workflow keeps of an impact report: the id of the stored report, counts, risk."""

    report_id: str
    plants: list[str]
    counts: dict[str, int]
    risk_score: float
    risk_level: RiskLevel
    fai_required: bool = False
    end_items: list[str] = Field(default_factory=list)
    thread_version: int | None = Field(default=None, description="The thread assessed against.")
