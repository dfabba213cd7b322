"""`changeflow worker [--plant P | --all-plants]`: the same as `python worker.py`, which is
imported only when a worker starts (it brings every workflow and activity)."""

from __future__ import annotations

import typer

app = typer.Typer()


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def worker(ctx: typer.Context) -> None:
    """Run a worker: the central queue, one plant's (--plant P), or both (--all-plants)."""
    from worker import main

    main(ctx.args, prog_name="changeflow worker")
