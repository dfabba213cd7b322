"""Issue "Signatures and records that hold against an insider", defect 5: anyone could name
anyone as the requester (the strict quality approver, who then could not decide, lost the change
from their inbox and gained revise and cancel rights; an auditor, who then revised through the
page). `requested_by` defaults to the submitter; naming someone else is for the roles
`[approvals] submit_on_behalf` lists and is recorded as "submitted by X on behalf of Y"; the
revise page refuses auditors like the API; a revision keeps the requester. Temporal is a stub."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from domain.change.stages import ChangeStage
from domain.lifecycle.details import details_markdown
from starter.api.routes import changes as change_routes
from store.audit.read import read_events
from tests.support.data import EXAMPLE
from tests.unit.api_stub import PASSWORD, Api, change_state, stub_api


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Api:
    async def nothing_wrong(*_args: object) -> list[str]:
        return []  # PLM is not running here: every part and revision exists

    monkeypatch.setattr(change_routes, "validate_against_systems", nothing_wrong)
    return stub_api(tmp_path)


def change_file(**fields: object) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.pop("requested_by", None)
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_the_requester_is_the_submitter_unless_named(api: Api) -> None:
    with TestClient(api.app) as web:
        mine = web.post("/api/changes", json=change_file(), headers=api.auth("ana.lyst"))
        assert mine.status_code == 201, mine.text
        named_self = web.post(
            "/api/changes",
            json=change_file(requested_by="ana.lyst"),
            headers=api.auth("ana.lyst"),
        )
        assert named_self.status_code == 201, named_self.text
    first, second = api.temporal.started
    assert first.request.requested_by == first.submitted_by == "ana.lyst"
    assert second.request.requested_by == "ana.lyst"


def test_naming_someone_else_as_requester_is_for_the_policys_roles(api: Api) -> None:
    with TestClient(api.app) as web:
        # an analyst names the strict quality approver: refused, nothing started
        hijack = web.post(
            "/api/changes",
            json=change_file(requested_by="qa.strict"),
            headers=api.auth("ana.lyst"),
        )
        assert hijack.status_code == 403, hijack.text
        assert "submit_on_behalf" in hijack.json()["detail"]
        assert api.temporal.started == []
        # an engineer may submit for someone, and the record says so
        for_maria = web.post(
            "/api/changes",
            json=change_file(requested_by="maria.engineer"),
            headers=api.auth("eng.kim"),
        )
        assert for_maria.status_code == 201, for_maria.text
    (started,) = api.temporal.started
    assert (started.submitted_by, started.request.requested_by) == ("eng.kim", "maria.engineer")
    events = read_events(api.engine, for_maria.json()["change_id"])
    (event,) = [e for e in events if e.action == "change.submitted_on_behalf"]
    assert event.actor == "eng.kim"
    assert event.detail["note"] == "submitted by eng.kim on behalf of maria.engineer"
    state = change_state(requested_by="maria.engineer", submitted_by="eng.kim")
    assert state.submission == "submitted by eng.kim on behalf of maria.engineer"
    assert state.model_dump(mode="json")["submission"] == state.submission
    assert "submitted by eng.kim on behalf of maria.engineer" in details_markdown(state)
    assert change_state().submission == "submitted by maria.engineer"


def test_the_revise_page_refuses_auditors_like_the_api(api: Api) -> None:
    api.temporal.states["CHG-2"] = change_state(
        "CHG-2",
        requested_by="audit.ray",
        submitted_by="ops.admin",
        stage=ChangeStage.changes_requested,
    )
    revised = yaml.safe_dump(change_file(requested_by="audit.ray", reason="as asked"))
    with TestClient(api.app, follow_redirects=False) as web:
        through_api = web.post(
            "/api/changes/CHG-2/revise",
            json={"change": change_file(reason="as asked")},
            headers=api.auth("audit.ray"),
        )
        assert through_api.status_code == 403
        assert web.post("/login", data={"name": "audit.ray", "password": PASSWORD}).status_code
        page = web.get("/changes/CHG-2")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        sent = web.post(
            "/changes/CHG-2/revise", data={"csrf": csrf, "change": revised, "comment": "x"}
        )
        assert api.temporal.updates == []  # nothing reached the change
        assert sent.status_code == 303 and "error=" in sent.headers["location"]
        assert "auditors read" in web.get(sent.headers["location"]).text
        assert "/changes/CHG-2/revise" not in page.text  # no revise link for an auditor


def test_a_revision_keeps_the_requester(api: Api) -> None:
    api.temporal.states["CHG-3"] = change_state(
        "CHG-3", requested_by="maria.engineer", stage=ChangeStage.changes_requested
    )
    url = "/api/changes/CHG-3/revise"
    with TestClient(api.app) as web:
        other = web.post(
            url,
            json={"change": change_file(requested_by="qa.strict")},
            headers=api.auth("maria.engineer"),
        )
        assert other.status_code == 422 and "keeps the change's requester" in other.text
        same = web.post(url, json={"change": change_file()}, headers=api.auth("maria.engineer"))
        assert same.status_code == 202, same.text
    ((_id, revision),) = api.temporal.updates
    assert revision.request.requested_by == "maria.engineer"
