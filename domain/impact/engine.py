"""The impact engine: from the thread index, everything a change touches, per plant and system,
each object with the chain of links that explains why. Pure: no I/O.

Rules (each tested on small hand-made graphs in tests/unit/test_impact_engine.py):
- part revision: multi-level where-used to every end item. Interchangeable: first-level parents
  keep their revision; not interchangeable: every ancestor rolls its revision. Per plant using the
  part at the old revision: MBOM lines, operations consuming it, work instructions showing it or
  covering those operations, inspection plans and characteristics, NC programs making it, open
  production orders of it or any ancestor, stock at the old revision (value; use up or rework),
  open purchase orders at the old revision, operators qualified on the operations.
- operation change: the operation, its work instructions, NC programs, qualified operators, open
  orders of the routing's part, inspection plans of the parts it consumes.
- equipment change: the NC programs on the equipment, their operations, work instructions and
  operators, the parts they make with their inspection plans and open orders.
- system release: per plant, critical open production orders not to disturb and every qualified
  operator to train.
- FAI (AS9102): design change to a part with key characteristics; a new process; a new plant
  (equipment new to the plant).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from domain.change.errors import ChangeRejectedError
from domain.change.request import (
    ChangeItem,
    ChangeRequest,
    EquipmentChange,
    OperationChange,
    SystemRelease,
)
from domain.change.validation import PartFacts, validate_against_thread
from domain.impact.finders import SharedFinders
from domain.impact.process import ProcessImpacts, check_process_objects
from domain.impact.report import ImpactedObject, ImpactKind, ImpactReport
from domain.impact.risk import score_risk
from domain.thread.index import ThreadIndex
from domain.thread.objects import System

# each kind of change item, and the method of _Run that finds what it touches
HANDLERS: dict[type, str] = {
    ChangeItem: "part_revision",
    OperationChange: "operation",
    EquipmentChange: "equipment",
    SystemRelease: "release",
}


def part_facts(index: ThreadIndex, numbers: Iterable[str]) -> dict[str, PartFacts]:
    parts = index.t["parts"]
    facts = {}
    for number in numbers:
        pid = index.part(number)
        if pid is not None:
            facts[number] = PartFacts(
                number=number,
                current_revision=str(parts["revision"][pid]),
                revisions=str(parts["revisions"][pid]).split(",")
                if parts["revisions"][pid]
                else [str(parts["revision"][pid])],
            )
    return facts


def assess(change_id: str, request: ChangeRequest, index: ThreadIndex) -> ImpactReport:
    """The impact report of any change type; ChangeRejectedError names every bad object."""
    numbers = [i.part for i in request.items if isinstance(i, ChangeItem)]
    problems = validate_against_thread(request, part_facts(index, numbers), index.t.plants)
    problems += check_process_objects(request, index)
    if problems:
        raise ChangeRejectedError(problems)
    run = _Run(index, request)
    for item in request.items:
        getattr(run, HANDLERS[type(item)])(item)
    plants = sorted(run.plants)
    risk = score_risk(
        request,
        run.objects,
        plants,
        safety_critical=run.safety,
        regulated=run.regulated,
        fai_required=bool(run.fai),
    )
    return ImpactReport(
        change_id=change_id,
        items=request.items,
        plants=plants,
        objects=run.objects,
        risk=risk,
        fai_required=bool(run.fai),
        fai_reasons=run.fai,
    )


class _Run(ProcessImpacts, SharedFinders):
    """The objects found for one change, accumulated item by item."""

    def __init__(self, index: ThreadIndex, request: ChangeRequest) -> None:
        self.ix = index
        self.t = index.t
        self.request = request
        self.objects: list[ImpactedObject] = []
        self.plants: set[str] = set()
        self.fai: list[str] = []
        self.safety = False
        self.regulated = False
        self.numbers = self.t["parts"]["number"]

    def add(
        self,
        kind: ImpactKind,
        system: System,
        key: str,
        summary: str,
        path: list[str],
        *,
        plant: int | None = None,
        item: str,
        disposition: str = "",
        value: float = 0.0,
        flags: list[str] | None = None,
    ) -> None:
        self.objects.append(
            ImpactedObject(
                kind=kind,
                system=system,
                plant=None if plant is None else self.t.plants[plant],
                key=key,
                item=item,
                summary=summary,
                path=path,
                disposition=disposition,
                value=round(value, 2),
                flags=flags or [],
            )
        )

    def _scope(self, plant_ids: set[int]) -> set[int]:
        if self.request.plants is None:
            return plant_ids
        wanted = {self.ix.plant_id[p] for p in self.request.plants}
        return plant_ids & wanted

    # -- part revision ----------------------------------------------------------------------
    def part_revision(self, item: ChangeItem) -> None:
        ix, t, num = self.ix, self.t, self.numbers
        pid = ix.part_id[item.part]
        parts = t["parts"]
        self.safety |= bool(parts["safety"][pid])
        self.regulated |= bool(parts["regulated"][pid])
        head = f"part {item.part} rev {item.from_revision} -> {item.to_revision}"
        key = item.part
        self.add(
            ImpactKind.part,
            System.PLM,
            item.part,
            f"{parts['name'][pid]}: release revision {item.to_revision}",
            [head],
            item=key,
            disposition="release new revision",
        )
        used = ix.ebom.where_used(pid)
        for node, level in zip(used.ids.tolist(), used.levels.tolist(), strict=True):
            end = not ix.ebom.has_parent[node]
            if item.interchangeable:
                disposition = (
                    "no revision change (interchangeable)" if level == 1 else "informational"
                )
            else:
                disposition = "roll revision (non-interchangeable)"
            chain = used.path(node)
            self.regulated |= bool(parts["regulated"][node]) and not item.interchangeable
            self.add(
                ImpactKind.end_item if end else ImpactKind.parent_assembly,
                System.PLM,
                str(num[node]),
                f"{parts['name'][node]} (level {level})",
                [head] + [f"used in {num[p]} (EBOM)" for p in chain[1:]],
                item=key,
                disposition=disposition,
            )

        mbom = t["mbom"]
        rows = ix.mbom_by_child.rows(pid)
        old = rows[mbom["rev"][rows] == item.from_revision]
        using = self._scope({int(p) for p in mbom["plant"][old]})
        if self.request.plants is not None:
            missing = [
                p
                for p in self.request.plants
                if ix.plant_id[p] not in {int(x) for x in mbom["plant"][old]}
            ]
            if missing:
                raise ChangeRejectedError(
                    [
                        f"plants: plant {p} does not use part {item.part} rev {item.from_revision}"
                        for p in missing
                    ]
                )
        self.plants |= {t.plants[p] for p in using}
        for r in rows[np.isin(mbom["plant"][rows], list(using))].tolist():
            plant = int(mbom["plant"][r])
            parent = num[mbom["parent"][r]]
            self.add(
                ImpactKind.mbom_line,
                System.ERP,
                f"{parent}/{item.part}",
                f"MBOM {parent} consumes {mbom['qty'][r]:g} x {item.part} rev {mbom['rev'][r]}",
                [head, f"{t.plants[plant]} MBOM of {parent} lists {item.part}"],
                plant=plant,
                item=key,
                disposition=f"set component revision to {item.to_revision}",
            )

        op_rows, _ = ix.ops_by_part.rows_many(np.array([pid]))
        ops = t["ops"]
        op_ids = t["op_parts"]["op"][op_rows]
        op_ids = np.unique(op_ids[np.isin(ops["plant"][op_ids], list(using))])
        op_label = {int(o): f"{ops['routing'][o]} op {ops['op_no'][o]}" for o in op_ids}
        for o in op_ids.tolist():
            plant = int(ops["plant"][o])
            self.add(
                ImpactKind.operation,
                System.MES,
                f"{ops['routing'][o]}/{ops['op_no'][o]}",
                f"{ops['description'][o]} at {ops['work_center'][o]} ({ops['std_time'][o]:g} min)",
                [
                    head,
                    f"{t.plants[plant]} routing {ops['routing'][o]} op "
                    f"{ops['op_no'][o]} consumes {item.part}",
                ],
                plant=plant,
                item=key,
                disposition="review operation",
            )
        self._work_instructions(
            pid,
            item.part,
            op_ids,
            op_label,
            using,
            head,
            key,
            f"publish next revision for {item.part} rev {item.to_revision}",
        )
        self._plans_of(
            np.array([pid]),
            using,
            head,
            key,
            item.part,
            f"revise for {item.part} rev {item.to_revision}",
            fai_trigger=True,
            old_rev=item.from_revision,
        )
        self._nc_programs(
            ix.nc_by_part.rows(pid),
            using,
            head,
            key,
            f"{{program}} makes {item.part}",
            "revalidate for the new revision",
        )
        self._orders(
            np.concatenate([[pid], used.ids]).astype(np.int64), using, head, key, item.part
        )
        self._stock_and_purchases(pid, item, using, head, key)
        self._operators(op_ids, op_label, using, head, key)
