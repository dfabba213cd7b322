"""A change's audit trail over HTTP: its events with the chain's check, or its audit package as
JSON, HTML or PDF."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from infra.logs import get_logger
from starter.api.audit_document import PdfUnavailableError, package_html, package_pdf
from starter.api.deps import (
    ChangeId,
    ErrorBody,
    Reader,
    engine_of,
    responses,
    temporal,
    workflow_type,
)
from store.audit.package import AuditPackage, build_package
from store.audit.read import AuditVerification, read_events, verify_chain
from store.audit.trail import AuditEvent

router = APIRouter(tags=["changes"])
log = get_logger(component="api")


class AuditTrail(BaseModel):
    verification: AuditVerification
    events: list[AuditEvent]


@router.get(
    "/api/changes/{change_id}/audit",
    response_model=AuditTrail | AuditPackage,
    responses={
        **responses(401, 404, 422, 503),
        200: {
            "description": "The trail (default), or the audit package as JSON, HTML or PDF.",
            "content": {"text/html": {}, "application/pdf": {}},
        },
        501: {
            "model": ErrorBody,
            "description": "format=pdf where the API lacks WeasyPrint (the `pdf` extra).",
        },
    },
)
async def audit(
    change_id: ChangeId,
    request: Request,
    _user: Reader,
    format: Literal["trail", "json", "html", "pdf"] = "trail",
) -> Any:
    """The change's audit trail and the check of its hash chain; `format=json|html|pdf`: the
    audit package an auditor reads (every revision, signature, write and read-back)."""
    engine = engine_of(request)
    events = await asyncio.to_thread(read_events, engine, change_id)
    if not events and await workflow_type(temporal(request).get_workflow_handle(change_id)) != (
        "ChangeWorkflow"
    ):
        raise HTTPException(404, f"change {change_id} does not exist")
    if format == "trail":
        verification = await asyncio.to_thread(verify_chain, engine, change_id)
        return AuditTrail(verification=verification, events=events)
    package = await asyncio.to_thread(build_package, engine, change_id)
    if package is None:
        raise HTTPException(404, f"change {change_id} has no audit trail yet")
    if format == "json":
        return package
    if format == "html":
        return HTMLResponse(package_html(package))
    try:
        pdf = await asyncio.to_thread(package_pdf, package)
    except PdfUnavailableError as exc:  # the JSON and the HTML still work
        raise HTTPException(501, str(exc)) from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{change_id}-audit.pdf"'},
    )
