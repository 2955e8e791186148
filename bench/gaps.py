"""Benchmark: the full Almaty gap analysis against networkx and pandana, in one run.

Times, on the same inputs (all households, all services, wheelchair profile):

* ours: ``geo.gaps.compute_gaps`` (one multi-source Dijkstra per service and
  group, scipy), with the profile graph already built (it is built once per
  process); the cold time including the graph build is reported too;
* networkx: one ``single_source_dijkstra_path_length`` per household on a
  sample, extrapolated to every household;
* pandana: ``Network.nearest_pois`` (contraction hierarchies) per service and
  group, after its preprocessing (reported separately).

Writes ``bench/results/gaps.json`` with ``seconds``, ``speedup_vs_networkx``
and ``speedup_vs_pandana`` (peer time / ours).

Usage: ``python bench/gaps.py [--sample 100] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from geo.gaps import compute_gaps
from geo.passport import SERVICES
from geo.shortest_paths import profile_graph
from data.dataset import ensure_dataset, load_households, load_objects

RESULTS = Path(__file__).resolve().parent / "results"
PROFILE = "wheelchair"
PANDANA_MAX_S: float = 4 * 3600.0  # search radius for pandana, seconds (effectively unbounded)


def time_ours(households, objects) -> tuple[float, float, object]:
    """Cold (graph build included) and warm seconds of the full analysis."""
    profile_graph.cache_clear()
    start = time.perf_counter()
    compute_gaps(households, objects, profile=PROFILE)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    analysis = compute_gaps(households, objects, profile=PROFILE)
    return cold, time.perf_counter() - start, analysis


def _sources(analysis, service: str, group: str) -> pd.DataFrame:
    objects = analysis.objects[~analysis.objects["snap_too_far"]]
    return objects[(objects["service"] == service) & (objects[f"status_{group}"] == "accessible")]


def time_networkx(analysis, sample: int) -> tuple[float, float]:
    """Seconds per household of per-household Dijkstra, and the extrapolated total."""
    graph = profile_graph(PROFILE)
    coo = graph.forward.tocoo()
    digraph = nx.DiGraph()
    digraph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    table = analysis.households[~analysis.households["snap_too_far"]].sample(sample, random_state=1)
    sources = {(s, g): list(zip(src[f"pos_{PROFILE}"].tolist(), src[f"access_{PROFILE}_s"].tolist()))
               for s in SERVICES for g in table["group"].unique() for src in [_sources(analysis, s, g)]}
    start = time.perf_counter()
    for position, group in zip(table["_pos"].tolist(), table["group"].tolist()):
        lengths = nx.single_source_dijkstra_path_length(digraph, position)
        for service in SERVICES:
            min((lengths.get(p, np.inf) + a for p, a in sources[(service, group)]), default=np.inf)
    per_household = (time.perf_counter() - start) / sample
    return per_household, per_household * len(analysis.households)


def time_pandana(analysis) -> tuple[float, float]:
    """Preprocessing seconds and query seconds for all services and groups (same graph, same sources)."""
    import pandana

    graph = profile_graph(PROFILE)
    coo = graph.forward.tocoo()
    start = time.perf_counter()
    network = pandana.Network(pd.Series(graph.xy[:, 0]), pd.Series(graph.xy[:, 1]), pd.Series(coo.row), pd.Series(coo.col),
                              pd.DataFrame({"time_s": coo.data}), twoway=False)
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    for service in SERVICES:
        for group, households in analysis.households.groupby("group"):
            sources = _sources(analysis, service, group)
            network.set_pois(service, PANDANA_MAX_S, 1, graph.xy[sources[f"pos_{PROFILE}"], 0], graph.xy[sources[f"pos_{PROFILE}"], 1])
            nearest = network.nearest_pois(PANDANA_MAX_S, service, num_pois=1)[1].to_numpy()
            nearest[households["_pos"].to_numpy()] + households["_access_s"].to_numpy()
    return prepare, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=100, help="households timed with networkx")
    parser.add_argument("--json", type=Path, default=RESULTS / "gaps.json")
    args = parser.parse_args()
    directory = ensure_dataset()
    households, objects = load_households(directory), load_objects(directory)
    cold, ours, analysis = time_ours(households, objects)
    print(f"ours: {ours:.2f} s warm, {cold:.2f} s cold (graph build included) for {len(households):,} households")
    per_household, nx_total = time_networkx(analysis, args.sample)
    print(f"networkx: {per_household * 1000:.1f} ms per household -> {nx_total:.0f} s extrapolated ({nx_total / ours:.0f}x ours)")
    result = {"seconds": round(ours, 3), "seconds_cold": round(cold, 3), "households": len(households),
              "networkx_seconds_extrapolated": round(nx_total, 1), "speedup_vs_networkx": round(nx_total / ours, 1)}
    try:
        prepare, query = time_pandana(analysis)
    except ImportError:
        print("pandana is not installed (pip install pandana): skipping that peer")
    else:
        print(f"pandana: {query:.2f} s queries + {prepare:.2f} s preprocessing ({(query + prepare) / ours:.1f}x ours incl. "
              f"preprocessing, {query / ours:.1f}x queries only)")
        result.update(pandana_query_seconds=round(query, 3), pandana_prepare_seconds=round(prepare, 3),
                      speedup_vs_pandana=round((query + prepare) / ours, 2),
                      speedup_vs_pandana_queries_only=round(query / ours, 2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
