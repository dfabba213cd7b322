"""The part revision's rollout: the PLM release first; then per plant the ERP MBOM, supply
(purchase orders, stock disposition), the QMS inspection plans, then the MES work instructions."""

from __future__ import annotations

from domain.change.request import ChangeItem, ChangeRequest
from domain.impact.report import ImpactKind, ImpactReport
from domain.rollout.tasks import RolloutTask, TaskAction
from domain.thread.objects import System


def plan_part_revision(request: ChangeRequest, report: ImpactReport) -> list[RolloutTask]:
    """PLM release first; then per plant: ERP MBOM, then QMS plans, then MES work instructions."""
    tasks: list[RolloutTask] = []
    for item in request.part_items():
        release_id = f"PLM.release.{item.part}"
        tasks.append(
            RolloutTask(
                id=release_id,
                system=System.PLM,
                action=TaskAction.release_revision,
                target=item.part,
                params={"from_revision": item.from_revision, "to_revision": item.to_revision},
                summary=f"PLM: release {item.part} rev {item.to_revision}",
            )
        )
        for plant in report.plants:
            mbom_id = f"{plant}.ERP.mbom.{item.part}"
            tasks.append(
                RolloutTask(
                    id=mbom_id,
                    system=System.ERP,
                    plant=plant,
                    action=TaskAction.update_mbom,
                    target=item.part,
                    params={
                        "from_revision": item.from_revision,
                        "to_revision": item.to_revision,
                    },
                    depends_on=[release_id],
                    summary=f"ERP {plant}: MBOM {item.part} -> rev {item.to_revision}",
                )
            )
            tasks += _supply_tasks(item, plant, report, mbom_id)
            qms_ids = []
            for plan in report.of_kind(ImpactKind.inspection_plan, plant):
                if plan.item != item.part:
                    continue
                task_id = f"{plant}.QMS.plan.{plan.key}"
                qms_ids.append(task_id)
                tasks.append(
                    RolloutTask(
                        id=task_id,
                        system=System.QMS,
                        plant=plant,
                        action=TaskAction.revise_inspection_plan,
                        target=plan.key,
                        params={
                            "part": item.part,
                            "from_revision": item.from_revision,
                            "to_revision": item.to_revision,
                        },
                        depends_on=[mbom_id],
                        summary=f"QMS {plant}: inspection plan {plan.key} for "
                        f"{item.part} rev {item.to_revision}",
                    )
                )
            for wi in report.of_kind(ImpactKind.work_instruction, plant):
                if wi.item != item.part:
                    continue
                tasks.append(
                    RolloutTask(
                        id=f"{plant}.MES.wi.{wi.key}",
                        system=System.MES,
                        plant=plant,
                        action=TaskAction.publish_work_instruction,
                        target=wi.key,
                        params={
                            "part": item.part,
                            "from_revision": item.from_revision,
                            "to_revision": item.to_revision,
                        },
                        depends_on=qms_ids or [mbom_id],
                        summary=f"MES {plant}: publish work instruction {wi.key} for "
                        f"{item.part} rev {item.to_revision}",
                    )
                )
    return tasks


def _supply_tasks(
    item: ChangeItem, plant: str, report: ImpactReport, mbom_id: str
) -> list[RolloutTask]:
    """After the plant's MBOM: each open purchase order of the part changed to the new revision
    with its supplier, and the disposition of the old revision's stock recorded."""
    tasks = []
    for po in report.of_kind(ImpactKind.purchase_order, plant):
        if po.item != item.part:
            continue
        tasks.append(
            RolloutTask(
                id=f"{plant}.ERP.po.{po.key}",
                system=System.ERP,
                plant=plant,
                action=TaskAction.revise_purchase_order,
                target=po.key,
                params={
                    "part": item.part,
                    "from_revision": item.from_revision,
                    "to_revision": item.to_revision,
                    "note": po.disposition,
                },
                depends_on=[mbom_id],
                summary=f"ERP {plant}: purchase order {po.key} -> {item.part} rev "
                f"{item.to_revision}",
            )
        )
    for stock in report.of_kind(ImpactKind.inventory, plant):
        if stock.item != item.part:
            continue
        tasks.append(
            RolloutTask(
                id=f"{plant}.ERP.stock.{stock.key}",
                system=System.ERP,
                plant=plant,
                action=TaskAction.record_disposition,
                target="|".join(stock.key.split("/", 2)),
                params={"disposition": stock.disposition or "use up"},
                depends_on=[mbom_id],
                summary=f"ERP {plant}: stock {stock.key}: {stock.disposition or 'use up'}",
            )
        )
    return tasks
