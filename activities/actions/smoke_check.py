"""After a cutover: the system answers and runs the released version (a check; nothing to undo).
A system that does not pass puts the change on hold with what it answered."""

from __future__ import annotations

from activities.actions.base import ActionContext, reject
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class SmokeCheck:
    name = TaskAction.smoke_check

    async def apply(self, ctx: ActionContext) -> TaskResult:
        result = await self.read_back(ctx)
        if not result.ok:
            raise reject(f"smoke check failed: {result.detail}")
        return ctx.result({}, f"smoke check passed: {result.detail}")

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        return ctx.result({}, "a check changes nothing: nothing to undo")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        system, version = ctx.params["system"], ctx.params["version"]
        running = await ctx.connectors.admin(system, ctx.plant).system_version()
        return VerifyResult(
            task_id=ctx.task.id,
            ok=running == version,
            detail=f"{system} {ctx.plant} answers, running {running} (expected {version})",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        return VerifyResult(task_id=ctx.task.id, ok=True, detail="a check changes nothing")
