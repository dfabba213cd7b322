"""Impact assessment activity: read the thread, assess, store the report, return its summary."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions.registry import registered
from activities.deps import ActivityDeps
from domain.approvals.policy import evaluate
from domain.change.errors import ChangeRejectedError
from domain.impact.engine import assess
from domain.impact.report import ImpactKind, ImpactReport, ImpactSummary
from domain.messages import AssessInput, AssessResult
from domain.rollout.plan import PlanError, build_plan, wave_sizes
from domain.signatures.esign import content_hash
from infra.logs import get_logger
from store.artifacts import artifact_id, save_artifact
from store.thread.index_cache import IndexCache
from store.thread.store import ThreadStore

INVALID_CHANGE = "InvalidChange"


class AssessmentActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps
        self.indexes = IndexCache(ThreadStore(deps.engine), deps.settings.home)

    @activity.defn(name="assess_impact")
    async def assess_impact(self, inp: AssessInput) -> AssessResult:
        log = get_logger(change_id=inp.change_id)
        version, index = await asyncio.to_thread(self.indexes.current)
        if version == 0:
            raise ApplicationError(
                "the digital thread is empty: no sync has committed yet", type="ThreadEmpty"
            )
        try:
            report = await asyncio.to_thread(assess, inp.change_id, inp.request, index)
            plan = build_plan(inp.change_id, inp.revision, inp.request, report, registered())
        except (ChangeRejectedError, PlanError) as exc:
            raise ApplicationError(
                str(exc), exc.problems, type=INVALID_CHANGE, non_retryable=True
            ) from exc
        report_id = artifact_id(inp.change_id, "impact", inp.revision)
        await asyncio.to_thread(
            save_artifact,
            self.deps.engine,
            artifact=report_id,
            change_id=inp.change_id,
            kind="impact",
            content=report,
        )
        plan_id = artifact_id(inp.change_id, "plan", inp.revision)
        await asyncio.to_thread(
            save_artifact,
            self.deps.engine,
            artifact=plan_id,
            change_id=inp.change_id,
            kind="plan",
            content=plan,
        )
        log.info(
            "impact assessed",
            report_id=report_id,
            counts=report.counts(),
            risk=report.risk.level.value,
        )
        return AssessResult(
            impact=summarize(report, report_id, version),
            required_approvals=evaluate(self.deps.settings.approvals, inp.request, report),
            tasks=plan.tasks if len(plan.tasks) <= self.deps.settings.large_plan else [],
            plan_hash=plan.plan_hash,
            pilot_plant=plan.pilot_plant,
            plan_id=plan_id,
            wave_sizes=wave_sizes(plan.tasks),
            expire_after_days=self.deps.settings.approvals.expire_after_days,
            impact_hash=content_hash(report.model_dump_json()),
        )


def summarize(
    report: ImpactReport, report_id: str, thread_version: int | None = None
) -> ImpactSummary:
    return ImpactSummary(
        report_id=report_id,
        plants=report.plants,
        counts=report.counts(),
        risk_score=report.risk.score,
        risk_level=report.risk.level,
        fai_required=report.fai_required,
        end_items=sorted({o.key for o in report.of_kind(ImpactKind.end_item)}),
        thread_version=thread_version,
    )
