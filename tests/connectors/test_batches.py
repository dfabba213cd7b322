"""A large plan's batch activities against the simulator: a batch interrupted in the middle (a
system fails after some writes) resumes without applying any key twice; read-back and
compensation in batches put the plant back exactly as it was."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.actions.registry import registered
from activities.batches import BatchActivities
from activities.deps import ActivityDeps
from connectors.sim.app import create_app
from domain.messages import BatchInput
from domain.rollout.plan import build_plan
from infra.settings import Settings
from store.artifacts import save_artifact
from tests.support.data import assess_demo, bracket_request
from tests.support.db import migrated_engine
from tests.support.helpers import free_port
from tests.support.servers import ServerThread


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(create_app(tmp_path_factory.mktemp("sim") / "sim.db"), free_port())
    server.start()
    yield server
    server.stop()


def det_state(sim: ServerThread) -> dict:
    import httpx

    return httpx.get(f"{sim.url}/sim/state", timeout=10).json()["DET"]


async def test_a_batch_resumes_after_an_interruption_and_applies_every_key_once(
    sim: ServerThread, tmp_path: Path
) -> None:
    import httpx

    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'cf.db'}", simulator_url=sim.url
    )
    migrated_engine(settings.db_url)  # `changeflow store upgrade`
    deps = ActivityDeps.from_settings(settings)
    change_id = "BATCH-1"
    request = bracket_request()
    plan = build_plan(change_id, 1, request, assess_demo(change_id, request), registered())
    save_artifact(
        deps.engine, artifact="plan-batch-1", change_id=change_id, kind="plan", content=plan
    )
    before = det_state(sim)
    batches = BatchActivities(deps)
    # DET is the second wave; its QMS fails once after the ERP writes went through
    httpx.post(
        f"{sim.url}/sim/faults",
        json={"path_contains": "/qms/DET/inspection-plans/", "status": 503, "times": 1},
    )
    batch = BatchInput(change_id=change_id, plan_id="plan-batch-1", wave=2, offset=0, limit=100)
    beats: list = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    with pytest.raises(ApplicationError):
        await env.run(batches.apply_batch, batch)
    first = httpx.get(f"{sim.url}/sim/ledger", params={"change_id": change_id}).json()
    assert first, "some writes went through before the failure"
    resumed = await env.run(batches.apply_batch, batch)  # Temporal's retry of the activity
    assert resumed.failed == [] and resumed.already == len(first)
    ledger = httpx.get(f"{sim.url}/sim/ledger", params={"change_id": change_id}).json()
    assert max(Counter(e["idempotency_key"] for e in ledger).values()) == 1
    assert len(ledger) == resumed.already + resumed.done == sum(t.wave == 2 for t in plan.tasks)

    # what GET /api/changes/{id}/plan shows of a large plan: statuses from the store
    from starter.api.routes.plan import large_plan

    shown = {t.id: t.status.value for t in large_plan(deps.engine, change_id, "plan-batch-1").tasks}
    assert {shown[t.id] for t in plan.tasks if t.wave == 2} == {"done"}
    assert {shown[t.id] for t in plan.tasks if t.wave != 2} == {"pending"}

    checked = await env.run(batches.verify_batch, batch.model_copy(update={"step": "verify"}))
    assert checked.failed == [] and checked.done == len(ledger)
    undone = await env.run(
        batches.compensate_batch, batch.model_copy(update={"step": "compensate"})
    )
    assert undone.failed == [] and undone.done == len(ledger)
    after = det_state(sim)
    for system, kind in (
        ("ERP", "mbom_line"),
        ("ERP", "purchase_order"),
        ("QMS", "inspection_plan"),
    ):
        assert sorted(map(str, after[system][kind])) == sorted(map(str, before[system][kind]))
    assert sorted(map(str, after["MES"]["work_instruction"])) == sorted(
        map(str, before["MES"]["work_instruction"])
    )
    await deps.connectors.aclose()
