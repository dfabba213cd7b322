"""Indexes over the columnar thread: the BOM as a sparse graph (child -> parent) for where-used,
and key -> rows lookups for every table the impact engine reads. All compiled numpy/SciPy work:
no per-node Python loops on the hot paths.

SciPy and numba (changeflow's `impact` extra) are imported when a BOM graph is built, not with
this module: a process that never builds one (the CLI, a plant worker) runs without them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from domain.thread.tables import ThreadTables

EMPTY = np.empty(0, dtype=np.int64)


def gather(
    indptr: np.ndarray, indices: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For CSR (indptr, indices): every (value, key) with value in the row of a key in `keys`."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.size == 0:
        return EMPTY, EMPTY
    starts = indptr[keys]
    counts = indptr[keys + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return EMPTY, EMPTY
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    positions = offsets + np.arange(total)
    return indices[positions], np.repeat(keys, counts)


class GroupIndex:
    """key (0..n-1) -> row numbers of a table whose column holds that key."""

    def __init__(self, keys: np.ndarray, n: int) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        valid = keys >= 0
        rows = np.flatnonzero(valid)
        keys = keys[valid]
        order = np.argsort(keys, kind="stable")
        self.rows_sorted = rows[order].astype(np.int64)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=n), out=self.indptr[1:])

    def rows(self, key: int) -> np.ndarray:
        return self.rows_sorted[self.indptr[key] : self.indptr[key + 1]]

    def rows_many(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, key) pairs for every key."""
        return gather(self.indptr, self.rows_sorted, keys)

    @property
    def nbytes(self) -> int:
        return self.rows_sorted.nbytes + self.indptr.nbytes


@dataclass
class WhereUsed:
    """Ancestors of one part in BFS order: ids, level (1 = direct parent) and `via`, the node
    through which each was reached (the part itself is not listed)."""

    part: int
    ids: np.ndarray
    levels: np.ndarray
    via: np.ndarray
    _position: dict[int, int] | None = None

    def path(self, node: int) -> list[int]:
        """part -> ... -> node, following the first-reached links."""
        position = (
            {int(i): k for k, i in enumerate(self.ids)} if not hasattr(self, "_pos") else self._pos
        )
        self._pos = position
        chain = [node]
        while chain[-1] != self.part:
            chain.append(int(self.via[position[chain[-1]]]))
        return chain[::-1]


class BomGraph:
    """The BOM as CSR, child -> parents, deduplicated, with a compiled breadth-first kernel."""

    def __init__(
        self, parent: np.ndarray, child: np.ndarray, n: int, kernel: str | None = None
    ) -> None:
        # SciPy through the kernels' module: without the impact extra, its ImportError names it
        from domain.thread.bom_kernel import DEFAULT_KERNEL, KERNELS, Scratch, sparse

        kernel = kernel or DEFAULT_KERNEL
        matrix = sparse.csr_matrix(
            (np.ones(len(child), dtype=np.int8), (child.astype(np.int64), parent.astype(np.int64))),
            shape=(n, n),
        )
        matrix.sum_duplicates()
        self.indptr = matrix.indptr.astype(np.int32)
        self.indices = matrix.indices.astype(np.int32)
        self.n = n
        self.has_parent = np.diff(self.indptr) > 0
        self.kernel = kernel
        self._run = KERNELS[kernel]
        self._scratch = Scratch(n)
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return (
            self.indptr.nbytes + self.indices.nbytes + self.has_parent.nbytes + self._scratch.nbytes
        )

    def where_used(self, part: int) -> WhereUsed:
        """Every ancestor of `part` with its level and the node it was reached through."""
        with self._lock:
            ids, levels, via = self._run(self.indptr, self.indices, part, self._scratch)
        return WhereUsed(part, ids, levels, via)

    def find_cycle(self) -> list[int] | None:
        """A cycle as part ids (first == last), or None: iterative DFS over child -> parent."""
        from scipy import sparse  # here since __init__: the impact extra is installed
        from scipy.sparse.csgraph import connected_components

        matrix = sparse.csr_matrix(
            (np.ones(len(self.indices), dtype=np.int8), self.indices, self.indptr),
            shape=(self.n, self.n),
        )
        count, labels = connected_components(matrix, directed=True, connection="strong")
        if count == self.n and not np.any(matrix.diagonal()):
            return None
        sizes = np.bincount(labels)
        loops = np.flatnonzero(matrix.diagonal())
        if loops.size:
            return [int(loops[0]), int(loops[0])]
        component = int(np.flatnonzero(sizes > 1)[0])
        members = set(np.flatnonzero(labels == component).tolist())
        start = min(members)
        trail, index_of = [start], {start: 0}
        node = start
        while True:
            nxt = next(
                int(p)
                for p in self.indices[self.indptr[node] : self.indptr[node + 1]]
                if int(p) in members
            )
            if nxt in index_of:
                return trail[index_of[nxt] :] + [nxt]
            index_of[nxt] = len(trail)
            trail.append(nxt)
            node = nxt


class ThreadIndex:
    """Everything the impact engine looks up, built once per thread version."""

    def __init__(self, tables: ThreadTables) -> None:
        self.t = tables
        parts = tables["parts"]
        self.n_parts = len(parts["number"])
        self.part_id: dict[str, int] = {str(num): i for i, num in enumerate(parts["number"])}
        self.plant_id = {code: i for i, code in enumerate(tables.plants)}
        e = tables["ebom"]
        self.ebom = BomGraph(e["parent"], e["child"], self.n_parts)
        n_ops, n_plans = tables.rows("ops"), tables.rows("plans")
        self.mbom_by_child = GroupIndex(tables["mbom"]["child"], self.n_parts)
        self.ops_by_part = GroupIndex(tables["op_parts"]["part"], self.n_parts)
        self.wi_by_op = GroupIndex(tables["wis"]["op"], n_ops)
        self.wi_parts_by_part = GroupIndex(tables["wi_parts"]["part"], self.n_parts)
        self.plans_by_part = GroupIndex(tables["plans"]["part"], self.n_parts)
        self.chars_by_plan = GroupIndex(tables["chars"]["plan"], n_plans)
        self.nc_by_part = GroupIndex(tables["nc"]["part"], self.n_parts)
        self.nc_by_equipment = GroupIndex(tables["nc"]["equipment"], tables.rows("equipment"))
        self.orders_by_part = GroupIndex(tables["orders"]["part"], self.n_parts)
        self.inventory_by_part = GroupIndex(tables["inventory"]["part"], self.n_parts)
        self.purchases_by_part = GroupIndex(tables["purchases"]["part"], self.n_parts)
        self.quals_by_op = GroupIndex(tables["quals"]["op"], n_ops)

    @property
    def nbytes(self) -> int:
        groups = [v for v in vars(self).values() if isinstance(v, GroupIndex)]
        return self.ebom.nbytes + sum(g.nbytes for g in groups)

    def part(self, number: str) -> int | None:
        return self.part_id.get(number)
