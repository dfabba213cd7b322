"""What every part of ChangeWorkflow shares: the change's state, stage bookkeeping, the audit
trail (a store outage is waited out, never turned into a failed change) and the Web UI details."""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.lifecycle.details import details_markdown
    from domain.lifecycle.state import ChangeState, StageEntry
    from domain.messages import AuditInput, CancelRequest, ChangeOutcome, Resolution
    from domain.rollout.tasks import RolloutTask
    from workflows.audit_trail import STORE_OUTAGE_PAUSE, AuditWriter, send_audit
    from workflows.search_attributes import CHANGE_STAGE
    from workflows.versions import Versions


BATCHED_AUDIT_PATCH = "batched-audit"  # patch: earlier runs wrote one activity per event
LOCAL_AUDIT_PATCH = "local-audit"  # patch: earlier runs wrote batches as (remote) activities


class ChangeBase:
    """State and bookkeeping; ChangeWorkflow's __init__ sets every attribute declared here."""

    _versions: Versions
    _state: ChangeState
    _chain_key: str
    _chain_refused: bool
    _audit_seq: int
    _holds: int
    _used_inputs: set[str]
    _resolution: Resolution | None
    _cancel: CancelRequest | None
    _inflight: dict[str, tuple[RolloutTask, Any, str]]
    _audit_writer: AuditWriter | None

    # -- stage bookkeeping --------------------------------------------------------------------
    async def _finish(self, stage: ChangeStage, note: str) -> ChangeOutcome:
        self._state.outcome = note
        if self._audit_writer is None:
            await self._set_stage(stage, note)
            return self._outcome()
        # batched audit: the record is complete before the change shows it has ended
        await self._audit(f"stage.{stage.value}", "changeflow", {"note": note})
        await self._audit_flushed()
        self._enter(stage, note)
        return self._outcome()

    def _outcome(self) -> ChangeOutcome:
        s = self._state
        return ChangeOutcome(change_id=s.change_id, stage=s.stage, outcome=s.outcome)

    async def _set_stage(self, stage: ChangeStage, note: str = "") -> None:
        self._enter(stage, note)
        await self._audit(f"stage.{stage.value}", "changeflow", {"note": note})

    def _enter(self, stage: ChangeStage, note: str) -> None:
        self._state.stage = stage
        self._state.history.append(StageEntry(stage=stage, at=workflow.now(), note=note))
        workflow.upsert_search_attributes([CHANGE_STAGE.value_set(stage.value)])
        self._refresh_details()

    async def _audit(self, action: str, actor: str, detail: dict) -> None:
        """Append to the audit trail; a store outage is waited out (with an alert in the
        details), never turned into a failed change."""
        if self._chain_refused:
            return
        self._audit_seq += 1
        record = AuditInput(
            change_id=self._state.change_id,
            event_key=f"{self._state.change_id}:{workflow.info().run_id}:{self._audit_seq}",
            chain_key=self._chain_key,
            actor=actor,
            action=action,
            detail=detail,
            workflow_id=workflow.info().workflow_id,
            run_id=workflow.info().run_id,
        )
        if self._audit_writer is not None:  # batched, in the background
            self._audit_writer.add(record)
            return
        if not await send_audit(record, self._show_alert):
            self._chain_refused = True
            return
        self._clear_alert()

    def _batch_audit(self) -> None:
        """Decided once, first: a new run writes its audit events in batches."""
        if self._versions.patched(BATCHED_AUDIT_PATCH):
            self._audit_writer = AuditWriter(
                self._show_alert, self._clear_alert, self._versions.patched(LOCAL_AUDIT_PATCH)
            )

    async def _audit_flushed(self) -> None:
        """Wait until every event so far is in the store (and learn if the chain refused)."""
        if self._audit_writer is not None:
            await self._audit_writer.flushed()
            self._chain_refused = self._chain_refused or self._audit_writer.refused

    async def _wait_out(self, alert: str) -> None:
        """Show the problem, then wait a while (or until cancelled) before trying again."""
        self._show_alert(alert)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._cancel is not None, timeout=STORE_OUTAGE_PAUSE
            )

    def _show_alert(self, alert: str) -> None:
        self._state.alert = alert
        self._refresh_details()

    def _clear_alert(self) -> None:
        if self._state.alert:
            self._state.alert = ""
            self._refresh_details()

    def _refresh_details(self) -> None:
        workflow.set_current_details(details_markdown(self._state))

    def _cancel_note(self) -> str:
        cancel = self._cancel
        if cancel is None:
            return ""
        return f"cancelled by {cancel.by}" + (f": {cancel.reason}" if cancel.reason else "")
