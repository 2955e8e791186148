"""Terrain and barriers: hand-computed grades, directed slopes, barriers per profile, exact barrier coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from data.dataset import load_households, load_objects
from geo.adaptation import candidates as adaptation_candidates
from geo.adaptation_plan import coverage_pairs
from geo.barriers import BARRIER_UNIT_COST_TG, barrier_candidates
from geo.crs import UTM43N, WGS84
from geo.elevation import GRADE_WINDOW_M, Dem, edge_grades, load_dem
from geo.gaps import compute_gaps
from geo.network import load_network_frames
from geo.profiles import PROFILES, TravelProfile, edge_travel_time_s, fixed_barrier_tags, household_profiles
from geo.shortest_paths import graph_from_frames, times_to_nearest

TO_UTM = Transformer.from_crs(WGS84, UTM43N, always_xy=True)
# A 3 x 3 DEM near Almaty at 0.01 degree spacing: height = 1000 - 100 * row + 10 * col (metres),
# i.e. it rises 100 m per 0.01 degree to the north and 10 m per 0.01 degree to the east.
TINY = Dem(np.array([[1000.0 - 100 * r + 10 * c for c in range(3)] for r in range(3)]), north=43.30, west=76.90,
           cells_per_degree=100)


def _nodes(lonlat: dict[int, tuple[float, float]]) -> pd.DataFrame:
    x, y = TO_UTM.transform([p[0] for p in lonlat.values()], [p[1] for p in lonlat.values()])
    return pd.DataFrame({"x": x, "y": y}, index=list(lonlat))


def _edges(rows: list[tuple]) -> pd.DataFrame:
    columns = ["u", "v", "key", "length", "highway", "incline", "reversed", "kerb", "ramp:wheelchair"]
    return pd.DataFrame([r + (None,) * (len(columns) - len(r)) for r in rows], columns=columns).set_index(["u", "v", "key"])


def test_tiny_dem_heights_and_grades_by_hand() -> None:
    # bilinear at a quarter cell: rows 0.5, cols 1.5 -> 1000 - 50 + 15
    assert TINY.height_at(np.array([76.915]), np.array([43.295]))[0] == pytest.approx(965.0)
    nodes = _nodes({1: (76.905, 43.285), 2: (76.905, 43.295), 3: (76.9052, 43.2851)})
    # 1 -> 2 goes 0.01 degree north: +100 m over a 1 000 m way; 2 -> 1 the other way
    # 1 -> 3: a 20 m edge, shorter than the window: slope of the terrain over 90 m along its chord
    to_lonlat = Transformer.from_crs(UTM43N, WGS84, always_xy=True)
    start, end = nodes.loc[1, ["x", "y"]].to_numpy(), nodes.loc[3, ["x", "y"]].to_numpy()
    unit = (end - start) / np.linalg.norm(end - start)
    ends = [to_lonlat.transform(*((start + end) / 2 + side * unit * GRADE_WINDOW_M / 2)) for side in (1, -1)]
    plane = [1000.0 - 100 * (43.30 - lat) * 100 + 10 * (lon - 76.90) * 100 for lon, lat in ends]  # the DEM's heights
    expected_short = (plane[0] - plane[1]) / GRADE_WINDOW_M
    edges = _edges([(1, 2, 0, 1000.0), (2, 1, 0, 1000.0, None, None, True), (1, 3, 0, 20.0),
                    (1, 2, 1, 1000.0, "footway", "5%", False), (2, 1, 1, 1000.0, "footway", "5%", True),
                    (2, 1, 2, 1000.0, "footway", "up", False)])
    grade = edge_grades(nodes, edges, TINY)
    assert grade[0] == pytest.approx(0.1) and grade[1] == pytest.approx(-0.1)
    assert grade[2] == pytest.approx(expected_short, rel=1e-9)
    # incline overrides: a number in the way's direction (flipped on the reversed copy); "up" keeps the DEM's size
    assert grade[3] == pytest.approx(0.05) and grade[4] == pytest.approx(-0.05) and grade[5] == pytest.approx(0.1)


def test_dem_that_does_not_cover_the_network_is_a_clear_error() -> None:
    nodes = _nodes({1: (76.905, 43.285), 2: (77.5, 43.285)})
    with pytest.raises(ValueError, match="DEM does not cover 1 point"):
        edge_grades(nodes, _edges([(1, 2, 0, 500.0)]), TINY)


def _hill() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Node 0 at the bottom, node 1 on a 10 % hill 100 m away: edges both ways."""
    nodes = pd.DataFrame({"x": [0.0, 100.0], "y": [0.0, 0.0]}, index=[0, 1])
    edges = _edges([(0, 1, 0, 100.0, "footway"), (1, 0, 0, 100.0, "footway")])
    return nodes, edges, np.array([0.10, -0.10])


def test_manual_wheelchair_descends_but_cannot_climb_a_ten_percent_edge() -> None:
    nodes, edges, grade = _hill()
    manual = graph_from_frames(PROFILES["manual_wheelchair"], nodes, edges, grade)
    at = {n: k for k, n in enumerate(manual.node_ids)}
    assert sorted(manual.node_ids) == [0, 1]  # both kept: the hilltop is not silently dropped
    down = times_to_nearest(manual, np.array([at[0]]), np.array([0.0]))
    up = times_to_nearest(manual, np.array([at[1]]), np.array([0.0]))
    assert down[at[1]] == pytest.approx(100.0 / 0.6)  # downhill at the base speed (braking)
    assert np.isinf(up[at[0]])
    powered = graph_from_frames(PROFILES["powered_wheelchair"], nodes, edges, grade)
    at = {n: k for k, n in enumerate(powered.node_ids)}
    assert times_to_nearest(powered, np.array([at[1]]), np.array([0.0]))[at[0]] == pytest.approx(100.0 / (1.5 / (1 + 0.10 / 0.25)))
    assert times_to_nearest(powered, np.array([at[0]]), np.array([0.0]))[at[1]] == pytest.approx(100.0 / 1.5)
    flat = graph_from_frames(PROFILES["manual_wheelchair"], nodes, edges)
    assert times_to_nearest(flat, np.array([1]), np.array([0.0]))[0] == pytest.approx(100.0 / 0.6)


def test_tobler_speed_on_a_hill_for_walkers() -> None:
    nodes, edges, grade = _hill()
    time_s = edge_travel_time_s(PROFILES["walk"], edges, grade)
    assert time_s[0] == pytest.approx(100.0 / (1.2 * np.exp(-3.5 * (0.15 - 0.05))))
    assert time_s[1] == pytest.approx(100.0 / (1.2 * np.exp(-3.5 * (0.05 - 0.05))))


def test_steps_and_kerbs_block_exactly_the_profiles_they_should() -> None:
    edges = _edges([(0, 1, 0, 10.0, "steps"), (0, 1, 1, 10.0, "footway", None, False, "raised"),
                    (0, 1, 2, 10.0, "footway", None, False, "unknown"), (0, 1, 3, 10.0, "steps", None, False, None, "yes"),
                    (0, 1, 4, 10.0, "footway", None, False, "lowered")])
    blocked = {name: ~np.isfinite(edge_travel_time_s(PROFILES[name], edges)) for name in PROFILES if name != "drive"}
    assert blocked["manual_wheelchair"].tolist() == [True, True, False, False, False]
    assert blocked["powered_wheelchair"].tolist() == [True, True, False, False, False]
    assert blocked["walker"].tolist() == [False] * 5 and blocked["walk"].tolist() == [False] * 5
    walker = edge_travel_time_s(PROFILES["walker"], edges)
    assert walker[0] == pytest.approx(2 * walker[4])  # steps at half pace
    raised = edge_travel_time_s(PROFILES["manual_wheelchair"], edges, untagged_kerb="raised")
    assert np.isinf(raised[2])
    assert np.isfinite(edge_travel_time_s(PROFILES["manual_wheelchair"], fixed_barrier_tags(edges))).all()
    with pytest.raises(ValueError, match="untagged-kerb assumption"):
        edge_travel_time_s(PROFILES["manual_wheelchair"], edges, untagged_kerb="maybe")


def test_bad_profiles_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="grade limits must be positive"):
        TravelProfile("bad", "walk", 0.6, 0.6, max_uphill=0.0)
    with pytest.raises(ValueError, match="unknown barrier kind"):
        TravelProfile("bad", "walk", 0.6, 0.6, blocked_by=frozenset({"lava"}))


def test_wheelchair_households_split_deterministically() -> None:
    ids = pd.Series([f"HH-{k:06d}" for k in range(4000)])
    groups = pd.Series(["wheelchair"] * 3000 + ["mobility"] * 1000)
    first, again = household_profiles(ids, groups), household_profiles(ids, groups)
    assert (first == again).all()
    powered = (first[:3000] == "powered_wheelchair").mean()
    assert 0.12 < powered < 0.18  # POWERED_WHEELCHAIR_SHARE = 0.15
    assert set(first[3000:]) == {"walker"}


@pytest.fixture(scope="module")
def analysis(dataset_dir):
    return compute_gaps(load_households(dataset_dir), load_objects(dataset_dir))


@pytest.fixture(scope="module")
def object_pairs(analysis, dataset_dir):
    return coverage_pairs(analysis, adaptation_candidates(load_objects(dataset_dir)))


@pytest.fixture(scope="module")
def barriers(analysis, object_pairs):
    partners = analysis.objects[analysis.objects["object_id"].isin(object_pairs["object_id"])]
    return barrier_candidates(analysis, partners, object_pairs)


def test_barrier_candidates_in_the_centre(barriers) -> None:
    table = barriers.candidates
    assert len(table) > 0 and table["candidate_id"].is_unique
    assert set(table["kind"]) <= {"ramp", "lift", "kerb_ramp"}
    assert (table.loc[table["kind"] == "lift", "cost_tg"] == BARRIER_UNIT_COST_TG["lift"]).all()
    assert (table["pairs_closed"] > 0).any()
    assert set(barriers.coverage["candidate_id"]) <= set(table["candidate_id"])
    assert len(barriers.joint) > 0 and set(barriers.joint["candidate_id"]) <= set(table["candidate_id"])


def _closed_after(analysis, candidate_id: str, adapted: str | None = None) -> set[tuple[str, str]]:
    """Full recomputation: fix the barrier in the edge table, rebuild every profile graph, adapt ``adapted``
    (accessible for every group), recompute every household's times; the (household, service) gaps that close."""
    nodes, edges = load_network_frames("walk")
    grade = edge_grades(nodes, edges, load_dem())
    households = analysis.households[~analysis.households["snap_too_far"]]
    edge_ids = ("steps-" + edges["osmid"].astype(str)).where(edges["highway"] == "steps",
                                                             "kerb-" + edges["kerb_node"].astype("Int64").astype(str))
    mask = (edge_ids == candidate_id).to_numpy()
    fixed = edges.copy()
    repaired = fixed_barrier_tags(edges[mask])
    for column in ("kerb", "ramp:wheelchair"):
        fixed[column] = fixed[column].astype(object)
        fixed.loc[mask, column] = repaired[column].to_numpy(dtype=object)
    graphs = {name: graph_from_frames(PROFILES[name], nodes, fixed, grade, analysis.untagged_kerb)
              for name in households["profile"].unique()}
    objects = analysis.objects[~analysis.objects["snap_too_far"]]
    closed = set()
    for (group, name), mine in households.groupby(["group", "profile"]):
        graph = graphs[name]
        assert (graph.node_ids == analysis.graph(name).node_ids).all()
        for service in analysis.services:
            usable = (objects["status_" + group] == "accessible") | (objects["object_id"] == adapted)
            sources = objects[(objects["service"] == service) & usable]
            after = mine["_access_s"].to_numpy() + times_to_nearest(
                graph, sources[f"pos_{name}"].to_numpy(), sources[f"access_{name}_s"].to_numpy())[mine["_pos"].to_numpy()]
            closes = mine[f"gap_{service}"].fillna(False).to_numpy(dtype=bool) & (after <= analysis.thresholds_s[service])
            closed |= {(h, service) for h in mine["household_id"].to_numpy()[closes]}
    return closed


def _gaps(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["household_id"], rows["service"]))


def test_barrier_coverage_equals_a_full_recomputation(analysis, barriers) -> None:
    table = barriers.candidates.sort_values("pairs_closed", ascending=False)
    chosen = table["candidate_id"].head(3).tolist() + table.loc[table["pairs_closed"] == 0, "candidate_id"].head(1).tolist()
    for candidate_id in chosen:
        got = barriers.coverage[barriers.coverage["candidate_id"] == candidate_id]
        assert _gaps(got) == _closed_after(analysis, candidate_id), candidate_id


def test_joint_gaps_of_a_fix_and_an_object_equal_a_full_recomputation(analysis, barriers, object_pairs) -> None:
    """Fix and adapt together: what closes is exactly what the fix closes alone, the object alone, or both jointly."""
    joint = barriers.joint
    assert not joint.empty
    counts = joint.groupby(["candidate_id", "object_id"]).size().sort_values(ascending=False)
    for candidate_id, object_id in counts.index[:2]:
        expected = _closed_after(analysis, candidate_id, object_id)
        alone_fix = _gaps(barriers.coverage[barriers.coverage["candidate_id"] == candidate_id])
        alone_object = _gaps(object_pairs[object_pairs["object_id"] == object_id])
        together = _gaps(joint[(joint["candidate_id"] == candidate_id) & (joint["object_id"] == object_id)])
        assert together and not together & (alone_fix | alone_object)  # neither closes them alone
        assert alone_fix | alone_object | together == expected, (candidate_id, object_id)
