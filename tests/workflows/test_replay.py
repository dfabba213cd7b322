"""Replay the committed histories against today's workflow code: a change of workflow code that
would break a run in flight fails here (and a deliberately reordered workflow is shown to).

One set, recorded with today's code (nothing released ran older code). Refresh it on purpose
with `CHANGEFLOW_RECORD_HISTORIES=1 pytest tests/workflows`; docs/upgrading.md says when (and
why a change of ChangeWorkflow goes behind a patch instead)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from domain.messages import AssessResult, ChangeInput, ChangeOutcome
from workflows.all import WORKFLOWS
from workflows.change.assessment import Assessment
from workflows.change.workflow import ChangeWorkflow

FOLDER = Path(__file__).parent / "histories"
HISTORIES = sorted(FOLDER.glob("*.json"))
# every workflow type, and each stage of a change that waits or branches
SCENARIOS = {
    "ChangeWorkflow": {
        "change-completed",  # plants as child workflows, the pilot first
        "change-rejected",
        "change-revised",  # changes requested, then a revised change file
        "change-hold-retry",
        "change-hold-skip",
        "change-hold-rollback",
        "change-cancelled-mid-rollout",  # cancelled in Temporal: the write in flight undone
        "change-large-plan",  # batches from the store, a hold, a rollback in batches
        "change-forged-input",  # a signal and unsigned Updates refused and audited
        "change-terminated-plant-rollback",
        "change-reminded-escalated",
        "change-expired",
        "change-emergency-retrospective",  # rolled out, then its later approvals tracked
    },
    "PlantRolloutWorkflow": {"plant-completed"},
    "ThreadSyncWorkflow": {"sync-own", "sync-joined", "sync-joined-failed-then-own"},
    "AuditAnchorWorkflow": {"audit-anchor"},
}


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def test_histories_are_committed_for_every_workflow_and_scenario() -> None:
    found: dict[str, set[str]] = {}
    for path in HISTORIES:
        found.setdefault(workflow_type(path), set()).add(path.stem)
    assert {w.__name__ for w in WORKFLOWS} == set(SCENARIOS)
    for name, wanted in SCENARIOS.items():
        missing = wanted - found.get(name, set())
        assert not missing, f"{name}: no history for {sorted(missing)}"
    assert sum(p.stat().st_size for p in HISTORIES) < 2_000_000  # keep them small


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer.replay_workflow(history)


class AssessBeforeSync(Assessment):
    """The same activities in another order: the impact assessed before the thread is synced."""

    async def sync_thread(self) -> None:
        return  # done after assessing instead

    async def assess(self) -> AssessResult | None:
        assessed = await super().assess()
        await super().sync_thread()
        return assessed


@workflow.defn(name="ChangeWorkflow", sandboxed=False)
class ReorderedChangeWorkflow(ChangeWorkflow):
    """ChangeWorkflow changed without a patch: what the replay test is there to catch."""

    @workflow.init
    def __init__(self, inp: ChangeInput) -> None:
        super().__init__(inp)
        self._assessment = AssessBeforeSync(self._ctx)

    @workflow.run
    async def run(self, inp: ChangeInput) -> ChangeOutcome:
        return await super().run(inp)


async def test_a_change_of_activity_order_is_caught_as_non_determinism() -> None:
    """The committed history replays on ChangeWorkflow, and fails on the reordered one."""
    path = FOLDER / "change-completed.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())

    def replayer(change_workflow: type) -> Replayer:
        return Replayer(
            workflows=[change_workflow],
            data_converter=pydantic_data_converter,
            workflow_runner=UnsandboxedWorkflowRunner(),
        )

    await replayer(ChangeWorkflow).replay_workflow(history)
    with pytest.raises(workflow.NondeterminismError, match="Nondeterminism error"):
        await replayer(ReorderedChangeWorkflow).replay_workflow(history)
