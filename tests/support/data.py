"""Test data: the demo change request and the demo factory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from connectors.sim.seed import build_demo_thread
from domain.change.request import ChangeRequest
from domain.impact.engine import assess
from domain.impact.report import ImpactReport
from domain.thread.index import ThreadIndex
from domain.thread.tables import from_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "eco-bracket-rev-c.yaml"


def bracket_request(**overrides: object) -> ChangeRequest:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(overrides)
    return ChangeRequest.model_validate(data)


@lru_cache(maxsize=1)
def demo_index() -> ThreadIndex:
    return ThreadIndex(from_snapshot(build_demo_thread()))


def assess_demo(change_id: str, request: ChangeRequest) -> ImpactReport:
    return assess(change_id, request, demo_index())
