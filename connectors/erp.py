"""ERP connector for one plant: MBOM, production orders, inventory and purchase orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from connectors.http import HttpSystem, Page, all_pages, seg
from domain.thread.objects import InventoryRecord, MbomLine, ProductionOrder, PurchaseOrder


class ErpConnector(Protocol):
    plant: str

    def kinds(self) -> list[str]: ...
    async def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> Page: ...

    async def list_mbom(self) -> list[MbomLine]: ...
    async def list_production_orders(self) -> list[ProductionOrder]: ...
    async def list_inventory(self) -> list[InventoryRecord]: ...
    async def list_purchase_orders(self) -> list[PurchaseOrder]: ...
    async def set_component_revision(
        self,
        component: str,
        from_revision: str,
        to_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def component_revisions(self, component: str) -> dict[str, str]: ...
    async def get_purchase_order(self, po: str) -> PurchaseOrder: ...
    async def revise_purchase_order(
        self,
        po: str,
        part: str,
        revision: str,
        note: str | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]: ...
    async def get_stock(self, key: str) -> dict[str, Any]: ...
    async def set_disposition(
        self, key: str, disposition: str | None, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


class ErpListings:
    """The whole-collection reads of an ERP connector, from its `page` (shared by the REST
    reference and the Tryton connector)."""

    async def list_mbom(self) -> list[MbomLine]:
        return await all_pages(self, "mbom_line")

    async def list_production_orders(self) -> list[ProductionOrder]:
        return await all_pages(self, "production_order")

    async def list_inventory(self) -> list[InventoryRecord]:
        return await all_pages(self, "inventory")

    async def list_purchase_orders(self) -> list[PurchaseOrder]:
        return await all_pages(self, "purchase_order")


class RestErp(ErpListings, HttpSystem):
    """The reference REST ERP of one plant (the simulator's)."""

    COLLECTIONS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "mbom_line": ("/mbom", MbomLine),
        "production_order": ("/production-orders", ProductionOrder),
        "inventory": ("/inventory", InventoryRecord),
        "purchase_order": ("/purchase-orders", PurchaseOrder),
    }

    def __init__(self, plant: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(f"ERP {plant}", base_url, **kwargs)
        self.plant = plant

    async def set_component_revision(
        self,
        component: str,
        from_revision: str,
        to_revision: str,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Every MBOM line of this plant that consumes `component` at `from_revision` moves
        to `to_revision`."""
        return await self.write(
            "/mbom/component-revision",
            {"component": component, "from_revision": from_revision, "to_revision": to_revision},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def component_revisions(self, component: str) -> dict[str, str]:
        """parent -> revision of `component` it consumes, for this plant's MBOM (the ERP's
        where-used: only those lines travel)."""
        found = await self.get(f"/mbom/uses/{seg(component)}")
        lines = [MbomLine.model_validate(line) for line in found["lines"]]
        return {line.parent: line.component_revision for line in lines}

    # -- supply side of a part revision ---------------------------------------------------
    async def get_purchase_order(self, po: str) -> PurchaseOrder:
        return PurchaseOrder.model_validate(await self.get(f"/purchase-orders/{seg(po)}"))

    async def revise_purchase_order(
        self,
        po: str,
        part: str,
        revision: str,
        note: str | None,
        *,
        idempotency_key: str,
        change_id: str,
    ) -> dict[str, Any]:
        """Change an open purchase order's line to `revision`, agreed with the supplier (the
        note says so; None removes it). The answer names the revision and note it had."""
        return await self.write(
            f"/purchase-orders/{seg(po)}/revision",
            {"part": part, "revision": revision, "supplier_note": note},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )

    async def get_stock(self, key: str) -> dict[str, Any]:
        """One stock record, keyed `part|revision|location`."""
        return await self.get(f"/inventory/{seg(key)}")

    async def set_disposition(
        self, key: str, disposition: str | None, *, idempotency_key: str, change_id: str
    ) -> dict[str, Any]:
        """Record what happens to stock of the old revision (None: no disposition)."""
        return await self.write(
            f"/inventory/{seg(key)}/disposition",
            {"disposition": disposition},
            idempotency_key=idempotency_key,
            change_id=change_id,
        )
