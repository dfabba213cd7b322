"""`changeflow audit verify [ID]`: the audit trail checked straight in the store (every chain
recomputed, the latest signed checkpoint compared), naming the first broken record; and
`changeflow audit ID --export DIR`: the change's audit package as JSON, HTML and PDF."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from infra.audit_key import public_key
from infra.settings import load_settings
from starter.api_client import ApiClient, ApiError
from starter.cli import _fail
from store.anchors import verify_store
from store.db import get_engine

console = Console()


def verify(change_id: str | None, as_json: bool) -> int:
    """0 when intact, 1 when not."""
    result = verify_store(get_engine(load_settings().db_url), public_key(), change_id)
    if as_json:
        console.print_json(result.model_dump_json())
        return 0 if result.intact else 1
    scope = change_id or "every change"
    if result.intact:
        console.print(
            f"[green]intact[/]: {result.records} records in {result.chains} chain(s) of {scope}; "
            f"latest checkpoint: {result.anchor}"
        )
        return 0
    console.print(
        f"[bold red]broken[/]: {scope} ({result.records} records, {result.chains} chains)"
    )
    for chain in result.broken:
        console.print(f"  {chain.change_id}: first broken record {chain.first_broken}")
        for problem in chain.problems:
            console.print(f"    - {problem}")
    for problem in result.problems:
        console.print(f"  - {problem}")
    return 1


def export_package(client: ApiClient, change_id: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for fmt in ("json", "html", "pdf"):
        try:
            content = client.get_bytes(f"/api/changes/{change_id}/audit", format=fmt)
        except ApiError as exc:
            raise _fail(f"{exc} ({exc.status})") from exc
        path = directory / f"{change_id}-audit.{fmt}"
        path.write_bytes(content)
        console.print(f"wrote {path}")
