"""A task that failed after its retries holds the change for a person: retry it, skip it, or roll
the change back. One place for both rollout strategies: the hold shown in the state and the Web
UI, the wait for a resolution (or a cancel), and the answer audited."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.lifecycle.state import Hold
    from domain.messages import Resolution
    from workflows.change.context import ChangeContext


class PersonHold:
    """Numbers each hold: a resolution names the hold it answers (`hold_id`)."""

    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx
        self._holds = 0

    async def wait(self, task_id: str, error: str, plant: str | None) -> Resolution | None:
        """On hold until a person answers (the answer, audited) or the change is cancelled
        (None)."""
        ctx = self._ctx
        self._holds += 1
        ctx.state.hold = Hold(
            task_id=task_id, error=error, since=workflow.now(), hold_id=self._holds, plant=plant
        )
        ctx.set_stage(ChangeStage.on_hold, f"{task_id} failed: {error}")
        await workflow.wait_condition(lambda: ctx.resolution is not None or ctx.cancel is not None)
        resolution, ctx.resolution = ctx.resolution, None
        ctx.state.hold = None
        if resolution is not None:
            ctx.audit(
                f"task.{resolution.action.value}",
                resolution.by,
                {"task_id": task_id, "comment": resolution.comment},
            )
        return resolution


def rolled_back_note(resolution: Resolution, task_id: str) -> str:
    """The change's outcome when a person chose to roll it back from a hold."""
    comment = f": {resolution.comment}" if resolution.comment else ""
    return f"rolled back by {resolution.by} after {task_id} failed{comment}"
