"""`changeflow`: the command line for analysts, approvers and operators, composed of one Typer
app per command group.

`up` and `demo` run the embedded stack, `worker` a worker; `users` and `store` work on the store
directly; every other command talks to the HTTP API (CHANGEFLOW_API_URL, token in
CHANGEFLOW_TOKEN or --token).
"""

from __future__ import annotations

import typer

from starter.cli import (
    audit,
    changes,
    decisions,
    policy,
    stack,
    store,
    thread,
    tryton,
    users,
    worker,
)

app = typer.Typer(help="changeflow: orchestrate manufacturing change.", no_args_is_help=True)
for commands in (stack, worker, changes, decisions, thread, audit):  # top-level commands
    app.add_typer(commands.app)
app.add_typer(policy.app, name="policy")
app.add_typer(users.app, name="users")
app.add_typer(tryton.app, name="tryton")
app.add_typer(store.app, name="store")


def main() -> None:
    app()
