"""A plant system's administration for releases, in business terms: which version it runs, a
backup before a cutover (discarded if the release is undone), and the cutover itself. The
reference REST connectors of ERP, MES and QMS offer it (connectors/http.py)."""

from __future__ import annotations

from typing import Any, Protocol


class SystemAdmin(Protocol):
    system: str

    async def system_version(self) -> str: ...
    async def create_backup(
        self, before_release: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def backup_exists(self, backup_id: str) -> bool: ...
    async def discard_backup(
        self, backup_id: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def cutover(
        self, version: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
