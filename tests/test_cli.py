"""The CLI's own behaviour: bad change files fail clearly before anything is sent."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from starter.cli import app
from tests.fixtures_data import EXAMPLE
from tests.helpers import free_port

runner = CliRunner()


def test_invalid_change_file_names_field_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace("to_revision: C", "to_revision: A").replace("title:", "titel:")
    )
    result = runner.invoke(app, ["submit", str(bad)])
    assert result.exit_code == 1
    out = result.output
    assert "is not a valid change" in out
    assert "title: Field required" in out
    assert "titel: Extra inputs are not permitted" in out
    assert "to_revision 'A' must come after from_revision 'B'" in out


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["submit", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "cannot read" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    result = runner.invoke(app, ["submit", str(broken)])
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_unreachable_api_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("CHANGEFLOW_API_URL", f"http://127.0.0.1:{free_port()}")
    result = runner.invoke(app, ["submit", str(EXAMPLE), "--token", "x"])
    assert result.exit_code == 1
    assert "cannot reach the changeflow API" in result.output
