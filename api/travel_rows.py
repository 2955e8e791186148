"""Full-graph travel rows of new drive-graph nodes, computed outside the plan lock, optionally in worker processes.

A new trip adds two points (pickup, drop-off) to its day's plan, which needs
the travel time and distance from each of them to every point of the plan
and back. Four scipy Dijkstra runs give these to and from *every* node of the
drive graph (``NodeRows``), so they can be computed before the day's lock is
taken: under the lock the plan's current points are only looked up.
scipy's Dijkstra holds the GIL, so the runs go to a pool of worker processes
(each with its own copy of the graph) when ``workers > 0``; the main process
meanwhile serves HTTP, inserts and commits.

Units: seconds and metres.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.shortest_paths import ProfileGraph, profile_graph


@dataclass(frozen=True)
class NodeRows:
    """Travel from and to ``k`` nodes, over all ``N`` drive-graph nodes; arrays of shape (k, N)."""

    duration_from_s: np.ndarray
    distance_from_m: np.ndarray
    duration_to_s: np.ndarray
    distance_to_m: np.ndarray

    def for_plan(self, existing: list[int], new: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The arguments of ``routing.live.LivePlan.add_points`` for a plan whose points sit on ``existing`` nodes.

        Returns duration rows (k, n + k), duration columns (n, k), distance rows, distance columns.
        """
        everyone, before = np.array(existing + new), np.array(existing, dtype=np.int64)
        return (self.duration_from_s[:, everyone], self.duration_to_s[:, before].T,
                self.distance_from_m[:, everyone], self.distance_to_m[:, before].T)


_GRAPH: dict[str, tuple[ProfileGraph, object]] = {}


def _drive() -> tuple[ProfileGraph, object]:
    """The drive graph and its transposed length matrix (loaded once per process)."""
    if "drive" not in _GRAPH:
        graph = profile_graph("drive")
        _GRAPH["drive"] = (graph, graph.length.T.tocsr())
    return _GRAPH["drive"]


def node_rows(nodes: np.ndarray) -> NodeRows:
    """Four Dijkstra runs from ``nodes``: times and lengths on the forward and on the reversed drive graph."""
    graph, length_reverse = _drive()
    return NodeRows(dijkstra(graph.forward, indices=nodes), dijkstra(graph.length, indices=nodes),
                    dijkstra(graph.reverse, indices=nodes), dijkstra(length_reverse, indices=nodes))


class RowService:
    """Computes :func:`node_rows` in this process (``workers=0``) or in a pool of worker processes.

    Parameters
    ----------
    workers
        Worker processes; 0 runs Dijkstra in the calling thread.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            # spawn: the server process has threads, which forking would copy in a broken state
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_drive)
            for future in [self._pool.submit(node_rows, np.array([0])) for _ in range(workers)]:
                future.result()  # warm every worker (graph loaded) before the first request

    def rows(self, nodes: list[int]) -> NodeRows:
        """Travel rows of ``nodes`` (blocks the calling thread, not the others)."""
        array = np.asarray(nodes, dtype=np.int64)
        return node_rows(array) if self._pool is None else self._pool.submit(node_rows, array).result()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
