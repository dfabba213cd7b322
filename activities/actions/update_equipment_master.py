"""MES: the equipment's master data (status; created when the equipment is new) (undo: the
document as it was, or none)."""

from __future__ import annotations

import json

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class UpdateEquipmentMaster:
    name = TaskAction.update_equipment_master

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p = ctx.params
        res = await ctx.connectors.mes(ctx.plant).update_equipment_master(
            p["equipment"], p["status"], idempotency_key=ctx.key(), change_id=ctx.change_id
        )
        return ctx.result(
            res,
            f"{p['equipment']} master data: {res['equipment']['status']}",
            before={"document": json.dumps(res["previous"])},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        res = await ctx.connectors.mes(ctx.plant).restore_equipment_master(
            ctx.params["equipment"],
            json.loads(ctx.task.before.get("document", "null")),
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        doc = await ctx.connectors.mes(ctx.plant).get_equipment(ctx.params["equipment"])
        status = (doc or {}).get("status", "missing")
        return VerifyResult(
            task_id=ctx.task.id,
            ok=status == ctx.params["status"],
            detail=f"{ctx.params['equipment']} in {ctx.plant}: {status}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        equipment = ctx.params["equipment"]
        previous = json.loads(ctx.task.before.get("document", "null"))
        doc = await ctx.connectors.mes(ctx.plant).get_equipment(equipment)
        return restored(
            ctx,
            "MES",
            f"equipment {equipment}",
            f"status {doc.get('status', '(none)')}" if doc else "no equipment",
            f"status {previous.get('status', '(none)')}" if previous else "no equipment",
        )
