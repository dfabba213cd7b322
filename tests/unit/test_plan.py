"""The rollout plan: waves, pilot choice, content hash and validation (pure)."""

from __future__ import annotations

import pytest

from activities.actions.registry import registered
from domain.rollout.plan import PlanError, assign_waves, build_plan, plan_hash, plan_problems
from domain.rollout.tasks import RolloutTask, TaskAction, TaskStatus
from domain.thread.objects import System
from tests.support.data import assess_demo, bracket_request

ACTIONS = registered()


def plan_for(**overrides):
    request = bracket_request(**overrides)
    return build_plan("ECO-1", 1, request, assess_demo("ECO-1", request), ACTIONS)


def test_waves_put_central_systems_then_the_pilot_then_the_rest() -> None:
    plan = plan_for()
    assert plan.pilot_plant == "MTY"  # the least affected of DET and MTY
    waves = {w.wave: w.plants for w in plan.waves()}
    assert waves == {0: [], 1: ["MTY"], 2: ["DET"]}
    assert all(t.wave == 0 for t in plan.tasks if t.plant is None)
    named = plan_for(rollout={"pilot_plant": "DET"})
    assert named.pilot_plant == "DET" and {w.wave: w.plants for w in named.waves()}[2] == ["MTY"]
    assert named.plan_hash != plan.plan_hash


def test_the_hash_covers_what_the_plan_does_not_its_progress() -> None:
    plan = plan_for()
    assert plan_for().plan_hash == plan.plan_hash
    progressed = [t.model_copy(update={"status": "done", "attempts": 3}) for t in plan.tasks]
    assert plan_hash(progressed) == plan.plan_hash
    retargeted = [
        t.model_copy(update={"target": "other"}) if i == 0 else t for i, t in enumerate(plan.tasks)
    ]
    assert plan_hash(retargeted) != plan.plan_hash


def test_a_pilot_the_change_does_not_affect_is_refused() -> None:
    with pytest.raises(PlanError, match="does not affect plant BRN"):
        plan_for(rollout={"pilot_plant": "BRN"})


def task(
    task_id: str, *deps: str, action: TaskAction = TaskAction.update_mbom, plant: str = "DET"
) -> RolloutTask:
    return RolloutTask(
        id=task_id,
        system=System.ERP,
        plant=plant,
        action=action,
        target="x",
        depends_on=list(deps),
        summary=task_id,
    )


def test_plan_validation_names_every_problem() -> None:
    tasks = [task("a", "c"), task("b", "a"), task("c", "b"), task("d", "missing"), task("d")]
    problems = plan_problems(tasks, ACTIONS)
    assert "task d appears 2 times" in problems
    assert "task d depends on missing, which is not in the plan" in problems
    assert "the plan has a cycle: a -> c -> b -> a" in problems
    assert plan_problems([task("e")], {"release_revision"}) == [
        "task e: no handler for action update_mbom"
    ]
    later = assign_waves([task("p", plant="DET"), task("q", "p", plant="MTY")], pilot="MTY")
    assert any("of a later wave" in p for p in plan_problems(later, ACTIONS))
    assert plan_problems(assign_waves([task("p"), task("q", "p")], pilot="DET"), ACTIONS) == []


def test_a_process_change_plans_the_operation_then_its_work_instructions() -> None:
    from domain.change.request import ChangeRequest

    request = ChangeRequest.model_validate(
        {
            "title": "Faster press",
            "type": "process_change",
            "requested_by": "maria.engineer",
            "reason": "servo press",
            "items": [
                {
                    "plant": "DET",
                    "routing": "R-DET-500-100",
                    "op_no": 10,
                    "std_time_min": 3.2,
                    "work_center": "WC-PRESS-2",
                }
            ],
        }
    )
    plan = build_plan("ECO-2", 1, request, assess_demo("ECO-2", request), ACTIONS)
    op, *wis = plan.tasks
    assert (
        op.id == "DET.MES.op.R-DET-500-100.10" and op.action == TaskAction.update_routing_operation
    )
    assert op.params == {
        "routing": "R-DET-500-100",
        "op_no": "10",
        "std_time_min": "3.2",
        "work_center": "WC-PRESS-2",
    }
    assert wis and all(
        w.action == TaskAction.reissue_work_instruction and w.depends_on == [op.id] for w in wis
    )
    assert plan.pilot_plant == "DET" and {t.wave for t in plan.tasks} == {1}


def test_a_system_release_is_one_chain_per_plant_pilot_first() -> None:
    from domain.change.request import ChangeRequest

    request = ChangeRequest.model_validate(
        {
            "title": "MES 11.3",
            "type": "system_release",
            "requested_by": "maria.engineer",
            "reason": "patch",
            "plants": ["MTY", "DET"],
            "rollout": {"pilot_plant": "DET"},
            "items": [{"system": "MES", "version": "11.3"}, {"system": "LMS", "version": "2"}],
        }
    )
    plan = build_plan("ECO-3", 1, request, assess_demo("ECO-3", request), ACTIONS)
    by_id = {t.id: t for t in plan.tasks}
    for plant, wave in (("DET", 1), ("MTY", 2)):
        backup, cutover, smoke = (
            f"{plant}.MES.{step}.11.3" for step in ("backup", "cutover", "smoke")
        )
        assert by_id[backup].depends_on == [] and by_id[cutover].depends_on == [backup]
        assert by_id[smoke].depends_on == [cutover] and by_id[smoke].wave == wave
    assert len(plan.tasks) == 6  # LMS releases are assessed, not rolled out


def test_a_plants_tasks_are_ready_once_their_own_dependencies_are_done() -> None:
    from domain.rollout.tasks import ready_tasks

    det = [t for t in plan_for().tasks if t.plant == "DET"]
    # the PLM release is outside the plant's list: it counts as done only when told so
    assert ready_tasks(det) == []
    first = ready_tasks(det, others_finished=True)
    assert [t.id for t in first] == ["DET.ERP.mbom.100-200"]
    first[0].status = TaskStatus.done
    assert {t.id for t in ready_tasks(det, others_finished=True)} == {
        "DET.ERP.po.PUR-DET-100-200",
        "DET.ERP.stock.100-200/B/DET-RM-01",
        "DET.QMS.plan.IP-DET-100-200",
    }


def test_each_plants_progress_and_the_current_wave() -> None:
    from domain.lifecycle.details import details_markdown
    from domain.lifecycle.state import ChangeState
    from domain.rollout.progress import current_wave, plant_progress, waves_note

    tasks = plan_for().tasks
    assert current_wave(tasks) is None  # nothing has started
    for task in tasks:
        if task.wave < 2:
            task.status, task.verified = TaskStatus.done, True
    det = [t for t in tasks if t.plant == "DET"]
    det[0].status, det[1].status = TaskStatus.done, TaskStatus.failed
    rows = {p.plant: p for p in plant_progress(tasks)}
    assert [p.plant for p in plant_progress(tasks)] == ["MTY", "DET"]  # wave order
    assert rows["MTY"].pilot and rows["MTY"].done == rows["MTY"].total == rows["MTY"].verified
    assert (rows["DET"].done, rows["DET"].failed, rows["DET"].total) == (1, 1, len(det))
    assert current_wave(tasks) == 2
    note = waves_note(tasks)
    assert note.startswith("wave 2 · MTY (pilot): 7/7 done, 7 verified · DET: 1/6 done, 1 failed")
    state = ChangeState(
        change_id="ECO-1",
        title="t",
        type="part_revision",
        stage="rolling_out",
        requested_by="a",
        submitted_by="a",
        priority="normal",
        request=bracket_request(),
        tasks=tasks,
    )
    assert note in details_markdown(state)
    shown = state.model_dump(mode="json")
    assert shown["wave"] == 2 and shown["plant_progress"][1]["plant"] == "DET"


def test_what_running_plants_report_shows_over_what_the_change_recorded() -> None:
    """Readers ask running plant workflows for their tasks: running, done and failed ones show;
    what the change already settled (skipped, compensated) and other plants' tasks stay."""
    from domain.rollout.progress import with_reported

    tasks = plan_for().tasks
    det = [t for t in tasks if t.plant == "DET"]
    det[2].status = TaskStatus.skipped
    reported = [t.model_copy() for t in det]
    reported[0].status, reported[0].before = TaskStatus.done, {"rev": "B"}
    reported[1].status = TaskStatus.running
    reported[2].status = TaskStatus.done  # the change skipped it: it stays skipped
    reported[3].status, reported[3].error = TaskStatus.failed, "MES refused"
    merged = {t.id: t for t in with_reported(tasks, reported)}
    assert merged[det[0].id].status == TaskStatus.done
    assert merged[det[0].id].before == {"rev": "B"}
    assert merged[det[1].id].status == TaskStatus.running
    assert merged[det[2].id].status == TaskStatus.skipped
    assert merged[det[3].id].error == "MES refused"
    assert all(merged[t.id].status == TaskStatus.pending for t in det[4:])
    assert all(merged[t.id] is t for t in tasks if t.plant != "DET")
    assert det[0].status == TaskStatus.pending  # the change's own copy is left as it was


def test_a_plant_workflows_details_say_how_far_it_is_and_what_runs() -> None:
    from domain.rollout.progress import progress_note

    det = [t for t in plan_for().tasks if t.plant == "DET"]
    assert progress_note(det).startswith(f"DET: 0/{len(det)} done")
    det[0].status, det[1].status = TaskStatus.done, TaskStatus.running
    note = progress_note(det)
    assert note.startswith(f"DET: 1/{len(det)} done") and f"running: {det[1].summary}" in note
    for task in det[1:]:
        task.status = TaskStatus.running
    assert f"and {len(det) - 4} more" in progress_note(det)
    assert progress_note([]) == "no tasks"
