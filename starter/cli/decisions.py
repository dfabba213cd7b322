"""The CLI's decisions on a change: approve, reject and request changes (signed), resolve a
held task, cancel, and an admin's terminate."""

from __future__ import annotations

from pathlib import Path

import typer

from domain.approvals.decisions import Role
from starter.cli.common import TokenOption, api_client, call, console, err

app = typer.Typer()


def _decide(
    change_id: str,
    decision: str,
    role: Role | None,
    plant: str | None,
    comment: str,
    token: str | None,
    password_stdin: bool = False,
    evidence: str | None = None,
) -> None:
    """Sign a decision: on the revision shown (its hash), with your password, asked for every
    time (never echoed; the API keeps no signing session)."""
    import sys
    from uuid import uuid4

    client = api_client(token)
    me = call(client.get, "/api/me")
    state = call(client.get, f"/api/changes/{change_id}")
    body = {
        "decision": decision,
        "role": (role.value if role else me["role"]),
        "plant": plant or me.get("plant"),
        "comment": comment,
        "approval_id": uuid4().hex,
        "revision_hash": state["revision_hash"],
        "evidence": evidence,
    }
    err.print(
        f"signing {decision} of {change_id} revision {state['revision']} "
        f"(hash {state['revision_hash'][:12]}): {state['title']}"
    )
    if password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\n")
    else:
        body["password"] = typer.prompt(f"password of {me['name']}, to sign", hide_input=True)
    call(client.post, f"/api/changes/{change_id}/approvals", body)
    label = body["role"] + (
        f" ({body['plant']})" if body["plant"] and body["role"] == "production" else ""
    )
    console.print(f"{decision} signed for {change_id} as {me['name']}, {label}")


PasswordStdin = typer.Option(False, "--password-stdin", help="read the password from stdin")


@app.command()
def approve(
    change_id: str,
    role: Role | None = typer.Option(None, help="default: your role"),
    plant: str | None = typer.Option(None, help="default: your plant"),
    comment: str = "",
    evidence: str | None = typer.Option(
        None, help="for role customer: the reference of the customer's evidence"
    ),
    token: str | None = TokenOption,
    password_stdin: bool = PasswordStdin,
) -> None:
    """Approve (and sign) a change in your role."""
    _decide(change_id, "approve", role, plant, comment, token, password_stdin, evidence)


@app.command()
def reject(
    change_id: str,
    comment: str = typer.Option(..., help="why (kept in the audit trail)"),
    role: Role | None = typer.Option(None),
    plant: str | None = typer.Option(None),
    token: str | None = TokenOption,
    password_stdin: bool = PasswordStdin,
) -> None:
    """Reject (and sign) a change in your role; it ends."""
    _decide(change_id, "reject", role, plant, comment, token, password_stdin)


@app.command("request-changes")
def request_changes(
    change_id: str,
    comment: str = typer.Option(...),
    role: Role | None = typer.Option(None),
    plant: str | None = typer.Option(None),
    token: str | None = TokenOption,
    password_stdin: bool = PasswordStdin,
) -> None:
    """Send a change back to assessment with a new revision (signed)."""
    _decide(change_id, "request_changes", role, plant, comment, token, password_stdin)


@app.command()
def resolve(
    change_id: str,
    task_id: str,
    action: str = typer.Option(..., help="retry | skip | rollback"),
    comment: str = "",
    token: str | None = TokenOption,
) -> None:
    """Resolve the task a change is on hold for."""
    call(
        api_client(token).post,
        f"/api/changes/{change_id}/resolve",
        {"task_id": task_id, "action": action, "comment": comment},
    )
    console.print(f"{action} sent for {task_id}")


@app.command()
def cancel(change_id: str, reason: str = "", token: str | None = TokenOption) -> None:
    """Cancel a change (what was already rolled out is rolled back)."""
    call(api_client(token).post, f"/api/changes/{change_id}/cancel", {"reason": reason})
    console.print(f"cancel sent for {change_id}")


@app.command()
def terminate(
    change_id: str,
    reason: str = typer.Option(..., help="why (kept in the audit trail)"),
    token: str | None = TokenOption,
) -> None:
    """Admin, last resort: stop a change whose workflow is failing. Nothing is rolled back."""
    call(api_client(token).post, f"/api/changes/{change_id}/terminate", {"reason": reason})
    console.print(f"{change_id} terminated")


@app.command()
def revise(
    change_id: str,
    file: Path = typer.Argument(..., help="the revised change file (same type)"),
    comment: str = typer.Option("", help="what changed, and why"),
    token: str | None = TokenOption,
) -> None:
    """After changes were requested: send the revised change file; it is reassessed and the
    approvals start over."""
    from starter.cli.common import read_change_file

    change = read_change_file(file)
    call(
        api_client(token).post,
        f"/api/changes/{change_id}/revise",
        {"change": change.model_dump(mode="json", exclude_none=True), "comment": comment},
    )
    console.print(f"{change_id} revised; it is being reassessed")
