"""How an approved change rolls out: one interface, two strategies, chosen once when the plan is
final. A plan in the state rolls out inline, each plant as a child workflow
(workflows/change/inline.py); a large plan stays in the store and runs in batches
(workflows/change/batched.py). Both hold for a person the same way (workflows/change/hold.py)."""

from __future__ import annotations

from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.change.batched import BatchedRollout
    from workflows.change.context import ChangeContext
    from workflows.change.hold import PersonHold
    from workflows.change.inline import InlineRollout


class RolloutStrategy(Protocol):
    async def roll_out(self) -> bool:
        """Apply the plan wave by wave. False: it was rolled back (the outcome says why)."""
        ...

    async def roll_back(self) -> None:
        """Undo everything applied, last first."""
        ...

    async def verify(self) -> list[str]:
        """Read every system back (audited); the failures, if any."""
        ...

    async def settle(self) -> None:
        """After a Temporal cancellation: let the writes in flight finish, and take them."""
        ...

    def applied(self) -> bool:
        """Something applied stands (a rollback is due)."""
        ...

    def undone(self) -> bool:
        """Something was undone already."""
        ...


def rollout_for(ctx: ChangeContext, hold: PersonHold) -> RolloutStrategy:
    """The strategy for the change's final plan: a large plan's tasks are not in the state."""
    if not ctx.state.tasks and ctx.state.wave_sizes:
        return BatchedRollout(ctx, hold)
    return InlineRollout(ctx, hold)
