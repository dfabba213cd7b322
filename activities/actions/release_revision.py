"""PLM: release the new revision of a part (undo: withdraw it)."""

from __future__ import annotations

from activities.actions.base import ActionContext, reject, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class ReleaseRevision:
    name = TaskAction.release_revision

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, part_no, plm = ctx.params, ctx.task.target, ctx.connectors.plm()
        part = await plm.get_part(part_no)
        if part.current_revision not in (p["from_revision"], p["to_revision"]):
            raise reject(
                f"PLM: part {part_no} is at revision {part.current_revision}, "
                f"expected {p['from_revision']}"
            )
        res = await plm.release_revision(
            part_no,
            p["to_revision"],
            p["from_revision"],
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"{part_no} current revision {res['current_revision']}",
            before={"revision": p["from_revision"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        p = ctx.params
        res = await ctx.connectors.plm().withdraw_revision(
            ctx.task.target,
            p["to_revision"],
            ctx.task.before.get("revision", p["from_revision"]),
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        part = await ctx.connectors.plm().get_part(ctx.task.target)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=part.current_revision == ctx.params["to_revision"],
            detail=f"PLM {ctx.task.target} is at rev {part.current_revision}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        part = await ctx.connectors.plm().get_part(ctx.task.target)
        wanted = ctx.task.before.get("revision", ctx.params["from_revision"])
        return restored(
            ctx,
            "PLM",
            f"part {ctx.task.target}",
            f"current rev {part.current_revision}",
            f"current rev {wanted}",
        )
