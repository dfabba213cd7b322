"""The where-used kernels agree with each other and with networkx on a generated factory."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from connectors.sim.factory_gen import generate_factory
from domain.thread import bom_kernel
from domain.thread.index import BomGraph, GroupIndex, ThreadIndex

TABLES = generate_factory(parts=6000, plants=3, seed=3)


def reference(part: int) -> dict[int, int]:
    e = TABLES["ebom"]
    graph = nx.DiGraph()
    graph.add_edges_from(zip(e["child"].tolist(), e["parent"].tolist(), strict=True))
    if part not in graph:
        return {}
    levels = nx.single_source_shortest_path_length(graph, part)
    levels.pop(part)
    return levels


def probes() -> list[int]:
    e = TABLES["ebom"]
    indegree = np.bincount(e["child"], minlength=TABLES.rows("parts"))
    kinds = TABLES["parts"]["kind"]
    fasteners = np.flatnonzero(kinds == "fastener")
    rng = np.random.default_rng(1)
    return [
        int(fasteners[np.argmax(indegree[fasteners])]),
        *rng.choice(np.flatnonzero(kinds == "component"), 20, replace=False).tolist(),
        int(np.flatnonzero(kinds == "end_item")[0]),
    ]


@pytest.mark.parametrize("kernel", sorted(bom_kernel.KERNELS))
@pytest.mark.parametrize("parallel_from", [4096, 8])
def test_where_used_matches_networkx(
    kernel: str, parallel_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bom_kernel, "PARALLEL_FRONTIER", parallel_from)
    e = TABLES["ebom"]
    graph = BomGraph(e["parent"], e["child"], TABLES.rows("parts"), kernel=kernel)
    for part in probes():
        used = graph.where_used(part)
        got = dict(zip(used.ids.tolist(), used.levels.tolist(), strict=True))
        assert got == reference(part), f"{kernel}: part {part}"
        assert len(got) == used.ids.size  # no node twice
        for node in used.ids[:50].tolist():  # every explaining path is a real BOM chain
            chain = used.path(node)
            assert chain[0] == part and chain[-1] == node
            for child, parent in zip(chain, chain[1:], strict=False):
                assert parent in graph.indices[graph.indptr[child] : graph.indptr[child + 1]]


def test_group_index_and_sizes() -> None:
    keys = np.array([2, 0, 2, -1, 1, 2])
    index = GroupIndex(keys, 3)
    assert index.rows(2).tolist() == [0, 2, 5] and index.rows(0).tolist() == [1]
    rows, owners = index.rows_many(np.array([2, 1]))
    assert rows.tolist() == [0, 2, 5, 4] and owners.tolist() == [2, 2, 2, 1]
    thread = ThreadIndex(TABLES)
    assert thread.nbytes > 0 and thread.ebom.find_cycle() is None


def test_generator_is_deterministic_and_sized() -> None:
    again = generate_factory(parts=6000, plants=3, seed=3)
    for name, table in TABLES.tables.items():
        for column, values in table.items():
            assert np.array_equal(values, again[name][column]), (name, column)
    counts = TABLES.counts()
    assert counts["parts"] == 6000
    assert counts["ebom"] > counts["parts"] and counts["mbom"] > counts["ebom"]
    assert min(counts.values()) > 0
    with pytest.raises(ValueError, match="at least 500 parts"):
        generate_factory(parts=10)
