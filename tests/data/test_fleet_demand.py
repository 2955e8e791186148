"""Fleet, generated demand and the trips CSV reader."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from geo.validate import SchemaError
from geo.network import load_graph
from data.dataset import load_fleet, load_trips
from data.trips import read_trips


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
    assert (trips["latest_pickup"] - trips["earliest_pickup"]).dt.total_seconds().eq(1800).all()
    outbound = trips[trips["request_id"].str.endswith("OUT")]
    assert (outbound["latest_dropoff"] > outbound["latest_pickup"]).all()
    returns = trips[trips["request_id"].str.endswith("RET")]
    assert returns["latest_dropoff"].isna().all()
    assert set(trips["purpose"]) == {"clinic", "rehabilitation", "pharmacy"}


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
