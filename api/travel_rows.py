"""Full-graph travel rows of new drive-graph nodes, computed outside the plan lock, optionally in worker processes.

A new trip adds two points (pickup, drop-off) to its day's plan, which needs
the travel time and distance from each of them to every point of the plan
and back. Two scipy Dijkstra runs (fastest paths on the forward and on the
reversed drive graph) give these to and from *every* node of the drive
graph (``NodeRows``), so they can be computed before the day's lock is
taken: under the lock the plan's current points are only looked up. The
distance is the length of the fastest path, the road a vehicle drives,
summed along each shortest-path tree by pointer jumping (no second
Dijkstra on lengths).
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
from scipy.sparse import csr_matrix
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


class TreeLengths:
    """Lengths of the fastest paths, summed along Dijkstra predecessor trees.

    Parameters
    ----------
    lengths
        CSR matrix, ``lengths[i, j]`` = metres of the edge i -> j (the edges Dijkstra ran on).
    """

    def __init__(self, lengths: csr_matrix) -> None:
        self._n = lengths.shape[0]
        lengths = lengths.tocsr()
        lengths.sort_indices()
        rows = np.repeat(np.arange(self._n, dtype=np.int64), np.diff(lengths.indptr))
        self._keys = rows * self._n + lengths.indices
        self._values = lengths.data

    def along(self, predecessors: np.ndarray, reversed_tree: bool) -> np.ndarray:
        """Metres from each tree's source to every node (``reversed_tree``: from every node to the source), inf if unreached.

        ``predecessors`` (k, N) as scipy's Dijkstra returns them (-9999 at the source and unreached nodes).
        """
        k, n = predecessors.shape
        nodes = np.broadcast_to(np.arange(n, dtype=np.int64), (k, n))
        reached = predecessors >= 0
        parent = np.where(reached, predecessors, nodes)
        tail, head = (nodes, parent) if reversed_tree else (parent, nodes)
        position = np.searchsorted(self._keys, (tail * n + head)[reached])
        total = np.zeros((k, n))
        total[reached] = self._values[position]
        offset = (np.arange(k, dtype=np.int64) * n)[:, None]
        flat_total, pointer = total.ravel(), (parent + offset).ravel()
        while True:  # pointer jumping: about log2(tree depth) rounds
            jumped = pointer[pointer]
            if np.array_equal(jumped, pointer):
                break
            flat_total = flat_total + flat_total[pointer]
            pointer = jumped
        return flat_total.reshape(k, n)


_GRAPH: dict[str, tuple[ProfileGraph, TreeLengths]] = {}


def _drive() -> tuple[ProfileGraph, TreeLengths]:
    """The drive graph and its edge lengths (loaded once per process)."""
    if "drive" not in _GRAPH:
        graph = profile_graph("drive")
        _GRAPH["drive"] = (graph, TreeLengths(graph.length))
    return _GRAPH["drive"]


def node_rows(nodes: np.ndarray) -> NodeRows:
    """Fastest paths from and to ``nodes``: two Dijkstra runs, lengths summed along their trees."""
    graph, lengths = _drive()
    time_from, tree_from = dijkstra(graph.forward, indices=nodes, return_predecessors=True)
    time_to, tree_to = dijkstra(graph.reverse, indices=nodes, return_predecessors=True)
    distance_from = np.where(np.isfinite(time_from), lengths.along(tree_from, reversed_tree=False), np.inf)
    distance_to = np.where(np.isfinite(time_to), lengths.along(tree_to, reversed_tree=True), np.inf)
    return NodeRows(time_from, distance_from, time_to, distance_to)


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

    def matrices(self, nodes: list[int], chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Durations (s) and distances (m) of the fastest paths between ``nodes``, ``chunk`` sources at a time."""
        everyone = np.asarray(nodes, dtype=np.int64)
        parts = [self.rows(nodes[k:k + chunk]) for k in range(0, len(nodes), chunk)]
        return (np.vstack([p.duration_from_s[:, everyone] for p in parts]),
                np.vstack([p.distance_from_m[:, everyone] for p in parts]))

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
