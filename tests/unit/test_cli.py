"""The CLI's own behaviour: bad change files fail clearly before anything is sent."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from starter.cli.main import app
from tests.support.data import EXAMPLE
from tests.support.helpers import free_port

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


def test_users_commands_revoke_and_never_change_a_role_silently(
    tmp_path: Path, monkeypatch
) -> None:
    """Defect 10 from the command line."""
    monkeypatch.setenv("CHANGEFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("CHANGEFLOW_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["store", "upgrade"]).exit_code == 0  # the store's one step
    added = runner.invoke(app, ["users", "add", "kim", "--role", "engineering"])
    assert added.exit_code == 0 and added.stdout.strip().startswith("cf_")
    again = runner.invoke(app, ["users", "add", "kim", "--role", "engineering", "--rotate"])
    assert again.exit_code == 0 and again.stdout.strip() != added.stdout.strip()
    silent = runner.invoke(app, ["users", "add", "kim", "--role", "admin", "--rotate"])
    assert silent.exit_code == 1 and "keeps the role" in silent.output
    assert "users role kim --role admin" in silent.output
    changed = runner.invoke(app, ["users", "role", "kim", "--role", "admin"])
    assert changed.exit_code == 0 and "engineering -> admin" in changed.output
    assert runner.invoke(app, ["users", "revoke", "kim"]).exit_code == 0
    listed = runner.invoke(app, ["users", "list"])
    assert "kim" in listed.output and "revoked" in listed.output
    assert runner.invoke(app, ["users", "revoke", "nobody"]).exit_code == 1


def test_status_watch_prints_each_stage_when_not_on_a_terminal(monkeypatch) -> None:
    """Defect 12: `changeflow status ID --watch | tee log` printed nothing."""
    from domain.change.stages import ChangeStage
    from domain.lifecycle.state import ChangeState, StageEntry
    from starter.client import ApiClient
    from tests.support.data import bracket_request

    request = bracket_request()
    stages = [ChangeStage.assessing, ChangeStage.awaiting_approval, ChangeStage.completed]
    states = []
    for count in range(1, len(stages) + 1):
        history = [
            StageEntry(stage=s, at="2026-11-24T10:00:00Z", note=f"n{i}")
            for i, s in enumerate(stages[:count])
        ]
        states.append(
            ChangeState(
                change_id="CHG-1",
                title=request.title,
                type=request.type.value,
                stage=stages[count - 1],
                requested_by="maria.engineer",
                submitted_by="maria.engineer",
                priority="normal",
                request=request,
                history=history,
            ).model_dump(mode="json")
        )
    replies = iter(states)
    monkeypatch.setattr(ApiClient, "get", lambda self, path, **params: next(replies))
    monkeypatch.setattr("starter.cli.changes.time.sleep", lambda _s: None)
    result = runner.invoke(app, ["status", "CHG-1", "--watch"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("2026-11-24")]
    assert [line.split()[2] for line in lines] == ["assessing", "awaiting_approval", "completed"]


def test_submit_quiet_prints_only_the_change_id(monkeypatch) -> None:
    """Defect 12: `ID=$(changeflow submit FILE -q)`."""
    from starter.client import ApiClient

    sent = []

    def post(self, path, body):
        sent.append((path, body))
        return {"change_id": "ECO-2026-0042", "links": {"ui": "http://localhost:8233/x"}}

    monkeypatch.setattr(ApiClient, "post", post)
    result = runner.invoke(app, ["submit", str(EXAMPLE), "-q", "--token", "x"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ECO-2026-0042\n"
    assert sent[0][0] == "/api/changes" and sent[0][1]["items"][0]["part"] == "100-200"
    loud = runner.invoke(app, ["submit", str(EXAMPLE), "--token", "x"])
    assert "submitted ECO-2026-0042" in loud.stdout and "--watch" in loud.stdout


def test_every_example_change_file_is_valid() -> None:
    """The README submits examples/eco-shaft-rev-b.yaml right after the demo (bracket 100-200
    is at rev C by then): it changes part 100-210, A -> B."""
    from starter.cli.common import read_change_file

    for path in sorted(EXAMPLE.parent.glob("*.yaml")):
        read_change_file(path)
    shaft = read_change_file(EXAMPLE.parent / "eco-shaft-rev-b.yaml")
    assert [(i.part, i.from_revision, i.to_revision) for i in shaft.items] == [
        ("100-210", "A", "B")
    ]
