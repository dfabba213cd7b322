"""What process, equipment and system-release changes touch (the impact engine's rules for them,
see domain/impact/engine.py), and the checks of the objects they name. Pure: no I/O."""

from __future__ import annotations

from typing import Any

import numpy as np

from domain.change.request import ChangeRequest, EquipmentChange, OperationChange, SystemRelease
from domain.impact.report import ImpactKind
from domain.thread.index import ThreadIndex
from domain.thread.objects import System

OPEN_ORDER_STATUSES = frozenset({"planned", "released", "in_process"})


def check_process_objects(request: ChangeRequest, index: ThreadIndex) -> list[str]:
    problems = []
    t = index.t
    for n, item in enumerate(request.items):
        where = f"items.{n}"
        if isinstance(item, OperationChange | EquipmentChange) and (
            item.plant not in index.plant_id
        ):
            problems.append(f"{where}.plant: plant {item.plant} does not exist")
            continue
        if isinstance(item, OperationChange) and _op_row(index, item) is None:
            problems.append(
                f"{where}: {item.plant} has no operation {item.op_no} in routing {item.routing}"
            )
        if isinstance(item, EquipmentChange) and not item.new_equipment:
            plant = index.plant_id[item.plant]
            eq = t["equipment"]
            if not np.any((eq["id"] == item.equipment) & (eq["plant"] == plant)):
                problems.append(
                    f"{where}.equipment: {item.plant} has no equipment "
                    f"{item.equipment} (set new_equipment for new equipment)"
                )
    return problems


def _op_row(index: ThreadIndex, item: OperationChange) -> int | None:
    ops = index.t["ops"]
    hits = np.flatnonzero(
        (ops["routing"] == item.routing)
        & (ops["op_no"] == item.op_no)
        & (ops["plant"] == index.plant_id[item.plant])
    )
    return int(hits[0]) if hits.size else None


class ProcessImpacts:
    """The process, equipment and release rules of the engine's run (domain/impact_engine._Run
    provides `ix`, `t`, `numbers`, `fai` and `add`; the per-plant finders they share are in
    domain/impact/finders.py)."""

    ix: ThreadIndex
    t: Any
    numbers: Any
    fai: list[str]
    add: Any

    # -- operation change --------------------------------------------------------------------
    def operation(self, item: OperationChange) -> None:
        ix, t = self.ix, self.t
        o = _op_row(ix, item)
        assert o is not None  # checked before
        ops = t["ops"]
        plant = ix.plant_id[item.plant]
        using = {plant}
        self.plants.add(item.plant)
        what = []
        if item.std_time_min is not None:
            what.append(f"standard time {ops['std_time'][o]:g} -> {item.std_time_min:g} min")
        if item.work_center:
            what.append(f"work center {ops['work_center'][o]} -> {item.work_center}")
        head = f"operation {item.routing} op {item.op_no} in {item.plant}: " + (
            ", ".join(what) or item.description or "process change"
        )
        key = f"{item.routing}/{item.op_no}"
        label = {o: f"{item.routing} op {item.op_no}"}
        self.add(
            ImpactKind.operation,
            System.MES,
            key,
            f"{ops['description'][o]} at {ops['work_center'][o]}",
            [head],
            plant=plant,
            item=key,
            disposition="update routing operation",
        )
        op_ids = np.array([o])
        self._work_instructions(
            None, None, op_ids, label, using, head, key, "publish next revision for the new process"
        )
        nc_rows = np.flatnonzero(t["nc"]["op"] == o)
        self._nc_programs(
            nc_rows, using, head, key, "{program} runs at this operation", "revalidate"
        )
        consumed = t["op_parts"]["part"][t["op_parts"]["op"] == o]
        routing_part = int(ops["part"][o])
        self._plans_of(
            np.concatenate([[routing_part], consumed]).astype(np.int64),
            using,
            head,
            key,
            str(self.numbers[routing_part]),
            "review inspection for the changed process",
            fai_trigger=False,
        )
        self._orders(np.array([routing_part]), using, head, key, str(self.numbers[routing_part]))
        self._operators(op_ids, label, using, head, key)
        if item.new_process:
            self.fai.append(f"{item.plant}: new process at {item.routing} op {item.op_no}")

    # -- equipment change --------------------------------------------------------------------
    def equipment(self, item: EquipmentChange) -> None:
        ix, t = self.ix, self.t
        plant = ix.plant_id[item.plant]
        using = {plant}
        self.plants.add(item.plant)
        head = f"equipment {item.equipment} in {item.plant}: " + (
            item.description or ("new equipment" if item.new_equipment else "change")
        )
        key = f"{item.plant}/{item.equipment}"
        eq = t["equipment"]
        hits = np.flatnonzero((eq["id"] == item.equipment) & (eq["plant"] == plant))
        nc_rows = ix.nc_by_equipment.rows(int(hits[0])) if hits.size else np.empty(0, np.int64)
        self._nc_programs(
            nc_rows,
            using,
            head,
            key,
            "{program} runs on this equipment",
            "revalidate on the changed equipment",
        )
        nc = t["nc"]
        op_ids = np.unique(nc["op"][nc_rows])
        op_ids = op_ids[op_ids >= 0]
        ops = t["ops"]
        label = {int(o): f"{ops['routing'][o]} op {ops['op_no'][o]}" for o in op_ids}
        for o in op_ids.tolist():
            self.add(
                ImpactKind.operation,
                System.MES,
                f"{ops['routing'][o]}/{ops['op_no'][o]}",
                f"{ops['description'][o]} at {ops['work_center'][o]}",
                [head, f"{label[o]} runs on {item.equipment}"],
                plant=plant,
                item=key,
                disposition="review operation",
            )
        self._work_instructions(
            None,
            None,
            op_ids,
            label,
            using,
            head,
            key,
            "publish next revision for the changed equipment",
        )
        made = np.unique(nc["part"][nc_rows]).astype(np.int64)
        self._plans_of(
            made,
            using,
            head,
            key,
            "made on this equipment",
            "revalidate inspection",
            fai_trigger=False,
        )
        for p in made.tolist():
            self._orders(np.array([p]), using, head, key, str(self.numbers[p]))
        self._operators(op_ids, label, using, head, key)
        if item.new_equipment and made.size:
            self.fai.append(
                f"{item.plant}: new equipment {item.equipment} makes "
                f"{', '.join(str(self.numbers[p]) for p in made[:5])}"
            )

    # -- system release ----------------------------------------------------------------------
    def release(self, item: SystemRelease) -> None:
        t = self.t
        plants = self.request.plants or t.plants
        head = f"{item.system} release {item.version}"
        key = f"{item.system} {item.version}"
        orders, quals = t["orders"], t["quals"]
        for code in plants:
            plant = self.ix.plant_id[code]
            self.plants.add(code)
            self.add(
                ImpactKind.system,
                System(item.system),
                f"{item.system}@{code}",
                f"{item.system} of {code} -> {item.version}",
                [head],
                plant=plant,
                item=key,
                disposition="release in a planned window",
            )
            critical = np.flatnonzero(
                (orders["plant"] == plant)
                & orders["critical"]
                & np.isin(orders["status"], list(OPEN_ORDER_STATUSES))
            )
            for r in critical.tolist():
                self.add(
                    ImpactKind.production_order,
                    System.ERP,
                    str(orders["id"][r]),
                    f"{orders['qty'][r]} x {self.numbers[orders['part'][r]]} due "
                    f"{orders['due'][r]} ({orders['status'][r]})",
                    [head, f"{code} runs critical order {orders['id'][r]}"],
                    plant=plant,
                    item=key,
                    disposition="do not disturb: release outside its run",
                    flags=["critical"],
                )
            for operator in sorted(set(quals["operator"][quals["plant"] == plant].tolist())):
                self.add(
                    ImpactKind.operator,
                    System.LMS,
                    f"{operator}@{code}",
                    f"operator {operator} in {code}",
                    [head, f"{operator} works with {item.system} in {code}"],
                    plant=plant,
                    item=key,
                    disposition="train on the new release",
                )
