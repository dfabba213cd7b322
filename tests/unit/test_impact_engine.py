"""Each impact rule on a small hand-made factory, where the right answer is known by hand.

E1 (end) ─ A ─ B ─ P          plant PX builds E1; plant PY builds E2
  │        │   └ F            B's routing in PX: op 10 consumes P (machined on M1), op 20 F
  │        └ F                E2 (end) ─ C ─ Q
"""

from __future__ import annotations

import pytest

from domain.change.errors import ChangeRejectedError
from domain.change.request import ChangeRequest
from domain.impact.engine import assess
from domain.impact.report import ImpactKind, ImpactReport
from domain.thread.index import BomGraph, ThreadIndex
from domain.thread.objects import (
    Part,
    PartRevision,
)
from domain.thread.tables import from_snapshot
from tests.support.small_factory import factory

INDEX = ThreadIndex(from_snapshot(factory()))


def request(type_: str = "part_revision", items: list | None = None, **kw) -> ChangeRequest:
    items = items or [{"part": "P", "from_revision": "A", "to_revision": "B"}]
    return ChangeRequest.model_validate(
        {
            "title": "test change",
            "type": type_,
            "requested_by": "t",
            "reason": "r",
            "items": items,
            **kw,
        }
    )


def keys(report: ImpactReport, kind: ImpactKind, plant: str | None = "PX") -> set[str]:
    return {o.key for o in report.of_kind(kind) if plant is None or o.plant == plant}


def test_where_used_levels_paths_and_end_items() -> None:
    graph = INDEX.ebom
    used = graph.where_used(INDEX.part("P"))
    numbers = INDEX.t["parts"]["number"]
    found = {numbers[i]: int(level) for i, level in zip(used.ids, used.levels, strict=True)}
    assert found == {"B": 1, "A": 2, "E1": 3}
    assert [numbers[i] for i in used.path(INDEX.part("E1"))] == ["P", "B", "A", "E1"]
    shared = graph.where_used(INDEX.part("F"))
    assert {numbers[i]: int(lv) for i, lv in zip(shared.ids, shared.levels, strict=True)} == {
        "A": 1,
        "B": 1,
        "E1": 2,
    }


def test_part_revision_finds_every_object_with_reasons() -> None:
    report = assess("T1", request(), INDEX)
    assert report.plants == ["PX"]
    assert keys(report, ImpactKind.end_item, None) == {"E1"}
    assert keys(report, ImpactKind.parent_assembly, None) == {"A", "B"}
    assert keys(report, ImpactKind.mbom_line) == {"B/P"}
    assert keys(report, ImpactKind.operation) == {"R-B/10"}
    assert keys(report, ImpactKind.work_instruction) == {"W1", "W2"}  # shows P / covers op 10
    assert keys(report, ImpactKind.inspection_plan) == {"IP-P"}
    assert keys(report, ImpactKind.nc_program) == {"NC-P"}
    assert keys(report, ImpactKind.production_order) == {"O1", "O3"}  # O2 is closed
    assert keys(report, ImpactKind.inventory) == {"P/A/S1"}  # not the rev 0 stock
    assert keys(report, ImpactKind.purchase_order) == {"PO1"}
    assert keys(report, ImpactKind.operator) == {"u1@R-B/10", "u2@R-B/10"}
    assert not [o for o in report.objects if o.plant == "PY"]
    end = report.of_kind(ImpactKind.end_item)[0]
    assert end.path == [
        "part P rev A -> B",
        "used in B (EBOM)",
        "used in A (EBOM)",
        "used in E1 (EBOM)",
    ]
    o1 = next(o for o in report.objects if o.key == "O1")
    assert "critical" in o1.flags and o1.path[-1] == "order O1 builds E1, which contains P"
    stock = report.of_kind(ImpactKind.inventory)[0]
    assert stock.value == 25.0 and stock.disposition == "rework or scrap"
    assert report.fai_required and "key characteristics" in report.fai_reasons[0]


def test_interchangeability_rule() -> None:
    inter = assess("T2", request(), INDEX)
    dispositions = {
        o.key: o.disposition
        for o in inter.objects
        if o.kind in (ImpactKind.parent_assembly, ImpactKind.end_item)
    }
    assert dispositions == {
        "B": "no revision change (interchangeable)",
        "A": "informational",
        "E1": "informational",
    }
    rolled = assess(
        "T3",
        request(
            items=[
                {"part": "P", "from_revision": "A", "to_revision": "B", "interchangeable": False}
            ]
        ),
        INDEX,
    )
    assert {
        o.disposition
        for o in rolled.objects
        if o.kind in (ImpactKind.parent_assembly, ImpactKind.end_item)
    } == {"roll revision (non-interchangeable)"}
    regulated = next(f for f in rolled.risk.factors if f.name == "regulated_part")
    assert regulated.value == 1.0  # rolling E1, a regulated end item


def test_use_up_effectivity_marks_stock() -> None:
    report = assess("T4", request(effectivity={"type": "use_up"}), INDEX)
    assert report.of_kind(ImpactKind.inventory)[0].disposition == "use up before effectivity"


def test_operation_change() -> None:
    report = assess(
        "T5",
        request(
            "process_change",
            [
                {
                    "plant": "PX",
                    "routing": "R-B",
                    "op_no": 10,
                    "std_time_min": 2.0,
                    "new_process": True,
                }
            ],
        ),
        INDEX,
    )
    assert keys(report, ImpactKind.operation) == {"R-B/10"}
    assert keys(report, ImpactKind.work_instruction) == {"W1", "W2"}
    assert keys(report, ImpactKind.nc_program) == {"NC-P"}
    assert keys(report, ImpactKind.operator) == {"u1@R-B/10", "u2@R-B/10"}
    assert keys(report, ImpactKind.inspection_plan) == {"IP-B", "IP-P"}
    assert keys(report, ImpactKind.production_order) == set()  # O2 (of B) is closed
    assert report.fai_required and "new process" in report.fai_reasons[0]
    assert "standard time" in report.objects[0].path[0]
    assert any(f.name == "safety_critical" and f.value == 1 for f in report.risk.factors)


def test_equipment_change() -> None:
    report = assess(
        "T6",
        request("equipment_change", [{"plant": "PX", "equipment": "M1", "description": "new die"}]),
        INDEX,
    )
    assert keys(report, ImpactKind.nc_program) == {"NC-P"}
    assert keys(report, ImpactKind.operation) == {"R-B/10"}
    assert keys(report, ImpactKind.work_instruction) == {"W1", "W2"}
    assert keys(report, ImpactKind.inspection_plan) == {"IP-P"}
    assert keys(report, ImpactKind.production_order) == {"O3"}
    assert not report.fai_required


def test_system_release() -> None:
    report = assess("T7", request("system_release", [{"system": "MES", "version": "11.2"}]), INDEX)
    assert report.plants == ["PX", "PY"]
    assert keys(report, ImpactKind.system, None) == {"MES@PX", "MES@PY"}
    assert keys(report, ImpactKind.production_order, None) == {"O1", "O4"}
    assert keys(report, ImpactKind.operator, None) == {"u1@PX", "u2@PX", "u3@PX", "y1@PY"}


@pytest.mark.parametrize(
    ("type_", "items", "extra", "message"),
    [
        (
            "part_revision",
            [{"part": "NOPE", "from_revision": "A", "to_revision": "B"}],
            {},
            "part NOPE is not known to PLM",
        ),
        (
            "part_revision",
            [{"part": "P", "from_revision": "A", "to_revision": "A1"}],
            {},
            "not a revision label",
        ),
        (
            "part_revision",
            [{"part": "P", "from_revision": "B", "to_revision": "C"}],
            {},
            "part P is at revision A in PLM, not B",
        ),
        (
            "part_revision",
            [{"part": "P", "from_revision": "A", "to_revision": "B"}],
            {"plants": ["ZZ"]},
            "plant ZZ does not exist",
        ),
        (
            "part_revision",
            [{"part": "P", "from_revision": "A", "to_revision": "B"}],
            {"plants": ["PY"]},
            "plant PY does not use part P rev A",
        ),
        (
            "process_change",
            [{"plant": "PX", "routing": "R-B", "op_no": 99}],
            {},
            "PX has no operation 99 in routing R-B",
        ),
        ("equipment_change", [{"plant": "PX", "equipment": "M9"}], {}, "PX has no equipment M9"),
    ],
)
def test_bad_input_names_the_object(type_: str, items: list, extra: dict, message: str) -> None:
    with pytest.raises((ChangeRejectedError, ValueError), match=message):
        assess("T8", request(type_, items, **extra), INDEX)


def test_revision_that_exists_or_goes_backwards() -> None:
    snap = factory()
    snap.parts[5] = Part(
        number="P",
        name="P",
        current_revision="B",
        revisions=[PartRevision(revision="B"), PartRevision(revision="D")],
    )
    index = ThreadIndex(from_snapshot(snap))
    with pytest.raises(ChangeRejectedError, match="revision D of part P already exists"):
        assess(
            "T9", request(items=[{"part": "P", "from_revision": "B", "to_revision": "D"}]), index
        )
    with pytest.raises(ChangeRejectedError, match="goes backwards"):
        assess(
            "T9", request(items=[{"part": "P", "from_revision": "B", "to_revision": "C"}]), index
        )


def test_cycle_is_found() -> None:
    import numpy as np

    parent = np.array([0, 1, 2, 3]), np.array([1, 2, 0, 0])
    graph = BomGraph(parent=np.array([0, 1, 2]), child=np.array([1, 2, 0]), n=4)
    cycle = graph.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {0, 1, 2}
    assert BomGraph(parent=parent[0][:2], child=parent[1][:2], n=4).find_cycle() is None
    assert BomGraph(parent=np.array([3]), child=np.array([3]), n=4).find_cycle() == [3, 3]
