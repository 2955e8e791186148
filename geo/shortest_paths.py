"""Vectorised snapping and multi-source shortest paths on a profile's network.

A :class:`ProfileGraph` holds one travel profile's network as a scipy CSR
matrix of edge travel times (seconds): directed, with grades from the DEM when
``terrain`` is on (``geo.elevation``), barriers and too-steep edges removed.
Its nodes are the largest strongly connected component of the network the
profile could use with every fixable barrier (steps, raised kerbs) fixed and
grade limits ignored: the same nodes with or without terrain and before or
after any barrier fix, so points snap to the same nodes in every variant and
a household behind a barrier or up a slope it cannot climb gets a gap (an
infinite time), not a silent re-snap elsewhere. Points are snapped with a
KD-tree in UTM 43N metres; the straight leg from a point to its node is
travelled at the profile's access speed.

Times "to the nearest source" are computed in one Dijkstra pass over the
reversed graph from a virtual super-source joined to every source node by an
edge weighing that source's access leg, so the result is exact:
``min over sources s of (access_s + time(node -> node_s))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.elevation import edge_grades, load_dem
from geo.network import load_network_frames
from geo.profiles import UNTAGGED_KERB_DEFAULT, TravelProfile, edge_travel_time_s, fixed_barrier_tags, get_profile

ZERO_EDGE_S: float = 1e-9  # stands in for a zero-time edge (sparse matrices drop zeros)


@dataclass(frozen=True)
class ProfileGraph:
    """One profile's routable network.

    Attributes
    ----------
    profile
        The travel profile.
    node_ids
        OSM node id of each matrix position.
    xy
        Node coordinates (n x 2), metres, UTM 43N.
    forward
        CSR matrix, ``forward[i, j]`` = travel time in seconds of the fastest edge i -> j.
    reverse
        The transpose of ``forward`` (CSR), for times *to* a set of nodes.
    length
        CSR matrix, ``length[i, j]`` = length in metres of the shortest edge i -> j.
    tree
        KD-tree over ``xy`` for snapping.
    fixes
        Edges between kept nodes that a barrier fix would make faster (or
        passable): the network edge table's rows (indexed ``(u, v, key)``) with
        ``u_pos``, ``v_pos`` (matrix positions), ``time_s`` (now, maybe inf),
        ``time_fixed_s`` and ``grade``.
    terrain
        Whether grades from the DEM were applied.
    untagged_kerb
        The untagged-crossing assumption used.
    """

    profile: TravelProfile
    node_ids: np.ndarray
    xy: np.ndarray
    forward: csr_matrix
    reverse: csr_matrix
    length: csr_matrix
    tree: cKDTree
    fixes: pd.DataFrame
    terrain: bool = False
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT

    @property
    def n_nodes(self) -> int:
        """Number of routable nodes."""
        return len(self.node_ids)


def _fastest_edges(u: np.ndarray, v: np.ndarray, time_s: np.ndarray, n: int) -> csr_matrix:
    """CSR matrix keeping, for parallel edges, the smallest weight (csr would sum them)."""
    frame = pd.DataFrame({"u": u, "v": v, "t": np.maximum(time_s, ZERO_EDGE_S)})
    fastest = frame.groupby(["u", "v"], sort=False)["t"].min().reset_index()
    return csr_matrix((fastest["t"].to_numpy(), (fastest["u"].to_numpy(), fastest["v"].to_numpy())), shape=(n, n))


def graph_from_frames(
    profile: TravelProfile,
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    grade: np.ndarray | None = None,
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT,
) -> ProfileGraph:
    """Build the routable graph of ``profile`` from node and edge tables.

    Parameters
    ----------
    profile
        The travel profile (decides edge times, grade limits and barriers).
    nodes
        Indexed by node id, with ``x`` and ``y`` in metres.
    edges
        Indexed by ``(u, v, key)`` with ``length`` (metres), ``highway`` and the
        tags the profile reads.
    grade
        Directed grade of each edge (fraction, + uphill; ``geo.elevation.edge_grades``); None: flat.
    untagged_kerb
        The untagged-crossing assumption (``geo.profiles.edge_barriers``).

    Edges the profile cannot use are left out; the nodes kept are the largest
    strongly connected component of the edges it could use once every fixable
    barrier is fixed, grade limits ignored (see the module docstring).
    """
    time_s = edge_travel_time_s(profile, edges, grade, untagged_kerb)
    fixed_edges = fixed_barrier_tags(edges)
    time_fixed_s = edge_travel_time_s(profile, fixed_edges, grade, untagged_kerb)
    potential = np.isfinite(edge_travel_time_s(profile, fixed_edges, grade, untagged_kerb, ignore_grade_limits=True))
    position = pd.Series(np.arange(len(nodes)), index=nodes.index)
    u_all = position.loc[edges.index.get_level_values("u")].to_numpy()
    v_all = position.loc[edges.index.get_level_values("v")].to_numpy()
    _, labels = connected_components(_fastest_edges(u_all[potential], v_all[potential], np.ones(potential.sum()), len(nodes)),
                                     directed=True, connection="strong")
    keep = np.flatnonzero(labels == np.bincount(labels).argmax())
    new_position = np.full(len(nodes), -1)
    new_position[keep] = np.arange(len(keep))
    inside = (new_position[u_all] >= 0) & (new_position[v_all] >= 0)
    usable = inside & np.isfinite(time_s)
    u, v, n = new_position[u_all], new_position[v_all], len(keep)
    forward = _fastest_edges(u[usable], v[usable], time_s[usable], n)
    length = _fastest_edges(u[usable], v[usable], edges["length"].to_numpy(dtype=float)[usable], n)
    better = inside & (time_fixed_s < time_s)
    fixes = edges[better].assign(u_pos=u[better], v_pos=v[better], time_s=time_s[better], time_fixed_s=time_fixed_s[better],
                                 grade=np.zeros(better.sum()) if grade is None else np.asarray(grade)[better])
    xy = nodes[["x", "y"]].to_numpy(dtype="float64")[keep]
    return ProfileGraph(profile, nodes.index.to_numpy()[keep], xy, forward, forward.T.tocsr(), length, cKDTree(xy), fixes,
                        grade is not None, untagged_kerb)


@lru_cache(maxsize=16)
def profile_graph(name: str, terrain: bool = True, untagged_kerb: str = UNTAGGED_KERB_DEFAULT) -> ProfileGraph:
    """The cached :class:`ProfileGraph` of the named profile on the shipped Almaty network.

    Parameters
    ----------
    name
        Profile name (``geo.profiles.PROFILES``).
    terrain
        Apply grades from the shipped DEM (profiles whose speed ignores grades,
        i.e. ``drive``, are the same either way).
    untagged_kerb
        The untagged-crossing assumption.
    """
    profile = get_profile(name)
    nodes, edges = load_network_frames(profile.network)  # type: ignore[arg-type]
    grade = network_grades(profile.network) if terrain and profile.uses_grades else None
    return graph_from_frames(profile, nodes, edges, grade, untagged_kerb)


@lru_cache(maxsize=2)
def network_grades(network: str) -> np.ndarray:
    """Directed grade of every edge of the shipped ``network`` from the shipped DEM (``geo.elevation``); read-only."""
    grade = edge_grades(*load_network_frames(network), load_dem())  # type: ignore[arg-type]
    grade.flags.writeable = False
    return grade


def clear_caches() -> None:
    """Forget the cached profile graphs, grades and DEM (benchmarks time a cold start with it)."""
    profile_graph.cache_clear()
    network_grades.cache_clear()
    load_dem.cache_clear()


def snap(graph: ProfileGraph, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest routable node of each point.

    Parameters
    ----------
    graph
        The profile graph.
    x, y
        Point coordinates in metres (UTM 43N).

    Returns
    -------
    positions, distances_m
        Matrix position of the nearest node and the straight-line distance to it in metres.
    """
    distance_m, position = graph.tree.query(np.column_stack([x, y]))
    return position.astype(np.int64), distance_m


def times_to_nearest(
    graph: ProfileGraph, source_positions: np.ndarray, source_access_s: np.ndarray, limit_s: float = np.inf
) -> np.ndarray:
    """Travel time in seconds from every node to its nearest source (``inf`` if none is reachable).

    Parameters
    ----------
    graph
        The profile graph.
    source_positions
        Matrix positions of the source nodes (may repeat).
    source_access_s
        Access leg of each source in seconds, added to the network time.
    limit_s
        Stop the search at this many seconds (``inf`` beyond it); default: no limit.

    Returns
    -------
    ndarray
        ``min_s (source_access_s[s] + time(node -> source_positions[s]))`` per node.
    """
    n = graph.n_nodes
    if len(source_positions) == 0:
        return np.full(n, np.inf)
    reverse = graph.reverse
    extra = _fastest_edges(
        np.full(len(source_positions), n), np.asarray(source_positions), np.asarray(source_access_s, float), n + 1
    )
    augmented = csr_matrix(
        (
            np.concatenate([reverse.data, extra.data]),
            np.concatenate([reverse.indices, extra.indices]),
            np.concatenate([reverse.indptr, [reverse.indptr[-1] + extra.nnz]]),
        ),
        shape=(n + 1, n + 1),
    )
    return dijkstra(augmented, directed=True, indices=n, limit=limit_s)[:n]


def times_within(graph: ProfileGraph, positions: np.ndarray, limit_s: float) -> csr_matrix:
    """Sparse travel times from every node to each of ``positions`` up to ``limit_s`` seconds.

    Returns
    -------
    csr_matrix
        Shape ``(len(positions), n_nodes)``; entry ``[k, j]`` is the time in
        seconds from node ``j`` to ``positions[k]`` where it is at most
        ``limit_s`` (stored as ``ZERO_EDGE_S`` for the node itself).
    """
    if len(positions) == 0:
        return csr_matrix((0, graph.n_nodes))
    dense = dijkstra(graph.reverse, directed=True, indices=np.asarray(positions), limit=limit_s)
    dense[dense == 0] = ZERO_EDGE_S
    dense[~np.isfinite(dense)] = 0.0
    return csr_matrix(dense)
