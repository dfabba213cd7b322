"""QMS: a new revision of a plant's inspection plan for the new part revision (undo: restore
the plan's previous revision)."""

from __future__ import annotations

from activities.actions.base import ActionContext, previous_part_revision, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class ReviseInspectionPlan:
    name = TaskAction.revise_inspection_plan

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, plan_id, qms = ctx.params, ctx.task.target, ctx.connectors.qms(ctx.plant)
        plan = await qms.get_inspection_plan(plan_id)
        res = await qms.revise_inspection_plan(
            plan_id,
            p["part"],
            p["to_revision"],
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"plan {plan_id} rev {res['revision']} inspects {p['part']} rev {p['to_revision']}",
            before={
                "revision": str(res["previous_revision"]),
                "part_revision": previous_part_revision(plan.part_revision, p),
            },
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        before = ctx.task.before
        res = await ctx.connectors.qms(ctx.plant).restore_inspection_plan(
            ctx.task.target,
            int(before["revision"]),
            ctx.params["part"],
            before["part_revision"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        plan = await ctx.connectors.qms(ctx.plant).get_inspection_plan(ctx.task.target)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=plan.part_revision == ctx.params["to_revision"],
            detail=f"QMS {ctx.plant} plan {plan.id} rev {plan.revision} inspects "
            f"{plan.part} rev {plan.part_revision}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        plan = await ctx.connectors.qms(ctx.plant).get_inspection_plan(ctx.task.target)
        return restored(
            ctx,
            "QMS",
            f"inspection plan {plan.id} (rev {plan.revision})",
            f"{plan.part} rev {plan.part_revision}",
            f"{plan.part} rev {ctx.task.before['part_revision']}",
        )
