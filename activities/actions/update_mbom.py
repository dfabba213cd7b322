"""ERP: point a plant's MBOM lines at the new component revision (undo: point them back)."""

from __future__ import annotations

from activities.actions.base import ActionContext, reject, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class UpdateMbom:
    name = TaskAction.update_mbom

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, part, erp = ctx.params, ctx.task.target, ctx.connectors.erp(ctx.plant)
        if not await erp.component_revisions(part):
            raise reject(f"ERP {ctx.plant}: no MBOM line consumes {part}")
        res = await erp.set_component_revision(
            part,
            p["from_revision"],
            p["to_revision"],
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"{res['lines_updated']} MBOM line(s) of {', '.join(res['parents'])} now use "
            f"rev {res['revision']}",
            before={"revision": p["from_revision"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        p, part, erp = ctx.params, ctx.task.target, ctx.connectors.erp(ctx.plant)
        if p["to_revision"] not in (await erp.component_revisions(part)).values():
            return ctx.result({}, "nothing to undo")
        res = await erp.set_component_revision(
            part,
            p["to_revision"],
            p["from_revision"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        part = ctx.task.target
        revisions = await ctx.connectors.erp(ctx.plant).component_revisions(part)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=bool(revisions) and set(revisions.values()) == {ctx.params["to_revision"]},
            detail=f"ERP {ctx.plant} MBOM uses {part} at "
            + ", ".join(f"{parent}: rev {rev}" for parent, rev in sorted(revisions.items())),
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        p, part = ctx.params, ctx.task.target
        revisions = await ctx.connectors.erp(ctx.plant).component_revisions(part)
        at_new = sorted(parent for parent, rev in revisions.items() if rev == p["to_revision"])
        return restored(
            ctx,
            "ERP",
            f"MBOM ({part})",
            ", ".join(f"{parent} using rev {rev}" for parent, rev in sorted(revisions.items()))
            or "no line",
            f"no line using rev {p['to_revision']}",
            ok=not at_new,
        )
