"""The approvers' pages, server-rendered from the API (Jinja2, no front-end build; signing in:
sign_in.py): the inbox of what waits for you (oldest deadline first), a change with its impact,
plan and signed decisions, the decision form, and the requester's revision. Decisions go through
the same code as `POST /api/changes/{id}/approvals`. Sessions are a random HttpOnly,
SameSite=Strict cookie (Secure over https, also through a trusted proxy: starter/web/proxy.py);
every form carries the session's CSRF token.

Signing in is not signing (21 CFR 11.200(a)(1)): the first decision a session signs asks for
both components, name and password, each later one for the password; with `[approvals]
signing_session_minutes` above 0, a signing opens a signing session of this browser session alone
in which the next ones ask for nothing. Every failed sign-in answers the same ("name or password
not accepted"); failures are throttled per name and per address (429 with Retry-After)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.approvals.decisions import PLANT_ROLES, Decision, Role
from domain.change.errors import describe_validation_error
from domain.change.request import ChangeRequest
from domain.change.stages import ChangeStage
from domain.impact.report import ImpactReport
from domain.lifecycle.inbox import may_decide, waiting_for
from domain.lifecycle.state import ChangeState
from starter.api.deps import ChangeId, change_state, engine_of, temporal
from starter.api.routes.approvals import ApprovalBody, password_signing, record_decision
from starter.api.routes.revise import RevisionBody, revise
from starter.web.session import (
    COOKIE,
    READ_ONLY,
    SignedIn,
    check_csrf,
    page,
    signed_in,
    to_login,
)
from store.artifacts import load_artifact
from store.web_sessions import (
    record_signing,
    signing_session_open,
)

router = APIRouter(include_in_schema=False)
INBOX_SCAN = 200  # running changes looked at for the inbox


async def _running_states(request: Request) -> list[ChangeState]:
    client = temporal(request)
    query = "WorkflowType = 'ChangeWorkflow' AND ExecutionStatus = 'Running'"
    ids = [wf.id async for wf in client.list_workflows(query, limit=INBOX_SCAN)]
    states = await asyncio.gather(
        *(change_state(client, change_id) for change_id in ids), return_exceptions=True
    )
    return [s for s in states if isinstance(s, ChangeState)]


@router.get("/approvals", response_class=HTMLResponse)
async def inbox(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login()
    states = await _running_states(request)
    u = who.user
    items = waiting_for(states, u.name, u.role, u.plant)
    mine = [
        s
        for s in states
        if s.stage == ChangeStage.changes_requested and u.name in (s.requested_by, s.submitted_by)
    ]
    return page(request, "inbox.html", who, items=items, mine=mine)


@router.get("/changes/{change_id}", response_class=HTMLResponse)
async def change_page(
    request: Request, change_id: ChangeId, error: str = "", notice: str = ""
) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login()
    try:
        state = await change_state(temporal(request), change_id)
    except HTTPException as exc:
        return page(request, "base.html", who, error=exc.detail)
    factors = []
    if state.impact:
        report = await asyncio.to_thread(
            load_artifact, engine_of(request), state.impact.report_id, ImpactReport
        )
        factors = [f for f in report.risk.factors if f.contribution > 0] if report else []
    u = who.user
    slots = (
        []
        if u.role in READ_ONLY
        else [r for r in state.approvals.required if may_decide(state, r, u.name, u.role, u.plant)]
    )
    policy = request.app.state.settings.approvals
    in_session = policy.signing_session_minutes > 0 and signing_session_open(who.session)
    return page(
        request,
        "change.html",
        who,
        s=state,
        factors=factors,
        slots=slots,
        needs_evidence=any(r.recorded_by for r in slots),
        needs_name=who.session.first_signed_at is None and not in_session,
        signing_until=who.session.signing_until if in_session else None,
        may_revise=u.role not in READ_ONLY
        and (u.name in (state.requested_by, state.submitted_by) or u.role == Role.admin),
        error=error,
        notice=notice,
    )


def _back(change_id: str, **message: str) -> RedirectResponse:
    ((key, text),) = message.items()
    return RedirectResponse(f"/changes/{change_id}?{key}={quote(text)}", status_code=303)


@router.post("/changes/{change_id}/decide")
async def decide_form(
    request: Request,
    change_id: ChangeId,
    csrf: Annotated[str, Form()],
    decision: Annotated[Decision, Form()],
    slot: Annotated[str, Form(max_length=40)],
    revision_hash: Annotated[str, Form(max_length=64)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    evidence: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login()
    check_csrf(who, csrf)
    if who.user.role in READ_ONLY:
        return _back(change_id, error=f"{who.user.role.value}s read, they do not decide")
    role, _, plant = slot.partition("|")
    signed_with: list[str] = []
    try:
        body = ApprovalBody(
            decision=decision,
            role=role,
            plant=plant or None if Role(role) in PLANT_ROLES else None,
            comment=comment,
            revision_hash=revision_hash,
            name=name.strip() or None,
            password=password or None,
            evidence=evidence or None,
        )

        async def authorize() -> list[str]:
            signed_with[:] = await _page_signing(request, who, body)
            return signed_with

        receipt = await record_decision(
            change_id, body, request, who.user, None, authorize=authorize
        )
    except ValidationError as exc:
        return _back(change_id, error="; ".join(describe_validation_error(exc)))
    except HTTPException as exc:
        return _back(change_id, error=str(exc.detail))
    if "password" in signed_with:  # a signing with the password: the session's first is made
        minutes = request.app.state.settings.approvals.signing_session_minutes
        await asyncio.to_thread(
            record_signing, engine_of(request), request.cookies.get(COOKIE), minutes
        )
    return _back(change_id, notice=f"{decision.value} signed and recorded ({receipt.recorded})")


async def _page_signing(request: Request, who: SignedIn, body: ApprovalBody) -> list[str]:
    """The components this page session's signing needs: nothing within its signing session
    (when the policy has them), else name and password for its first signing and at least the
    password for each later one. Returns those executed; 403 (429 throttled) otherwise."""
    policy = request.app.state.settings.approvals
    if (
        not body.password
        and policy.signing_session_minutes > 0
        and signing_session_open(who.session)
    ):
        return ["session"]
    if who.session.first_signed_at is None and not (body.name and body.password):
        raise HTTPException(
            403,
            "not signed: the first signing of a session needs both your name and your password",
        )
    return await password_signing(request, who.user, body, channel="page")


@router.get("/changes/{change_id}/revise", response_class=HTMLResponse)
async def revise_form(request: Request, change_id: ChangeId) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login()
    if who.user.role in READ_ONLY:
        return _back(change_id, error=f"{who.user.role.value}s read, they do not revise")
    state = await change_state(temporal(request), change_id)
    asked = [d for d in state.approvals.received if d.decision == Decision.request_changes]
    change_yaml = yaml.safe_dump(
        state.request.model_dump(mode="json", exclude_none=True), sort_keys=False
    )
    return page(
        request,
        "revise.html",
        who,
        s=state,
        asked="; ".join(f"{d.approver}: {d.comment}" for d in asked) or "-",
        change_yaml=change_yaml,
    )


@router.post("/changes/{change_id}/revise")
async def revise_submit(
    request: Request,
    change_id: ChangeId,
    csrf: Annotated[str, Form()],
    change: Annotated[str, Form(max_length=128 * 1024)],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login()
    check_csrf(who, csrf)
    if who.user.role in READ_ONLY:
        return _back(change_id, error=f"{who.user.role.value}s read, they do not revise")
    try:
        request_model = ChangeRequest.model_validate(yaml.safe_load(change))
        await revise(
            change_id, RevisionBody(change=request_model, comment=comment), request, who.user, None
        )
    except yaml.YAMLError as exc:
        return _back(change_id, error=f"the change file is not valid YAML: {exc}")
    except ValidationError as exc:
        return _back(change_id, error="; ".join(describe_validation_error(exc)))
    except HTTPException as exc:
        detail = exc.detail if isinstance(exc.detail, str) else "; ".join(map(str, exc.detail))
        return _back(change_id, error=detail)
    return _back(change_id, notice="revision sent; the change is being reassessed")
