"""The embedded stack's home (databases, keys, demo passwords) is its owner's alone (issue 21,
defect 9): made 0700, and an existing home that others could read is closed."""

from __future__ import annotations

import stat
from pathlib import Path

from infra.settings import Settings
from starter.devstack.stack import Stack


def test_the_stack_home_is_made_0700_and_an_open_one_is_closed(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    Stack(Settings(home=fresh))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    Stack(Settings(home=existing))
    assert stat.S_IMODE(existing.stat().st_mode) == 0o700
