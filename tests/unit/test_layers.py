"""The layer contracts (.importlinter, checked by `lint-imports` in `make test`) hold for the tree,
and they are not a formality: an upward import or an import cycle planted in a copy of the tree
breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["domain", "infra", "store", "connectors", "activities", "workflows", "starter", "bench"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent), "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, to plant violations in."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("domain.change.stages", "import store.db  # noqa", "Layers"),
        ("store.users", "import starter.cli.main  # noqa", "never import the API"),
        ("workflows.queues", "import activities.rollout  # noqa", "Workflows import only"),
        ("starter.api.deps", "import starter.cli.common  # noqa", "Inside starter"),
        ("domain.thread.objects", "import domain.impact.report  # noqa", "No import cycles"),
    ],
)
def test_an_upward_or_circular_import_breaks_a_contract(
    tree: Path, module: str, line: str, broken: str
) -> None:
    plant(tree, module, line)
    result = lint_imports(tree)
    assert result.returncode != 0
    failed = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(broken in row for row in failed), result.stdout
