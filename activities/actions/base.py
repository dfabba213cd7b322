"""What an action handler is given and must do. Each write carries the business idempotency key
(change id + task id + step) and reads current state first: a write already in place is not
repeated, and an unexpected state is a clear rejection (not retried; the change holds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from temporalio.exceptions import ApplicationError

from activities.failures import REJECTED
from connectors.registry import Connectors
from domain.messages import TaskResult, VerifyResult
from domain.rollout.tasks import RolloutTask, TaskAction, idempotency_key


@dataclass(frozen=True)
class ActionContext:
    change_id: str
    task: RolloutTask
    connectors: Connectors

    @property
    def params(self) -> dict[str, str]:
        return self.task.params

    @property
    def plant(self) -> str:
        return self.task.plant or ""

    def key(self, step: str = "apply") -> str:
        return idempotency_key(self.change_id, self.task.id, step)

    def result(self, res: dict, detail: str, before: dict[str, str] | None = None) -> TaskResult:
        return TaskResult(
            task_id=self.task.id,
            replayed=bool(res.get("replayed", False)),
            before=before or {},
            detail=detail,
        )


class Action(Protocol):
    name: TaskAction

    async def apply(self, ctx: ActionContext) -> TaskResult: ...

    async def compensate(self, ctx: ActionContext) -> TaskResult: ...

    async def read_back(self, ctx: ActionContext) -> VerifyResult: ...

    async def read_back_undone(self, ctx: ActionContext) -> VerifyResult:
        """After the compensation: whether the system shows what it held before the change
        (`ctx.task.before` and the task's params), not what the task applied."""
        ...


def restored(
    ctx: ActionContext,
    system: str,
    obj: str,
    shows: str,
    should: str,
    *,
    ok: bool | None = None,
) -> VerifyResult:
    """A read_back_undone answer: `obj` in `system` (of the task's plant) shows `shows` and
    should show `should` (ok when they are equal, unless `ok` says otherwise). The detail names
    the system, plant and object, e.g. "ERP DET purchase order PO-1 shows rev C, should show
    rev B"."""
    where = f"{system} {ctx.plant}" if ctx.plant else system
    return VerifyResult(
        task_id=ctx.task.id,
        ok=shows == should if ok is None else ok,
        detail=f"{where} {obj} shows {shows}, should show {should}",
    )


def reject(message: str) -> ApplicationError:
    """A business rejection: not retried; the change goes on hold with this reason."""
    return ApplicationError(message, type=REJECTED, non_retryable=True)


def previous_part_revision(seen: str, params: dict[str, str]) -> str:
    """The part revision a document showed before this change's write (on a replayed write the
    document already shows the new revision, so the task's from-revision is the answer)."""
    return params["from_revision"] if seen == params["to_revision"] else seen
