"""A plant system before a cutover: record a backup of it as it is (undo: discard the backup)."""

from __future__ import annotations

from activities.actions.base import ActionContext, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


@register
class BackupSystem:
    name = TaskAction.backup_system

    async def apply(self, ctx: ActionContext) -> TaskResult:
        admin = ctx.connectors.admin(ctx.params["system"], ctx.plant)
        res = await admin.create_backup(
            ctx.params["version"], idempotency_key=ctx.key(), change_id=ctx.change_id
        )
        return ctx.result(
            res,
            f"backup {res['id']} of {ctx.params['system']} {ctx.plant} at {res['version']}",
            before={"backup_id": res["id"], "version": res["version"]},
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        admin = ctx.connectors.admin(ctx.params["system"], ctx.plant)
        backup_id = ctx.task.before["backup_id"]
        if not await admin.backup_exists(backup_id):
            return ctx.result({}, "nothing to undo")
        res = await admin.discard_backup(
            backup_id, idempotency_key=ctx.key("compensate"), change_id=ctx.change_id
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        admin = ctx.connectors.admin(ctx.params["system"], ctx.plant)
        backup_id = ctx.task.before.get("backup_id", "")
        ok = bool(backup_id) and await admin.backup_exists(backup_id)
        return VerifyResult(
            task_id=ctx.task.id,
            ok=ok,
            detail=f"backup {backup_id or '-'} {'kept' if ok else 'missing'}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        system, backup_id = ctx.params["system"], ctx.task.before.get("backup_id", "")
        kept = bool(backup_id) and await ctx.connectors.admin(system, ctx.plant).backup_exists(
            backup_id
        )
        gone = f"no backup {backup_id or '-'}"
        return restored(ctx, system, "system", f"backup {backup_id} kept" if kept else gone, gone)
