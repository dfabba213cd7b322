"""`changeflow policy explain FILE`: which rule asks for which approval of a change file."""

from __future__ import annotations

from pathlib import Path

import typer

from starter.cli.common import TokenOption, api_client, call, console, read_change_file
from starter.cli.render import policy_table

app = typer.Typer(help="The approval policy (rules in changeflow.toml).", no_args_is_help=True)


@app.command("explain")
def policy_explain(
    file: Path = typer.Argument(..., help="a change file"), token: str | None = TokenOption
) -> None:
    """Which rule asks for which approval of a change file, and why; starts nothing."""
    request = read_change_file(file)
    rules = call(
        api_client(token).post,
        "/api/policy-explain",
        request.model_dump(mode="json", exclude_none=True),
    )
    console.print(policy_table(rules))
