"""PLM connector: parts, revisions and the engineering BOM."""

from __future__ import annotations

from typing import Any, Protocol

from connectors.http import HttpSystem
from domain.thread import BomLine, Part


class PlmConnector(Protocol):
    async def get_part(self, number: str) -> Part: ...
    async def list_parts(self) -> list[Part]: ...
    async def list_ebom(self) -> list[BomLine]: ...
    async def release_revision(
        self, part: str, revision: str, from_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def withdraw_revision(
        self,
        part: str,
        revision: str,
        restore_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


class RestPlm(HttpSystem):
    """The reference REST PLM (the simulator's)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__("PLM", base_url, **kwargs)

    async def get_part(self, number: str) -> Part:
        return Part.model_validate(await self.get(f"/parts/{number}"))

    async def list_parts(self) -> list[Part]:
        return [Part.model_validate(p) for p in await self.list_all("/parts")]

    async def list_ebom(self) -> list[BomLine]:
        return [BomLine.model_validate(line) for line in await self.list_all("/ebom")]

    async def release_revision(
        self, part: str, revision: str, from_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Release `revision` of `part`, superseding `from_revision`."""
        return await self.write(
            f"/parts/{part}/revisions",
            {"revision": revision, "from_revision": from_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def withdraw_revision(
        self,
        part: str,
        revision: str,
        restore_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Withdraw `revision` and make `restore_revision` current again."""
        return await self.write(
            f"/parts/{part}/revisions/{revision}/withdraw",
            {"restore_revision": restore_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
