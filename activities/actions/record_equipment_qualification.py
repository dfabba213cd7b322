"""MES: a qualification record of equipment, a safety review or its IQ/OQ/PQ validation protocol
(undo: withdraw the record)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class RecordEquipmentQualification:
    name = TaskAction.record_equipment_qualification

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p = ctx.params
        res = await ctx.connectors.mes(ctx.plant).add_equipment_record(
            p["equipment"],
            p["kind"],
            p.get("protocol", ""),
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        return ctx.result(
            res,
            f"{p['kind'].replace('_', ' ')} record {res['id']} ({res['status']})",
            before={"record_id": res["id"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        mes, record = ctx.connectors.mes(ctx.plant), ctx.task.before["record_id"]
        if not await mes.equipment_record_exists(record):
            return ctx.result({}, "nothing to undo")
        res = await mes.withdraw_equipment_record(
            record, idempotency_key=ctx.key("compensate"), change_id=ctx.change_id
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        record = ctx.task.before.get("record_id", "")
        ok = bool(record) and await ctx.connectors.mes(ctx.plant).equipment_record_exists(record)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=ok,
            detail=f"record {record or '-'} {'on file' if ok else 'missing'}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        record = ctx.task.before.get("record_id", "")
        on_file = bool(record) and await ctx.connectors.mes(ctx.plant).equipment_record_exists(
            record
        )
        gone = f"no record {record or '-'}"
        shows = f"record {record} on file" if on_file else gone
        return restored(ctx, "MES", f"equipment {ctx.params['equipment']}", shows, gone)
