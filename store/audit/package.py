"""The audit package of one change, for an auditor who has never seen changeflow: every
revision of the change request, the impact report and plan of each, every decision with its
electronic signature, every write to a system with its idempotency key and the read-back that
verified it, the outcome, and whether the audit chain is intact. Built from the store alone (the
audit trail and the artifacts), so it outlives Temporal's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, RootModel
from sqlalchemy.engine import Engine

from store.artifacts import artifact_id, load_artifact
from store.audit.read import AuditVerification, read_events, verify_chain
from store.audit.trail import AuditEvent


class StoredJson(RootModel[dict[str, Any]]):
    """An artifact read as plain JSON (the package shows it as stored)."""


class Signed(BaseModel):
    approval_id: str | None
    decision: str
    role: str
    plant: str | None
    approver: str
    printed_name: str | None
    meaning: str | None
    signed_at: datetime | None
    content_hash: str | None
    comment: str
    evidence: str | None = None
    recorded_at: datetime


class SystemWrite(BaseModel):
    task_id: str
    system: str | None
    plant: str | None
    idempotency_key: str
    result: str
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    applied_at: datetime
    read_back: str | None = None
    undone_at: datetime | None = None


class Revision(BaseModel):
    revision: int
    request: dict[str, Any] | None
    impact: dict[str, Any] | None
    plan: dict[str, Any] | None


class AuditPackage(BaseModel):
    change_id: str
    title: str
    outcome: str
    final_stage: str | None
    chain: AuditVerification
    revisions: list[Revision]
    signatures: list[Signed]
    writes: list[SystemWrite]
    verification: list[dict[str, Any]] = Field(description="Each read-back of the change.")
    refused: list[dict[str, Any]] = Field(description="Input the change refused, and why.")
    events: list[AuditEvent]


def _requests(events: list[AuditEvent]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.action == "change.submitted":
            found[1] = e.detail.get("request") or {
                k: e.detail.get(k) for k in ("title", "type", "requested_by", "items")
            }
        elif e.action == "change.revised":
            found[int(e.detail.get("revision", len(found) + 1))] = e.detail.get("request") or {}
    return found


def build_package(engine: Engine, change_id: str) -> AuditPackage | None:
    """None when the change has no audit trail."""
    events = read_events(engine, change_id)
    if not events:
        return None
    requests = _requests(events)
    revisions = []
    for rev in sorted(set(requests) | {1}):
        impact = load_artifact(engine, artifact_id(change_id, "impact", rev), StoredJson)
        plan = load_artifact(engine, artifact_id(change_id, "plan", rev), StoredJson)
        revisions.append(
            Revision(
                revision=rev,
                request=requests.get(rev),
                impact=impact.root if impact else None,
                plan=plan.root if plan else None,
            )
        )
    signatures = [
        Signed(
            approval_id=e.detail.get("approval_id"),
            decision=e.action.split(".", 1)[1],
            role=e.detail.get("role", ""),
            plant=e.detail.get("plant"),
            approver=e.actor,
            printed_name=(e.detail.get("signature") or {}).get("printed_name") or e.actor_name,
            meaning=(e.detail.get("signature") or {}).get("meaning"),
            signed_at=(e.detail.get("signature") or {}).get("signed_at"),
            content_hash=(e.detail.get("signature") or {}).get("content_hash"),
            comment=e.detail.get("comment", ""),
            evidence=e.detail.get("evidence"),
            recorded_at=e.at,
        )
        for e in events
        if e.action in ("approval.approve", "approval.reject", "approval.request_changes")
    ]
    readback: dict[str, str] = {}
    for e in events:
        if e.action == "change.verified":
            readback.update(e.detail.get("readback") or {})
    undone = {e.detail.get("task_id"): e.at for e in events if e.action == "task.compensated"}
    writes = [
        SystemWrite(
            task_id=e.detail["task_id"],
            system=e.detail.get("system"),
            plant=e.detail.get("plant"),
            idempotency_key=f"{change_id}:{e.detail['task_id']}:apply",
            result=str(e.detail.get("detail", "")),
            before=e.detail.get("before") or {},
            after=e.detail.get("after") or {},
            applied_at=e.at,
            read_back=readback.get(e.detail["task_id"]),
            undone_at=undone.get(e.detail["task_id"]),
        )
        for e in events
        if e.action == "task.applied"
    ]
    stages = [e for e in events if e.action.startswith("stage.")]
    last = stages[-1] if stages else None
    return AuditPackage(
        change_id=change_id,
        title=str((requests.get(max(requests)) if requests else {}).get("title", "")),
        outcome=str(last.detail.get("note", "")) if last else "",
        final_stage=last.action.split(".", 1)[1] if last else None,
        chain=verify_chain(engine, change_id),
        revisions=revisions,
        signatures=signatures,
        writes=writes,
        verification=[
            e.detail for e in events if e.action in ("change.verified", "pilot.verified")
        ],
        refused=[e.detail for e in events if e.action == "input.refused"],
        events=events,
    )
