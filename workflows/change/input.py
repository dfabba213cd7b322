"""How people reach a change: signed input only (a decision, a resolution of a hold, a cancel, a
revision), each checked twice: by the Update's validator, which refuses before anything enters
history, and again by its handler, which records it. Input that is not signed by the changeflow
API is let through the validator only so that the handler can put the attempt in the state and
the audit trail before refusing it; a signal sent straight to Temporal is refused and audited
the same way (the change accepts no signal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals.decisions import ApprovalDecision
    from domain.lifecycle.human_input import (
        Refusal,
        RefusalKind,
        cancel_refusal,
        decision_refusal,
        resolution_refusal,
        revision_refusal,
    )
    from domain.messages import CancelRequest, InputReceipt, Resolution, Revision
    from domain.signatures.signing import CANCEL, DECISION, RESOLUTION, REVISION, signature_problem
    from infra import signing
    from workflows.change.context import ChangeContext

MAX_REFUSED_SHOWN = 50
AUDITED = "audited"  # detail of a refusal the workflow already put in the audit trail


class HumanInput:
    """The rules ChangeWorkflow's handlers apply: `validate_*` for the validators (read-only),
    the others for the handlers (they record the input, or the refusal, and answer)."""

    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx
        self._used_resolutions: set[str] = set()

    # -- decisions ------------------------------------------------------------------------------
    def validate_decision(self, decision: ApprovalDecision) -> None:
        self._validate(DECISION, decision, decision_refusal(self._ctx.state, decision))

    def decision(self, decision: ApprovalDecision) -> InputReceipt:
        state = self._ctx.state
        self._admit(DECISION, decision.approver, decision, decision.approval_id)
        refusal = decision_refusal(state, decision)  # again: a racing decision may have won
        if refusal is not None:
            self._refuse(DECISION, decision.approver, refusal, decision.approval_id)
        state.approvals.received.append(decision)
        self._ctx.refresh_details()
        self._ctx.audit(
            f"approval.{decision.decision.value}",
            decision.approver,
            {
                "approval_id": decision.approval_id,
                "role": decision.role.value,
                "plant": decision.plant,
                "comment": decision.comment,
                "revision": state.revision,
                "signed_with": decision.signature.key_id if decision.signature else None,
                "signature": decision.signature.manifestation() if decision.signature else None,
                "evidence": decision.evidence,
            },
        )
        return self._receipt(decision.approval_id, f"{decision.decision.value} recorded")

    # -- resolutions of a hold --------------------------------------------------------------------
    def validate_resolution(self, resolution: Resolution) -> None:
        self._validate(RESOLUTION, resolution, self._resolution_refusal(resolution))

    def resolution(self, resolution: Resolution) -> InputReceipt:
        self._admit(RESOLUTION, resolution.by, resolution, resolution.resolution_id)
        refusal = self._resolution_refusal(resolution)
        if refusal is not None:
            self._refuse(RESOLUTION, resolution.by, refusal, resolution.resolution_id)
        self._used_resolutions.add(resolution.resolution_id)
        self._ctx.resolution = resolution
        return self._receipt(resolution.resolution_id, f"{resolution.action.value} accepted")

    def _resolution_refusal(self, resolution: Resolution) -> Refusal | None:
        if resolution.resolution_id in self._used_resolutions:
            return Refusal(
                kind=RefusalKind.conflict,
                message=f"resolution {resolution.resolution_id} was already used",
            )
        return resolution_refusal(self._ctx.state, resolution)

    # -- cancels ----------------------------------------------------------------------------------
    def validate_cancel(self, request: CancelRequest) -> None:
        self._validate(CANCEL, request, cancel_refusal(self._ctx.state, request))

    def cancel(self, request: CancelRequest) -> InputReceipt:
        self._admit(CANCEL, request.by, request, request.cancel_id)
        refusal = cancel_refusal(self._ctx.state, request)
        if refusal is not None:
            self._refuse(CANCEL, request.by, refusal, request.cancel_id)
        if self._ctx.cancel is None:
            self._ctx.cancel = request
        self._ctx.audit("change.cancel_requested", request.by, {"reason": request.reason})
        return self._receipt(request.cancel_id, "cancel accepted")

    # -- revisions --------------------------------------------------------------------------------
    def validate_revision(self, revision: Revision) -> None:
        self._validate(REVISION, revision, revision_refusal(self._ctx.state, revision))

    def revision(self, revision: Revision) -> InputReceipt:
        self._admit(REVISION, revision.by, revision, revision.revision_id)
        refusal = revision_refusal(self._ctx.state, revision)
        if refusal is not None:
            self._refuse(REVISION, revision.by, refusal, revision.revision_id)
        self._ctx.revision = revision
        self._ctx.audit(
            "change.revised",
            revision.by,
            {
                "revision": self._ctx.state.revision + 1,
                "comment": revision.comment,
                "request": revision.request.model_dump(mode="json"),
            },
        )
        return self._receipt(revision.revision_id, "revision accepted; reassessing")

    # -- signals: none is accepted ----------------------------------------------------------------
    def refuse_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """A signal sent straight to Temporal (a forged decision, a cancel that skips the API):
        recorded as refused in the state and the audit trail, and otherwise ignored."""
        claimed_by = _claimed_by(args)
        self._show_refused(
            f"'{name}' signal claiming {claimed_by}: not accepted (only signed input through "
            "the changeflow API counts)"
        )
        self._ctx.audit(
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

    # -- shared -----------------------------------------------------------------------------------
    def _signature_problem(self, kind: str, message: Any) -> str | None:
        ring = signing.keyring()
        return signature_problem(kind, self._ctx.state.change_id, message, message.signature, ring)

    def _validate(self, kind: str, message: Any, refusal: Refusal | None) -> None:
        """Refuse before anything enters history, except unsigned input: that is let through
        so that the handler can record the attempt in the audit trail and then refuse it."""
        if self._signature_problem(kind, message) is not None:
            return
        if refusal is not None:
            raise ApplicationError(refusal.message, type=refusal.kind.value, non_retryable=True)

    def _admit(self, kind: str, claimed_by: str, message: Any, input_id: str) -> None:
        problem = self._signature_problem(kind, message)
        if problem is not None:
            refusal = Refusal(kind=RefusalKind.unsigned, message=f"{kind} refused: {problem}")
            self._refuse(kind, claimed_by, refusal, input_id, signed=False)

    def _refuse(
        self, kind: str, claimed_by: str, refusal: Refusal, input_id: str, *, signed: bool = True
    ) -> None:
        """Record the refusal (state and audit trail), then fail the Update with it."""
        who = claimed_by if signed else f"someone claiming to be {claimed_by}"
        self._show_refused(f"{kind} from {who}: {refusal.message}")
        self._ctx.audit(
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
        raise ApplicationError(
            refusal.message, AUDITED, type=refusal.kind.value, non_retryable=True
        )

    def _show_refused(self, line: str) -> None:
        state = self._ctx.state
        state.refused = [*state.refused, line][-MAX_REFUSED_SHOWN:]
        self._ctx.refresh_details()

    def _receipt(self, input_id: str, recorded: str) -> InputReceipt:
        state = self._ctx.state
        return InputReceipt(
            input_id=input_id, recorded=recorded, stage=state.stage, revision=state.revision
        )


def _claimed_by(args: Sequence[RawValue]) -> str:
    """Who a refused signal claims to come from (its first argument's approver or `by`)."""
    try:
        first = workflow.payload_converter().from_payload(args[0].payload, dict)
        claimed = first.get("approver") or first.get("by")
    except Exception:  # anything at all may be sent: it is refused either way
        return "nobody named"
    return str(claimed) if claimed else "nobody named"
