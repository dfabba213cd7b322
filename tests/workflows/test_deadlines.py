"""Issue 8, deadlines on durable timers (time-skipping server, days of simulated time): a
reminder at half an approval's SLA, an escalation at the SLA, expiry of a change left awaiting
approval, and an emergency change's retrospective approvals tracked after it rolled out."""

from __future__ import annotations

from datetime import timedelta

from domain.approvals.decisions import Decision, Role
from domain.approvals.policy import ApprovalPolicy, ApprovalRule, default_policy
from domain.change.stages import ChangeStage
from tests.support.changes import (
    actions,
    decide,
    record_history,
    start,
)
from tests.support.helpers import at_stage, wait_for
from workflows.change.workflow import ChangeWorkflow


def with_sla(**changes) -> ApprovalPolicy:
    policy = default_policy()
    policy.rules[0] = ApprovalRule(
        name="engineering",
        role=Role.engineering,
        when="always",
        sla_hours=24,
        escalation="eng.manager",
    )
    return policy.model_copy(update=changes)


async def test_a_reminder_at_half_the_sla_then_an_escalation_then_approval(env, harness) -> None:
    client, queue, fakes = harness
    fakes.policy = with_sla()
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    assert state.expires_at is not None  # 30 days by default
    await env.sleep(timedelta(hours=13))
    state = await wait_for(handle, lambda s: len(s.notifications) >= 1)
    reminder = state.notifications[0]
    assert (reminder.kind, reminder.to, reminder.approval) == (
        "reminder",
        "engineering",
        "engineering",
    )
    await env.sleep(timedelta(hours=12))
    state = await wait_for(handle, lambda s: len(s.notifications) >= 2)
    escalation = state.notifications[1]
    assert (escalation.kind, escalation.to) == ("escalation", "eng.manager")
    assert "past its 24 h SLA" in escalation.message
    assert [n.key for n in fakes.notices] == [n.key for n in state.notifications]
    for required in state.approvals.required:
        await decide(handle, required, f"approver.{required.role.value}", revision=state.revision)
    assert (await handle.result()).stage == ChangeStage.completed
    assert {"approval.reminder", "approval.escalation"} <= set(actions(fakes))
    assert len(fakes.notices) == 2  # nothing more once decided
    await record_history(handle, "change-reminded-escalated")


async def test_a_change_left_awaiting_approval_expires(env, harness) -> None:
    client, queue, fakes = harness
    fakes.policy = default_policy().model_copy(update={"expire_after_days": 2})
    handle = await start(client, queue)
    await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    result = await handle.result()  # the server skips ahead to the expiry
    assert result.stage == ChangeStage.expired
    assert "no decision within 2 days" in result.outcome
    assert [n.kind for n in fakes.notices] == ["expiry"]
    assert fakes.notices[0].to == "maria.engineer"
    assert fakes.applied == [] and "stage.expired" in actions(fakes)
    await record_history(handle, "change-expired")


async def test_an_emergency_change_rolls_out_on_one_approval_and_tracks_the_rest(
    env, harness
) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue, priority="emergency")
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    first = [r for r in state.approvals.required if not r.retrospective]
    later = [r for r in state.approvals.required if r.retrospective]
    assert first[0].role == Role.engineering and later  # (and those the policy never postpones)
    for required in first:
        await decide(handle, required, f"approver.{required.role.value}", revision=state.revision)
    state = await wait_for(handle, at_stage(ChangeStage.completed))
    assert fakes.applied  # rolled out before the others approved
    # one approves late; the rest fall overdue at 72 h and are escalated
    supply = next(r for r in later if r.role == Role.supply_chain)
    late = next(r for r in later if r is not supply)
    await decide(handle, late, f"approver.{late.role.value}.late", revision=state.revision)
    await env.sleep(timedelta(hours=73))
    state = await wait_for(handle, lambda s: len(s.notifications) >= len(later) - 1)
    assert {n.kind for n in state.notifications} == {"overdue"}
    assert late.label() not in {n.approval for n in state.notifications}
    await decide(
        handle,
        supply,
        "approver.supply",
        revision=state.revision,
        decision=Decision.reject,
        comment="stock disposition was wrong",
    )
    for required in later:
        if required not in (late, supply):
            await decide(
                handle,
                required,
                f"approver.{required.role.value}.{required.plant}",
                revision=state.revision,
            )
    result = await handle.result()
    assert result.stage == ChangeStage.completed_with_deviations
    final = await handle.query(ChangeWorkflow.state)
    assert any("retrospective supply_chain approval refused" in d for d in final.deviations)
    assert "approvals.retrospective_closed" in actions(fakes)
    await record_history(handle, "change-emergency-retrospective")
