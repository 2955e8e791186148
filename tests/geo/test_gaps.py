"""Gap analysis: exact times on a hand-made graph and on Almaty (vs networkx), bad input, what-if."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.validate import SchemaError
from geo.crs import UTM43N
from geo.gaps import GAP_THRESHOLD_MIN, MIN_HOUSEHOLDS_PER_CELL, compute_gaps, coverage, summarise, what_if
from geo.elevation import edge_grades, load_dem
from geo.network import load_network_frames
from geo.profiles import PROFILES, TravelProfile, edge_travel_time_s
from geo.shortest_paths import graph_from_frames, profile_graph, snap, times_to_nearest, times_within
from data.dataset import load_households, load_objects

TOY = TravelProfile("toy", "walk", speed_mps=1.0, access_speed_mps=1.0, speed_curve="flat", blocked_by=frozenset({"steps"}))


@pytest.fixture(scope="module")
def toy_graph():
    """A 5-node line 0-1-2-3-4 (100 m apart) plus a shortcut 0->4 that is steps, and an island node 5."""
    nodes = pd.DataFrame({"x": [0.0, 100, 200, 300, 400, 900], "y": [0.0] * 6}, index=[10, 11, 12, 13, 14, 15])
    rows = []
    for a, b in [(10, 11), (11, 12), (12, 13), (13, 14)]:
        rows += [(a, b, 0, 100.0, "footway"), (b, a, 0, 100.0, "footway")]
    rows += [(10, 14, 0, 50.0, "steps"), (14, 10, 0, 50.0, "steps"), (14, 15, 0, 500.0, "footway")]
    edges = pd.DataFrame(rows, columns=["u", "v", "key", "length", "highway"]).set_index(["u", "v", "key"])
    return graph_from_frames(TOY, nodes, edges)


def test_toy_graph_drops_barriers_and_one_way_islands(toy_graph) -> None:
    assert sorted(toy_graph.node_ids) == [10, 11, 12, 13, 14]  # node 15 can be reached but not left
    assert len(toy_graph.fixes) == 2  # the steps, both ways, would open with a ramp
    position = {n: i for i, n in enumerate(toy_graph.node_ids)}
    times = times_to_nearest(toy_graph, np.array([position[14]]), np.array([5.0]))
    # steps (50 m) are barred: from node 10 it is 400 m at 1 m/s plus the 5 s access leg
    assert times[position[10]] == pytest.approx(405.0, abs=1e-9)
    assert times[position[14]] == pytest.approx(5.0, abs=1e-9)


def test_toy_graph_nearest_of_several_sources_with_access_legs(toy_graph) -> None:
    position = {n: i for i, n in enumerate(toy_graph.node_ids)}
    times = times_to_nearest(toy_graph, np.array([position[10], position[14]]), np.array([150.0, 0.0]))
    assert times[position[11]] == pytest.approx(250.0)  # via node 10: 100 + 150 < 300 + 0 via node 14
    assert times[position[12]] == pytest.approx(200.0)  # node 14: 200 + 0
    within = times_within(toy_graph, np.array([position[12]]), limit_s=150.0).toarray()[0]
    assert within[position[11]] == pytest.approx(100.0) and within[position[10]] == 0.0  # 200 s > limit


def test_snap_reports_distance(toy_graph) -> None:
    positions, distance = snap(toy_graph, np.array([130.0, 390.0]), np.array([40.0, -30.0]))
    assert [toy_graph.node_ids[p] for p in positions] == [11, 14]
    assert distance == pytest.approx([np.hypot(30, 40), np.hypot(10, 30)])


@pytest.fixture(scope="module")
def almaty(dataset_dir: Path):
    households, objects = load_households(dataset_dir), load_objects(dataset_dir)
    return households, objects, compute_gaps(households, objects)


def _networkx_reference(profile_name: str) -> nx.DiGraph:
    """The profile's terrain-aware network as a networkx DiGraph (fastest parallel edge)."""
    profile = PROFILES[profile_name]
    nodes, edges = load_network_frames(profile.network)
    grade = edge_grades(nodes, edges, load_dem())
    table = pd.DataFrame({"source": edges.index.get_level_values("u"), "target": edges.index.get_level_values("v"),
                          "time_s": edge_travel_time_s(profile, edges, grade)})
    table = table[np.isfinite(table["time_s"])].groupby(["source", "target"], as_index=False)["time_s"].min()
    return nx.from_pandas_edgelist(table, "source", "target", "time_s", create_using=nx.DiGraph)


@pytest.mark.parametrize("profile_name", ["manual_wheelchair", "walk"])
def test_almaty_times_equal_networkx_dijkstra(almaty, profile_name: str) -> None:
    _, _, analysis = almaty
    graph, reference = profile_graph(profile_name), _networkx_reference(profile_name)
    reference.add_nodes_from(graph.node_ids)  # nodes kept although every edge there is a barrier or too steep
    table = analysis.households
    mine = table[(table["profile"] == profile_name) & ~table["snap_too_far"]]
    sample = mine.sample(200, random_state=3)
    objects = analysis.objects[~analysis.objects["snap_too_far"]]
    for _, household in sample.iterrows():
        start = graph.node_ids[household["_pos"]]
        lengths = nx.single_source_dijkstra_path_length(reference, start, weight="time_s")
        for service in analysis.services:
            sources = objects[(objects["service"] == service) & (objects[f"status_{household['group']}"] == "accessible")]
            best = min((lengths.get(graph.node_ids[p], np.inf) + a
                        for p, a in zip(sources[f"pos_{profile_name}"], sources[f"access_{profile_name}_s"])), default=np.inf)
            expected = household["_access_s"] + best
            got = household[f"time_{service}_s"]
            assert (np.isinf(expected) and np.isinf(got)) or abs(got - expected) <= 1e-6, (household["household_id"], service)


def test_gap_flags_follow_thresholds(almaty) -> None:
    _, _, analysis = almaty
    table = analysis.households[~analysis.households["snap_too_far"]]
    for service, minutes in GAP_THRESHOLD_MIN.items():
        assert (table[f"gap_{service}"] == (table[f"time_{service}_s"] > minutes * 60)).all()
    # wheelchair users reach fewer accessible pharmacies than walkers do
    wheel = table.loc[table["group"] == "wheelchair", "gap_pharmacy"].mean()
    walk = table.loc[table["group"] == "hearing", "gap_pharmacy"].mean()
    assert wheel > walk


def test_far_points_are_flagged_not_snapped(almaty) -> None:
    households, objects, _ = almaty
    far = households.head(3).copy()
    far.loc[far.index[0], "geometry"] = gpd.GeoSeries.from_xy([76.80], [43.05], crs=4326).to_crs(UTM43N).iloc[0]
    result = compute_gaps(far, objects).households
    assert bool(result["snap_too_far"].iloc[0]) and result["snap_m"].iloc[0] > 500
    assert np.isnan(result["time_pharmacy_s"].iloc[0]) and pd.isna(result["gap_pharmacy"].iloc[0])
    assert result["gap_pharmacy"].iloc[1:].notna().all()
    share = summarise(compute_gaps(far, objects), "district")
    assert share["households_flagged"].sum() == 1


def test_hex_summary_leaves_out_cells_under_the_privacy_minimum(almaty) -> None:
    _, _, analysis = almaty
    per_cell = analysis.households.groupby("h3").size()
    by_hex = summarise(analysis, "h3").set_index("h3")
    assert (per_cell < MIN_HOUSEHOLDS_PER_CELL).any()  # the data have small cells
    assert set(by_hex.index) == set(per_cell.index[per_cell >= MIN_HOUSEHOLDS_PER_CELL])
    assert (by_hex["households"] == per_cell[by_hex.index]).all()


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda h: h.set_crs(None, allow_override=True), SchemaError, "no CRS"),
        (lambda h: h.assign(geometry=[None] + list(h.geometry[1:])), SchemaError, "row 0 .*missing"),
        (lambda h: h.assign(geometry=[Point(float("nan"), 0)] + list(h.geometry[1:])), SchemaError, "not a valid"),
        (lambda h: h.assign(group=["pilot"] + list(h["group"][1:])), SchemaError, "unknown value 'pilot'"),
        (lambda h: h.to_crs(4326).assign(geometry=[Point(80.0, 43.2)] + list(h.to_crs(4326).geometry[1:])), SchemaError, "outside the Almaty"),
    ],
)
def test_bad_households_are_clear_errors(almaty, mutate, error, message) -> None:
    households, objects, _ = almaty
    with pytest.raises(error, match=message):
        compute_gaps(mutate(households.head(5).copy()), objects)


def test_unknown_service_or_profile(almaty) -> None:
    households, objects, _ = almaty
    with pytest.raises(ValueError, match="unknown service"):
        compute_gaps(households.head(5), objects, thresholds_min={"casino": 10})
    with pytest.raises(ValueError, match="unknown travel profile"):
        compute_gaps(households.head(5), objects, profile="horse")
    with pytest.raises(ValueError, match="positive minutes"):
        compute_gaps(households.head(5), objects, thresholds_min={"pharmacy": -5})


def test_what_if_matches_a_full_recomputation(almaty) -> None:
    households, objects, analysis = almaty
    candidates = analysis.objects[(analysis.objects["service"] == "pharmacy")
                                  & (analysis.objects["status_wheelchair"] != "accessible")
                                  & ~analysis.objects["snap_too_far"]]
    adapted = candidates["object_id"].iloc[:40].tolist()
    closed = what_if(analysis, adapted)
    assert len(closed) > 0
    upgraded = objects.copy()
    chosen = upgraded["object_id"].isin(adapted)
    for group in ("wheelchair", "mobility", "vision", "hearing", "intellectual"):
        upgraded.loc[chosen, f"status_{group}"] = "accessible"
    after = compute_gaps(households, upgraded, thresholds_min={"pharmacy": GAP_THRESHOLD_MIN["pharmacy"]}).households
    expected = set(after.loc[analysis.households["gap_pharmacy"].fillna(False) & after["gap_pharmacy"].eq(False), "household_id"])
    assert set(closed["household_id"]) == expected


def test_coverage_of_one_candidate_equals_what_if(almaty) -> None:
    _, _, analysis = almaty
    candidates = analysis.objects[(analysis.objects["service"] == "medical") & ~analysis.objects["snap_too_far"]
                                  & (analysis.objects["status_wheelchair"] != "accessible")]["object_id"].head(30)
    pairs = coverage(analysis, candidates)
    for object_id in candidates.head(8):
        expected = set(what_if(analysis, [object_id])["household_id"])
        assert set(pairs.loc[pairs["object_id"] == object_id, "household_id"]) == expected
    with pytest.raises(ValueError, match="not service objects"):
        coverage(analysis, ["OBJ-999999"])
