"""Plan builders, one per change type: from a change and its impact report to rollout tasks.
A type without a builder is assessed but not rolled out. Pure."""

from __future__ import annotations

from collections.abc import Callable

from domain.change.request import (
    ChangeRequest,
    ChangeType,
    EquipmentChange,
    OperationChange,
    SystemRelease,
)
from domain.impact.report import ImpactKind, ImpactReport
from domain.rollout.part_revision import plan_part_revision
from domain.rollout.tasks import RolloutTask, TaskAction
from domain.thread.objects import System

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


def plan_equipment_change(request: ChangeRequest, report: ImpactReport) -> list[RolloutTask]:
    """Per equipment: a safety review record, then its validation protocol (IQ/OQ/PQ) record,
    then each NC program on it released anew, then its master data (validated, in service),
    then a new revision of every work instruction for the operations it runs."""
    tasks: list[RolloutTask] = []
    for item in request.items:
        if isinstance(item, EquipmentChange):
            tasks += _equipment_tasks(item, request.title, report)
    return tasks


def _equipment_tasks(item: EquipmentChange, title: str, report: ImpactReport) -> list[RolloutTask]:
    key, plant, eq = f"{item.plant}/{item.equipment}", item.plant, item.equipment
    prefix = f"{plant}.MES.{eq}"
    tasks: list[RolloutTask] = []

    def add(
        suffix: str,
        action: TaskAction,
        target: str,
        summary: str,
        depends_on: list[str],
        **params: str,
    ) -> str:
        tasks.append(
            RolloutTask(
                id=f"{prefix}.{suffix}"
                if not suffix.startswith("wi.")
                else f"{plant}.MES.{suffix}",
                system=System.MES,
                plant=plant,
                action=action,
                target=target,
                params={"equipment": eq, **params},
                depends_on=depends_on,
                summary=f"MES {plant}: {summary}",
            )
        )
        return tasks[-1].id

    qualify = TaskAction.record_equipment_qualification
    safety = add("safety", qualify, eq, f"safety review of {eq}", [], kind="safety_review")
    validation = add(
        "validation",
        qualify,
        eq,
        f"IQ/OQ/PQ validation of {eq}",
        [safety],
        kind="validation",
        protocol=f"IQ/OQ/PQ {eq}: {title[:80]}",
    )
    programs = [
        add(
            f"nc.{nc.key}",
            TaskAction.release_nc_program,
            nc.key,
            f"release NC program {nc.key} on {eq}",
            [validation],
        )
        for nc in report.of_kind(ImpactKind.nc_program, plant)
        if nc.item == key
    ]
    master = add(
        "master",
        TaskAction.update_equipment_master,
        eq,
        f"{eq} master data: validated, in service",
        programs or [validation],
        status="in_service",
    )
    for wi in report.of_kind(ImpactKind.work_instruction, plant):
        if wi.item == key:
            add(
                f"wi.{wi.key}",
                TaskAction.reissue_work_instruction,
                wi.key,
                f"new revision of work instruction {wi.key} for {eq}",
                [master],
                reason=f"equipment {eq} changed",
            )
    return tasks


BUILDERS: dict[ChangeType, Builder] = {
    ChangeType.part_revision: plan_part_revision,
    ChangeType.process_change: plan_process_change,
    ChangeType.system_release: plan_system_release,
    ChangeType.equipment_change: plan_equipment_change,
}


def plan_rollout(request: ChangeRequest, report: ImpactReport) -> list[RolloutTask]:
    """The tasks of a change, by the builder of its type (empty: the type does not roll out)."""
    builder = BUILDERS.get(request.type)
    return builder(request, report) if builder else []
