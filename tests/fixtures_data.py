"""Test data: the demo change request and the demo factory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from connectors.sim.seed import build_demo_thread
from domain.change_request import ChangeRequest
from domain.impact import ImpactReport
from domain.impact_engine import assess
from domain.thread_index import ThreadIndex
from domain.thread_tables import from_snapshot

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "eco-bracket-rev-c.yaml"


def bracket_request(**overrides: object) -> ChangeRequest:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(overrides)
    return ChangeRequest.model_validate(data)


@lru_cache(maxsize=1)
def demo_index() -> ThreadIndex:
    return ThreadIndex(from_snapshot(build_demo_thread()))


def assess_demo(change_id: str, request: ChangeRequest) -> ImpactReport:
    return assess(change_id, request, demo_index())
