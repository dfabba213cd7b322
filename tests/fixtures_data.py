"""Test data: the demo change request and the demo factory."""

from __future__ import annotations

from pathlib import Path

import yaml

from domain.change_request import ChangeRequest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "eco-bracket-rev-c.yaml"


def bracket_request(**overrides: object) -> ChangeRequest:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(overrides)
    return ChangeRequest.model_validate(data)
