"""Fleet, generated demand and the trips CSV reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from data.dataset import DEFAULT_DATE, day_trips, load_fleet, load_households, load_trips
from data.demand import PURPOSES, REFERENCE
from data.fleet import OPERATORS, SHIFT_TEMPLATES_H, build_fleet, validate_fleet
from data.trips import read_trips
from geo.crs import UTM43N, WGS84
from geo.network import load_graph
from geo.validate import SchemaError


def test_fleet_depots_are_reachable_both_ways(dataset_dir: Path) -> None:
    fleet = load_fleet(dataset_dir)
    assert len(fleet) == 170
    assert fleet.groupby("operator")["depot_id"].nunique().eq(1).all()
    assert (fleet["shift_end_s"] > fleet["shift_start_s"]).all()
    assert (fleet["wheelchair_places"] >= 1).all() and (fleet["seats"] >= 3).all()
    drive = load_graph("drive")
    largest = max(nx.strongly_connected_components(drive), key=len)
    assert set(fleet["depot_node"]).issubset(largest)


def test_generated_trips_have_consistent_windows(dataset_dir: Path) -> None:
    trips = load_trips(dataset_dir)
    assert trips["request_id"].is_unique
    window = (trips["latest_pickup"] - trips["earliest_pickup"]).dt.total_seconds()
    assert window.between(1740, 1800).all()  # 30 minutes, less the rounding of the latest pickup to the minute
    outbound = trips[trips["request_id"].str.endswith("OUT")]
    assert (outbound["latest_dropoff"] > outbound["latest_pickup"]).all()
    returns = trips[trips["request_id"].str.endswith("RET")]
    assert returns["latest_dropoff"].isna().all()
    assert set(trips["purpose"]) == set(PURPOSES)
    assert set(trips["operator"]) == set(OPERATORS)


def straight_km(trips: pd.DataFrame) -> np.ndarray:
    """Straight-line pickup to drop-off distance of each trip (km)."""
    ends = [gpd.GeoSeries(gpd.points_from_xy(trips[f"{e}_lon"], trips[f"{e}_lat"]), crs=WGS84).to_crs(UTM43N)
            for e in ("pickup", "dropoff")]
    return ends[0].distance(ends[1]).to_numpy() / 1000


def test_demand_reproduces_its_calibration_targets(dataset_dir: Path) -> None:
    trips = load_trips(dataset_dir)
    users = load_households(dataset_dir)["invataxi_user"].sum()
    assert users == REFERENCE["almaty_users"]
    # Seoul's trips per vehicle carried over to Almaty's 170 vehicles: ~1 665 requests on a weekday
    assert len(trips) == round(REFERENCE["seoul_trips_weekday"] / REFERENCE["seoul_vehicles"] * 170)
    km = straight_km(trips)
    for share in (25, 50, 75):
        assert np.percentile(km, share) == pytest.approx(REFERENCE[f"seoul_p{share}_km"], rel=0.15)
    hours = trips["earliest_pickup"].dt.hour.value_counts(normalize=True)
    assert hours[hours.index >= 18].sum() < 0.10  # little after 18 h
    assert hours.loc[14] > hours.loc[[10, 11, 12]].max()  # the afternoon peak at 14 h
    assert 0.1 < trips["standing"].mean() < 0.5  # standing orders are a share of trips
    saturday = day_trips(dt.date(2026, 3, 7), dataset_dir)
    assert len(saturday) / len(trips) == pytest.approx(REFERENCE["seoul_weekend_factor"], abs=0.01)
    assert not saturday["standing"].any()
    tuesday = day_trips(dt.date(2026, 3, 3), dataset_dir)
    standing = set(trips.loc[trips["standing"] & (trips["purpose"] == "work"), "user_id"])
    assert standing == set(tuesday.loc[tuesday["standing"] & (tuesday["purpose"] == "work"), "user_id"])
    again = day_trips(DEFAULT_DATE, dataset_dir)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), trips.reset_index(drop=True), check_dtype=False)


def test_fleet_follows_shift_templates_and_break_rules(dataset_dir: Path) -> None:
    fleet = load_fleet(dataset_dir)
    shifts = set(zip(fleet["shift_start_s"] // 3600, fleet["shift_end_s"] // 3600))
    assert shifts == set(SHIFT_TEMPLATES_H)
    assert ((fleet["break_earliest_s"] - fleet["shift_start_s"]) == 4 * 3600).all()
    bigger = build_fleet(220)
    assert len(bigger) == 220 and set(fleet["vehicle_id"]) <= set(bigger["vehicle_id"])
    counts = bigger["operator"].value_counts()
    assert counts["INCLUSION.KZ"] == counts["SPO-GROUP"] == round(220 * 59 / 170)
    bad = fleet.copy()
    bad.loc[5, "break_s"] = 10 * 3600
    with pytest.raises(SchemaError, match=rf"vehicle {bad.loc[5, 'vehicle_id']!r}: field 'break_s': the break is longer"):
        validate_fleet(bad)
    with pytest.raises(ValueError, match="at least one vehicle"):
        build_fleet(0)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("latest_pickup", "2026-03-02T06:00", "inverted window"),
        ("pickup_lat", 51.13, "pickup_lon/pickup_lat' lies outside"),
        ("earliest_pickup", "soon", "not an ISO date-time"),
        ("wheelchair", "maybe", "'wheelchair' is not true/false"),
        ("companions", -1, "'companions' is negative"),
    ],
)
def test_bad_trip_rows_name_the_request_and_field(dataset_dir: Path, tmp_path: Path, column: str, value, message: str) -> None:
    trips = pd.read_csv(dataset_dir / "trips.csv")
    trips[column] = trips[column].astype(object)
    trips.loc[3, column] = value
    path = tmp_path / "trips.csv"
    trips.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=rf"trips row 3 \(request_id='{trips.loc[3, 'request_id']}'\).*{message}"):
        read_trips(path)
