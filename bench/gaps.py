"""Benchmark: the full Almaty gap analysis, flat and terrain-aware, against networkx and pandana, in one run.

Part 1, terrain (all households, travel profile by household):

* the flat and the terrain-aware analysis, each cold (profile graphs and DEM
  rebuilt) and warm; ``terrain_seconds`` is the terrain-aware cold time;
* the share of wheelchair households with at least one gap, flat and terrain-aware,
  and per district (``wheelchair_by_district``, also the mean per-service share);
* the barrier candidates (``geo.barriers``) and the time to compute their exact coverage.

Part 2, peers (all households, one forced profile, ``PEER_PROFILE``, terrain-aware;
35 passes = 7 services x 5 groups). Every peer gets the same graph (our
profile graph's CSR edges), the same sources and the same access legs, and the
largest gap threshold as its cut-off, which only helps it: ours computes uncut
times, which the reports show.

* networkx: per (service, group) one ``multi_source_dijkstra_path_length``
  on the reversed graph from a virtual source joined to every source node by
  an edge weighing its access leg, cut off at the largest threshold;
* pandana: per (service, group) ``set_pois`` + ``nearest_pois`` (contraction
  hierarchies) with the same cut-off; the access legs are edges from each
  source node to a virtual node per object at the object's location, where its
  POI snaps; its preprocessing (``Network``) is timed with it.

Outputs are compared with ours household by household and service by service:
a time within the cut-off must be equal to within ``TOLERANCE_S`` (pandana:
``PANDANA_TOLERANCE_S``, float32 weights); beyond it the peer must report
nothing found. Ratios are peer time / ours on the same work: the 35 passes
(``speedup_vs_networkx_multisource``: networkx's passes against ours, both
graphs built) and cold (graph build included: networkx's DiGraph, pandana's
contraction hierarchies, our CSR with DEM grades). The full analysis times
(snapping, H3 cells, tables) are reported too (``seconds``, ``seconds_cold``).

Writes ``bench/results/gaps.json``; also the shipped network's node and edge counts.

Usage: ``python bench/gaps.py [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from data.dataset import ensure_dataset, load_households, load_objects
from geo.barriers import barrier_candidates
from geo.gaps import GapAnalysis, compute_gaps, flat_vs_terrain, group_gap_shares
from geo.network import NETWORKS, load_network_frames
from geo.passport import GROUPS
from geo.shortest_paths import ProfileGraph, clear_caches, times_to_nearest

RESULTS = Path(__file__).resolve().parent / "results"
PEER_PROFILE = "manual_wheelchair"
SHARE_KEYS: tuple[str, ...] = ("share_any_gap_flat", "share_any_gap_terrain", "share_gap_mean_flat", "share_gap_mean_terrain")
REPEATS: int = 2  # timings are the best of this many runs (the machine is shared)
TOLERANCE_S: float = 1e-6  # peers' times must equal ours to within this (seconds)
# pandana sums float32 edge weights (about 7 significant digits on times up to 1 800 s, over hundreds of
# edges): its times may differ from ours by a few hundredths of a second (the largest difference is reported)
PANDANA_TOLERANCE_S: float = 0.05


def _cold_and_warm(households, objects, **options) -> tuple[float, float, GapAnalysis]:
    """Cold (profile graphs and DEM rebuilt) and warm seconds of one full analysis, each the best of ``REPEATS``."""
    colds, warms = [], []
    for _ in range(REPEATS):
        clear_caches()
        start = time.perf_counter()
        compute_gaps(households, objects, **options)
        colds.append(time.perf_counter() - start)
    for _ in range(REPEATS):
        start = time.perf_counter()
        analysis = compute_gaps(households, objects, **options)
        warms.append(time.perf_counter() - start)
    return min(colds), min(warms), analysis


def terrain_part(households, objects) -> dict:
    """Flat against terrain-aware: times, wheelchair gap shares, barrier candidates."""
    flat_cold, flat_warm, flat = _cold_and_warm(households, objects, terrain=False)
    terrain_cold, terrain_warm, terrain = _cold_and_warm(households, objects, terrain=True)
    start = time.perf_counter()
    barriers = barrier_candidates(terrain)
    barrier_s = time.perf_counter() - start
    shares = {name: group_gap_shares(analysis, "wheelchair").iloc[0] for name, analysis in (("flat", flat), ("terrain", terrain))}
    useful = barriers.candidates[barriers.candidates["pairs_closed"] > 0]
    print(f"flat {flat_cold:.2f} s cold / {flat_warm:.2f} s warm; terrain {terrain_cold:.2f} s cold / {terrain_warm:.2f} s "
          f"warm ({terrain_cold / flat_cold:.2f}x flat cold)")
    print(f"wheelchair households with a gap: {shares['flat']['share_any_gap']:.2%} flat, "
          f"{shares['terrain']['share_any_gap']:.2%} terrain; {len(barriers.candidates)} barrier candidates "
          f"({len(useful)} close a gap) in {barrier_s:.1f} s")
    return {
        "flat_seconds": round(flat_cold, 3), "flat_seconds_warm": round(flat_warm, 3),
        "terrain_seconds": round(terrain_cold, 3), "terrain_seconds_warm": round(terrain_warm, 3),
        "terrain_over_flat": round(terrain_cold / flat_cold, 2),
        "wheelchair_gap_share_flat": round(float(shares["flat"]["share_any_gap"]), 4),
        "wheelchair_gap_share_terrain": round(float(shares["terrain"]["share_any_gap"]), 4),
        "wheelchair_gap_mean_share_flat": round(float(shares["flat"]["share_gap_mean"]), 4),
        "wheelchair_gap_mean_share_terrain": round(float(shares["terrain"]["share_gap_mean"]), 4),
        "barrier_candidates": len(barriers.candidates), "barrier_candidates_closing_gaps": len(useful),
        "barrier_coverage_seconds": round(barrier_s, 3),
        "wheelchair_by_district": {row["district"]: {"households": int(row["households"]),
                                                     **{k: round(float(row[k]), 4) for k in SHARE_KEYS}}
                                   for _, row in flat_vs_terrain(flat, terrain).iterrows()},
    }


def _queries(analysis: GapAnalysis) -> list[tuple[str, str, pd.DataFrame]]:
    """(service, group, sources) of every pass, sources with ``pos`` and ``access_s``."""
    objects = analysis.objects[~analysis.objects["snap_too_far"]]
    out = []
    for service in analysis.services:
        for group in GROUPS:
            chosen = objects[(objects["service"] == service) & (objects[f"status_{group}"] == "accessible")]
            out.append((service, group, pd.DataFrame({"object_id": chosen["object_id"].to_numpy(),
                                                      "pos": chosen[f"pos_{PEER_PROFILE}"].to_numpy(),
                                                      "access_s": chosen[f"access_{PEER_PROFILE}_s"].to_numpy()})))
    return out


def _compare(analysis: GapAnalysis, peer_node_s: dict[tuple[str, str], np.ndarray], cutoff: float,
             tolerance_s: float = TOLERANCE_S) -> dict:
    """Household-by-household comparison of a peer's times (inf: none within the cut-off) with ours.

    Equal means within ``tolerance_s``; times within that tolerance of the
    cut-off are counted apart (``at_cutoff``): rounding may put them on either side.
    """
    table = analysis.households[~analysis.households["snap_too_far"]]
    worst, mismatched, at_cutoff, compared = 0.0, 0, 0, 0
    for (service, group), node_s in peer_node_s.items():
        mine = table[table["group"] == group]
        ours = mine[f"time_{service}_s"].to_numpy() - mine["_access_s"].to_numpy()
        theirs = node_s[mine["_pos"].to_numpy()]
        edge = np.abs(ours - cutoff) <= tolerance_s
        within, beyond = (ours < cutoff) & ~edge, (ours > cutoff) & ~edge
        diff = np.abs(ours[within] - theirs[within])
        worst = max(worst, float(diff.max(initial=0.0)))
        mismatched += int((diff > tolerance_s).sum() + np.isfinite(theirs[beyond]).sum())
        at_cutoff += int(edge.sum())
        compared += len(ours)
    return {"max_abs_diff_s": worst, "mismatched": mismatched, "at_cutoff": at_cutoff, "compared": compared}


def time_ours(analysis: GapAnalysis, cutoff: float) -> tuple[float, float]:
    """Seconds of our profile-graph build (DEM grades included) and of the passes with the peers' cut-off."""
    clear_caches()
    start = time.perf_counter()
    graph = analysis.graph(PEER_PROFILE)
    build = time.perf_counter() - start
    start = time.perf_counter()
    for _, _, sources in _queries(analysis):
        times_to_nearest(graph, sources["pos"].to_numpy(), sources["access_s"].to_numpy(), cutoff)
    return build, time.perf_counter() - start


def time_networkx(graph: ProfileGraph, analysis: GapAnalysis, cutoff: float) -> tuple[float, float, dict]:
    """Seconds of the networkx graph build and of its multi-source passes, and its node times."""
    start = time.perf_counter()
    coo = graph.reverse.tocoo()
    reverse = nx.DiGraph()
    reverse.add_nodes_from(range(graph.n_nodes))
    reverse.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    build = time.perf_counter() - start
    start = time.perf_counter()
    times = {}
    source = graph.n_nodes  # the virtual source
    for service, group, sources in _queries(analysis):
        legs = sources.groupby("pos")["access_s"].min()  # a DiGraph keeps one edge per node pair: the shortest leg
        reverse.add_weighted_edges_from((source, int(p), float(a)) for p, a in legs.items())
        lengths = nx.multi_source_dijkstra_path_length(reverse, {source}, cutoff=cutoff)
        reverse.remove_node(source)
        lengths.pop(source, None)
        node_s = np.full(graph.n_nodes, np.inf)
        node_s[np.fromiter(lengths.keys(), dtype=np.int64, count=len(lengths))] = np.fromiter(lengths.values(), float, len(lengths))
        times[(service, group)] = node_s
    return build, time.perf_counter() - start, times


def time_pandana(graph: ProfileGraph, analysis: GapAnalysis, cutoff: float) -> tuple[float, float, dict]:
    """Preprocessing and query seconds of pandana, and its node times (inf beyond the cut-off)."""
    import pandana

    objects = analysis.objects[~analysis.objects["snap_too_far"]].reset_index(drop=True)
    virtual = graph.n_nodes + np.arange(len(objects))  # one node per object, at the object's own location
    object_xy = graph.xy[objects[f"pos_{PEER_PROFILE}"].to_numpy()]
    lookup = pd.Series(virtual, index=objects["object_id"].to_numpy())
    coo = graph.forward.tocoo()
    start = time.perf_counter()
    # a distinct point per object, 1 cm apart, so each object's POI snaps to its own virtual node
    xy = np.vstack([graph.xy, object_xy + 0.01 * np.column_stack([np.arange(len(objects)) + 1.0, np.zeros(len(objects))])])
    network = pandana.Network(pd.Series(xy[:, 0]), pd.Series(xy[:, 1]),
                              pd.Series(np.concatenate([coo.row, objects[f"pos_{PEER_PROFILE}"].to_numpy()])),
                              pd.Series(np.concatenate([coo.col, virtual])),
                              pd.DataFrame({"time_s": np.concatenate([coo.data, objects[f"access_{PEER_PROFILE}_s"].to_numpy()])}),
                              twoway=False)
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    times = {}
    for service, group, sources in _queries(analysis):
        at = xy[lookup.loc[sources["object_id"]].to_numpy()]
        network.set_pois(f"{service}-{group}", cutoff, 1, pd.Series(at[:, 0]), pd.Series(at[:, 1]))
        found = network.nearest_pois(cutoff, f"{service}-{group}", num_pois=1)[1].to_numpy(dtype=float)
        times[(service, group)] = np.where(found >= cutoff, np.inf, found)[: graph.n_nodes]
    return prepare, time.perf_counter() - start, times


def peers_part(households, objects) -> dict:
    """Ours against networkx and pandana on the same passes, outputs compared."""
    cold, warm, analysis = _cold_and_warm(households, objects, profile=PEER_PROFILE)
    cutoff = max(analysis.thresholds_s.values())
    print(f"ours, full analysis ({PEER_PROFILE}, {len(households):,} households): {warm:.2f} s warm, {cold:.2f} s cold")
    build, passes = time_ours(analysis, cutoff)
    ours_cold = build + passes
    graph = analysis.graph(PEER_PROFILE)
    print(f"ours, the {len(_queries(analysis))} passes: {passes:.3f} s, graph build {build:.2f} s")
    nx_build, nx_query, nx_times = time_networkx(graph, analysis, cutoff)
    nx_check = _compare(analysis, nx_times, cutoff)
    print(f"networkx multi-source: {nx_build:.2f} s graph + {nx_query:.2f} s passes ({nx_query / passes:.1f}x ours warm, "
          f"{(nx_build + nx_query) / ours_cold:.1f}x ours cold); {nx_check}")
    result = {"seconds": round(warm, 3), "seconds_cold": round(cold, 3), "households": len(households), "cutoff_s": cutoff,
              "passes": len(_queries(analysis)), "ours_pass_seconds": round(passes, 4),
              "ours_graph_seconds": round(build, 3), "networkx_graph_seconds": round(nx_build, 3),
              "networkx_pass_seconds": round(nx_query, 3),
              "speedup_vs_networkx_multisource": round(nx_query / passes, 1),
              "speedup_vs_networkx_multisource_cold": round((nx_build + nx_query) / ours_cold, 1),
              "outputs_match_networkx": nx_check["mismatched"] == 0,
              "networkx_max_abs_diff_s": nx_check["max_abs_diff_s"], "networkx_at_cutoff": nx_check["at_cutoff"]}
    try:
        prepare, query, pd_times = time_pandana(graph, analysis, cutoff)
    except ImportError:
        print("pandana is not installed (pip install pandana): skipping that peer")
        return result
    pd_check = _compare(analysis, pd_times, cutoff, PANDANA_TOLERANCE_S)
    print(f"pandana: {prepare:.2f} s preprocessing + {query:.2f} s queries ({(prepare + query) / ours_cold:.1f}x ours cold, "
          f"{query / passes:.1f}x ours warm); {pd_check}")
    result.update(pandana_prepare_seconds=round(prepare, 3), pandana_query_seconds=round(query, 3),
                  speedup_vs_pandana_same_cutoff=round((prepare + query) / ours_cold, 1),
                  speedup_vs_pandana_same_cutoff_warm=round(query / passes, 1),
                  outputs_match_pandana=pd_check["mismatched"] == 0, pandana_max_abs_diff_s=pd_check["max_abs_diff_s"],
                  pandana_at_cutoff=pd_check["at_cutoff"], pandana_tolerance_s=PANDANA_TOLERANCE_S)
    return result


def network_counts() -> dict:
    """Node and edge counts of the shipped networks."""
    counts = {}
    for network in NETWORKS:
        nodes, edges = load_network_frames(network)  # type: ignore[arg-type]
        counts[f"{network}_nodes"], counts[f"{network}_edges"] = len(nodes), len(edges)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=RESULTS / "gaps.json")
    args = parser.parse_args()
    directory = ensure_dataset()
    households, objects = load_households(directory), load_objects(directory)
    result = {**network_counts(), **peers_part(households, objects), **terrain_part(households, objects)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
