"""The impact engine: from the thread index, everything a change touches, per plant and system,
each object with the chain of links that explains why. Pure: no I/O.

Rules (each tested on small hand-made graphs in tests/test_impact_engine.py):
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

from domain.change_request import (
    ChangeItem,
    ChangeRequest,
    EffectivityType,
    EquipmentChange,
    OperationChange,
    SystemRelease,
)
from domain.change_validation import PartFacts, validate_against_thread
from domain.errors import ChangeRejectedError
from domain.impact import ImpactedObject, ImpactKind, ImpactReport
from domain.impact_process import OPEN_ORDER_STATUSES, ProcessImpacts, check_process_objects
from domain.risk import score_risk
from domain.thread import System
from domain.thread_index import ThreadIndex

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


class _Run(ProcessImpacts):
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

    # -- shared finders ----------------------------------------------------------------------
    def _work_instructions(
        self,
        pid: int | None,
        part: str | None,
        op_ids: np.ndarray,
        op_label: dict[int, str],
        using: set[int],
        head: str,
        key: str,
        disposition: str,
    ) -> None:
        t = self.t
        wis = t["wis"]
        shown: set[int] = set()
        if pid is not None:
            wp = self.ix.wi_parts_by_part.rows(pid)
            shown = {int(w) for w in t["wi_parts"]["wi"][wp]}
        by_op, _ = self.ix.wi_by_op.rows_many(op_ids)
        for w in sorted(shown | {int(x) for x in by_op}):
            plant = int(wis["plant"][w])
            if plant not in using:
                continue
            link = (
                f"work instruction {wis['id'][w]} shows {part}"
                if w in shown
                else f"work instruction {wis['id'][w]} covers "
                f"{op_label.get(int(wis['op'][w]), 'the operation')}"
            )
            self.add(
                ImpactKind.work_instruction,
                System.MES,
                str(wis["id"][w]),
                f"{wis['title'][w]} (rev {wis['revision'][w]}, {wis['status'][w]})",
                [head, link],
                plant=plant,
                item=key,
                disposition=disposition,
            )

    def _plans_of(
        self,
        part_ids: np.ndarray,
        using: set[int],
        head: str,
        key: str,
        label: str,
        disposition: str,
        *,
        fai_trigger: bool,
        old_rev: str | None = None,
    ) -> None:
        t = self.t
        plans, chars = t["plans"], t["chars"]
        rows, _ = self.ix.plans_by_part.rows_many(part_ids)
        for p in rows.tolist():
            plant = int(plans["plant"][p])
            if plant not in using:
                continue
            if old_rev is not None and plans["part_rev"][p] != old_rev:
                continue
            c = self.ix.chars_by_plan.rows(p)
            flags = []
            if np.any(chars["key"][c]):
                flags.append("key")
            if np.any(chars["safety"][c]):
                flags.append("safety_critical")
                self.safety = True
            part = self.numbers[plans["part"][p]]
            if fai_trigger and "key" in flags:
                self.fai.append(
                    f"{t.plants[plant]}: design change to part {part} with key characteristics"
                )
            self.add(
                ImpactKind.inspection_plan,
                System.QMS,
                str(plans["id"][p]),
                f"inspection plan rev {plans['revision'][p]}, {len(c)} characteristic(s)",
                [
                    head,
                    f"{t.plants[plant]} inspection plan {plans['id'][p]} inspects "
                    f"{part}" + ("" if part == label else f" ({label})"),
                ],
                plant=plant,
                item=key,
                disposition=disposition,
                flags=flags,
            )

    def _nc_programs(
        self, rows: np.ndarray, using: set[int], head: str, key: str, link: str, disposition: str
    ) -> None:
        nc = self.t["nc"]
        for r in rows.tolist():
            plant = int(nc["plant"][r])
            if plant not in using:
                continue
            self.add(
                ImpactKind.nc_program,
                System.MES,
                str(nc["id"][r]),
                f"NC program rev {nc['revision'][r]} on "
                f"{self.t['equipment']['id'][nc['equipment'][r]]} for "
                f"{self.numbers[nc['part'][r]]}",
                [head, link.format(program=f"NC program {nc['id'][r]}")],
                plant=plant,
                item=key,
                disposition=disposition,
            )

    def _orders(
        self, part_ids: np.ndarray, using: set[int], head: str, key: str, part: str
    ) -> None:
        t = self.t
        orders = t["orders"]
        rows, _ = self.ix.orders_by_part.rows_many(part_ids)
        for r in sorted(rows.tolist()):
            plant = int(orders["plant"][r])
            if plant not in using or orders["status"][r] not in OPEN_ORDER_STATUSES:
                continue
            built = self.numbers[orders["part"][r]]
            critical = bool(orders["critical"][r])
            link = (
                f"order {orders['id'][r]} builds {part}"
                if built == part
                else f"order {orders['id'][r]} builds {built}, which contains {part}"
            )
            self.add(
                ImpactKind.production_order,
                System.ERP,
                str(orders["id"][r]),
                f"{orders['qty'][r]} x {built} due {orders['due'][r]} ({orders['status'][r]})",
                [head, link],
                plant=plant,
                item=key,
                disposition="do not disturb: finish at current revision"
                if critical
                else "disposition at effectivity",
                flags=["critical"] if critical else [],
            )

    def _stock_and_purchases(
        self, pid: int, item: ChangeItem, using: set[int], head: str, key: str
    ) -> None:
        t = self.t
        inv, pur = t["inventory"], t["purchases"]
        use_up = self.request.effectivity.type == EffectivityType.use_up
        for r in self.ix.inventory_by_part.rows(pid).tolist():
            plant = int(inv["plant"][r])
            if plant not in using or inv["rev"][r] != item.from_revision:
                continue
            value = float(inv["qty"][r] * inv["cost"][r])
            self.add(
                ImpactKind.inventory,
                System.ERP,
                f"{item.part}/{inv['rev'][r]}/{inv['location'][r]}",
                f"{inv['qty'][r]:g} on hand at {inv['location'][r]}, value {value:,.2f}",
                [
                    head,
                    f"{t.plants[plant]} holds {item.part} rev {inv['rev'][r]} at "
                    f"{inv['location'][r]}",
                ],
                plant=plant,
                item=key,
                disposition="use up before effectivity" if use_up else "rework or scrap",
                value=value,
            )
        for r in self.ix.purchases_by_part.rows(pid).tolist():
            plant = int(pur["plant"][r])
            if plant not in using or pur["rev"][r] != item.from_revision:
                continue
            self.add(
                ImpactKind.purchase_order,
                System.ERP,
                str(pur["id"][r]),
                f"{pur['qty'][r]:g} x {item.part} rev {pur['rev'][r]} from "
                f"{pur['supplier'][r]} due {pur['due'][r]}",
                [
                    head,
                    f"{t.plants[plant]} purchase order {pur['id'][r]} buys {item.part} "
                    f"rev {pur['rev'][r]}",
                ],
                plant=plant,
                item=key,
                disposition=f"change to rev {item.to_revision} with {pur['supplier'][r]}",
            )

    def _operators(
        self, op_ids: np.ndarray, op_label: dict[int, str], using: set[int], head: str, key: str
    ) -> None:
        quals = self.t["quals"]
        rows, _ = self.ix.quals_by_op.rows_many(op_ids)
        for r in sorted(rows.tolist()):
            plant = int(quals["plant"][r])
            if plant not in using:
                continue
            op = int(quals["op"][r])
            operator = quals["operator"][r]
            label = op_label.get(op, f"op {op}")
            self.add(
                ImpactKind.operator,
                System.LMS,
                f"{operator}@{label.replace(' op ', '/')}",
                f"operator {operator} qualified on {label}",
                [
                    head,
                    f"{self.t.plants[plant]} {label}",
                    f"operator {operator} is qualified on it",
                ],
                plant=plant,
                item=key,
                disposition="retrain and acknowledge",
            )
