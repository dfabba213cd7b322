"""Loading one plant's ERP data into a fresh Tryton database through its JSON-RPC API (never by
writing Tryton's tables): company, products and revisions, BOMs, routings, stock by lot and
location, open production orders and purchase orders, from the simulator's dataset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from connectors.sim.dataset import dataset, tables_rows
from connectors.tryton import mapping as m
from connectors.tryton.load_master import load_boms, load_company, load_products, load_routings
from connectors.tryton.load_orders import load_productions, load_purchases, load_stock
from connectors.tryton.rpc import TrytonRpc


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
        for step in (
            load_company,
            load_products,
            load_boms,
            load_routings,
            load_stock,
            load_productions,
            load_purchases,
        ):
            await step(self)
        return self.counts

    async def create(self, model: str, values: list[dict[str, Any]], size: int = 20) -> list[int]:
        """Create in chunks: SQLite's parser overflows on Tryton's validation of big batches."""
        ids: list[int] = []
        for start in range(0, len(values), size):
            ids += await self.rpc.create(model, values[start : start + size])
        return ids

    def product(self, part: str, revision: str) -> int:
        return self.products[m.product_code(part, revision)]

    def current(self, part: str) -> int:
        current = {p["number"]: p.get("current_revision", "A") for p in self.docs["part"]}
        return self.product(part, current.get(part, "A"))
