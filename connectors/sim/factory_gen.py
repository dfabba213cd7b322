"""A deterministic generator of a realistic factory at any size, straight into columns.

At the large end (parts=300_000, plants=5): ~600 end items in families, 6k major assemblies,
30k subassemblies, ~220k components, raw materials and 2k fasteners shared Zipf-like across
assemblies (one fastener is used almost everywhere: the worst case for where-used); an EBOM of
~0.6M lines and plant MBOMs of ~1.1M lines over 5 plants; routings, ~50k work instructions,
inspection plans with characteristics, equipment and NC programs, ~20k open production orders,
stock, purchase orders, operators and qualifications. Same seed, same factory.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from domain.thread.tables import ThreadTables, make_table

PLANT_CODES = ["DET", "MTY", "BRN", "SZX", "PUN", "CHE", "GDL", "KRK"]
PLANT_NAMES = {
    "DET": "Detroit Assembly",
    "MTY": "Monterrey Drives",
    "BRN": "Brno Compact",
    "SZX": "Shenzhen Electronics",
    "PUN": "Pune Machining",
    "CHE": "Chennai Motors",
    "GDL": "Guadalajara Harness",
    "KRK": "Krakow Castings",
}
LETTERS = np.array(list("ABCDEFGH"), dtype=object)
TODAY = np.datetime64(date(2026, 11, 23), "D")


def _pick(
    rng: np.random.Generator, owners: np.ndarray, k: int, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each owner, k children drawn from [lo, hi) (per owner), duplicates removed."""
    parent = np.repeat(owners, k)
    span = np.repeat(hi - lo, k)
    child = np.repeat(lo, k) + (rng.random(parent.size) * span).astype(np.int64)
    return parent, child


def _ids(prefix: str, count: int, start: int = 0) -> np.ndarray:
    return np.array([f"{prefix}{i:06d}" for i in range(start, start + count)], dtype=object)


def generate_factory(parts: int = 300_000, plants: int = 5, seed: int = 42) -> ThreadTables:
    """The same factory for the same arguments."""
    try:  # changeflow's `impact` extra: only a generated dataset needs it, not the demo's
        from scipy import sparse
        from scipy.sparse.csgraph import breadth_first_order
    except ImportError as exc:
        raise ImportError(
            "generating a factory needs SciPy: install changeflow's impact extra, "
            "pip install 'changeflow[impact]' (the demo dataset needs nothing)"
        ) from exc

    if parts < 500:
        raise ValueError("a generated factory needs at least 500 parts")
    if not 1 <= plants <= len(PLANT_CODES):
        raise ValueError(f"plants must be 1..{len(PLANT_CODES)}")
    rng = np.random.default_rng(seed)
    n_end = max(6, parts // 500)
    n_l1 = parts // 50
    n_l2 = parts // 10
    n_fast = max(20, parts // 150)
    n_raw = parts // 7
    n_comp = parts - n_end - n_l1 - n_l2 - n_fast - n_raw
    bounds = np.cumsum([0, n_end, n_l1, n_l2, n_comp, n_raw, n_fast])
    end, l1, l2, comp, raw, fast = (np.arange(bounds[i], bounds[i + 1]) for i in range(6))
    n = int(bounds[-1])
    kinds = np.empty(n, dtype=object)
    for rng_ids, kind in (
        (end, "end_item"),
        (l1, "assembly"),
        (l2, "assembly"),
        (comp, "component"),
        (raw, "raw"),
        (fast, "fastener"),
    ):
        kinds[rng_ids] = kind
    numbers = np.concatenate(
        [
            _ids("END-", n_end),
            _ids("ASM-", n_l1),
            _ids("SUB-", n_l2),
            _ids("CMP-", n_comp),
            _ids("RAW-", n_raw),
            _ids("FST-", n_fast),
        ]
    )
    revision = LETTERS[rng.integers(0, 5, n)]
    rev_index = np.searchsorted(np.array(list("ABCDEFGH")), revision.astype(str))
    revisions = np.array([",".join("ABCDEFGH"[: r + 1]) for r in range(8)], dtype=object)[rev_index]

    # EBOM: families of ~20 end items share a window of major assemblies, and so on down.
    families = max(1, n_end // 20)
    fam = np.arange(n_end) * families // n_end
    win = min(n_l1, max(12, int(n_l1 / families * 1.3)))
    lo1 = l1[0] + fam * (n_l1 - win) // max(1, families - 1)
    e_p, e_c = _pick(rng, end, 12, lo1, lo1 + win)
    win2 = min(n_l2, max(15, n_l2 // max(1, n_l1 // 40)))
    lo2 = l2[0] + ((l1 - l1[0]) * (n_l2 - win2) // max(1, n_l1 - 1))
    a_p, a_c = _pick(rng, l1, 15, lo2, lo2 + win2)
    win3 = min(n_comp, max(12, n_comp // max(1, n_l2 // 30)))
    lo3 = comp[0] + ((l2 - l2[0]) * (n_comp - win3) // max(1, n_l2 - 1))
    b_p, b_c = _pick(rng, l2, 12, lo3, lo3 + win3)
    with_raw = comp[rng.random(n_comp) < 0.3]
    r_p, r_c = with_raw, raw[0] + rng.integers(0, n_raw, with_raw.size)
    assemblies = np.concatenate([end, l1, l2])
    f_p = np.repeat(assemblies, 3)
    f_c = fast[0] + np.minimum(rng.zipf(1.6, f_p.size) - 1, n_fast - 1)
    parent = np.concatenate([e_p, a_p, b_p, r_p, f_p]).astype(np.int64)
    child = np.concatenate([e_c, a_c, b_c, r_c, f_c]).astype(np.int64)
    pairs = np.unique(parent * n + child)
    parent, child = (pairs // n).astype(np.int32), (pairs % n).astype(np.int32)
    qty = rng.choice(np.array([1, 1, 1, 2, 4, 6, 8], dtype=np.float32), parent.size)

    t = ThreadTables(
        plants=PLANT_CODES[:plants], plant_names=[PLANT_NAMES[c] for c in PLANT_CODES[:plants]]
    )
    cost = np.where(kinds == "fastener", 0.2, np.where(kinds == "component", 12.0, 150.0))
    cost = (cost * rng.uniform(0.5, 2.0, n)).round(2)
    t.tables["parts"] = make_table(
        "parts",
        number=numbers,
        name=np.char.add("item ", numbers.astype(str)).astype(object),
        kind=kinds,
        revision=revision,
        revisions=revisions,
        safety=rng.random(n) < 0.01,
        regulated=np.isin(kinds, ["end_item"]) & (rng.random(n) < 0.3),
        cost=cost,
    )
    t.tables["ebom"] = make_table("ebom", parent=parent, child=child, qty=qty)

    # Plants: each family is built in one plant, most also in a second, some in a third.
    home = rng.integers(0, plants, families)
    second = np.where(
        rng.random(families) < 0.6,
        (home + 1 + rng.integers(0, max(1, plants - 1), families)) % plants,
        -1,
    )
    third = np.where(rng.random(families) < 0.3, rng.integers(0, plants, families), -1)
    down = sparse.csr_matrix((np.ones(parent.size, np.int8), (parent, child)), shape=(n + 1, n + 1))
    mb = {k: [] for k in ("plant", "parent", "child", "rev", "qty")}
    reach_by_plant = []
    for p in range(plants):
        builds = end[(home[fam] == p) | (second[fam] == p) | (third[fam] == p)]
        if builds.size == 0:
            builds = end[p % n_end : p % n_end + 1]
        root = sparse.csr_matrix(
            (np.ones(builds.size, np.int8), (np.full(builds.size, n), builds)), shape=(n + 1, n + 1)
        )
        reach = breadth_first_order(down + root, n, directed=True, return_predecessors=False)
        reach = np.sort(reach[reach != n])
        reach_by_plant.append(reach)
        inside = np.isin(parent, reach, assume_unique=False)
        mb["plant"].append(np.full(int(inside.sum()), p, np.int16))
        mb["parent"].append(parent[inside])
        mb["child"].append(child[inside])
        mb["rev"].append(revision[child[inside]])
        mb["qty"].append(qty[inside])
    t.tables["mbom"] = make_table("mbom", **{k: np.concatenate(v) for k, v in mb.items()})

    # Routings and operations for end items, major assemblies and some subassemblies.
    ops_cols = {
        k: []
        for k in ("plant", "routing", "part", "op_no", "work_center", "std_time", "description")
    }
    op_parts_op, op_parts_part = [], []
    op_base = 0
    is_l2 = (kinds == "assembly") & (np.arange(n) >= l2[0])
    routed_l2 = is_l2 & (rng.random(n) < 0.13)
    for p in range(plants):
        reach = reach_by_plant[p]
        routed = reach[
            (kinds[reach] == "end_item")
            | ((kinds[reach] == "assembly") & ~is_l2[reach])
            | routed_l2[reach]
        ]
        n_ops_each = 3
        r_part = np.repeat(routed, n_ops_each)
        op_no = np.tile(np.arange(1, n_ops_each + 1) * 10, routed.size).astype(np.int32)
        count = r_part.size
        code = PLANT_CODES[p]
        routing_ids = np.char.add(f"R-{code}-", numbers[r_part].astype(str)).astype(object)
        ops_cols["plant"].append(np.full(count, p, np.int16))
        ops_cols["routing"].append(routing_ids)
        ops_cols["part"].append(r_part.astype(np.int32))
        ops_cols["op_no"].append(op_no)
        ops_cols["work_center"].append(
            np.char.add(f"{code}-WC", rng.integers(1, 40, count).astype(str)).astype(object)
        )
        ops_cols["std_time"].append(rng.uniform(0.5, 15, count).astype(np.float32))
        ops_cols["description"].append(
            np.char.add("assemble step ", (op_no // 10).astype(str)).astype(object)
        )
        # each routed assembly's children (its MBOM lines here) spread over its operations
        pos = np.searchsorted(routed, parent)
        pos_ok = (pos < routed.size) & (routed[np.minimum(pos, routed.size - 1)] == parent)
        lines = np.flatnonzero(pos_ok & np.isin(parent, reach))
        which = child[lines] % n_ops_each
        op_parts_op.append(op_base + pos[lines] * n_ops_each + which)
        op_parts_part.append(child[lines])
        op_base += count
    t.tables["ops"] = make_table("ops", **{k: np.concatenate(v) for k, v in ops_cols.items()})
    op_parts_op = np.concatenate(op_parts_op).astype(np.int32)
    op_parts_part = np.concatenate(op_parts_part).astype(np.int32)
    t.tables["op_parts"] = make_table("op_parts", op=op_parts_op, part=op_parts_part)
    n_ops = t.rows("ops")
    ops = t["ops"]

    # One work instruction per operation; it shows the non-fastener parts of its operation.
    wi_ids = np.char.add(
        np.char.add("WI-", ops["routing"].astype(str)), np.char.add("-", ops["op_no"].astype(str))
    ).astype(object)
    t.tables["wis"] = make_table(
        "wis",
        id=wi_ids,
        plant=ops["plant"],
        op=np.arange(n_ops, dtype=np.int32),
        revision=rng.integers(1, 9, n_ops),
        status=np.full(n_ops, "released", dtype=object),
        title=np.char.add("work instruction ", ops["routing"].astype(str)).astype(object),
    )
    shown = kinds[op_parts_part] != "fastener"
    t.tables["wi_parts"] = make_table(
        "wi_parts",
        wi=op_parts_op[shown],
        part=op_parts_part[shown],
        rev=revision[op_parts_part[shown]],
    )

    # Inspection plans: keyed components and major assemblies, in each plant using them.
    keyed = (rng.random(n) < 0.1) & (kinds == "component") | ((kinds == "assembly") & ~is_l2)
    pl_plant, pl_part = [], []
    for p in range(plants):
        hit = reach_by_plant[p][keyed[reach_by_plant[p]]]
        pl_plant.append(np.full(hit.size, p, np.int16))
        pl_part.append(hit)
    pl_plant, pl_part = np.concatenate(pl_plant), np.concatenate(pl_part).astype(np.int32)
    n_plans = pl_part.size
    plan_codes = np.array(PLANT_CODES, dtype=object)[pl_plant]
    t.tables["plans"] = make_table(
        "plans",
        id=np.char.add(
            np.char.add("IP-", plan_codes.astype(str)),
            np.char.add("-", numbers[pl_part].astype(str)),
        ).astype(object),
        plant=pl_plant,
        part=pl_part,
        part_rev=revision[pl_part],
        revision=rng.integers(1, 6, n_plans),
    )
    c_plan = np.repeat(np.arange(n_plans, dtype=np.int32), 3)
    t.tables["chars"] = make_table(
        "chars",
        plan=c_plan,
        id=np.tile(np.array(["C1", "C2", "C3"], dtype=object), n_plans),
        name=np.tile(
            np.array(["critical dimension", "surface", "material"], dtype=object), n_plans
        ),
        key=np.tile(np.array([True, False, False]), n_plans),
        safety=np.repeat(t["parts"]["safety"][pl_part], 3) & np.tile([True, False, False], n_plans),
    )

    # Equipment and NC programs: machined components, at an operation consuming them if any.
    eq_per = 60
    eq_plant = np.repeat(np.arange(plants, dtype=np.int16), eq_per)
    eq_codes = np.array(PLANT_CODES, dtype=object)[eq_plant]
    t.tables["equipment"] = make_table(
        "equipment",
        id=np.char.add("M-", np.arange(eq_plant.size).astype(str)).astype(object),
        plant=eq_plant,
        work_center=np.char.add(eq_codes.astype(str), "-WC1").astype(object),
        name=np.full(eq_plant.size, "machining center", dtype=object),
    )
    first_op = np.full(n, -1, np.int64)
    order = np.argsort(op_parts_part, kind="stable")[::-1]
    first_op[op_parts_part[order]] = op_parts_op[order]
    nc_plant, nc_part = [], []
    for p in range(plants):
        reach = reach_by_plant[p]
        machined = reach[(kinds[reach] == "component") & (rng.random(reach.size) < 0.05)]
        nc_plant.append(np.full(machined.size, p, np.int16))
        nc_part.append(machined)
    nc_plant, nc_part = np.concatenate(nc_plant), np.concatenate(nc_part).astype(np.int32)
    nc_op = first_op[nc_part]
    nc_op = np.where((nc_op >= 0) & (ops["plant"][np.maximum(nc_op, 0)] == nc_plant), nc_op, -1)
    t.tables["nc"] = make_table(
        "nc",
        id=np.char.add("NC-", np.arange(nc_part.size).astype(str)).astype(object),
        plant=nc_plant,
        equipment=nc_plant.astype(np.int32) * eq_per + rng.integers(0, eq_per, nc_part.size),
        op=nc_op.astype(np.int32),
        part=nc_part,
        revision=np.full(nc_part.size, "1", dtype=object),
    )

    # Open production orders (~20k at the large end) for end items and major assemblies.
    n_orders = max(plants * 4, parts // 15)
    o_plant = rng.integers(0, plants, n_orders).astype(np.int16)
    o_part = np.empty(n_orders, np.int32)
    for p in range(plants):
        reach = reach_by_plant[p]
        made = reach[(kinds[reach] == "end_item") | ((kinds[reach] == "assembly") & ~is_l2[reach])]
        sel = o_plant == p
        o_part[sel] = made[rng.integers(0, made.size, int(sel.sum()))]
    t.tables["orders"] = make_table(
        "orders",
        id=np.char.add("MO-", np.arange(n_orders).astype(str)).astype(object),
        plant=o_plant,
        part=o_part,
        qty=rng.integers(5, 500, n_orders),
        due=TODAY + rng.integers(1, 120, n_orders),
        status=np.array(["planned", "released", "in_process"], dtype=object)[
            rng.integers(0, 3, n_orders)
        ],
        critical=rng.random(n_orders) < 0.05,
    )

    # Stock and purchase orders for components and raw material the plant uses.
    inv_cols = {k: [] for k in ("plant", "part", "rev", "location", "qty", "cost")}
    pur_cols = {k: [] for k in ("plant", "supplier", "part", "rev", "qty", "due")}
    for p in range(plants):
        reach = reach_by_plant[p]
        bought = reach[np.isin(kinds[reach], ["component", "raw", "fastener"])]
        stocked = bought[rng.random(bought.size) < 0.4]
        inv_cols["plant"].append(np.full(stocked.size, p, np.int16))
        inv_cols["part"].append(stocked)
        inv_cols["rev"].append(revision[stocked])
        inv_cols["location"].append(
            np.char.add(
                f"{PLANT_CODES[p]}-RM-", rng.integers(1, 9, stocked.size).astype(str)
            ).astype(object)
        )
        inv_cols["qty"].append(rng.integers(10, 2000, stocked.size).astype(np.float64))
        inv_cols["cost"].append(cost[stocked])
        ordered = bought[rng.random(bought.size) < 0.1]
        pur_cols["plant"].append(np.full(ordered.size, p, np.int16))
        pur_cols["supplier"].append(
            np.char.add("SUP-", rng.integers(1, 500, ordered.size).astype(str)).astype(object)
        )
        pur_cols["part"].append(ordered)
        pur_cols["rev"].append(revision[ordered])
        pur_cols["qty"].append(rng.integers(100, 10000, ordered.size).astype(np.float64))
        pur_cols["due"].append(TODAY + rng.integers(7, 90, ordered.size))
    t.tables["inventory"] = make_table(
        "inventory", **{k: np.concatenate(v) for k, v in inv_cols.items()}
    )
    pur = {k: np.concatenate(v) for k, v in pur_cols.items()}
    t.tables["purchases"] = make_table(
        "purchases",
        id=np.char.add("PUR-", np.arange(pur["part"].size).astype(str)).astype(object),
        **pur,
    )

    # Operators: three qualified per operation, drawn from a plant's pool of 400.
    q_op = np.repeat(np.arange(n_ops, dtype=np.int32), 3)
    q_plant = ops["plant"][q_op]
    q_num = rng.integers(1, 401, q_op.size)
    q_name = np.char.add(
        np.char.add(np.array([c.lower() for c in PLANT_CODES])[q_plant], "-op"), q_num.astype(str)
    ).astype(object)
    pairs = np.unique(q_op.astype(np.int64) * 1000 + q_num, return_index=True)[1]
    t.tables["quals"] = make_table(
        "quals", operator=q_name[pairs], plant=q_plant[pairs], op=q_op[pairs]
    )
    return t
