"""Compiled breadth-first kernels for where-used over a CSR graph (child -> parents).

The primary kernel is compiled by numba (cached on disk after the first run): a level-synchronous
breadth-first search that expands small frontiers serially and large ones (a fastener used in
thousands of assemblies) on every core. When numba is not importable, SciPy's csgraph BFS kernel
runs instead and levels are derived from its visiting order. Both give the same answer
(tests/unit/test_thread_index.py checks them against each other and against networkx).

SciPy and numba are changeflow's `impact` extra: domain/thread/index.py imports this module only
when it builds a BOM graph.
"""

from __future__ import annotations

import numpy as np

try:  # changeflow's `impact` extra; this module is imported only where impact is computed
    from scipy import sparse
    from scipy.sparse.csgraph import breadth_first_order
except ImportError as exc:  # pragma: no cover - exercised by tests/unit/test_extras.py
    raise ImportError(
        "the impact engine needs SciPy (and numba, for speed): install changeflow's impact "
        "extra, pip install 'changeflow[impact]'"
    ) from exc

try:  # the C kernel under breadth_first_order, without its per-call copy of the whole graph
    from scipy.sparse.csgraph._traversal import _breadth_first_directed as _scipy_kernel
except ImportError:  # pragma: no cover - a SciPy that moved it: the public API, slower
    _scipy_kernel = None

try:
    import numba
except ImportError:  # pragma: no cover - numba missing: the SciPy kernel serves
    numba = None

NULL = -9999  # SciPy's "no predecessor"
Result = tuple[np.ndarray, np.ndarray, np.ndarray]  # ids, levels, via


PARALLEL_FRONTIER = 4096  # frontiers at least this large are expanded on every core


class Scratch:
    """Per-graph buffers the kernels reuse; callers hold a lock around a kernel call."""

    def __init__(self, n: int, chunks: int | None = None) -> None:
        chunks = chunks or (max(2, numba.get_num_threads()) if numba is not None else 1)
        self.seen = np.zeros(n, dtype=np.uint8)
        self.mark = np.zeros(n, dtype=np.uint8)
        self.ids = np.empty(n + 1, dtype=np.int32)
        self.via = np.empty(n + 1, dtype=np.int32)
        self.chunks = chunks
        self.cand = np.empty(chunks * n, dtype=np.int32)
        self.cand_via = np.empty(chunks * n, dtype=np.int32)
        self.counts = np.zeros(chunks, dtype=np.int64)
        self.lv = np.empty(n + 1, dtype=np.int16)
        self.pred = np.full(n, NULL, dtype=np.int32)
        self.pos = np.empty(n, dtype=np.int32)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))


if numba is not None:

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def _serial_level(indptr, indices, ids, via, lv, level, lo, hi, tail, seen):  # noqa: ANN001
        """Expand frontier ids[lo:hi]; new nodes (at `level`) are appended from `tail`."""
        for i in range(lo, hi):
            node = ids[i]
            for k in range(indptr[node], indptr[node + 1]):
                parent = indices[k]
                if seen[parent] == 0:
                    seen[parent] = 1
                    ids[tail] = parent
                    via[tail] = node
                    lv[tail] = level
                    tail += 1
        return tail

    @numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
    def _parallel_expand(indptr, indices, ids, lo, hi, seen, cand, cand_via, counts):  # noqa: ANN001
        """Each chunk scans its share of the frontier and claims unseen parents. Two chunks may
        claim the same parent in a race; the merge drops such duplicates."""
        chunks = counts.shape[0]
        per = cand.shape[0] // chunks
        for c in numba.prange(chunks):
            first = lo + (hi - lo) * c // chunks
            last = lo + (hi - lo) * (c + 1) // chunks
            out = c * per
            for i in range(first, last):
                node = ids[i]
                for k in range(indptr[node], indptr[node + 1]):
                    parent = indices[k]
                    if seen[parent] == 0:
                        seen[parent] = 1
                        cand[out] = parent
                        cand_via[out] = node
                        out += 1
            counts[c] = out - c * per

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def _merge(ids, via, lv, level, tail, cand, cand_via, counts, mark):  # noqa: ANN001
        per = cand.shape[0] // counts.shape[0]
        start = tail
        for c in range(counts.shape[0]):
            for j in range(c * per, c * per + counts[c]):
                parent = cand[j]
                if mark[parent] == 0:
                    mark[parent] = 1
                    ids[tail] = parent
                    via[tail] = cand_via[j]
                    lv[tail] = level
                    tail += 1
        for j in range(start, tail):
            mark[ids[j]] = 0
        return tail

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def _reset(ids, tail, seen):  # noqa: ANN001
        for j in range(tail):
            seen[ids[j]] = 0

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def _serial_bfs(indptr, indices, part, seen, ids, via, lv):  # noqa: ANN001
        """The whole search in one compiled call; returns how many nodes ids holds."""
        seen[part] = 1
        ids[0] = part
        lo, hi, level = 0, 1, 1
        while lo < hi:
            tail = _serial_level(indptr, indices, ids, via, lv, level, lo, hi, hi, seen)
            lo, hi, level = hi, tail, level + 1
        _reset(ids, hi, seen)
        return hi


def numba_where_used(indptr: np.ndarray, indices: np.ndarray, part: int, s: Scratch) -> Result:
    """Level-synchronous BFS: small frontiers serially, large ones on every core. A part with
    few direct parents runs in one compiled call (its per-call overhead is what counts)."""
    if indptr[part + 1] - indptr[part] < PARALLEL_FRONTIER // 4:
        hi = _serial_bfs(indptr, indices, part, s.seen, s.ids, s.via, s.lv)
        return s.ids[1:hi].copy(), s.lv[1:hi].copy(), s.via[1:hi].copy()
    s.seen[part] = 1
    s.ids[0] = part
    lo, hi, level = 0, 1, 1
    while lo < hi:
        if hi - lo >= PARALLEL_FRONTIER:
            _parallel_expand(indptr, indices, s.ids, lo, hi, s.seen, s.cand, s.cand_via, s.counts)
            tail = _merge(s.ids, s.via, s.lv, level, hi, s.cand, s.cand_via, s.counts, s.mark)
        else:
            tail = _serial_level(indptr, indices, s.ids, s.via, s.lv, level, lo, hi, hi, s.seen)
        lo, hi, level = hi, tail, level + 1
    _reset(s.ids, hi, s.seen)
    return s.ids[1:hi].copy(), s.lv[1:hi].copy(), s.via[1:hi].copy()


def scipy_where_used(indptr: np.ndarray, indices: np.ndarray, part: int, s: Scratch) -> Result:
    """SciPy's BFS; in its order each node's discoverer comes first and discoverers' positions
    never decrease, so level boundaries fall out of a few binary searches."""
    if _scipy_kernel is not None:
        length = _scipy_kernel(part, indices, indptr, s.ids, s.pred)
        order = s.ids[:length].copy()
        via = s.pred[order[1:]]
        s.pred[order] = NULL
    else:  # pragma: no cover
        n = indptr.size - 1
        graph = sparse.csr_matrix((np.ones(indices.size, np.int8), indices, indptr), shape=(n, n))
        order, pred = breadth_first_order(graph, part, directed=True, return_predecessors=True)
        order = order.astype(np.int32)
        via = pred[order[1:]].astype(np.int32)
    s.pos[order] = np.arange(order.size, dtype=np.int32)
    via_pos = s.pos[via]
    ends = [1]
    while ends[-1] < order.size:
        ends.append(1 + int(np.searchsorted(via_pos, ends[-1], side="left")))
    levels = np.repeat(np.arange(1, len(ends), dtype=np.int16), np.diff(ends))
    return order[1:], levels, via


KERNELS = {"scipy": scipy_where_used}
if numba is not None:
    KERNELS["numba"] = numba_where_used
DEFAULT_KERNEL = "numba" if numba is not None else "scipy"
