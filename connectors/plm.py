"""PLM connector: parts, revisions and the engineering BOM."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from connectors.http import HttpSystem, Page, seg
from domain.thread.objects import BomLine, Part


class PlmConnector(Protocol):
    def kinds(self) -> list[str]: ...
    async def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> Page: ...
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

    COLLECTIONS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "part": ("/parts", Part),
        "ebom_line": ("/ebom", BomLine),
    }

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__("PLM", base_url, **kwargs)

    async def get_part(self, number: str) -> Part:
        return Part.model_validate(await self.get(f"/parts/{seg(number)}"))

    async def list_parts(self) -> list[Part]:
        return await self.all_of("part")

    async def list_ebom(self) -> list[BomLine]:
        return await self.all_of("ebom_line")

    async def release_revision(
        self, part: str, revision: str, from_revision: str, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Release `revision` of `part`, superseding `from_revision`."""
        return await self.write(
            f"/parts/{seg(part)}/revisions",
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
            f"/parts/{seg(part)}/revisions/{seg(revision)}/withdraw",
            {"restore_revision": restore_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
