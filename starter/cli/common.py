"""What every `changeflow` command shares: the consoles, the token option, the API client with
clear errors, and reading a change file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from domain.change.files import ChangeFileError, parse_change_file
from domain.change.request import ChangeRequest
from infra.settings import SettingsError, load_settings
from starter.client import ApiClient, ApiError

console = Console()
err = Console(stderr=True, soft_wrap=True)

TokenOption = typer.Option(None, "--token", help="API token (default: $CHANGEFLOW_TOKEN)")


def fail(message: str, lines: list[str] | None = None, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    for line in lines or []:
        err.print(f"  - {line}")
    return typer.Exit(code)


def api_client(token: str | None = None) -> ApiClient:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    return ApiClient(settings.api_url, token)


def call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ApiError as exc:
        if len(exc.lines) > 1:
            raise fail(f"the API refused ({exc.status}):", exc.lines) from exc
        raise fail(f"{exc} ({exc.status})" if exc.status else str(exc)) from exc


def read_change_file(path: Path) -> ChangeRequest:
    """A YAML or JSON change file, validated; errors name the field and the reason."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return parse_change_file(text, path)
    except ChangeFileError as exc:
        raise fail(str(exc), exc.lines) from exc


ErpOption = typer.Option(
    [],
    "--erp",
    help="PLANT=tryton: that plant's ERP is a local Tryton (started beside the simulator, "
    "loaded with the plant's data when new); repeatable",
)


def parse_erp(values: list[str]) -> dict[str, str]:
    """`["MTY=tryton"]` -> {"MTY": "tryton"}."""
    chosen = {}
    for value in values:
        plant, sep, kind = value.partition("=")
        if not sep or not plant or kind != "tryton":
            raise fail(f"--erp {value}: expected PLANT=tryton (e.g. --erp MTY=tryton)")
        chosen[plant.strip().upper()] = kind
    return chosen
