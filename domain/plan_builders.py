"""Plan builders, one per change type: from a change and its impact report to rollout tasks.
A type without a builder is assessed but not rolled out. Pure."""

from __future__ import annotations

from collections.abc import Callable

from domain.change_request import ChangeRequest, ChangeType, OperationChange, SystemRelease
from domain.impact import ImpactKind, ImpactReport
from domain.rollout import RolloutTask, TaskAction, plan_part_revision
from domain.thread import System

Builder = Callable[[ChangeRequest, ImpactReport], list[RolloutTask]]


def plan_process_change(request: ChangeRequest, report: ImpactReport) -> list[RolloutTask]:
    """Per changed operation: the routing operation in MES (standard time, work center), then a
    new revision of every work instruction covering it, so operators work to the new process."""
    tasks: list[RolloutTask] = []
    for item in request.items:
        if not isinstance(item, OperationChange):
            continue
        key = f"{item.routing}/{item.op_no}"
        op_task = f"{item.plant}.MES.op.{item.routing}.{item.op_no}"
        params = {"routing": item.routing, "op_no": str(item.op_no)}
        changes = []
        if item.std_time_min is not None:
            params["std_time_min"] = f"{item.std_time_min:g}"
            changes.append(f"standard time {item.std_time_min:g} min")
        if item.work_center:
            params["work_center"] = item.work_center
            changes.append(f"work center {item.work_center}")
        tasks.append(
            RolloutTask(
                id=op_task,
                system=System.MES,
                plant=item.plant,
                action=TaskAction.update_routing_operation,
                target=key,
                params=params,
                summary=f"MES {item.plant}: {item.routing} op {item.op_no} -> "
                + (", ".join(changes) or "process change"),
            )
        )
        for wi in report.of_kind(ImpactKind.work_instruction, item.plant):
            if wi.item != key:
                continue
            tasks.append(
                RolloutTask(
                    id=f"{item.plant}.MES.wi.{wi.key}",
                    system=System.MES,
                    plant=item.plant,
                    action=TaskAction.reissue_work_instruction,
                    target=wi.key,
                    params={"reason": f"{item.routing} op {item.op_no}: {', '.join(changes)}"},
                    depends_on=[op_task],
                    summary=f"MES {item.plant}: new revision of work instruction {wi.key} "
                    f"for {item.routing} op {item.op_no}",
                )
            )
    return tasks


RELEASED_BY_CUTOVER = frozenset({"ERP", "MES", "QMS"})


def plan_system_release(request: ChangeRequest, report: ImpactReport) -> list[RolloutTask]:
    """Per plant and released system, one chain: a backup of the system as it is, the cutover
    to the new version, and a smoke check that reads the version back."""
    tasks: list[RolloutTask] = []
    for item in request.items:
        if not isinstance(item, SystemRelease) or item.system not in RELEASED_BY_CUTOVER:
            continue
        system = System(item.system)
        params = {"system": item.system, "version": item.version}
        for obj in report.of_kind(ImpactKind.system):
            if obj.item != f"{item.system} {item.version}" or obj.plant is None:
                continue
            plant = obj.plant
            prefix = f"{plant}.{item.system}"
            chain = [
                (f"{prefix}.backup.{item.version}", TaskAction.backup_system, "back up"),
                (f"{prefix}.cutover.{item.version}", TaskAction.cutover_system, "cut over to"),
                (f"{prefix}.smoke.{item.version}", TaskAction.smoke_check, "smoke check"),
            ]
            previous: list[str] = []
            for task_id, action, verb in chain:
                tasks.append(
                    RolloutTask(
                        id=task_id,
                        system=system,
                        plant=plant,
                        action=action,
                        target=f"{item.system}@{plant}",
                        params=params,
                        depends_on=previous,
                        summary=f"{item.system} {plant}: {verb} {item.version}",
                    )
                )
                previous = [task_id]
    return tasks


BUILDERS: dict[ChangeType, Builder] = {
    ChangeType.part_revision: plan_part_revision,
    ChangeType.process_change: plan_process_change,
    ChangeType.system_release: plan_system_release,
}
