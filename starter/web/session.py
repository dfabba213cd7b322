"""What the approvers' pages share: the signed-in person from the session cookie, rendering a
page, the CSRF check, and who may use the pages at all."""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from domain.approvals.decisions import Role
from starter.api.deps import engine_of
from store.tables import WebSessionRow
from store.users import User, get_user
from store.web_sessions import (
    find_session,
)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


COOKIE = "cf_session"


READ_ONLY = (Role.auditor, Role.notifier)  # they decide and revise nothing


NO_PAGES = (Role.notifier,)  # an integration's user: the outbox over the API only


class SignedIn:
    def __init__(self, user: User, session: WebSessionRow) -> None:
        self.user, self.session, self.csrf = user, session, session.csrf


async def signed_in(request: Request) -> SignedIn | None:
    engine = engine_of(request)
    row = await asyncio.to_thread(find_session, engine, request.cookies.get(COOKIE))
    if row is None:
        return None
    user = await asyncio.to_thread(get_user, engine, row.user_name)  # revoked: None
    if user is None or user.role in NO_PAGES:
        return None
    return SignedIn(user, row)


def page(
    request: Request,
    template: str,
    who: SignedIn | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    context.update(user=who.user if who else None, csrf=who.csrf if who else "")
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def check_csrf(who: SignedIn, token: str) -> None:
    if not hmac.compare_digest(who.csrf, token or ""):
        raise HTTPException(403, "the form is stale or not from changeflow (CSRF check failed)")
