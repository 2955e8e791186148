"""Full-graph travel rows of new drive-graph nodes, computed outside the plan lock, optionally in worker processes.

A new trip adds two points (pickup, drop-off) to its day's plan, which needs
the travel time and distance from each of them to every point of the plan
and back. One PHAST query per point and direction over a contraction
hierarchy of the drive graph (``geo.contraction``, built once per process,
about 0.2 s) gives these to and from *every* node of the drive graph
(``NodeRows``), so they can be computed before the day's lock is taken:
under the lock the plan's current points are only looked up. The distance is
the length of the fastest path, the road a vehicle drives, carried along the
same query. A booking's queries take about a fifth of the CPU of full Dijkstra runs
(:func:`fastest_paths`, the reference it is tested against and
``bench/api.py``'s peer) and give the same times. Both are compiled (numba)
and release the GIL, so request threads run them in parallel with each other
and with the server's Python work (``workers=0``, the default);
``workers > 0`` runs them in worker processes instead (each with its own
copy of the graph, the rows pickled back); ``bench/api.py`` measures both.

Units: seconds and metres.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from numba import njit

from geo.contraction import Hierarchy, build_hierarchy, heap_pop, heap_push
from geo.shortest_paths import profile_graph


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
        everyone = np.fromiter(existing + new, dtype=np.int64, count=len(existing) + len(new))  # under the lock: one pass
        before = everyone[:len(existing)]
        return (self.duration_from_s[:, everyone], self.duration_to_s[:, before].T,
                self.distance_from_m[:, everyone], self.distance_to_m[:, before].T)


def aligned_lengths(times: csr_matrix, lengths: csr_matrix, transposed: bool) -> np.ndarray:
    """The metres of each stored edge of ``times`` (CSR), in its data order.

    ``lengths[i, j]`` holds the metres of edge i -> j; ``transposed``: ``times[j, i]`` is that edge.
    """
    n = lengths.shape[0]
    lengths = lengths.tocsr()
    lengths.sort_indices()
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(lengths.indptr)) * n + lengths.indices
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(times.indptr))
    tail, head = (times.indices.astype(np.int64), rows) if transposed else (rows, times.indices.astype(np.int64))
    position = np.searchsorted(keys, tail * n + head)
    if not np.array_equal(keys[np.minimum(position, len(keys) - 1)], tail * n + head):
        raise ValueError("the time and length graphs have different edges")
    return lengths.data[position].astype(np.float64)


@njit(cache=True, nogil=True)
def _fastest_paths(indptr: np.ndarray, indices: np.ndarray, seconds: np.ndarray, metres: np.ndarray,
                   sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Dijkstra (binary heap, lazy deletion) on times from each source; the metres summed along the same tree."""
    n, m = len(indptr) - 1, len(indices)
    time = np.full((len(sources), n), np.inf)
    length = np.full((len(sources), n), np.inf)
    parent = np.full((len(sources), n), -9999, dtype=np.int64)
    heap_key = np.empty(m + 1)
    heap_node = np.empty(m + 1, dtype=np.int64)
    for s in range(len(sources)):
        t, d, p = time[s], length[s], parent[s]
        t[sources[s]], d[sources[s]] = 0.0, 0.0
        heap_key[0], heap_node[0], size = 0.0, sources[s], 1
        while size > 0:
            key, node, size = heap_pop(heap_key, heap_node, size)
            if key > t[node]:
                continue  # a stale entry: the node was settled earlier, from its last (lowest) entry
            for e in range(indptr[node], indptr[node + 1]):
                head = indices[e]
                arrival = key + seconds[e]
                if arrival < t[head]:
                    t[head], d[head], p[head] = arrival, d[node] + metres[e], node
                    size = heap_push(heap_key, heap_node, size, arrival, head)
    return time, length, parent


@dataclass(frozen=True)
class DriveArrays:
    """The drive graph as CSR arrays, forward and reversed, with aligned seconds and metres per edge, and its hierarchy."""

    forward: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    reverse: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    hierarchy: Hierarchy


_GRAPH: dict[str, DriveArrays] = {}


def _drive() -> DriveArrays:
    """The drive graph's arrays (built once per process)."""
    if "drive" not in _GRAPH:
        graph = profile_graph("drive")
        forward, reverse = (
            (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data.astype(np.float64),
             aligned_lengths(matrix, graph.length, transposed)) for matrix, transposed in ((graph.forward, False),
                                                                                         (graph.reverse, True)))
        _GRAPH["drive"] = DriveArrays(forward, reverse, build_hierarchy(graph.forward, forward[3]))
    return _GRAPH["drive"]


def fastest_paths(nodes: np.ndarray, reverse: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seconds, metres and the tree (predecessors, -9999 at the source and unreached) of the fastest paths, by Dijkstra.

    From each of ``nodes`` (``reverse``: to each of them), over every drive-graph node;
    arrays of shape (k, N). The reference :func:`node_rows` is checked against (it needs no tree).
    """
    arrays = _drive()
    return _fastest_paths(*(arrays.reverse if reverse else arrays.forward), np.asarray(nodes, dtype=np.int64))


def node_rows(nodes: np.ndarray) -> NodeRows:
    """Fastest paths from and to ``nodes``, with the lengths of those same paths (PHAST on the drive hierarchy)."""
    hierarchy = _drive().hierarchy
    return NodeRows(*hierarchy.from_sources(nodes), *hierarchy.to_targets(nodes))


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
        if workers == 0:
            node_rows(np.array([0]))  # compile (or load the cached compilation) before the first request
        else:
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
