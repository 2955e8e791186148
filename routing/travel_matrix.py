"""Many-to-many invataxi travel times and distances on the shipped Almaty drive network.

Points are snapped to the drive network's largest strongly connected
component (``geo.shortest_paths``); one scipy Dijkstra per distinct node gives
the fastest travel times (speeds per road class, ``geo.profiles.DRIVE_SPEED_KPH``)
and a second the shortest road distances. Sources are split across processes
(one per core). Results are cached on disk under a key of the node set and a
fingerprint of the graph (its edges, their travel times and lengths), so a day's
matrix is computed once and a change of road speeds or network never reuses it.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.gaps import MAX_SNAP_M  # a point farther than this from any drivable road is off the network
from geo.shortest_paths import profile_graph, snap




@dataclass(frozen=True)
class TravelMatrix:
    """Travel times and distances between points.

    Attributes
    ----------
    nodes
        Drive-graph position of each point's snapped node.
    snap_m
        Distance in metres from each point to its node.
    duration_s
        ``duration_s[i, j]``: fastest driving time in seconds from point i to point j.
    distance_m
        ``distance_m[i, j]``: shortest road distance in metres from point i to point j.
    """

    nodes: np.ndarray
    snap_m: np.ndarray
    duration_s: np.ndarray
    distance_m: np.ndarray

    def off_network(self, max_snap_m: float = MAX_SNAP_M) -> np.ndarray:
        """Boolean mask of points farther than ``max_snap_m`` metres from the network."""
        return self.snap_m > max_snap_m


def _drive_rows(sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Durations (s) and distances (m) from drive-graph positions ``sources`` to ``targets``."""
    graph = profile_graph("drive")
    duration = dijkstra(graph.forward, directed=True, indices=sources)[:, targets]
    distance = dijkstra(graph.length, directed=True, indices=sources)[:, targets]
    return duration, distance


def node_matrix(nodes: np.ndarray, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Durations (s) and distances (m) between distinct drive-graph positions ``nodes`` (in that order).

    Sources are split over ``workers`` processes (default: one per core, one
    per 500 nodes at most).
    """
    workers = workers or min(len(nodes) // 500 + 1, os.cpu_count() or 1)
    if workers <= 1:
        return _drive_rows(nodes, nodes)
    chunks = np.array_split(nodes, workers)
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_drive_rows, chunks, [nodes] * workers))
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


@lru_cache(maxsize=1)
def graph_fingerprint() -> str:
    """Hash of everything in the drive graph that changes a travel time or distance (structure and edge weights)."""
    graph = profile_graph("drive")
    digest = hashlib.sha1()
    for matrix in (graph.forward, graph.length):
        for array in (matrix.indptr, matrix.indices, matrix.data):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def travel_matrix(x: np.ndarray, y: np.ndarray, cache_dir: Path | None = None) -> TravelMatrix:
    """The invataxi travel-time and distance matrix between points in UTM 43N metres.

    Parameters
    ----------
    x, y
        Point coordinates (metres, EPSG:32643): depots, pickups, drop-offs.
    cache_dir
        Where to keep computed node matrices (``.npz`` by node-set hash); None: no cache.
    """
    graph = profile_graph("drive")
    positions, snap_m = snap(graph, np.asarray(x, float), np.asarray(y, float))
    unique, inverse = np.unique(positions, return_inverse=True)
    key = hashlib.sha1(unique.astype(np.int64).tobytes() + graph_fingerprint().encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"drive-{key}.npz" if cache_dir else None
    if cached is not None and cached.exists():
        with np.load(cached) as stored:
            duration, distance = stored["duration_s"], stored["distance_m"]
    else:
        duration, distance = node_matrix(unique)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f"{cached.stem}.{os.getpid()}.npz")  # written whole, then renamed (parallel runs)
            np.savez(partial, duration_s=duration, distance_m=distance)
            partial.replace(cached)
    return TravelMatrix(positions, snap_m, duration[np.ix_(inverse, inverse)], distance[np.ix_(inverse, inverse)])
