"""Loading one plant's ERP data into a fresh Tryton database through its JSON-RPC API (never by
writing Tryton's tables): company, products and revisions, BOMs, routings, stock by lot and
location, open production orders and purchase orders, from the simulator's dataset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from connectors.sim.dataset import dataset, tables_rows
from connectors.tryton import mapping as m
from connectors.tryton.rpc import TrytonRpc

ASSEMBLED = {"end_item", "assembly"}


def plant_documents(plant: str, dataset_name: str = "demo") -> dict[str, list[dict[str, Any]]]:
    """The plant's ERP and routing documents and the parts they use, from the dataset."""
    docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    parts: dict[str, dict[str, Any]] = {}
    for system, doc_plant, kind, _key, doc in tables_rows(dataset(dataset_name)):
        if kind == "part":
            parts[doc["number"]] = doc
        elif doc_plant == plant and (system == "ERP" or kind == "routing"):
            docs[kind].append(doc)
        elif kind == "plant" and doc["code"] == plant:
            docs["plant"].append(doc)
    if not docs["plant"]:
        raise ValueError(f"plant {plant} is not in the dataset '{dataset_name}'")
    used = {line["parent"] for line in docs["mbom_line"]}
    used |= {line["component"] for line in docs["mbom_line"]}
    used |= {
        d["part"] for k in ("inventory", "purchase_order", "production_order") for d in docs[k]
    }
    docs["part"] = [parts[number] for number in sorted(used) if number in parts]
    return dict(docs)


def revisions_used(docs: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    """part -> the revisions the plant's ERP must know as products."""
    current = {p["number"]: p.get("current_revision", "A") for p in docs["part"]}
    used: dict[str, set[str]] = defaultdict(set)
    for line in docs.get("mbom_line", []):
        used[line["component"]].add(line["component_revision"])
        used[line["parent"]].add(current.get(line["parent"], "A"))
    for doc in docs.get("inventory", []) + docs.get("purchase_order", []):
        used[doc["part"]].add(doc["revision"])
    for doc in docs.get("production_order", []):
        used[doc["part"]].add(current.get(doc["part"], "A"))
    return used


class PlantLoader:
    """Loads `docs` (from `plant_documents`) into the Tryton database behind `rpc`."""

    def __init__(
        self,
        rpc: TrytonRpc,
        docs: dict[str, list[dict[str, Any]]],
        progress: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.rpc, self.docs, self.progress = rpc, docs, progress
        self.plant = docs["plant"][0]
        self.products: dict[str, int] = {}  # product code -> id
        self.boms: dict[str, int] = {}  # parent part -> BOM id
        self.counts: dict[str, int] = {}

    async def load(self) -> dict[str, int]:
        await self._company()
        await self._products()
        await self._boms()
        await self._routings()
        await self._stock()
        await self._productions()
        await self._purchases()
        return self.counts

    async def _create(self, model: str, values: list[dict[str, Any]], size: int = 20) -> list[int]:
        """Create in chunks: SQLite's parser overflows on Tryton's validation of big batches."""
        ids: list[int] = []
        for start in range(0, len(values), size):
            ids += await self.rpc.create(model, values[start : start + size])
        return ids

    async def _company(self) -> None:
        self.unit = (await self.rpc.search_read("product.uom", [["name", "=", "Unit"]], ["id"]))[0][
            "id"
        ]
        (currency,) = await self.rpc.create(
            "currency.currency", [{"name": "US Dollar", "code": "USD", "symbol": "$"}]
        )
        (party,) = await self.rpc.create("party.party", [{"name": self.plant["name"]}])
        (company,) = await self.rpc.create(
            "company.company", [{"party": party, "currency": currency}]
        )
        user = (await self.rpc.search_read("res.user", [["login", "=", "admin"]], ["id"]))[0]
        await self.rpc.write(
            "res.user", [user["id"]], {"companies": [["add", [company]]], "company": company}
        )
        await self.rpc.refresh_context()
        self.company, self.currency = company, currency
        (warehouse,) = await self.rpc.search_read(
            "stock.location",
            [["type", "=", "warehouse"]],
            ["storage_location", "production_location"],
        )
        self.warehouse = warehouse["id"]
        self.storage = warehouse["storage_location"]
        self.production_location = (
            warehouse["production_location"]
            or (
                await self.rpc.search_read("stock.location", [["type", "=", "production"]], ["id"])
            )[0]["id"]
        )
        await self.rpc.write(
            "stock.location", [self.warehouse], {"name": f"{self.plant['name']} warehouse"}
        )
        self.progress(f"company {self.plant['name']} and its warehouse")

    async def _products(self) -> None:
        used = revisions_used(self.docs)
        templates = []
        for part in self.docs["part"]:
            number = part["number"]
            if number not in used:
                continue
            templates.append(
                {
                    "name": part["name"],
                    "code": number,
                    "type": "goods",
                    "default_uom": self.unit,
                    "producible": part.get("kind") in ASSEMBLED,
                    "purchasable": part.get("kind") not in ASSEMBLED,
                    "purchase_uom": self.unit,
                    "products": [
                        [
                            "create",
                            [
                                {
                                    "suffix_code": f"{m.SUFFIX}{rev}",
                                    "cost_price": Decimal(str(round(part.get("unit_cost", 0), 4))),
                                }
                                for rev in sorted(used[number])
                            ],
                        ]
                    ],
                }
            )
        await self._create("product.template", templates)
        rows = await self.rpc.search_read("product.product", [], ["code"])
        self.products = {r["code"]: r["id"] for r in rows}
        self.counts["products"] = len(templates)
        self.counts["revisions"] = len(rows)
        self.progress(f"{len(templates)} parts as products, {len(rows)} revisions as variants")

    def _product(self, part: str, revision: str) -> int:
        return self.products[m.product_code(part, revision)]

    def _current(self, part: str) -> int:
        current = {p["number"]: p.get("current_revision", "A") for p in self.docs["part"]}
        return self._product(part, current.get(part, "A"))

    async def _boms(self) -> None:
        by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in self.docs.get("mbom_line", []):
            by_parent[line["parent"]].append(line)
        values = []
        parents = sorted(by_parent)
        for parent in parents:
            inputs = [
                {
                    "product": self._product(line["component"], line["component_revision"]),
                    "quantity": line.get("qty", 1.0),
                    "unit": self.unit,
                }
                for line in by_parent[parent]
            ]
            outputs = [{"product": self._current(parent), "quantity": 1.0, "unit": self.unit}]
            values.append(
                {
                    "name": parent,
                    "inputs": [["create", inputs]],
                    "outputs": [["create", outputs]],
                }
            )
        ids = await self._create("production.bom", values)
        self.boms = dict(zip(parents, ids, strict=True))
        if self.boms:
            await self.rpc.create(
                "product.product-production.bom",
                [{"product": self._current(p), "bom": b} for p, b in self.boms.items()],
            )
        self.counts["boms"] = len(ids)
        self.counts["bom_inputs"] = sum(len(v) for v in by_parent.values())
        self.progress(f"{len(ids)} BOMs with {self.counts['bom_inputs']} inputs")

    async def _routings(self) -> None:
        routings = self.docs.get("routing", [])
        centers = sorted({op["work_center"] for r in routings for op in r["operations"]})
        category_ids = (
            await self.rpc.create("production.work.center.category", [{"name": c} for c in centers])
            if centers
            else []
        )
        category = dict(zip(centers, category_ids, strict=True))
        values = []
        for routing in routings:
            steps = []
            for op in routing["operations"]:
                (operation,) = await self.rpc.create(
                    "production.routing.operation",
                    [
                        {
                            "name": op["description"],
                            "work_center_category": category[op["work_center"]],
                        }
                    ],
                )
                steps.append({"operation": operation, "sequence": op["op_no"]})
            bom = self.boms.get(routing["part"])
            values.append(
                {
                    "name": routing["id"],
                    "steps": [["create", steps]],
                    "boms": [["add", [bom]]] if bom else [],
                }
            )
        if values:
            await self.rpc.create("production.routing", values)
        self.counts["routings"] = len(values)
        self.progress(f"{len(values)} routings on {len(centers)} work center categories")

    async def _stock(self) -> None:
        records = self.docs.get("inventory", [])
        codes = sorted({r["location"] for r in records})
        location_ids = (
            await self.rpc.create(
                "stock.location",
                [{"name": c, "code": c, "type": "storage", "parent": self.storage} for c in codes],
            )
            if codes
            else []
        )
        locations = dict(zip(codes, location_ids, strict=True))
        lots = await self._create(
            "stock.lot",
            [
                {
                    "number": f"{r['part']}-{r['revision']}-{r['location']}",
                    "product": self._product(r["part"], r["revision"]),
                }
                for r in records
            ],
        )
        by_location: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record, lot in zip(records, lots, strict=True):
            by_location[record["location"]].append(
                {
                    "product": self._product(record["part"], record["revision"]),
                    "lot": lot,
                    "quantity": record["qty"],
                }
            )
        for code, lines in by_location.items():
            (inventory,) = await self.rpc.create(
                "stock.inventory",
                [
                    {
                        "location": locations[code],
                        "company": self.company,
                        "lines": [["create", lines]],
                    }
                ],
            )
            await self.rpc.button("stock.inventory", "confirm", [inventory])
        self.counts["locations"] = len(codes)
        self.counts["lots"] = len(lots)
        self.progress(f"{len(lots)} lots of stock in {len(codes)} locations")

    async def _productions(self) -> None:
        orders = self.docs.get("production_order", [])
        for order in orders:
            due = date.fromisoformat(str(order["due"]))
            (production,) = await self.rpc.create(
                "production",
                [
                    {
                        "reference": order["id"],
                        "company": self.company,
                        "warehouse": self.warehouse,
                        "location": self.production_location,
                        "product": self._current(order["part"]),
                        "bom": self.boms.get(order["part"]),
                        "unit": self.unit,
                        "quantity": float(order["qty"]),
                        "planned_date": due,
                        "planned_start_date": due - timedelta(days=3),
                    }
                ],
            )
            status = order.get("status", "released")
            if status in ("released", "in_process"):
                await self.rpc.button("production", "wait", [production])
            if status == "in_process":
                await self.rpc.button("production", "assign_force", [production])
                await self.rpc.button("production", "run", [production])
            if order.get("critical"):
                await self.rpc.create(
                    "ir.note",
                    [
                        {
                            "resource": f"production,{production}",
                            "message": f"{m.CRITICAL_HEAD}: customer delivery depends on it",
                        }
                    ],
                )
        self.counts["production_orders"] = len(orders)
        self.progress(f"{len(orders)} production orders")

    async def _purchases(self) -> None:
        orders = self.docs.get("purchase_order", [])
        suppliers = sorted({o["supplier"] for o in orders})
        party_ids = (
            await self.rpc.create(
                "party.party", [{"name": s, "addresses": [["create", [{}]]]} for s in suppliers]
            )
            if suppliers
            else []
        )
        party = dict(zip(suppliers, party_ids, strict=True))
        for order in orders:
            due = date.fromisoformat(str(order["due"]))
            (purchase,) = await self.rpc.create(
                "purchase.purchase",
                [
                    {
                        "reference": order["id"],
                        "party": party[order["supplier"]],
                        "company": self.company,
                        "currency": self.currency,
                        "warehouse": self.warehouse,
                        "lines": [
                            [
                                "create",
                                [
                                    {
                                        "type": "line",
                                        "product": self._product(order["part"], order["revision"]),
                                        "quantity": order["qty"],
                                        "unit": self.unit,
                                        "unit_price": Decimal("1.0000"),
                                        "delivery_date_edit": True,
                                        "delivery_date_store": due,
                                    }
                                ],
                            ]
                        ],
                    }
                ],
            )
            await self.rpc.button("purchase.purchase", "quote", [purchase])
        self.counts["purchase_orders"] = len(orders)
        self.progress(f"{len(orders)} purchase orders, quoted to their suppliers")
