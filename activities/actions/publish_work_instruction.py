"""MES: release a new revision of a work instruction showing the new part revision (undo:
restore its previous revision)."""

from __future__ import annotations

from activities.actions.base import ActionContext, previous_part_revision, reject, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class PublishWorkInstruction:
    name = TaskAction.publish_work_instruction

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, wi_id, mes = ctx.params, ctx.task.target, ctx.connectors.mes(ctx.plant)
        wi = await mes.get_work_instruction(wi_id)
        shown = [ref.revision for ref in wi.parts if ref.part == p["part"]]
        if not shown:
            raise reject(f"MES {ctx.plant}: work instruction {wi_id} does not show {p['part']}")
        res = await mes.publish_work_instruction(
            wi_id,
            p["part"],
            p["to_revision"],
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"work instruction {wi_id} rev {res['revision']} released for {p['part']} "
            f"rev {p['to_revision']}",
            before={
                "revision": str(res["previous_revision"]),
                "part_revision": previous_part_revision(shown[0], p),
            },
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        before = ctx.task.before
        res = await ctx.connectors.mes(ctx.plant).restore_work_instruction(
            ctx.task.target,
            int(before["revision"]),
            ctx.params["part"],
            before["part_revision"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        part = ctx.params["part"]
        wi = await ctx.connectors.mes(ctx.plant).get_work_instruction(ctx.task.target)
        shown = {ref.revision for ref in wi.parts if ref.part == part}
        return VerifyResult(
            task_id=ctx.task.id,
            ok=shown == {ctx.params["to_revision"]} and wi.status == "released",
            detail=f"MES {ctx.plant} {wi.id} rev {wi.revision} ({wi.status}) shows {part} "
            f"rev {', '.join(sorted(shown))}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        part, wanted = ctx.params["part"], ctx.task.before["part_revision"]
        wi = await ctx.connectors.mes(ctx.plant).get_work_instruction(ctx.task.target)
        shown = sorted({ref.revision for ref in wi.parts if ref.part == part})
        return restored(
            ctx,
            "MES",
            f"work instruction {wi.id} (rev {wi.revision})",
            f"{part} rev {', '.join(shown) or '(none)'}",
            f"{part} rev {wanted}",
        )
