"""Compensation read back like a write, against the simulator: `compensate_task` passes when the
system shows what it held before the change, and fails with CompensationMismatch (not retried),
naming the system, plant, object and what it shows against what it should, when it does not:
someone changed the object behind changeflow's back, or the undo write was lost (a repeated
undo whose key the system answers as a replay while the object shows the change again). The
large plan's compensate_batch reports the same as a failed task."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.actions.base import ActionContext
from activities.actions.registry import handler_for, registered
from activities.batches import BatchActivities
from activities.deps import ActivityDeps
from activities.failures import COMPENSATION_MISMATCH, TRANSIENT
from activities.rollout import RolloutActivities
from connectors.registry import Connectors
from connectors.sim.app import create_app
from domain.messages import BatchInput, TaskInput
from domain.rollout.plan import RolloutPlan
from domain.rollout.tasks import RolloutTask, TaskAction
from domain.thread.objects import System
from infra.settings import Settings
from store.artifacts import save_artifact
from store.plan_tasks import task_states
from tests.support.db import migrated_engine
from tests.support.helpers import free_port
from tests.support.servers import ServerThread

BRACKET = {"part": "100-200", "from_revision": "B", "to_revision": "C"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(create_app(tmp_path_factory.mktemp("sim") / "sim.db"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Engine]:
    home = tmp_path_factory.mktemp("store")
    url = f"sqlite:///{home / 'cf.db'}"
    return home, migrated_engine(url)  # `changeflow store upgrade`


@pytest.fixture
async def deps(sim: ServerThread, store: tuple[Path, Engine]) -> AsyncIterator[ActivityDeps]:
    home, engine = store
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'cf.db'}", simulator_url=sim.url
    )
    deps = ActivityDeps(settings=settings, engine=engine, connectors=Connectors(settings))
    yield deps
    await deps.connectors.aclose()


def task(
    action: TaskAction, system: System, plant: str, target: str, /, **params: str
) -> RolloutTask:
    return RolloutTask(
        id=f"{plant}.{system.value}.{action.value}.{target}",
        system=system,
        plant=plant,
        action=action,
        target=target,
        params=params,
        summary=f"{action.value} {target}",
    )


TASKS = {
    "update_mbom": task(
        TaskAction.update_mbom, System.ERP, "DET", "100-200", from_revision="B", to_revision="C"
    ),
    "revise_purchase_order": task(
        TaskAction.revise_purchase_order, System.ERP, "DET", "PUR-DET-100-200", **BRACKET
    ),
    "publish_work_instruction": task(
        TaskAction.publish_work_instruction, System.MES, "DET", "WI-DET-200-100-10", **BRACKET
    ),
    "update_routing_operation": task(
        TaskAction.update_routing_operation,
        System.MES,
        "DET",
        "R-DET-500-100/10",
        routing="R-DET-500-100",
        op_no="10",
        std_time_min="3.2",
        work_center="DET-WC01",
    ),
    "revise_inspection_plan": task(
        TaskAction.revise_inspection_plan, System.QMS, "DET", "IP-DET-100-200", **BRACKET
    ),
    "record_disposition": task(
        TaskAction.record_disposition,
        System.ERP,
        "DET",
        "100-200|B|DET-RM-01",
        disposition="rework or scrap",
    ),
}


def sim_doc(sim: ServerThread, path: str) -> dict[str, Any]:
    response = httpx.get(f"{sim.url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def edit_behind_changeflow(
    sim: ServerThread, system: str, plant: str, kind: str, key: str, doc: dict[str, Any]
) -> None:
    """A person edits the system directly (the simulator's admin hook: no changeflow write)."""
    response = httpx.put(
        f"{sim.url}/sim/objects/{system}/{kind}/{quote(key, safe='')}",
        params={"plant": plant},
        json=doc,
        timeout=10,
    )
    response.raise_for_status()


async def apply(rollout: RolloutActivities, change_id: str, t: RolloutTask) -> TaskInput:
    """Apply the task; what the workflow then compensates (the task with its `before`)."""
    result = await ActivityEnvironment().run(
        rollout.apply_task, TaskInput(change_id=change_id, task=t)
    )
    return TaskInput(change_id=change_id, task=t.model_copy(update={"before": result.before}))


async def compensate(rollout: RolloutActivities, inp: TaskInput) -> None:
    await ActivityEnvironment().run(rollout.compensate_task, inp)


async def mismatch(rollout: RolloutActivities, inp: TaskInput) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await compensate(rollout, inp)
    err = caught.value
    assert err.type == COMPENSATION_MISMATCH and err.non_retryable
    assert err.message.startswith(f"compensation of {inp.task.id} not confirmed: ")
    return err


# -- every action ---------------------------------------------------------------------------


def test_every_registered_action_reads_its_undo_back() -> None:
    assert registered() == frozenset(TaskAction)
    for name in registered():
        handler = handler_for(name)
        method = getattr(type(handler), "read_back_undone", None)
        assert method is not None and inspect.iscoroutinefunction(method), name


# -- restored: the compensation passes -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
async def test_a_restored_system_passes_the_compensation(
    deps: ActivityDeps, sim: ServerThread, name: str
) -> None:
    t = TASKS[name]
    rollout = RolloutActivities(deps)
    before = sim_doc(sim, "/sim/state")[t.plant or ""]
    inp = await apply(rollout, f"CR-OK-{name}", t)
    handler = handler_for(t.action)
    ctx = ActionContext(change_id=inp.change_id, task=inp.task, connectors=deps.connectors)
    assert (await handler.read_back(ctx)).ok
    assert not (await handler.read_back_undone(ctx)).ok  # the change is there
    await compensate(rollout, inp)
    assert (await handler.read_back_undone(ctx)).ok
    after = sim_doc(sim, "/sim/state")[t.plant or ""][t.system.value]
    for kind, docs in before[t.system.value].items():
        assert sorted(map(str, after[kind])) == sorted(map(str, docs)), kind


# -- not restored: CompensationMismatch ------------------------------------------------------


async def test_a_purchase_order_changed_behind_changeflow_holds_the_compensation(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    """A buyer moves the PO to another revision after the change: the undo finds nothing of its
    own to undo, and the read-back says the PO does not buy what it bought before."""
    rollout = RolloutActivities(deps)
    po_id = "PUR-DET-100-200"
    inp = await apply(rollout, "CR-PO-1", TASKS["revise_purchase_order"])
    po = sim_doc(sim, f"/erp/DET/purchase-orders/{po_id}")
    edit_behind_changeflow(sim, "ERP", "DET", "purchase_order", po_id, {**po, "revision": "X"})
    err = await mismatch(rollout, inp)
    assert err.message.endswith(
        f"ERP DET purchase order {po_id} shows 100-200 rev X, should show 100-200 rev B"
    )
    edit_behind_changeflow(sim, "ERP", "DET", "purchase_order", po_id, {**po, "revision": "B"})
    await compensate(rollout, inp)  # put right by hand: the compensation now reads back


async def test_a_lost_mbom_undo_holds_the_compensation(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    """The undo ran; then a line is pointed at the change's revision again and the undo is
    repeated (a second rollback): the ERP answers the undo's key as a replay and changes
    nothing, so the line still consumes rev C."""
    rollout = RolloutActivities(deps)
    inp = await apply(rollout, "CR-MBOM-1", TASKS["update_mbom"])
    await compensate(rollout, inp)
    line = next(
        line
        for line in sim_doc(sim, "/erp/DET/mbom/uses/100-200")["lines"]
        if line["parent"] == "500-100"
    )
    edit_behind_changeflow(
        sim, "ERP", "DET", "mbom_line", "500-100|100-200", {**line, "component_revision": "C"}
    )
    err = await mismatch(rollout, inp)
    assert err.message.endswith(
        "ERP DET MBOM (100-200) shows 200-100 using rev B, 500-100 using rev C, "
        "should show no line using rev C"
    )
    edit_behind_changeflow(sim, "ERP", "DET", "mbom_line", "500-100|100-200", line)


async def test_a_lost_work_instruction_restore_holds_the_compensation(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    rollout = RolloutActivities(deps)
    wi_id = "WI-DET-200-100-10"
    inp = await apply(rollout, "CR-WI-1", TASKS["publish_work_instruction"])
    await compensate(rollout, inp)
    wi = sim_doc(sim, f"/mes/DET/work-instructions/{wi_id}")
    parts = [{**ref, "revision": "C"} if ref["part"] == "100-200" else ref for ref in wi["parts"]]
    edit_behind_changeflow(sim, "MES", "DET", "work_instruction", wi_id, {**wi, "parts": parts})
    err = await mismatch(rollout, inp)
    assert err.message.endswith(
        f"MES DET work instruction {wi_id} (rev 4) shows 100-200 rev C, should show 100-200 rev B"
    )
    edit_behind_changeflow(sim, "MES", "DET", "work_instruction", wi_id, wi)


async def test_a_lost_routing_restore_holds_the_compensation(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    rollout = RolloutActivities(deps)
    inp = await apply(rollout, "CR-OP-1", TASKS["update_routing_operation"])
    await compensate(rollout, inp)
    routing = sim_doc(sim, "/mes/DET/routings/R-DET-500-100")
    changed = {
        **routing,
        "operations": [{**op, "std_time_min": 3.2} for op in routing["operations"]],
    }
    edit_behind_changeflow(sim, "MES", "DET", "routing", "R-DET-500-100", changed)
    err = await mismatch(rollout, inp)
    assert err.message.endswith(
        "MES DET routing R-DET-500-100 op 10 shows 3.2 min at DET-WC02, "
        "should show 6.3 min at DET-WC02"
    )
    edit_behind_changeflow(sim, "MES", "DET", "routing", "R-DET-500-100", routing)


async def test_a_read_back_that_fails_transiently_is_retried(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    """The undo went through but its read-back met a 503: a retryable failure, and the retry
    (the undo a replay) reads the restored document back."""
    rollout = RolloutActivities(deps)
    wi_id = "WI-DET-200-100-10"
    inp = await apply(rollout, "CR-WI-2", TASKS["publish_work_instruction"])
    httpx.post(
        f"{sim.url}/sim/faults",
        json={"path_contains": f"/mes/DET/work-instructions/{wi_id}", "method": "GET"},
    )
    with pytest.raises(ApplicationError) as caught:
        await compensate(rollout, inp)
    assert caught.value.type == TRANSIENT and not caught.value.non_retryable
    await compensate(rollout, inp)


async def test_a_check_has_nothing_to_undo(deps: ActivityDeps) -> None:
    smoke = task(TaskAction.smoke_check, System.ERP, "BRN", "ERP@BRN", system="ERP", version="7.4")
    result = await ActivityEnvironment().run(
        RolloutActivities(deps).compensate_task, TaskInput(change_id="CR-SMOKE", task=smoke)
    )
    assert "nothing to undo" in result.detail


async def test_a_lost_cutover_undo_holds_the_compensation(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    """Cut back to 7.4 and read back; then someone runs 7.6 and the undo is repeated: the
    system answers its key as a replay, and it does not run what it ran before."""
    rollout = RolloutActivities(deps)
    cutover = task(
        TaskAction.cutover_system, System.ERP, "BRN", "ERP@BRN", system="ERP", version="7.5"
    )
    inp = await apply(rollout, "CR-CUT-1", cutover)
    assert inp.task.before == {"version": "7.4"}
    await compensate(rollout, inp)
    assert sim_doc(sim, "/erp/BRN/admin/version")["version"] == "7.4"
    edit_behind_changeflow(
        sim,
        "ERP",
        "BRN",
        "system_version",
        "current",
        {"system": "ERP", "plant": "BRN", "version": "7.6"},
    )
    err = await mismatch(rollout, inp)
    assert err.message.endswith("ERP BRN system shows version 7.6, should show version 7.4")


# -- a large plan's batch --------------------------------------------------------------------


async def test_compensate_batch_reports_a_mismatch_as_a_failed_task(
    deps: ActivityDeps, sim: ServerThread
) -> None:
    change_id = "CR-BATCH-1"
    tasks = [
        task(
            TaskAction.update_mbom, System.ERP, "MTY", "100-200", from_revision="B", to_revision="C"
        ),
        task(TaskAction.revise_purchase_order, System.ERP, "MTY", "PUR-MTY-100-200", **BRACKET),
        task(TaskAction.revise_inspection_plan, System.QMS, "MTY", "IP-MTY-100-200", **BRACKET),
    ]
    tasks = [t.model_copy(update={"wave": 1}) for t in tasks]
    plan = RolloutPlan(
        change_id=change_id, revision=1, pilot_plant="MTY", tasks=tasks, plan_hash="-"
    )
    save_artifact(
        deps.engine, artifact="plan-cr-batch-1", change_id=change_id, kind="plan", content=plan
    )
    batches = BatchActivities(deps)
    env = ActivityEnvironment()
    batch = BatchInput(change_id=change_id, plan_id="plan-cr-batch-1", wave=1, offset=0, limit=10)
    applied = await env.run(batches.apply_batch, batch)
    assert applied.failed == [] and applied.done == 3
    po_id = "PUR-MTY-100-200"
    po = sim_doc(sim, f"/erp/MTY/purchase-orders/{po_id}")
    edit_behind_changeflow(sim, "ERP", "MTY", "purchase_order", po_id, {**po, "revision": "X"})
    undone = await env.run(
        batches.compensate_batch, batch.model_copy(update={"step": "compensate"})
    )
    assert undone.done == 2
    [failed] = undone.failed
    po_task = tasks[1].id
    assert failed.task_id == po_task and failed.plant == "MTY"
    assert failed.error == (
        f"compensation of {po_task} not confirmed: ERP MTY purchase order {po_id} shows "
        "100-200 rev X, should show 100-200 rev B"
    )
    states = task_states(deps.engine, change_id, [t.id for t in tasks])
    assert {tid: s.status for tid, s in states.items()} == {
        tasks[0].id: "compensated",
        po_task: "done",  # not undone as far as anyone can tell: a person decides
        tasks[2].id: "compensated",
    }
