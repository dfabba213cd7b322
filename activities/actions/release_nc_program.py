"""MES: the next revision of an NC program released on the changed equipment (undo: its previous
revision)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class ReleaseNcProgram:
    name = TaskAction.release_nc_program

    async def apply(self, ctx: ActionContext) -> TaskResult:
        program = ctx.task.target
        res = await ctx.connectors.mes(ctx.plant).release_nc_program(
            program, ctx.params["equipment"], idempotency_key=ctx.key(), change_id=ctx.change_id
        )
        return ctx.result(
            res,
            f"NC program {program} rev {res['revision']} released on {ctx.params['equipment']}",
            before={"revision": res["previous_revision"], "released": res["revision"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        res = await ctx.connectors.mes(ctx.plant).restore_nc_program(
            ctx.task.target,
            ctx.task.before["revision"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        program = await ctx.connectors.mes(ctx.plant).get_nc_program(ctx.task.target)
        wanted = ctx.task.before.get("released")
        return VerifyResult(
            task_id=ctx.task.id,
            ok=program.revision == wanted and program.equipment == ctx.params["equipment"],
            detail=f"NC program {program.id} rev {program.revision} on {program.equipment}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        program = await ctx.connectors.mes(ctx.plant).get_nc_program(ctx.task.target)
        return restored(
            ctx,
            "MES",
            f"NC program {program.id}",
            f"rev {program.revision}",
            f"rev {ctx.task.before['revision']}",
        )
