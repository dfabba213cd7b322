"""A plant system's cutover to the released version (undo: cut back to the version it ran)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class CutoverSystem:
    name = TaskAction.cutover_system

    async def apply(self, ctx: ActionContext) -> TaskResult:
        system, version = ctx.params["system"], ctx.params["version"]
        admin = ctx.connectors.admin(system, ctx.plant)
        res = await admin.cutover(version, idempotency_key=ctx.key(), change_id=ctx.change_id)
        return ctx.result(
            res,
            f"{system} {ctx.plant} cut over {res['previous_version']} -> {version}",
            before={"version": res["previous_version"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        system = ctx.params["system"]
        admin = ctx.connectors.admin(system, ctx.plant)
        previous = ctx.task.before["version"]
        if await admin.system_version() == previous:
            return ctx.result({}, "nothing to undo")
        res = await admin.cutover(
            previous, idempotency_key=ctx.key("compensate"), change_id=ctx.change_id
        )
        return ctx.result(res, f"undone: {system} {ctx.plant} back on {previous}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        system, version = ctx.params["system"], ctx.params["version"]
        running = await ctx.connectors.admin(system, ctx.plant).system_version()
        return VerifyResult(
            task_id=ctx.task.id,
            ok=running == version,
            detail=f"{system} {ctx.plant} runs {running}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        system = ctx.params["system"]
        running = await ctx.connectors.admin(system, ctx.plant).system_version()
        return restored(
            ctx, system, "system", f"version {running}", f"version {ctx.task.before['version']}"
        )
