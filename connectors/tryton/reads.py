"""Reading a Tryton ERP in changeflow's terms: the collections the thread sync pages through
(MBOM lines, production orders, stock by lot and location, open purchase lines), Tryton's
routings, and the notes changeflow's writes left. The mapping is `connectors/tryton/mapping.py`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import httpx

from connectors.erp import ErpListings
from connectors.http import Page
from connectors.tryton import mapping as m
from connectors.tryton.rpc import TrytonRpc
from domain.thread.objects import InventoryRecord, MbomLine, ProductionOrder, PurchaseOrder, Routing
from domain.thread.objects import Operation as RoutingOperation

OPEN_PURCHASE = ["draft", "quotation", "confirmed", "processing"]


class TrytonReads(ErpListings):
    """One plant's ERP on a Tryton database (`url`: `http://host:port/<database>/`), read."""

    KINDS = ["mbom_line", "production_order", "inventory", "purchase_order"]

    def __init__(
        self,
        plant: str,
        url: str,
        login: str,
        password: str,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.plant = plant
        self.system = f"ERP {plant}"
        self.rpc = TrytonRpc(self.system, url, login, password, client=client)

    async def aclose(self) -> None:
        await self.rpc.aclose()

    def kinds(self) -> list[str]:
        return list(self.KINDS)

    # -- reading ----------------------------------------------------------------------------
    async def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        since: datetime | None = None,
        limit: int = 2000,
    ) -> Page:
        """Objects of `kind` after the cursor (the last Tryton id read), changed since `since`."""
        readers = {
            "mbom_line": (self._mbom, MbomLine),
            "production_order": (self._productions, ProductionOrder),
            "inventory": (self._inventory, InventoryRecord),
            "purchase_order": (self._purchases, PurchaseOrder),
        }
        if kind not in readers:
            raise ValueError(f"{self.system} has no collection of {kind}")
        reader, model = readers[kind]
        domain: list[Any] = [["id", ">", int(after)]] if after else []
        if since is not None:
            domain.append(["OR", ["write_date", ">=", since], ["create_date", ">=", since]])
        items, last_id = await reader(domain, limit)
        cursor = str(last_id) if last_id is not None and len(items) >= limit else None
        return Page[model](items=items, next_cursor=cursor)

    async def _codes(self, product_ids: set[int]) -> dict[int, str]:
        rows = await self.rpc.search_read(
            "product.product",
            [["id", "in", sorted(product_ids)]],
            ["code"],
            context={"active_test": False},
        )
        return {r["id"]: r["code"] or "" for r in rows}

    async def _mbom(self, domain: list[Any], limit: int) -> tuple[list[MbomLine], int | None]:
        inputs = await self.rpc.search_read(
            "production.bom.input", domain, ["bom", "product", "quantity"], limit=limit
        )
        if not inputs:
            return [], None
        outputs = await self.rpc.search_read(
            "production.bom.output",
            [["bom", "in", sorted({i["bom"] for i in inputs})]],
            ["bom", "product"],
        )
        parent_of = {o["bom"]: o["product"] for o in outputs}
        codes = await self._codes({i["product"] for i in inputs} | set(parent_of.values()))
        lines = []
        for row in inputs:
            if row["bom"] not in parent_of:
                continue  # a BOM without output is not an MBOM of a product
            component, revision = m.split_code(codes[row["product"]])
            parent, _ = m.split_code(codes[parent_of[row["bom"]]])
            lines.append(
                MbomLine(
                    plant=self.plant,
                    parent=parent,
                    component=component,
                    component_revision=revision,
                    qty=row["quantity"],
                )
            )
        return lines, inputs[-1]["id"]

    async def _productions(
        self, domain: list[Any], limit: int
    ) -> tuple[list[ProductionOrder], int | None]:
        rows = await self.rpc.search_read(
            "production",
            [*domain, ["state", "in", list(m.PRODUCTION_STATUS)]],
            ["reference", "number", "product", "quantity", "planned_date", "state"],
            limit=limit,
        )
        if not rows:
            return [], None
        codes = await self._codes({r["product"] for r in rows if r["product"]})
        notes = await self.rpc.search_read(
            "ir.note",
            [["resource", "in", [f"production,{r['id']}" for r in rows]]],
            ["resource", "message"],
        )
        critical = {
            int(n["resource"].split(",")[1])
            for n in notes
            if (n["message"] or "").startswith(m.CRITICAL_HEAD)
        }
        orders = [
            ProductionOrder(
                id=r["reference"] or r["number"] or f"production-{r['id']}",
                plant=self.plant,
                part=m.split_code(codes.get(r["product"], ""))[0],
                qty=int(r["quantity"] or 0),
                due=r["planned_date"] or date.today(),
                status=m.PRODUCTION_STATUS[r["state"]],
                critical=r["id"] in critical,
            )
            for r in rows
        ]
        return orders, rows[-1]["id"]

    async def _storage(self) -> dict[int, str]:
        """Storage locations that carry a changeflow location code: id -> code."""
        rows = await self.rpc.search_read(
            "stock.location", [["type", "=", "storage"], ["code", "!=", None]], ["code"]
        )
        return {r["id"]: r["code"] for r in rows if r["code"] not in ("IN", "OUT", "STO")}

    async def _inventory(
        self, domain: list[Any], limit: int
    ) -> tuple[list[InventoryRecord], int | None]:
        """Stock on hand by revision and location, summed over lots (one page)."""
        if any(clause[0] == "id" for clause in domain if isinstance(clause, list)):
            return [], None  # everything came in the first page
        qty: dict[tuple[int, str], float] = defaultdict(float)
        for location_id, code in (await self._storage()).items():
            for lot in await self._lots_at(location_id):
                qty[(lot["product"], code)] += lot["quantity"]
        if not qty:
            return [], None
        products = await self.rpc.search_read(
            "product.product",
            [["id", "in", sorted({p for p, _ in qty})]],
            ["code", "cost_price"],
            context={"active_test": False},
        )
        by_id = {p["id"]: p for p in products}
        records = []
        for (product_id, location), amount in sorted(qty.items(), key=lambda kv: kv[0]):
            part, revision = m.split_code(by_id[product_id]["code"] or "")
            records.append(
                InventoryRecord(
                    plant=self.plant,
                    part=part,
                    revision=revision,
                    location=location,
                    qty=amount,
                    unit_cost=float(by_id[product_id]["cost_price"] or 0),
                )
            )
        return records, None

    async def _lots_at(self, location_id: int, product_id: int | None = None) -> list[dict]:
        domain: list[Any] = [["product", "=", product_id]] if product_id else []
        rows = await self.rpc.search_read(
            "stock.lot",
            domain,
            ["number", "product", "quantity"],
            context={"locations": [location_id], "with_childs": True},
        )
        return [r for r in rows if r["quantity"]]

    async def _purchases(
        self, domain: list[Any], limit: int
    ) -> tuple[list[PurchaseOrder], int | None]:
        lines = await self.rpc.search_read(
            "purchase.line",
            [*domain, ["purchase.state", "in", OPEN_PURCHASE], ["type", "=", "line"]],
            ["purchase", "product", "quantity", "delivery_date"],
            limit=limit,
        )
        if not lines:
            return [], None
        purchases = {
            p["id"]: p
            for p in await self.rpc.search_read(
                "purchase.purchase",
                [["id", "in", sorted({line["purchase"] for line in lines})]],
                ["reference", "number", "party.rec_name"],
            )
        }
        codes = await self._codes({line["product"] for line in lines if line["product"]})
        orders = []
        for line in lines:
            purchase = purchases[line["purchase"]]
            po = purchase["reference"] or purchase["number"] or f"purchase-{purchase['id']}"
            code = codes.get(line["product"], "")
            orders.append(self._purchase_order(po, purchase["party."]["rec_name"], code, line))
        return orders, lines[-1]["id"]

    def _purchase_order(self, po: str, supplier: str, code: str, line: dict) -> PurchaseOrder:
        """A purchase line of Tryton (product `code`) as changeflow's purchase order `po`."""
        part, revision = m.split_code(code)
        return PurchaseOrder(
            id=po,
            plant=self.plant,
            supplier=supplier,
            part=part,
            revision=revision,
            qty=line["quantity"],
            due=line["delivery_date"] or date.today(),
        )

    async def list_routings(self) -> list[Routing]:
        """Tryton's routings and their steps, in changeflow's terms (the MES stays the system of
        record of routings in the thread: this read is for reconciling the two)."""
        routings = await self.rpc.search_read(
            "production.routing", [], ["name", "boms"], order=[["name", "ASC"]]
        )
        steps = await self.rpc.search_read(
            "production.routing.step",
            [],
            ["routing", "sequence", "operation.name", "operation.work_center_category.name"],
            order=[["routing", "ASC"], ["sequence", "ASC"]],
        )
        outputs = await self.rpc.search_read("production.bom.output", [], ["bom", "product.code"])
        part_of_bom = {o["bom"]: m.split_code(o["product."]["code"])[0] for o in outputs}
        by_routing: dict[int, list[RoutingOperation]] = defaultdict(list)
        for step in steps:
            operation = step["operation."]
            category = operation.get("work_center_category.") or {}
            by_routing[step["routing"]].append(
                RoutingOperation(
                    op_no=step["sequence"] or 0,
                    work_center=category.get("name", ""),
                    description=operation["name"],
                )
            )
        return [
            Routing(
                id=r["name"],
                plant=self.plant,
                part=next((part_of_bom[b] for b in r["boms"] if b in part_of_bom), ""),
                operations=by_routing[r["id"]],
            )
            for r in routings
        ]

    async def changeflow_writes(self, change_id: str) -> list[dict[str, Any]]:
        """The notes changeflow's writes for `change_id` left on Tryton's records (its own
        Tryton user's), oldest first: {resource, what, idempotency_key}."""
        head = f"{m.NOTE_HEAD} {change_id}: "
        notes = await self.rpc.search_read(
            "ir.note",
            [["message", "ilike", f"{head}%"], ["create_uid", "=", await self.rpc.user_id()]],
            ["resource", "message"],
            order=[["id", "ASC"]],
        )
        writes = []
        for note in notes:
            lines = (note["message"] or "").splitlines()
            if not lines or not lines[0].startswith(head):
                continue
            key = next((x.split(": ", 1)[1] for x in lines if x.startswith("idempotency-key")), "")
            writes.append(
                {
                    "resource": note["resource"],
                    "what": lines[0][len(head) :],
                    "idempotency_key": key,
                }
            )
        return writes
