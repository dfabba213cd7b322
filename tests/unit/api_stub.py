"""The API and the pages without Temporal: `create_app` with a stub client that answers for one
or more changes (their state, as the workflow would) and records what the API sent (started
workflows, Updates), over a store made by the migrations. For the tests of who may sign, submit
and sign in; the workflow's own checks are tested with the workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Engine

from domain.approvals.decisions import ApprovalsState, RequiredApproval, Role
from domain.approvals.policy import ApprovalPolicy, default_policy
from domain.change.stages import ChangeStage
from domain.lifecycle.state import ChangeState
from domain.messages import InputReceipt
from infra.settings import Settings
from starter.server import create_app
from store.credentials import set_password
from store.users import add_user
from tests.support.data import bracket_request
from tests.support.db import migrated_engine

PASSWORD = "correct horse battery staple"
USERS = {
    "maria.engineer": (Role.engineering, None),
    "eng.kim": (Role.engineering, None),
    "qa.lee": (Role.quality, None),
    "qa.strict": (Role.quality, None),
    "ana.lyst": (Role.analyst, None),
    "audit.ray": (Role.auditor, None),
    "mail.bot": (Role.notifier, None),
    "ops.admin": (Role.admin, None),
}


def change_state(
    change_id: str = "CHG-1",
    *,
    requested_by: str = "maria.engineer",
    submitted_by: str = "maria.engineer",
    stage: ChangeStage = ChangeStage.awaiting_approval,
    required: list[RequiredApproval] | None = None,
) -> ChangeState:
    request = bracket_request(requested_by=requested_by)
    return ChangeState(
        change_id=change_id,
        title=request.title,
        type=request.type.value,
        stage=stage,
        requested_by=requested_by,
        submitted_by=submitted_by,
        priority=request.priority.value,
        request=request,
        approvals=ApprovalsState(
            required=required
            if required is not None
            else [RequiredApproval(role=Role.quality), RequiredApproval(role=Role.engineering)]
        ),
    )


@dataclass
class StubTemporal:
    """What the API asks of Temporal, answered from `states`; what it sends, kept."""

    states: dict[str, ChangeState] = field(default_factory=dict)
    updates: list[tuple[str, Any]] = field(default_factory=list)  # (change id, message)
    started: list[Any] = field(default_factory=list)  # ChangeInput of each start
    namespace: str = "default"

    def get_workflow_handle(self, workflow_id: str) -> StubHandle:
        return StubHandle(self, workflow_id)

    async def start_workflow(self, _run: Any, inp: Any, **_options: Any) -> None:
        self.started.append(inp)

    def list_workflows(self, _query: str, limit: int = 100) -> Any:
        async def ids() -> Any:
            for change_id in list(self.states)[:limit]:
                yield SimpleNamespace(id=change_id)

        return ids()


@dataclass
class StubHandle:
    temporal: StubTemporal
    id: str

    async def describe(self) -> Any:
        if self.id not in self.temporal.states:
            from temporalio.service import RPCError, RPCStatusCode

            raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")
        task = SimpleNamespace(attempt=1)
        return SimpleNamespace(
            workflow_type="ChangeWorkflow",
            raw_description=SimpleNamespace(pending_workflow_task=task),
        )

    async def query(self, _query: Any, **_options: Any) -> ChangeState:
        return self.temporal.states[self.id]

    async def execute_update(self, _update: Any, message: Any, *, id: str, **_: Any) -> Any:
        self.temporal.updates.append((self.id, message))
        return InputReceipt(input_id=id, recorded="recorded")


@dataclass
class Api:
    app: Any
    engine: Engine
    temporal: StubTemporal
    tokens: dict[str, str]
    settings: Settings

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def decisions(self) -> list[Any]:
        return [m for _id, m in self.temporal.updates if hasattr(m, "approval_id")]


def stub_api(tmp: Path, policy: ApprovalPolicy | None = None, **settings: Any) -> Api:
    """The app over a fresh SQLite store with USERS (each with PASSWORD) and one change,
    CHG-1, awaiting quality and engineering approvals."""
    engine = migrated_engine(f"sqlite:///{tmp / 'changeflow.db'}")
    tokens = {name: add_user(engine, name, role, plant) for name, (role, plant) in USERS.items()}
    for name in USERS:
        set_password(engine, name, PASSWORD)
    cfg = Settings(
        home=tmp,
        database_url=f"sqlite:///{tmp / 'changeflow.db'}",
        approvals=policy or default_policy(),
        **settings,
    )
    temporal = StubTemporal(states={"CHG-1": change_state()})
    app = create_app(cfg, client=temporal, engine=engine)  # type: ignore[arg-type]
    return Api(app=app, engine=engine, temporal=temporal, tokens=tokens, settings=cfg)
