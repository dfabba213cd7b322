"""MES: a routing operation's new standard time and/or work center (undo: the values and routing
revision it had before)."""

from __future__ import annotations

from activities.actions.base import ActionContext, reject, restored
from activities.actions.registry import register
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import TaskAction


def _wanted(params: dict[str, str]) -> tuple[float | None, str | None]:
    std = params.get("std_time_min")
    return (float(std) if std is not None else None), params.get("work_center")


@register
class UpdateRoutingOperation:
    name = TaskAction.update_routing_operation

    async def apply(self, ctx: ActionContext) -> TaskResult:
        p, mes = ctx.params, ctx.connectors.mes(ctx.plant)
        routing, op_no = p["routing"], int(p["op_no"])
        current = await mes.get_routing(routing)
        if not any(op.op_no == op_no for op in current.operations):
            raise reject(f"MES {ctx.plant}: routing {routing} has no operation {op_no}")
        std, center = _wanted(p)
        res = await mes.update_operation(
            routing,
            op_no,
            std_time_min=std,
            work_center=center,
            idempotency_key=ctx.key(),
            change_id=ctx.change_id,
        )
        previous = res["previous"]
        return ctx.result(
            res,
            f"{routing} op {op_no} now {res['std_time_min']:g} min at {res['work_center']} "
            f"(routing rev {res['revision']})",
            before={
                "revision": str(previous["revision"]),
                "std_time_min": repr(previous["std_time_min"]),
                "work_center": previous["work_center"],
            },
        )

    async def compensate(self, ctx: ActionContext) -> TaskResult:
        p, before = ctx.params, ctx.task.before
        res = await ctx.connectors.mes(ctx.plant).restore_operation(
            p["routing"],
            int(p["op_no"]),
            revision=int(before["revision"]),
            std_time_min=float(before["std_time_min"]),
            work_center=before["work_center"],
            idempotency_key=ctx.key("compensate"),
            change_id=ctx.change_id,
        )
        return ctx.result(res, f"undone: {ctx.task.summary}")

    async def read_back(self, ctx: ActionContext) -> VerifyResult:
        p = ctx.params
        routing = await ctx.connectors.mes(ctx.plant).get_routing(p["routing"])
        op = next((o for o in routing.operations if o.op_no == int(p["op_no"])), None)
        std, center = _wanted(p)
        ok = op is not None and (std is None or abs(op.std_time_min - std) < 1e-9)
        ok = ok and (center is None or (op is not None and op.work_center == center))
        found = f"{op.std_time_min:g} min at {op.work_center}" if op else "missing"
        return VerifyResult(
            task_id=ctx.task.id,
            ok=ok,
            detail=f"MES {ctx.plant} {p['routing']} op {p['op_no']}: {found}",
        )

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        p, before = ctx.params, ctx.task.before
        routing = await ctx.connectors.mes(ctx.plant).get_routing(p["routing"])
        op = next((o for o in routing.operations if o.op_no == int(p["op_no"])), None)
        std, center = float(before["std_time_min"]), before["work_center"]
        ok = op is not None and abs(op.std_time_min - std) < 1e-9 and op.work_center == center
        return restored(
            ctx,
            "MES",
            f"routing {p['routing']} op {p['op_no']}",
            f"{op.std_time_min:g} min at {op.work_center}" if op else "no such operation",
            f"{std:g} min at {center}",
            ok=ok,
        )
