"""Signing in to the approvers' pages and out. Signing in is not signing (21 CFR 11.200(a)(1)):
a session cookie opens the pages only. Every failed sign-in answers the same ("name or password
not accepted"); failures are throttled per name and per address (429 with Retry-After)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from starter.api.deps import engine_of
from starter.api.throttle import Throttled, checked_password
from starter.web.session import COOKIE, NO_PAGES, check_csrf, page, signed_in, to_login
from store.credentials import SigningRefused
from store.users import get_user
from store.web_sessions import (
    SESSION_HOURS,
    close_session,
    open_session,
)

router = APIRouter(include_in_schema=False)


NOT_ACCEPTED = "name or password not accepted"  # every failed sign-in, whatever the reason


@router.get("/", response_class=HTMLResponse)
async def home() -> Response:
    return RedirectResponse("/approvals", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return page(request, "login.html", None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    """A page session, not a signature: nothing is signed by signing in. Every refusal says the
    same, whatever the reason (unknown, no password, locked, wrong, revoked)."""
    engine = engine_of(request)
    try:
        await checked_password(request, name, password, channel="sign-in")
        user = await asyncio.to_thread(get_user, engine, name)
        if user is None or user.role in NO_PAGES:
            raise SigningRefused(NOT_ACCEPTED)
    except Throttled as exc:
        return page(
            request,
            "login.html",
            None,
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
            error=f"{NOT_ACCEPTED}; too many attempts: try again in {exc.retry_after} s",
            name=name,
        )
    except SigningRefused:
        return page(request, "login.html", None, error=NOT_ACCEPTED, name=name)
    value, _csrf = await asyncio.to_thread(open_session, engine, name)
    response = RedirectResponse("/approvals", status_code=303)
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or request.app.state.settings.secure_cookies,
        max_age=SESSION_HOURS * 3600,
    )
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    who = await signed_in(request)
    if who is not None:
        check_csrf(who, csrf)
        await asyncio.to_thread(close_session, engine_of(request), request.cookies.get(COOKIE))
    response = to_login()
    response.delete_cookie(COOKIE)
    return response
