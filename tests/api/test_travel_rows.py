"""Travel rows of the dispatch desk: fastest-path times and the lengths of those same paths, checked by walking them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from api.travel_rows import RowService, fastest_paths, node_rows
from geo.shortest_paths import profile_graph


def _walk(graph, predecessors: np.ndarray, source: int, node: int, reversed_tree: bool) -> float:  # noqa: ANN001
    """Metres along the predecessor chain from ``node`` back to ``source``, one edge at a time."""
    total = 0.0
    while node != source:
        parent = predecessors[node]
        total += graph.length[node, parent] if reversed_tree else graph.length[parent, node]
        node = parent
    return total


def test_rows_are_fastest_path_times_and_the_lengths_of_those_paths() -> None:
    graph = profile_graph("drive")
    sources = np.array([5, 12_000])
    rows = node_rows(sources)
    rng = np.random.default_rng(3)
    for reversed_tree, matrix, times, lengths in ((False, graph.forward, rows.duration_from_s, rows.distance_from_m),
                                                  (True, graph.reverse, rows.duration_to_s, rows.distance_to_m)):
        np.testing.assert_allclose(times, dijkstra(matrix, indices=sources))  # scipy's fastest times
        _, _, tree = fastest_paths(sources, reverse=reversed_tree)
        for i, source in enumerate(sources):
            reached = np.flatnonzero(np.isfinite(times[i]) & (tree[i] >= 0))
            # every tree edge is a fastest edge on a fastest path: the tree holds fastest paths
            np.testing.assert_allclose(times[i, tree[i, reached]] + np.asarray(matrix[tree[i, reached], reached]).ravel(),
                                       times[i, reached])
            for node in rng.choice(reached, 25, replace=False):
                assert lengths[i, node] == pytest.approx(_walk(graph, tree[i], source, node, reversed_tree))
    shortest = dijkstra(graph.length, indices=sources)
    reached = np.isfinite(shortest)
    assert (rows.distance_from_m[reached] >= shortest[reached] - 1e-6).all()  # never shorter than the shortest road
    assert np.isinf(rows.distance_from_m[~np.isfinite(rows.duration_from_s)]).all()


def test_worker_processes_give_the_same_rows_and_matrices() -> None:
    nodes = [17, 4_000, 9_999]
    local, pool = RowService(0), RowService(1)
    try:
        here, there = local.rows(nodes), pool.rows(nodes)
        for name in ("duration_from_s", "distance_from_m", "duration_to_s", "distance_to_m"):
            np.testing.assert_array_equal(getattr(here, name), getattr(there, name))
        duration, distance = local.matrices(nodes, chunk=2)
        np.testing.assert_array_equal(duration, here.duration_from_s[:, nodes])
        np.testing.assert_allclose(distance.T, here.distance_to_m[:, nodes])  # to-rows: the from-matrix columns
        assert (np.diag(duration) == 0).all()
    finally:
        pool.close()
