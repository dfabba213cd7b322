"""How people reach a change: signed Workflow Updates (decision, resolution, cancel), each with a
validator that refuses, before anything enters history, input that does not count. Input that is
not signed by the changeflow API is let through the validator only so that the handler can put
the attempt in the audit trail before refusing it. Signals are kept for runs from before signed
input (replay); a new run refuses and audits them."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals.decisions import ApprovalDecision, check_decision
    from domain.change.stages import ChangeStage
    from domain.lifecycle.human_input import (
        Refusal,
        RefusalKind,
        cancel_refusal,
        decision_refusal,
        resolution_refusal,
        revision_refusal,
    )
    from domain.lifecycle.state import ChangeState
    from domain.messages import CancelRequest, InputReceipt, Resolution, Revision
    from domain.signatures.signing import CANCEL, DECISION, RESOLUTION, REVISION, signature_problem
    from infra import signing
    from workflows.change.base import ChangeBase

SIGNED_INPUT = "signed-human-input"  # patch: runs from before it take unsigned signals
MAX_REFUSED_SHOWN = 50
AUDITED = "audited"  # detail of a refusal the workflow already put in the audit trail


class ChangeInputHandlers(ChangeBase):
    _revision: Revision | None

    # -- queries ----------------------------------------------------------------------------
    @workflow.query(description="The full state of the change.")
    def state(self) -> ChangeState:
        return self._state

    # -- signed human input (Updates) -------------------------------------------------------
    @workflow.update(description="An approver's decision, signed by the changeflow API.")
    async def submit_decision(self, decision: ApprovalDecision) -> InputReceipt:
        await self._admit(DECISION, decision.approver, decision, decision.approval_id)
        refusal = decision_refusal(self._state, decision)  # again: a racing decision may have won
        if refusal is not None:
            await self._refuse(DECISION, decision.approver, refusal, decision.approval_id)
        self._state.approvals.received.append(decision)
        self._refresh_details()
        await self._audit_decision(decision)
        return self._receipt(decision.approval_id, f"{decision.decision.value} recorded")

    @submit_decision.validator
    def _validate_decision(self, decision: ApprovalDecision) -> None:
        self._validate(DECISION, decision, decision_refusal(self._state, decision))

    @workflow.update(description="Retry, skip or roll back the task on hold (signed by the API).")
    async def resolve_hold(self, resolution: Resolution) -> InputReceipt:
        await self._admit(RESOLUTION, resolution.by, resolution, resolution.resolution_id)
        refusal = self._resolution_refusal(resolution)
        if refusal is not None:
            await self._refuse(RESOLUTION, resolution.by, refusal, resolution.resolution_id)
        self._used_inputs.add(resolution.resolution_id)
        self._resolution = resolution
        return self._receipt(resolution.resolution_id, f"{resolution.action.value} accepted")

    @resolve_hold.validator
    def _validate_resolution(self, resolution: Resolution) -> None:
        self._validate(RESOLUTION, resolution, self._resolution_refusal(resolution))

    @workflow.update(description="Cancel the change; what was applied is rolled back.")
    async def request_cancel(self, request: CancelRequest) -> InputReceipt:
        await self._admit(CANCEL, request.by, request, request.cancel_id)
        refusal = cancel_refusal(self._state, request)
        if refusal is not None:
            await self._refuse(CANCEL, request.by, refusal, request.cancel_id)
        if self._cancel is None:
            self._cancel = request
        await self._audit("change.cancel_requested", request.by, {"reason": request.reason})
        return self._receipt(request.cancel_id, "cancel accepted")

    @request_cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._validate(CANCEL, request, cancel_refusal(self._state, request))

    @workflow.update(description="The requester's revised change file (signed by the API).")
    async def revise(self, revision: Revision) -> InputReceipt:
        await self._admit(REVISION, revision.by, revision, revision.revision_id)
        refusal = revision_refusal(self._state, revision)
        if refusal is not None:
            await self._refuse(REVISION, revision.by, refusal, revision.revision_id)
        self._revision = revision
        await self._audit(
            "change.revised",
            revision.by,
            {
                "revision": self._state.revision + 1,
                "comment": revision.comment,
                "request": revision.request.model_dump(mode="json"),
            },
        )
        return self._receipt(revision.revision_id, "revision accepted; reassessing")

    @revise.validator
    def _validate_revision(self, revision: Revision) -> None:
        self._validate(REVISION, revision, revision_refusal(self._state, revision))

    async def _audit_decision(self, decision: ApprovalDecision) -> None:
        await self._audit(
            f"approval.{decision.decision.value}",
            decision.approver,
            {
                "approval_id": decision.approval_id,
                "role": decision.role.value,
                "plant": decision.plant,
                "comment": decision.comment,
                "revision": self._state.revision,
                "signed_with": decision.signature.key_id if decision.signature else None,
                "signature": decision.signature.manifestation() if decision.signature else None,
                "evidence": decision.evidence,
            },
        )

    def _resolution_refusal(self, resolution: Resolution) -> Refusal | None:
        if resolution.resolution_id in self._used_inputs:
            return Refusal(
                kind=RefusalKind.conflict,
                message=f"resolution {resolution.resolution_id} was already used",
            )
        return resolution_refusal(self._state, resolution)

    def _signature_problem(self, kind: str, message: Any) -> str | None:
        ring = signing.keyring()
        return signature_problem(kind, self._state.change_id, message, message.signature, ring)

    def _validate(self, kind: str, message: Any, refusal: Refusal | None) -> None:
        """Refuse before anything enters history, except unsigned input: that is let through
        so that the handler can record the attempt in the audit trail and then refuse it."""
        if self._signature_problem(kind, message) is not None:
            return
        if refusal is not None:
            raise ApplicationError(refusal.message, type=refusal.kind.value, non_retryable=True)

    async def _admit(self, kind: str, claimed_by: str, message: Any, input_id: str) -> None:
        problem = self._signature_problem(kind, message)
        if problem is not None:
            refusal = Refusal(kind=RefusalKind.unsigned, message=f"{kind} refused: {problem}")
            await self._refuse(kind, claimed_by, refusal, input_id, signed=False)

    async def _refuse(
        self, kind: str, claimed_by: str, refusal: Refusal, input_id: str, *, signed: bool = True
    ) -> None:
        """Record the refusal (state and audit trail), then fail the Update with it."""
        who = claimed_by if signed else f"someone claiming to be {claimed_by}"
        self._state.refused = [*self._state.refused, f"{kind} from {who}: {refusal.message}"][
            -MAX_REFUSED_SHOWN:
        ]
        await self._audit(
            "input.refused",
            claimed_by if signed else "unverified",
            {
                "kind": kind,
                "input_id": input_id,
                "claimed_by": claimed_by,
                "reason": refusal.message,
                "refusal": refusal.kind.value,
            },
        )
        self._refresh_details()
        raise ApplicationError(
            refusal.message, AUDITED, type=refusal.kind.value, non_retryable=True
        )

    def _receipt(self, input_id: str, recorded: str) -> InputReceipt:
        return InputReceipt(
            input_id=input_id,
            recorded=recorded,
            stage=self._state.stage,
            revision=self._state.revision,
        )

    # -- signals: only runs from before signed input take them ------------------------------
    def _signed_input(self) -> bool:
        return self._versions.patched(SIGNED_INPUT)

    async def _refuse_signal(self, name: str, claimed_by: str) -> None:
        self._state.refused = [
            *self._state.refused,
            f"'{name}' signal claiming {claimed_by}: not accepted (only signed input through "
            "the changeflow API counts)",
        ][-MAX_REFUSED_SHOWN:]
        self._refresh_details()
        await self._audit(
            "input.refused",
            "unverified",
            {
                "kind": f"signal:{name}",
                "claimed_by": claimed_by,
                "reason": "sent to Temporal directly; decisions, resolutions and cancels "
                "count only when they come through the changeflow API, signed",
                "refusal": RefusalKind.unsigned.value,
            },
        )

    @workflow.signal(description="Refused: decisions go through the API (submit_decision).")
    async def decide(self, decision: ApprovalDecision) -> None:
        if self._signed_input():
            await self._refuse_signal("decide", decision.approver)
            return
        approvals = self._state.approvals
        if any(d.approval_id == decision.approval_id for d in approvals.received):
            return  # signals arrive at least once: a repeat is not recorded again
        if self._state.stage != ChangeStage.awaiting_approval:
            reason = f"the change is {self._state.stage.value}, not awaiting approval"
        else:
            reason = check_decision(approvals, decision, self._state.requested_by)
        if reason is not None:
            note = f"{decision.approval_id} by {decision.approver}: {reason}"
            if note not in approvals.ignored:
                approvals.ignored.append(note)
            return
        approvals.received.append(decision)
        await self._audit_decision(decision)
        self._refresh_details()

    @workflow.signal(description="Refused: resolutions go through the API (resolve_hold).")
    async def resolve(self, resolution: Resolution) -> None:
        if self._signed_input():
            await self._refuse_signal("resolve", resolution.by)
            return
        hold = self._state.hold
        if hold is not None and hold.task_id == resolution.task_id and self._resolution is None:
            self._resolution = resolution

    @workflow.signal(description="Refused: cancels go through the API (request_cancel).")
    async def cancel(self, request: CancelRequest) -> None:
        if self._signed_input():
            await self._refuse_signal(CANCEL, request.by)
            return
        if self._cancel is None:
            self._cancel = request
