"""The extras: `impact` (SciPy, numba) and `pdf` (WeasyPrint). The CLI, a plant worker, the API's
modules and the simulator's demo dataset work without any of them; what needs one says which
(pyproject.toml, README "Production"). Their absence is simulated in a child process by a
sitecustomize that refuses to import them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCKER = """
import sys

class _NoExtras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("scipy", "numba", "weasyprint"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoExtras())
"""


def without_extras(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    env = {k: v for k, v in env.items() if not k.startswith("CHANGEFLOW_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_and_a_plant_worker_need_no_extra(tmp_path: Path) -> None:
    done = without_extras(
        tmp_path,
        """
        import sys
        from pathlib import Path

        import starter.cli.main, starter.server, worker  # the CLI, the API's modules, the worker
        from activities.deps import ActivityDeps
        from activities.registry import plant_activities
        from connectors.sim.dataset import dataset
        from infra.settings import Settings
        from store.migrate import upgrade

        settings = Settings(home=Path("."), database_url="sqlite:///./cf.db")
        upgrade(settings.db_url)
        activities = plant_activities(ActivityDeps.from_settings(settings))
        assert dataset("demo").rows("parts") > 0  # the simulator's demo data
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"scipy", "numba", "weasyprint"})
        print(len(activities), heavy)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "[]"]
    cli = without_extras(
        tmp_path,
        "import sys; sys.argv = ['changeflow', *sys.argv[1:]]; "
        "from starter.cli.main import main; main()",
        "--help",
    )
    assert cli.returncode == 0 and "store" in cli.stdout and "worker" in cli.stdout, cli.stderr


def test_what_needs_an_extra_names_it(tmp_path: Path) -> None:
    done = without_extras(
        tmp_path,
        """
        import numpy as np

        from connectors.sim.dataset import dataset
        from domain.thread.index import BomGraph
        from starter.api.audit_document import PdfUnavailableError, package_pdf

        for attempt in (
            lambda: BomGraph(np.array([0]), np.array([1]), 2),
            lambda: dataset("large"),
        ):
            try:
                attempt()
            except ImportError as exc:
                print(exc)
        try:
            package_pdf(None)
        except PdfUnavailableError as exc:
            print(exc)
        """,
    )
    assert done.returncode == 0, done.stderr
    impact, generated, pdf = done.stdout.splitlines()
    assert "pip install 'changeflow[impact]'" in impact and "impact engine" in impact
    assert "pip install 'changeflow[impact]'" in generated
    assert "pip install 'changeflow[pdf]'" in pdf and "format=html" in pdf


async def test_the_api_answers_501_for_a_pdf_without_weasyprint_and_still_serves_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.approvals.decisions import Role
    from infra.settings import Settings
    from starter.api.app import create_api
    from store.audit.trail import append_event
    from store.users import add_user
    from tests.support.db import migrated_engine

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint: ImportError
    url = f"sqlite:///{tmp_path / 'changeflow.db'}"
    engine = migrated_engine(url)
    token = add_user(engine, "audit.ray", Role.auditor)
    append_event(
        engine,
        change_id="ECO-PDF",
        event_key="ECO-PDF:1",
        actor="maria.engineer",
        action="change.submitted",
        detail={},
    )
    settings = Settings(home=tmp_path, database_url=url)
    app = create_api(settings, client=object(), engine=engine)  # type: ignore[arg-type]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {token}"},
        ) as api,
    ):
        pdf = await api.get("/api/changes/ECO-PDF/audit", params={"format": "pdf"})
        assert pdf.status_code == 501, pdf.text
        assert "changeflow[pdf]" in pdf.json()["detail"]
        html = await api.get("/api/changes/ECO-PDF/audit", params={"format": "html"})
        assert html.status_code == 200 and "ECO-PDF" in html.text
        assert (await api.get("/api/changes/ECO-PDF/audit?format=json")).status_code == 200
