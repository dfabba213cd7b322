"""A plant's master data loaded into Tryton (connectors/tryton/load.py drives the steps): the
company and its locations, products and their revisions, BOMs, routings."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.tryton import mapping as m

if TYPE_CHECKING:
    from connectors.tryton.load import PlantLoader

ASSEMBLED = {"end_item", "assembly"}


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


async def load_company(loader: PlantLoader) -> None:
    loader.unit = (await loader.rpc.search_read("product.uom", [["name", "=", "Unit"]], ["id"]))[0][
        "id"
    ]
    (currency,) = await loader.rpc.create(
        "currency.currency", [{"name": "US Dollar", "code": "USD", "symbol": "$"}]
    )
    (party,) = await loader.rpc.create("party.party", [{"name": loader.plant["name"]}])
    (company,) = await loader.rpc.create(
        "company.company", [{"party": party, "currency": currency}]
    )
    user = (await loader.rpc.search_read("res.user", [["login", "=", "admin"]], ["id"]))[0]
    await loader.rpc.write(
        "res.user", [user["id"]], {"companies": [["add", [company]]], "company": company}
    )
    await loader.rpc.refresh_context()
    loader.company, loader.currency = company, currency
    (warehouse,) = await loader.rpc.search_read(
        "stock.location",
        [["type", "=", "warehouse"]],
        ["storage_location", "production_location"],
    )
    loader.warehouse = warehouse["id"]
    loader.storage = warehouse["storage_location"]
    loader.production_location = (
        warehouse["production_location"]
        or (await loader.rpc.search_read("stock.location", [["type", "=", "production"]], ["id"]))[
            0
        ]["id"]
    )
    await loader.rpc.write(
        "stock.location", [loader.warehouse], {"name": f"{loader.plant['name']} warehouse"}
    )
    loader.progress(f"company {loader.plant['name']} and its warehouse")


async def load_products(loader: PlantLoader) -> None:
    used = revisions_used(loader.docs)
    templates = []
    for part in loader.docs["part"]:
        number = part["number"]
        if number not in used:
            continue
        templates.append(
            {
                "name": part["name"],
                "code": number,
                "type": "goods",
                "default_uom": loader.unit,
                "producible": part.get("kind") in ASSEMBLED,
                "purchasable": part.get("kind") not in ASSEMBLED,
                "purchase_uom": loader.unit,
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
    await loader.create("product.template", templates)
    rows = await loader.rpc.search_read("product.product", [], ["code"])
    loader.products = {r["code"]: r["id"] for r in rows}
    loader.counts["products"] = len(templates)
    loader.counts["revisions"] = len(rows)
    loader.progress(f"{len(templates)} parts as products, {len(rows)} revisions as variants")


async def load_boms(loader: PlantLoader) -> None:
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in loader.docs.get("mbom_line", []):
        by_parent[line["parent"]].append(line)
    values = []
    parents = sorted(by_parent)
    for parent in parents:
        inputs = [
            {
                "product": loader.product(line["component"], line["component_revision"]),
                "quantity": line.get("qty", 1.0),
                "unit": loader.unit,
            }
            for line in by_parent[parent]
        ]
        outputs = [{"product": loader.current(parent), "quantity": 1.0, "unit": loader.unit}]
        values.append(
            {
                "name": parent,
                "inputs": [["create", inputs]],
                "outputs": [["create", outputs]],
            }
        )
    ids = await loader.create("production.bom", values)
    loader.boms = dict(zip(parents, ids, strict=True))
    if loader.boms:
        await loader.rpc.create(
            "product.product-production.bom",
            [{"product": loader.current(p), "bom": b} for p, b in loader.boms.items()],
        )
    loader.counts["boms"] = len(ids)
    loader.counts["bom_inputs"] = sum(len(v) for v in by_parent.values())
    loader.progress(f"{len(ids)} BOMs with {loader.counts['bom_inputs']} inputs")


async def load_routings(loader: PlantLoader) -> None:
    routings = loader.docs.get("routing", [])
    centers = sorted({op["work_center"] for r in routings for op in r["operations"]})
    category_ids = (
        await loader.rpc.create("production.work.center.category", [{"name": c} for c in centers])
        if centers
        else []
    )
    category = dict(zip(centers, category_ids, strict=True))
    values = []
    for routing in routings:
        steps = []
        for op in routing["operations"]:
            (operation,) = await loader.rpc.create(
                "production.routing.operation",
                [
                    {
                        "name": op["description"],
                        "work_center_category": category[op["work_center"]],
                    }
                ],
            )
            steps.append({"operation": operation, "sequence": op["op_no"]})
        bom = loader.boms.get(routing["part"])
        values.append(
            {
                "name": routing["id"],
                "steps": [["create", steps]],
                "boms": [["add", [bom]]] if bom else [],
            }
        )
    if values:
        await loader.rpc.create("production.routing", values)
    loader.counts["routings"] = len(values)
    loader.progress(f"{len(values)} routings on {len(centers)} work center categories")
