"""The digital thread from the command line: sync it now, and what it holds."""

from __future__ import annotations

import time

import typer

from starter.cli.common import TokenOption, api_client, call, console, fail
from starter.cli.render import thread_view

app = typer.Typer()


@app.command()
def sync(
    full: bool = typer.Option(False, "--full", help="replace the whole thread"),
    wait: bool = typer.Option(True, help="wait until it commits or fails"),
    token: str | None = TokenOption,
) -> None:
    """Pull every system of record into the digital thread now."""
    client = api_client(token)
    started = call(client.post, "/api/thread/sync", {"mode": "full" if full else "incremental"})
    workflow_id = started["workflow_id"]
    console.print(f"sync started: {workflow_id}")
    if not wait:
        return
    with console.status("syncing..."):
        while True:
            status = call(client.get, f"/api/thread/sync/{workflow_id}")
            if status["status"] != "running":
                break
            time.sleep(1)
    outcome = status.get("outcome")
    if outcome is None:
        raise fail(f"sync {workflow_id} ended {status['status']}")
    if outcome["status"] != "committed":
        raise fail(f"sync {outcome['sync_id']} failed; the thread is unchanged: {outcome['error']}")
    console.print(thread_view(call(client.get, "/api/thread")))


@app.command()
def thread() -> None:
    """The digital thread: rows per table and recent syncs."""
    console.print(thread_view(call(api_client().get, "/api/thread")))
