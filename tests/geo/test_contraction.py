"""Contraction hierarchy + PHAST against plain Dijkstra: the same times, and the lengths of those same paths."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.contraction import build_hierarchy
from geo.shortest_paths import profile_graph


def _tree_metres(predecessors: np.ndarray, edge_metres: np.ndarray) -> np.ndarray:
    """Metres from the root of a shortest-path tree to every node, summed along the tree (pointer jumping).

    ``edge_metres[v]``: metres of the tree edge between ``v`` and its predecessor (0 at the root and unreached).
    """
    n = len(predecessors)
    parent = np.where(predecessors < 0, n, predecessors)
    total, parent = np.append(edge_metres, 0.0), np.append(parent, n)
    for _ in range(int(np.ceil(np.log2(n))) + 1):
        total, parent = total + total[parent], parent[parent]
    return total[:n]


def _dijkstra_rows(times: csr_matrix, metres: csr_matrix, sources: np.ndarray, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """scipy's fastest times from (``reverse``: to) each source, and the metres along scipy's own fastest-path tree."""
    graph = times.T.tocsr() if reverse else times
    seconds, predecessors = dijkstra(graph, indices=sources, return_predecessors=True)
    lengths = np.empty_like(seconds)
    for k in range(len(sources)):
        reached = predecessors[k] >= 0
        nodes, parents = np.flatnonzero(reached), predecessors[k][reached]
        edge = np.zeros(times.shape[0])
        edge[nodes] = np.asarray(metres[nodes, parents] if reverse else metres[parents, nodes]).ravel()
        lengths[k] = np.where(np.isfinite(seconds[k]), _tree_metres(predecessors[k], edge), np.inf)
    return seconds, lengths


def _check(times: csr_matrix, metres: csr_matrix, sources: np.ndarray) -> None:
    hierarchy = build_hierarchy(times, _aligned(times, metres))
    for reverse, query in ((False, hierarchy.from_sources), (True, hierarchy.to_targets)):
        seconds, lengths = _dijkstra_rows(times, metres, sources, reverse)
        ours_s, ours_m = query(sources)
        np.testing.assert_array_equal(np.isfinite(ours_s), np.isfinite(seconds))
        np.testing.assert_allclose(ours_s, seconds, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(ours_m, lengths, rtol=1e-12, atol=1e-9)


def _aligned(times: csr_matrix, metres: csr_matrix) -> np.ndarray:
    """Metres of each stored edge of ``times``, in its data order."""
    rows = np.repeat(np.arange(times.shape[0]), np.diff(times.indptr))
    return np.asarray(metres[rows, times.indices]).ravel()


def test_random_small_graphs_match_dijkstra_everywhere() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 7, 40, 150):
        edges = rng.integers(0, n, (4 * n, 2))
        edges = np.unique(edges[edges[:, 0] != edges[:, 1]], axis=0)
        seconds = rng.uniform(1, 100, len(edges))  # continuous: fastest paths are unique, so their lengths are defined
        times = csr_matrix((seconds, (edges[:, 0], edges[:, 1])), shape=(n, n))
        metres = csr_matrix((seconds * rng.uniform(5, 20, len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        _check(times, metres, np.arange(n))  # every source, every target; unreachable pairs stay inf


def test_equal_times_keep_the_exact_time() -> None:
    """Integer weights make many fastest paths tie: the times must still be exact (the lengths then belong to one of them)."""
    rng = np.random.default_rng(1)
    n = 60
    edges = np.unique(rng.integers(0, n, (5 * n, 2)), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    times = csr_matrix((rng.integers(1, 4, len(edges)).astype(float), (edges[:, 0], edges[:, 1])), shape=(n, n))
    hierarchy = build_hierarchy(times, np.ones(times.nnz))
    np.testing.assert_array_equal(hierarchy.from_sources(np.arange(n))[0], dijkstra(times))
    np.testing.assert_array_equal(hierarchy.to_targets(np.arange(n))[0], dijkstra(times.T.tocsr()))


def test_almaty_drive_graph_random_sources_match_dijkstra() -> None:
    graph = profile_graph("drive")
    sources = np.random.default_rng(2).integers(0, graph.n_nodes, 25)
    _check(graph.forward, graph.length, sources)
