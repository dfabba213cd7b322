"""ERP: what happens to stock of the old revision (use up, rework, scrap), recorded on the stock
record (undo: the disposition it had, or none)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction

NONE = "(none)"


@register
class RecordDisposition:
    name = TaskAction.record_disposition

    async def apply(self, ctx: ActionContext) -> TaskResult:
        res = await ctx.connectors.erp(ctx.plant).set_disposition(
            ctx.task.target,
            ctx.params["disposition"],
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        previous = res["previous_disposition"]
        return ctx.result(
            res,
            f"stock {ctx.task.target}: {ctx.params['disposition']}",
            before={"disposition": NONE if previous is None else previous},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        previous = ctx.task.before["disposition"]
        res = await ctx.connectors.erp(ctx.plant).set_disposition(
            ctx.task.target,
            None if previous == NONE else previous,
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        stock = await ctx.connectors.erp(ctx.plant).get_stock(ctx.task.target)
        found = stock.get("disposition", NONE)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=found == ctx.params["disposition"],
            detail=f"ERP {ctx.plant} stock {ctx.task.target}: {found}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        stock = await ctx.connectors.erp(ctx.plant).get_stock(ctx.task.target)
        found = stock.get("disposition") or NONE
        return restored(
            ctx,
            "ERP",
            f"stock {ctx.task.target}",
            f"disposition {found}",
            f"disposition {ctx.task.before['disposition']}",
        )
