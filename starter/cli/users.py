"""`changeflow users ...`: the people who use the API, administered in the store directly.
Passwords set and locks lifted here are in the security log (`changeflow users events`), with
the locks and throttles the API recorded, under the name of the account that ran the command."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import typer
from rich.console import Console

from domain.approvals.decisions import Role
from infra.settings import load_settings
from starter.cli.common import err, fail

app = typer.Typer(help="Manage the people who use the API.", no_args_is_help=True)
console = Console()


def _actor() -> str:
    """Who ran the command, for the security log (the store is administered directly)."""
    try:
        return f"{getpass.getuser()} (changeflow users)"
    except (KeyError, OSError):
        return "changeflow users"


@app.command("add")
def users_add(
    name: str,
    role: Role = typer.Option(...),
    plant: str | None = None,
    rotate: bool = typer.Option(
        False, help="issue a new token (creates the user if missing; never changes the role)"
    ),
    full_name: str | None = typer.Option(
        None, "--full-name", help="the name printed on their electronic signatures"
    ),
) -> None:
    """Create a user and print their API token (shown once; only its hash is stored).

    The token alone goes to stdout (`TOKEN=$(changeflow users add ...)`); what happened to the
    user (created, new token, re-enabled) goes to stderr."""
    from store.db import get_engine
    from store.users import UserError, add_user, find_user

    settings = load_settings()
    if plant and plant not in settings.plant_codes():
        raise fail(f"plant {plant} does not exist (known: {', '.join(settings.plant_codes())})")
    engine = get_engine(settings.db_url)
    before = find_user(engine, name)
    try:
        token = add_user(
            engine,
            name,
            role,
            plant,
            rotate=rotate,
            ttl_days=settings.token_ttl_days,
            full_name=full_name,
        )
    except UserError as exc:
        raise fail(str(exc)) from exc
    print(token)
    label = role.value + (f" ({plant})" if plant else "")
    if before is None:
        err.print(f"created {name}, {label}")
    elif before.revoked_at is not None:
        err.print(f"{name} re-enabled, {label} (revoked {before.revoked_at:%Y-%m-%d %H:%M} UTC)")
    else:
        err.print(f"new token for {name}, {label}: the previous one no longer works")


@app.command("role")
def users_role(
    name: str, role: Role = typer.Option(...), plant: str | None = typer.Option(None)
) -> None:
    """Change a user's role (and plant) on purpose; prints what changed."""
    from store.db import get_engine
    from store.users import UserError, set_role

    settings = load_settings()
    try:
        before, after = set_role(get_engine(settings.db_url), name, role, plant)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{name}: {before} -> {after}")


@app.command("revoke")
def users_revoke(name: str) -> None:
    """End a user's access now (the user stays in the store, for the record)."""
    from store.db import get_engine
    from store.users import UserError, revoke_user

    try:
        revoke_user(get_engine(load_settings().db_url), name)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{name} revoked: their token no longer works")


@app.command("list")
def users_list() -> None:
    """Every user with role, plant, token expiry and whether revoked."""
    from store.db import get_engine
    from store.users import list_users

    now = datetime.now(UTC)
    for user in list_users(get_engine(load_settings().db_url)):
        if user.revoked_at:
            status = f"revoked {user.revoked_at:%Y-%m-%d}"
        elif user.token_expires_at and user.token_expires_at <= now:
            status = f"token expired {user.token_expires_at:%Y-%m-%d} (--rotate issues a new one)"
        elif user.token_expires_at:
            status = f"token expires {user.token_expires_at:%Y-%m-%d}"
        else:
            status = "token never expires"
        console.print(f"{user.name:24} {user.role.value:14} {user.plant or '':6} {status}")


@app.command("passwd")
def users_passwd(
    name: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input"
    ),
) -> None:
    """Set the password NAME re-enters to sign decisions (stored as an argon2id hash). It
    also lifts a lock after wrong passwords."""
    import sys

    from store.credentials import SigningRefused, set_password
    from store.db import get_engine

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("new signing password", hide_input=True)
        if typer.prompt("again", hide_input=True) != password:
            raise fail("the two passwords differ; nothing changed")
    try:
        set_password(get_engine(load_settings().db_url), name, password, actor=_actor())
    except SigningRefused as exc:
        raise fail(str(exc)) from exc
    err.print(f"signing password set for {name}")


@app.command("unlock")
def users_unlock(name: str) -> None:
    """Lift the lock on NAME after five wrong passwords (before `[approvals] lock_minutes`
    lift it by themselves)."""
    from store.credentials import SigningRefused, unlock
    from store.db import get_engine

    try:
        was_locked = unlock(get_engine(load_settings().db_url), name, actor=_actor())
    except SigningRefused as exc:
        raise fail(str(exc)) from exc
    err.print(f"{name} unlocked" if was_locked else f"{name} was not locked")


@app.command("events")
def users_events(
    name: str | None = typer.Argument(None, help="only this user's (or this name's) events"),
    kind: str | None = typer.Option(
        None,
        help="user.locked, user.lock_expired, user.unlocked, user.password_set, login.throttled",
    ),
    limit: int = typer.Option(50, min=1, max=10000),
) -> None:
    """The security log, newest first: locks after wrong passwords, their expiry and unlocks,
    throttled names and addresses, passwords set."""
    from store.db import get_engine
    from store.security_events import security_events

    events = security_events(
        get_engine(load_settings().db_url), user_name=name, kind=kind, limit=limit
    )
    for event in events:
        who = event.user_name or "-"
        where = f" from {event.address}" if event.address else ""
        detail = ", ".join(f"{k}={v}" for k, v in sorted(event.detail.items()))
        console.print(
            f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:18} {who:20} by {event.actor}{where}"
            + (f"  {detail}" if detail else ""),
            highlight=False,
            markup=False,
        )
