"""The finders the impact engine's rules share: per plant, the work instructions, inspection
plans, NC programs, open orders, stock and purchases, and qualified operators that an affected
part or operation reaches, each added with the chain of links that explains why. Pure: no I/O."""

from __future__ import annotations

from typing import Any

import numpy as np

from domain.change.request import ChangeItem, ChangeRequest, EffectivityType
from domain.impact.process import OPEN_ORDER_STATUSES
from domain.impact.report import ImpactKind
from domain.thread.index import ThreadIndex
from domain.thread.objects import System


class SharedFinders:
    """Mixed into the engine's run (domain/impact_engine._Run), which provides `ix`, `t`,
    `numbers`, `request` and `add`."""

    ix: ThreadIndex
    t: Any
    numbers: Any
    request: ChangeRequest
    add: Any

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
