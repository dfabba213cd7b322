"""Rollout activities: apply, compensate and verify one task in one system of one plant.

Each write carries the business idempotency key (change id + task id) and reads current state
first: a write already in place is not repeated, and an unexpected state is a clear rejection.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from activities.failures import REJECTED, connector_failure
from activities.heartbeat import heartbeating
from connectors.errors import ConnectorError
from domain.messages import TaskInput, TaskResult, VerifyResult
from domain.rollout import RolloutTask, TaskAction, idempotency_key
from infra.logs import get_logger


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type=REJECTED, non_retryable=True)


class RolloutActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="apply_task")
    async def apply_task(self, inp: TaskInput) -> TaskResult:
        task = inp.task
        key = idempotency_key(inp.change_id, task.id)
        log = get_logger(change_id=inp.change_id, task_id=task.id, key=key)
        try:
            async with heartbeating():
                result = await self._apply(inp.change_id, task, key)
        except ConnectorError as exc:
            log.warning("task write failed", error=str(exc))
            raise connector_failure(exc) from exc
        log.info("task applied", replayed=result.replayed, detail=result.detail)
        return result

    async def _apply(self, change_id: str, task: RolloutTask, key: str) -> TaskResult:
        c = self.deps.connectors
        p = task.params
        if task.action == TaskAction.release_revision:
            part = await c.plm().get_part(task.target)
            if part.current_revision not in (p["from_revision"], p["to_revision"]):
                raise _reject(
                    f"PLM: part {task.target} is at revision {part.current_revision}, "
                    f"expected {p['from_revision']}"
                )
            res = await c.plm().release_revision(
                task.target,
                p["to_revision"],
                p["from_revision"],
                idempotency_key=key,
                change_id=change_id,
            )
            return TaskResult(
                task_id=task.id,
                replayed=res.get("replayed", False),
                before={"revision": p["from_revision"]},
                detail=f"{task.target} current revision {res['current_revision']}",
            )
        if task.action == TaskAction.update_mbom:
            erp = c.erp(task.plant or "")
            revisions = await erp.component_revisions(task.target)
            if not revisions:
                raise _reject(f"ERP {task.plant}: no MBOM line consumes {task.target}")
            res = await erp.set_component_revision(
                task.target,
                p["from_revision"],
                p["to_revision"],
                idempotency_key=key,
                change_id=change_id,
            )
            return TaskResult(
                task_id=task.id,
                replayed=res.get("replayed", False),
                before={"revision": p["from_revision"]},
                detail=f"{res['lines_updated']} MBOM line(s) of "
                f"{', '.join(res['parents'])} now use rev {res['revision']}",
            )
        if task.action == TaskAction.revise_inspection_plan:
            qms = c.qms(task.plant or "")
            plan = await qms.get_inspection_plan(task.target)
            res = await qms.revise_inspection_plan(
                task.target, p["part"], p["to_revision"], idempotency_key=key, change_id=change_id
            )
            return TaskResult(
                task_id=task.id,
                replayed=res.get("replayed", False),
                before={
                    "revision": str(res["previous_revision"]),
                    "part_revision": _previous_part_revision(plan.part_revision, p, res),
                },
                detail=f"plan {task.target} rev {res['revision']} inspects "
                f"{p['part']} rev {p['to_revision']}",
            )
        if task.action == TaskAction.publish_work_instruction:
            mes = c.mes(task.plant or "")
            wi = await mes.get_work_instruction(task.target)
            shown = [ref.revision for ref in wi.parts if ref.part == p["part"]]
            if not shown:
                raise _reject(
                    f"MES {task.plant}: work instruction {task.target} does not show {p['part']}"
                )
            res = await mes.publish_work_instruction(
                task.target, p["part"], p["to_revision"], idempotency_key=key, change_id=change_id
            )
            return TaskResult(
                task_id=task.id,
                replayed=res.get("replayed", False),
                before={
                    "revision": str(res["previous_revision"]),
                    "part_revision": _previous_part_revision(shown[0], p, res),
                },
                detail=f"work instruction {task.target} rev {res['revision']} "
                f"released for {p['part']} rev {p['to_revision']}",
            )
        raise _reject(f"unknown task action {task.action}")

    @activity.defn(name="compensate_task")
    async def compensate_task(self, inp: TaskInput) -> TaskResult:
        """Undo a done task: the inverse write, with its own idempotency key."""
        async with heartbeating():
            return await self._compensate(inp)

    async def _compensate(self, inp: TaskInput) -> TaskResult:
        task = inp.task
        key = idempotency_key(inp.change_id, task.id, "compensate")
        c = self.deps.connectors
        p, before = task.params, task.before
        try:
            if task.action == TaskAction.release_revision:
                res = await c.plm().withdraw_revision(
                    task.target,
                    p["to_revision"],
                    before.get("revision", p["from_revision"]),
                    idempotency_key=key,
                    change_id=inp.change_id,
                )
            elif task.action == TaskAction.update_mbom:
                erp = c.erp(task.plant or "")
                revisions = await erp.component_revisions(task.target)
                if p["to_revision"] not in revisions.values():
                    return TaskResult(task_id=task.id, detail="nothing to undo")
                res = await erp.set_component_revision(
                    task.target,
                    p["to_revision"],
                    p["from_revision"],
                    idempotency_key=key,
                    change_id=inp.change_id,
                )
            elif task.action == TaskAction.revise_inspection_plan:
                res = await c.qms(task.plant or "").restore_inspection_plan(
                    task.target,
                    int(before["revision"]),
                    p["part"],
                    before["part_revision"],
                    idempotency_key=key,
                    change_id=inp.change_id,
                )
            elif task.action == TaskAction.publish_work_instruction:
                res = await c.mes(task.plant or "").restore_work_instruction(
                    task.target,
                    int(before["revision"]),
                    p["part"],
                    before["part_revision"],
                    idempotency_key=key,
                    change_id=inp.change_id,
                )
            else:
                raise _reject(f"unknown task action {task.action}")
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
        get_logger(change_id=inp.change_id, task_id=task.id).info("task compensated")
        return TaskResult(
            task_id=task.id, replayed=res.get("replayed", False), detail=f"undone: {task.summary}"
        )

    @activity.defn(name="verify_task")
    async def verify_task(self, inp: TaskInput) -> VerifyResult:
        """Read the system back and compare it with what the task should have left there."""
        async with heartbeating():
            return await self._verify(inp)

    async def _verify(self, inp: TaskInput) -> VerifyResult:
        task = inp.task
        c = self.deps.connectors
        p = task.params
        try:
            if task.action == TaskAction.release_revision:
                part = await c.plm().get_part(task.target)
                ok = part.current_revision == p["to_revision"]
                detail = f"PLM {task.target} is at rev {part.current_revision}"
            elif task.action == TaskAction.update_mbom:
                revisions = await c.erp(task.plant or "").component_revisions(task.target)
                ok = bool(revisions) and set(revisions.values()) == {p["to_revision"]}
                detail = f"ERP {task.plant} MBOM uses {task.target} at " + ", ".join(
                    f"{parent}: rev {rev}" for parent, rev in sorted(revisions.items())
                )
            elif task.action == TaskAction.revise_inspection_plan:
                plan = await c.qms(task.plant or "").get_inspection_plan(task.target)
                ok = plan.part_revision == p["to_revision"]
                detail = (
                    f"QMS {task.plant} plan {plan.id} rev {plan.revision} inspects "
                    f"{plan.part} rev {plan.part_revision}"
                )
            elif task.action == TaskAction.publish_work_instruction:
                wi = await c.mes(task.plant or "").get_work_instruction(task.target)
                shown = {ref.revision for ref in wi.parts if ref.part == p["part"]}
                ok = shown == {p["to_revision"]} and wi.status == "released"
                detail = (
                    f"MES {task.plant} {wi.id} rev {wi.revision} ({wi.status}) shows "
                    f"{p['part']} rev {', '.join(sorted(shown))}"
                )
            else:
                raise _reject(f"unknown task action {task.action}")
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
        return VerifyResult(task_id=task.id, ok=ok, detail=detail)


def _previous_part_revision(seen: str, params: dict[str, str], res: dict) -> str:
    """The part revision the document showed before this change's write (on a replayed write
    the document already shows the new revision, so the task's from-revision is the answer)."""
    return params["from_revision"] if seen == params["to_revision"] else seen
