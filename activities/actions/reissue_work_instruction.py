"""MES: the next revision of a work instruction whose operation changed (undo: its previous
revision)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class ReissueWorkInstruction:
    name = TaskAction.reissue_work_instruction

    async def apply(self, ctx: ActionContext) -> TaskResult:
        wi_id, mes = ctx.task.target, ctx.connectors.mes(ctx.plant)
        await mes.get_work_instruction(wi_id)  # a missing one is a clear rejection (404)
        res = await mes.reissue_work_instruction(
            wi_id, ctx.params["reason"], idempotency_key=ctx.key(), change_id=ctx.change_id
        )
        return ctx.result(
            res,
            f"work instruction {wi_id} rev {res['revision']} released: {ctx.params['reason']}",
            before={"revision": str(res["previous_revision"]), "reissued": str(res["revision"])},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        res = await ctx.connectors.mes(ctx.plant).restore_work_instruction(
            ctx.task.target,
            int(ctx.task.before["revision"]),
            None,
            None,
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        wi = await ctx.connectors.mes(ctx.plant).get_work_instruction(ctx.task.target)
        wanted = int(ctx.task.before.get("reissued", "0"))
        return VerifyResult(
            task_id=ctx.task.id,
            ok=wi.revision >= wanted and wi.status == "released",
            detail=f"MES {ctx.plant} {wi.id} rev {wi.revision} ({wi.status})",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        """The restore puts back only the revision number (the simulator's restore without a
        part): the document is at its previous revision again."""
        wi = await ctx.connectors.mes(ctx.plant).get_work_instruction(ctx.task.target)
        return restored(
            ctx,
            "MES",
            f"work instruction {wi.id}",
            f"rev {wi.revision}",
            f"rev {int(ctx.task.before['revision'])}",
        )
