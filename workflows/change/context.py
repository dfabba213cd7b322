"""What every part of a change shares: its state (what the `state` query answers), what people
sent that is waiting to be taken (a cancel, a resolution of a hold, a revision), the audit trail
(batched; a store outage is waited out, never turned into a failed change), stage bookkeeping
and the Web UI's details."""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.lifecycle.details import details_markdown
    from domain.lifecycle.state import ChangeState, StageEntry
    from domain.messages import (
        AuditInput,
        CancelRequest,
        ChangeInput,
        ChangeOutcome,
        Resolution,
        Revision,
    )
    from workflows.audit_trail import STORE_OUTAGE_PAUSE, AuditWriter
    from workflows.search_attributes import CHANGE_STAGE


class ChangeContext:
    """Built in the workflow's `@workflow.init`, before any handler can run."""

    def __init__(self, inp: ChangeInput) -> None:
        request = inp.request
        self.state = ChangeState(
            change_id=inp.change_id,
            title=request.title,
            type=request.type.value,
            stage=ChangeStage.submitted,
            requested_by=request.requested_by,
            submitted_by=inp.submitted_by,
            priority=request.priority.value,
            request=request,
            history=[StageEntry(stage=ChangeStage.submitted, at=workflow.now())],
        )
        self.chain_key = inp.chain_key or workflow.info().first_execution_run_id
        self.chain_refused = False  # the change id's audit chain belongs to another change
        self.cancel: CancelRequest | None = None
        self.resolution: Resolution | None = None  # a person's answer to the hold
        self.revision: Revision | None = None  # the requester's revised change file
        self._audit_seq = 0
        self._writer = AuditWriter(self.show_alert, self.clear_alert)

    # -- the audit trail ----------------------------------------------------------------------
    def audit(self, action: str, actor: str, detail: dict[str, Any]) -> None:
        """Append to the audit trail (written in the background, in order, each event once)."""
        if self.chain_refused:
            return
        self._audit_seq += 1
        info = workflow.info()
        self._writer.add(
            AuditInput(
                change_id=self.state.change_id,
                event_key=f"{self.state.change_id}:{info.run_id}:{self._audit_seq}",
                chain_key=self.chain_key,
                actor=actor,
                action=action,
                detail=detail,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
            )
        )

    async def audit_flushed(self) -> None:
        """Wait until every event so far is in the store (and learn if the chain refused)."""
        await self._writer.flushed()
        self.chain_refused = self.chain_refused or self._writer.refused

    # -- stages -------------------------------------------------------------------------------
    def set_stage(self, stage: ChangeStage, note: str = "") -> None:
        self._enter(stage, note)
        self.audit(f"stage.{stage.value}", "changeflow", {"note": note})

    async def finish(self, stage: ChangeStage, note: str) -> ChangeOutcome:
        """The change's last stage: the record is complete before the change shows it ended."""
        self.state.outcome = note
        self.audit(f"stage.{stage.value}", "changeflow", {"note": note})
        await self.audit_flushed()
        self._enter(stage, note)
        return self.outcome()

    def outcome(self) -> ChangeOutcome:
        s = self.state
        return ChangeOutcome(change_id=s.change_id, stage=s.stage, outcome=s.outcome)

    def _enter(self, stage: ChangeStage, note: str) -> None:
        self.state.stage = stage
        self.state.history.append(StageEntry(stage=stage, at=workflow.now(), note=note))
        workflow.upsert_search_attributes([CHANGE_STAGE.value_set(stage.value)])
        self.refresh_details()

    # -- cancellation -------------------------------------------------------------------------
    def cancel_note(self) -> str:
        cancel = self.cancel
        if cancel is None:
            return ""
        return f"cancelled by {cancel.by}" + (f": {cancel.reason}" if cancel.reason else "")

    # -- the Web UI's details and alerts --------------------------------------------------------
    async def wait_out(self, alert: str) -> None:
        """Show the problem, then wait a while (or until cancelled) before trying again."""
        self.show_alert(alert)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.cancel is not None, timeout=STORE_OUTAGE_PAUSE
            )

    def show_alert(self, alert: str) -> None:
        self.state.alert = alert
        self.refresh_details()

    def clear_alert(self) -> None:
        if self.state.alert:
            self.state.alert = ""
            self.refresh_details()

    def refresh_details(self) -> None:
        workflow.set_current_details(details_markdown(self.state))
