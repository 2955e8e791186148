"""Street barriers as candidates for the city's adaptation budget, with their exact coverage.

A barrier fix opens (or speeds up) walk-network edges: a kerb ramp at a
raised-kerb crossing, a ramp or a platform lift at steps. Each fix is one
candidate: id, kind, cost in tenge (``BARRIER_UNIT_COST_TG``), geometry, and
its coverage: the (household, service) gaps it closes on its own.

Coverage is exact, without a search per household. For a candidate with fixed
edges E between nodes N, the new time from node x to the nearest source is
``min(T(x), min_n D(x -> n) + T'(n))`` where T is today's time to the nearest
source, D today's network time (one bounded reverse Dijkstra per node in N,
up to the largest threshold), and T' the time from each n in N on the small
graph of N (D between them, the fixed edges, and T as exits). A path that uses
a fixed edge first reaches one of N on today's network, so this is the time
a full recomputation with the barrier fixed gives (a test checks it).

A fix may also close a gap only together with the adaptation of an object
behind it (the object alone is out of reach, the fix alone opens a way to no
accessible object). Given the candidate objects (``partners``), these *joint*
gaps are exact too: with D'(n -> o) from one bounded forward Dijkstra per
candidate node, the time to object ``o`` after the fix is the same small-graph
shortest path with ``D(n -> o) + access`` as exits. Gaps that need two or more
fixes are not credited (a lower bound: the plan never counts a gap it does not close).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra
from shapely.ops import unary_union

from geo.crs import UTM43N
from geo.gaps import GapAnalysis
from geo.network import load_network_frames
from geo.profiles import PROFILES, edge_barriers
from geo.shortest_paths import ProfileGraph, network_grades, times_within

# Unit costs in tenge (2025 prices; assumptions at the level of Almaty
# contractors' quotes, the same basis as geo.adaptation.UNIT_COST_TG).
BARRIER_UNIT_COST_TG: dict[str, float] = {
    "kerb_ramp": 300_000.0,  # one crossing: two kerbs cut to flush, asphalt apron, tactile tiles
    "ramp_per_m": 180_000.0,  # concrete ramp with handrails per metre of run (entrance ramp 650 000 / 3.6 m)
    "lift": 12_000_000.0,  # outdoor inclined or vertical platform lift, installed
}
STEPS_RISE_PER_M: float = 0.4  # rise per metre of mapped steps way (15 cm risers, 30 cm treads, landings)
RAMP_GRADE: float = 1 / 12  # ramps are built to the ADA 1:12 limit
RAMP_MAX_RISE_M: float = 1.5  # higher flights get a lift (a 1:12 ramp would run over 18 m plus landings)
CANDIDATE_COLUMNS: tuple[str, ...] = ("candidate_id", "kind", "barrier", "cost_tg", "length_m", "rise_m",
                                      "pairs_closed", "households_closed", "people_closed", "geometry")
COVERAGE_COLUMNS: tuple[str, ...] = ("candidate_id", "household_id", "service", "group", "people", "time_after_s")
JOINT_COLUMNS: tuple[str, ...] = ("candidate_id", "object_id", "household_id", "service", "group", "people", "time_after_s")


@dataclass
class BarrierCandidates:
    """Barrier fixes for the adaptation plan.

    Attributes
    ----------
    candidates
        GeoDataFrame (UTM 43N): ``candidate_id`` ("steps-<way id>" or
        "kerb-<node id>"), ``kind`` ("ramp", "lift", "kerb_ramp"), ``barrier``
        ("steps", "raised_kerb"), ``cost_tg``, ``length_m`` (of the steps or
        crossing, metres), ``rise_m`` (estimated rise of steps), totals of its
        coverage, and the barrier's geometry.
    coverage
        The gaps each candidate closes on its own: ``candidate_id``,
        ``household_id``, ``service``, ``group``, ``people``, ``time_after_s``
        (the same layout as ``geo.gaps.coverage``, ``candidate_id`` for ``object_id``).
    joint
        The gaps each candidate closes only together with adapting one
        partner object (``object_id``), neither alone: ``JOINT_COLUMNS``
        (empty unless partners were given).
    """

    candidates: gpd.GeoDataFrame
    coverage: pd.DataFrame
    joint: pd.DataFrame


def _candidate_ids(edges: pd.DataFrame, untagged_kerb: str) -> pd.Series:
    """Candidate id of each barrier edge ("steps-<osmid>", "kerb-<kerb node>"); None elsewhere."""
    kinds = edge_barriers(edges, untagged_kerb)
    ids = pd.Series(None, index=edges.index, dtype="object")
    kerb = kinds["raised_kerb"].to_numpy()
    ids[kerb] = "kerb-" + edges.loc[kerb, "kerb_node"].astype("Int64").astype(str)
    steps = kinds["steps"].to_numpy()
    ids[steps] = "steps-" + edges.loc[steps, "osmid"].astype(str)
    return ids


def _cost(candidates: pd.DataFrame) -> pd.DataFrame:
    """Kind, rise and cost of each candidate from its barrier and length."""
    steps = candidates["barrier"] == "steps"
    rise = np.where(steps, candidates["length_m"] * STEPS_RISE_PER_M, 0.0)
    ramp = steps & (rise <= RAMP_MAX_RISE_M)
    kind = np.where(~steps, "kerb_ramp", np.where(ramp, "ramp", "lift"))
    cost = np.where(~steps, BARRIER_UNIT_COST_TG["kerb_ramp"],
                    np.where(ramp, BARRIER_UNIT_COST_TG["ramp_per_m"] * rise / RAMP_GRADE, BARRIER_UNIT_COST_TG["lift"]))
    return candidates.assign(kind=kind, rise_m=rise, cost_tg=cost)


def _closest_via(graph: ProfileGraph, fixes: pd.DataFrame, limit_s: float) -> dict[str, tuple[np.ndarray, np.ndarray, object]]:
    """Per candidate: its nodes, the fixed edges between them (local indices, seconds) and D(. -> node) rows."""
    nodes = fixes.groupby("candidate_id")[["u_pos", "v_pos"]].apply(lambda f: np.unique(f.to_numpy().ravel()))
    flat = np.concatenate(nodes.to_list()) if len(nodes) else np.zeros(0, dtype=np.int64)
    within = times_within(graph, flat, limit_s)
    out, start = {}, 0
    for candidate_id, members in nodes.items():
        rows = within[start : start + len(members)]
        start += len(members)
        local = {int(p): k for k, p in enumerate(members)}
        mine = fixes[fixes["candidate_id"] == candidate_id]
        edges = np.array([[local[a], local[b], t] for a, b, t in zip(mine["u_pos"], mine["v_pos"], mine["time_fixed_s"])])
        out[candidate_id] = (members, edges, rows)
    return out


def _overlay_times(members: np.ndarray, edges: np.ndarray, rows, exits: np.ndarray) -> np.ndarray:
    """T'(n) for the candidate's nodes: shortest paths on the small graph of its nodes.

    ``exits`` holds each node's time to the destination today, shape ``(k,)``,
    or ``(k, m)`` for ``m`` destinations at once; the result has its shape.
    """
    k = len(members)
    between = rows[:, members].toarray().T  # between[i, j] = D(node_i -> node_j), 0 where out of reach
    between = np.where(between > 0, between, np.inf)
    best = (exits[:, None] if exits.ndim == 1 else exits).copy()
    for _ in range(k):
        via_old = np.min(between[:, :, None] + best[None, :, :], axis=1)
        via_new = np.full(best.shape, np.inf)
        np.minimum.at(via_new, edges[:, 0].astype(int), edges[:, 2, None] + best[edges[:, 1].astype(int)])
        best = np.minimum(best, np.minimum(via_old, via_new))
    return best[:, 0] if exits.ndim == 1 else best


def barrier_candidates(analysis: GapAnalysis, partners: pd.DataFrame | None = None,
                       partner_coverage: pd.DataFrame | None = None) -> BarrierCandidates:
    """Every fixable barrier on the walking profiles' networks, with cost and exact coverage.

    Parameters
    ----------
    analysis
        A gap analysis (its terrain and untagged-kerb settings are used).
    partners
        Objects that could be adapted (rows of ``analysis.objects``): the
        joint gaps of each fix with each of them are computed too.
    partner_coverage
        The gaps each partner closes alone (``geo.gaps.coverage``): left out
        of the joint gaps, which are those neither closes alone.

    Returns
    -------
    BarrierCandidates
        Candidates that open or speed up at least one edge of a profile in
        use; those closing no gap are kept with zero coverage.
    """
    _, edges = load_network_frames("walk")
    ids = _candidate_ids(edges, analysis.untagged_kerb)
    table = analysis.households
    limit = max(analysis.thresholds_s.values())
    frames, joint_frames = [], []
    seen: set[str] = set()
    for name, households in table[~table["snap_too_far"]].groupby("profile"):
        graph = analysis.graph(name)
        fixes = graph.fixes.assign(candidate_id=ids.reindex(graph.fixes.index).to_numpy())
        fixes = fixes[fixes["candidate_id"].notna()]
        seen |= set(fixes["candidate_id"])
        via = _closest_via(graph, fixes, limit)
        node_best = np.full(graph.n_nodes, np.inf)
        for service in analysis.services:
            for group in sorted(households["group"].unique()):
                frames += _closed_gaps(analysis, households, service, group, name, via, node_best)
        if partners is not None and len(partners):
            joint_frames += _joint_gaps(analysis, households, name, graph, via, partners, limit)
    coverage = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COVERAGE_COLUMNS))
    joint = pd.concat(joint_frames, ignore_index=True) if joint_frames else pd.DataFrame(columns=list(JOINT_COLUMNS))
    joint = _without(_without(joint, coverage, "candidate_id"), partner_coverage, "object_id")
    return BarrierCandidates(_candidate_table(edges, ids, sorted(seen), coverage), coverage, joint)


def _without(joint: pd.DataFrame, alone: pd.DataFrame | None, key: str) -> pd.DataFrame:
    """``joint`` rows whose gap the ``key`` side (a fix, or an object) closes alone, per ``alone``, left out."""
    if alone is None or alone.empty or joint.empty:
        return joint
    closed = pd.MultiIndex.from_frame(alone[[key, "household_id", "service"]].rename(columns={key: "_id"}))
    mine = pd.MultiIndex.from_frame(joint[[key, "household_id", "service"]].rename(columns={key: "_id"}))
    return joint[~mine.isin(closed)].reset_index(drop=True)


def _joint_gaps(analysis: GapAnalysis, households: pd.DataFrame, name: str, graph: ProfileGraph, via: dict,
                partners: pd.DataFrame, limit_s: float) -> list[pd.DataFrame]:
    """Gaps of profile ``name``'s households that each fix closes together with one adapted partner object.

    Includes those the fix or the object closes alone (``_without`` removes them).
    """
    usable = partners[~partners["snap_too_far"] & partners["service"].isin(analysis.services)]
    target, access = usable[f"pos_{name}"].to_numpy(), usable[f"access_{name}_s"].to_numpy()
    service_of, object_ids = usable["service"].to_numpy(), usable["object_id"].to_numpy()
    waiting = {s: households[households[f"gap_{s}"].fillna(False).to_numpy(dtype=bool)] for s in analysis.services}
    frames = []
    for candidate_id, (members, fixed, rows) in via.items():
        onward = dijkstra(graph.forward, directed=True, indices=members, limit=limit_s)  # onward[i, y] = D(node_i -> y)
        exits = onward[:, target] + access[None, :]
        near = np.flatnonzero((exits <= limit_s).any(axis=0))
        if not len(near):
            continue
        after = _overlay_times(members, fixed, rows, exits[:, near])
        for service in analysis.services:
            mine = near[service_of[near] == service]
            them = waiting[service]
            if not len(mine) or them.empty:
                continue
            to_fix = rows[:, them["_pos"].to_numpy()].toarray()  # D(household -> node_i), 0 where out of reach
            reached = (to_fix > 0).any(axis=0)
            if not reached.any():
                continue
            to_fix = np.where(to_fix[:, reached] > 0, to_fix[:, reached], np.inf)
            onto = after[:, service_of[near] == service]
            total = np.full((to_fix.shape[1], onto.shape[1]), np.inf)
            for leg, onward_s in zip(to_fix, onto):  # one candidate node at a time (memory: households x objects)
                np.minimum(total, leg[:, None] + onward_s[None, :], out=total)
            total += them["_access_s"].to_numpy()[reached, None]
            h, o = np.nonzero(total <= analysis.thresholds_s[service])
            if not len(h):
                continue
            chosen = them[reached]
            frames.append(pd.DataFrame({"candidate_id": candidate_id, "object_id": object_ids[mine[o]],
                                        "household_id": chosen["household_id"].to_numpy()[h], "service": service,
                                        "group": chosen["group"].to_numpy()[h], "people": chosen["people"].to_numpy()[h],
                                        "time_after_s": total[h, o]}))
    return frames


def _closed_gaps(analysis: GapAnalysis, households: pd.DataFrame, service: str, group: str, name: str,
                 via: dict, node_best: np.ndarray) -> list[pd.DataFrame]:
    """The gaps of ``service`` for ``group`` on profile ``name`` that each candidate closes.

    ``node_best`` is a scratch array of ``inf`` (one per node), left as it was found.
    """
    waiting = households[(households["group"] == group) & households[f"gap_{service}"].fillna(False).to_numpy(dtype=bool)]
    if waiting.empty:
        return []
    today = analysis.nearest_times(service, group, name)
    pos, access = waiting["_pos"].to_numpy(), waiting["_access_s"].to_numpy()
    frames = []
    for candidate_id, (members, fixed, rows) in via.items():
        after = _overlay_times(members, fixed, rows, today[members])
        if not (after < today[members]).any():
            continue
        coo = rows.tocoo()
        np.minimum.at(node_best, coo.col, coo.data + after[coo.row])
        total = access + node_best[pos]
        node_best[coo.col] = np.inf
        closes = total <= analysis.thresholds_s[service]
        frames.append(pd.DataFrame({"candidate_id": candidate_id, "household_id": waiting["household_id"].to_numpy()[closes],
                                    "service": service, "group": group, "people": waiting["people"].to_numpy()[closes],
                                    "time_after_s": total[closes]}))
    return frames


def _candidate_table(edges: pd.DataFrame, ids: pd.Series, chosen: list[str], coverage: pd.DataFrame) -> gpd.GeoDataFrame:
    """One row per candidate: barrier, length (both directions stored: halved), geometry, cost, coverage totals."""
    mine = edges[ids.isin(chosen).to_numpy()].assign(candidate_id=ids[ids.isin(chosen)].to_numpy())
    grouped = mine.groupby("candidate_id")
    table = pd.DataFrame({"barrier": grouped["candidate_id"].first().str.split("-").str[0].map({"steps": "steps",
                                                                                              "kerb": "raised_kerb"}),
                          "length_m": grouped["length"].sum() / 2})
    table = _cost(table)
    table["pairs_closed"] = coverage.groupby("candidate_id").size().reindex(table.index, fill_value=0)
    closed = coverage.drop_duplicates(["candidate_id", "household_id"])
    table["households_closed"] = closed.groupby("candidate_id").size().reindex(table.index, fill_value=0)
    table["people_closed"] = closed.groupby("candidate_id")["people"].sum().reindex(table.index, fill_value=0)
    geometry = grouped["geometry"].apply(lambda lines: unary_union(list(lines)))
    out = gpd.GeoDataFrame(table.reset_index(), geometry=geometry.reindex(table.index).to_list(), crs=UTM43N)
    return out[list(CANDIDATE_COLUMNS)].sort_values("candidate_id", ignore_index=True)


def steep_edges(profile: str = "manual_wheelchair") -> gpd.GeoDataFrame:
    """Walk edges too steep for ``profile`` to climb (u -> v uphill beyond its limit), with ``grade`` (fraction)."""
    _, edges = load_network_frames("walk")
    grade = network_grades("walk")
    steep = grade > PROFILES[profile].max_uphill
    return gpd.GeoDataFrame({"grade": grade[steep], "highway": edges["highway"].to_numpy()[steep]},
                            geometry=edges.geometry.to_numpy()[steep], crs=edges.crs)


def barrier_edges(untagged_kerb: str) -> gpd.GeoDataFrame:
    """Walk ways (one direction) carrying a wheelchair barrier, with the barrier ``kind`` (first of ``BARRIER_KINDS``)."""
    _, edges = load_network_frames("walk")
    kinds = edge_barriers(edges, untagged_kerb)
    first = kinds.to_numpy().argmax(axis=1)
    keep = kinds.to_numpy().any(axis=1) & ~edges["reversed"].to_numpy(dtype=bool)
    return gpd.GeoDataFrame({"kind": np.asarray(kinds.columns)[first[keep]]}, geometry=edges.geometry.to_numpy()[keep],
                            crs=edges.crs)
