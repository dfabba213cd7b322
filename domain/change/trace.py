"""Traceability (AS9100 8.5.2): which change, part revisions and document revisions each unit
built was built under. A change's cut-in in a plant is when its last write there landed; a unit
completed after the cut-in of a change to one of its components was built under that change,
and should carry the new revision. Pure."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class UnitPart(BaseModel):
    part: str
    revision: str


class UnitDocument(BaseModel):
    kind: str  # work_instruction | routing
    id: str
    revision: int | str


class BuiltUnit(BaseModel):
    """A unit completed in a plant, as its MES reports it."""

    serial: str
    part: str
    plant: str
    completed_at: datetime
    components: list[UnitPart] = Field(default_factory=list)
    documents: list[UnitDocument] = Field(default_factory=list)


class CutIn(BaseModel):
    change_id: str
    plant: str
    part: str
    from_revision: str
    to_revision: str
    at: datetime
    deviation: bool = Field(default=False, description="The change completed with deviations.")


class ComponentTrace(BaseModel):
    part: str
    built_with: str
    change_id: str | None = Field(description="The change in force for this part then.")
    expected: str | None = Field(description="The revision that change put in force.")
    consistent: bool
    deviation: bool = False


class UnitTrace(BaseModel):
    unit: BuiltUnit
    components: list[ComponentTrace]
    under_deviation: bool


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None) if at.tzinfo else at


def in_force(cut_ins: list[CutIn], plant: str, part: str, at: datetime) -> CutIn | None:
    """The last change to `part` in `plant` cut in at or before `at`."""
    found = [
        c for c in cut_ins if c.plant == plant and c.part == part and _naive(c.at) <= _naive(at)
    ]
    return max(found, key=lambda c: _naive(c.at)) if found else None


def trace_unit(unit: BuiltUnit, cut_ins: list[CutIn]) -> UnitTrace:
    rows = []
    for component in unit.components:
        change = in_force(cut_ins, unit.plant, component.part, unit.completed_at)
        rows.append(
            ComponentTrace(
                part=component.part,
                built_with=component.revision,
                change_id=change.change_id if change else None,
                expected=change.to_revision if change else None,
                consistent=change is None or component.revision == change.to_revision,
                deviation=bool(change and change.deviation),
            )
        )
    return UnitTrace(unit=unit, components=rows, under_deviation=any(r.deviation for r in rows))


class CutInUnits(BaseModel):
    cut_in: CutIn
    before: list[UnitTrace]
    after: list[UnitTrace]


def units_around(cut_in: CutIn, units: list[BuiltUnit], cut_ins: list[CutIn]) -> CutInUnits:
    """The units of the cut-in's plant holding its part, built before and after it."""
    relevant = [
        u
        for u in units
        if u.plant == cut_in.plant and any(c.part == cut_in.part for c in u.components)
    ]
    at = _naive(cut_in.at)
    return CutInUnits(
        cut_in=cut_in,
        before=[trace_unit(u, cut_ins) for u in relevant if _naive(u.completed_at) < at],
        after=[trace_unit(u, cut_ins) for u in relevant if _naive(u.completed_at) >= at],
    )
