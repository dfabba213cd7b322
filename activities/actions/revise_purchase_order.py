"""ERP: an open purchase order's line changed to the new part revision, with the supplier (undo:
back to the revision it had)."""

from __future__ import annotations

from activities.actions.base import ActionContext, reject, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction

NONE = "(none)"


@register
class RevisePurchaseOrder:
    name = TaskAction.revise_purchase_order

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, po_id, erp = ctx.params, ctx.task.target, ctx.connectors.erp(ctx.plant)
        po = await erp.get_purchase_order(po_id)
        if po.revision not in (p["from_revision"], p["to_revision"]):
            raise reject(
                f"ERP {ctx.plant}: purchase order {po_id} buys rev {po.revision}, "
                f"expected {p['from_revision']}"
            )
        res = await erp.revise_purchase_order(
            po_id,
            p["part"],
            p["to_revision"],
            p.get("note", ""),
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"purchase order {po_id} from {res['supplier']} now buys {p['part']} rev "
            f"{p['to_revision']}",
            before={
                "revision": p["from_revision"],
                "note": NONE if res.get("previous_note") is None else res["previous_note"],
            },
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        p, erp = ctx.params, ctx.connectors.erp(ctx.plant)
        if (await erp.get_purchase_order(ctx.task.target)).revision != p["to_revision"]:
            return ctx.result({}, "nothing to undo")
        res = await erp.revise_purchase_order(
            ctx.task.target,
            p["part"],
            ctx.task.before["revision"],
            None if ctx.task.before.get("note", NONE) == NONE else ctx.task.before["note"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        po = await ctx.connectors.erp(ctx.plant).get_purchase_order(ctx.task.target)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=po.revision == ctx.params["to_revision"],
            detail=f"ERP {ctx.plant} purchase order {po.id} buys {po.part} rev {po.revision}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        po = await ctx.connectors.erp(ctx.plant).get_purchase_order(ctx.task.target)
        return restored(
            ctx,
            "ERP",
            f"purchase order {po.id}",
            f"{po.part} rev {po.revision}",
            f"{ctx.params['part']} rev {ctx.task.before['revision']}",
        )
