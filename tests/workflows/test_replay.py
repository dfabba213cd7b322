"""Replay committed histories against today's workflow code: a non-deterministic change fails here.

Refresh them on purpose with
`CHANGEFLOW_RECORD_HISTORIES=1 pytest tests/workflows/test_change_workflow.py` (and guard the
workflow change with workflow.patched() if old runs may still be open)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.all import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_committed() -> None:
    # v1-: before thread sync; v2-: signed input; v3-: waves; v4-: plants inline;
    # v5-: before approval deadlines; v6-: before the assessment was audited;
    # v7-: before batched audit writes; plant-: a plant child workflow; v10-: plant progress
    # per task; v11-: a patch marker per patch; sync-: a change's thread sync (its own run, or
    # one it joined; v11-sync-own from before joining existed)
    assert len(HISTORIES) >= 44


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer.replay_workflow(history)
