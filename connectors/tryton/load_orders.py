"""A plant's stock and orders loaded into Tryton (connectors/tryton/load.py drives the steps):
stock by lot and location, open production orders, open purchase orders."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.tryton import mapping as m

if TYPE_CHECKING:
    from connectors.tryton.load import PlantLoader


async def load_stock(loader: PlantLoader) -> None:
    records = loader.docs.get("inventory", [])
    codes = sorted({r["location"] for r in records})
    location_ids = (
        await loader.rpc.create(
            "stock.location",
            [{"name": c, "code": c, "type": "storage", "parent": loader.storage} for c in codes],
        )
        if codes
        else []
    )
    locations = dict(zip(codes, location_ids, strict=True))
    lots = await loader.create(
        "stock.lot",
        [
            {
                "number": f"{r['part']}-{r['revision']}-{r['location']}",
                "product": loader.product(r["part"], r["revision"]),
            }
            for r in records
        ],
    )
    by_location: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record, lot in zip(records, lots, strict=True):
        by_location[record["location"]].append(
            {
                "product": loader.product(record["part"], record["revision"]),
                "lot": lot,
                "quantity": record["qty"],
            }
        )
    for code, lines in by_location.items():
        (inventory,) = await loader.rpc.create(
            "stock.inventory",
            [
                {
                    "location": locations[code],
                    "company": loader.company,
                    "lines": [["create", lines]],
                }
            ],
        )
        await loader.rpc.button("stock.inventory", "confirm", [inventory])
    loader.counts["locations"] = len(codes)
    loader.counts["lots"] = len(lots)
    loader.progress(f"{len(lots)} lots of stock in {len(codes)} locations")


async def load_productions(loader: PlantLoader) -> None:
    orders = loader.docs.get("production_order", [])
    for order in orders:
        due = date.fromisoformat(str(order["due"]))
        (production,) = await loader.rpc.create(
            "production",
            [
                {
                    "reference": order["id"],
                    "company": loader.company,
                    "warehouse": loader.warehouse,
                    "location": loader.production_location,
                    "product": loader.current(order["part"]),
                    "bom": loader.boms.get(order["part"]),
                    "unit": loader.unit,
                    "quantity": float(order["qty"]),
                    "planned_date": due,
                    "planned_start_date": due - timedelta(days=3),
                }
            ],
        )
        status = order.get("status", "released")
        if status in ("released", "in_process"):
            await loader.rpc.button("production", "wait", [production])
        if status == "in_process":
            await loader.rpc.button("production", "assign_force", [production])
            await loader.rpc.button("production", "run", [production])
        if order.get("critical"):
            await loader.rpc.create(
                "ir.note",
                [
                    {
                        "resource": f"production,{production}",
                        "message": f"{m.CRITICAL_HEAD}: customer delivery depends on it",
                    }
                ],
            )
    loader.counts["production_orders"] = len(orders)
    loader.progress(f"{len(orders)} production orders")


async def load_purchases(loader: PlantLoader) -> None:
    orders = loader.docs.get("purchase_order", [])
    suppliers = sorted({o["supplier"] for o in orders})
    party_ids = (
        await loader.rpc.create(
            "party.party", [{"name": s, "addresses": [["create", [{}]]]} for s in suppliers]
        )
        if suppliers
        else []
    )
    party = dict(zip(suppliers, party_ids, strict=True))
    for order in orders:
        due = date.fromisoformat(str(order["due"]))
        (purchase,) = await loader.rpc.create(
            "purchase.purchase",
            [
                {
                    "reference": order["id"],
                    "party": party[order["supplier"]],
                    "company": loader.company,
                    "currency": loader.currency,
                    "warehouse": loader.warehouse,
                    "lines": [
                        [
                            "create",
                            [
                                {
                                    "type": "line",
                                    "product": loader.product(order["part"], order["revision"]),
                                    "quantity": order["qty"],
                                    "unit": loader.unit,
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
        await loader.rpc.button("purchase.purchase", "quote", [purchase])
    loader.counts["purchase_orders"] = len(orders)
    loader.progress(f"{len(orders)} purchase orders, quoted to their suppliers")
