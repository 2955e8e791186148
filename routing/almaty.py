"""Almaty dispatch problems: fleet + trip requests + the drive-network matrix -> ProblemData.

Points are the operators' depots followed by every request's pickup and
drop-off (WGS 84 in the trips table, snapped on the drive network). Requests
with a point farther than ``MAX_SNAP_M`` from any drivable road are kept out
of the problem and reported unserved with that reason. Drivers keep their
shift, break and the maximum route duration (``data.fleet.MAX_ROUTE_S``).

Operator policies (``POLICIES``): ``pooled``, any vehicle serves any user;
``operator``, only the user's registered operator (trips column ``operator``);
``zones``, the operator whose zone (``data.fleet.ZONES``) holds the user's home
district (trips column ``district``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import UTM43N, WGS84
from data.fleet import MAX_ROUTE_S, OPERATORS, ZONES
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.travel_matrix import MAX_SNAP_M, TravelMatrix, travel_matrix


POLICIES: tuple[str, ...] = ("pooled", "operator", "zones")
ZONE_OF: dict[str, str] = {district: operator for operator, districts in ZONES.items() for district in districts}


def check_policy(policy: str) -> str:
    """``policy`` if it is one of ``POLICIES`` (ValueError naming the choices otherwise)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}: use one of {', '.join(POLICIES)}")
    return policy


def request_operators(trips: pd.DataFrame, policy: str) -> list[str | None]:
    """The operator that must serve each trip under ``policy`` (None: any).

    Raises
    ------
    ValueError
        Unknown policy, or the trips lack the column the policy needs, or a
        value outside the known operators / zoned districts.
    """
    check_policy(policy)
    if policy == "pooled":
        return [None] * len(trips)
    column, known = ("operator", OPERATORS) if policy == "operator" else ("district", ZONE_OF)
    if column not in trips.columns:
        raise ValueError(f"policy {policy!r} needs a trips column {column!r}")
    bad = ~trips[column].isin(list(known))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"trips row {row} (request_id={trips['request_id'].iloc[row]!r}): field {column!r} "
                         f"value {trips[column].iloc[row]!r} is not one of {sorted(known)}")
    values = trips[column].tolist()
    return values if policy == "operator" else [ZONE_OF[d] for d in values]


@dataclass(frozen=True)
class AlmatyProblem:
    """A dispatch problem on the Almaty network.

    Attributes
    ----------
    data
        The problem (times in seconds after midnight of ``date``).
    date
        The service day.
    points
        One row per matrix point: ``kind`` (depot / pickup / dropoff),
        ``ref`` (depot id or request id), ``lon``, ``lat``, ``node`` (drive-graph position).
    off_network
        Request id -> reason, for requests kept out because a point is off the network.
    matrix
        The travel matrix.
    """

    data: ProblemData
    date: dt.date
    points: pd.DataFrame
    off_network: dict[str, str]
    matrix: TravelMatrix


def seconds_after_midnight(times: pd.Series, date: dt.date) -> np.ndarray:
    """Seconds after midnight of ``date`` for each timestamp (NaT -> NaN)."""
    return ((pd.to_datetime(times) - pd.Timestamp(date)).dt.total_seconds()).to_numpy(dtype=float)


def vehicles_from_fleet(fleet: pd.DataFrame, depot_index: dict[str, int]) -> tuple[Vehicle, ...]:
    """Vehicles of a fleet table (``data.fleet`` schema) with depots as matrix indices."""
    return tuple(
        Vehicle(row.vehicle_id, row.operator, depot_index[row.depot_id], float(row.shift_start_s), float(row.shift_end_s),
                int(row.wheelchair_places), int(row.seats), float(row.break_earliest_s), float(row.break_latest_s),
                float(row.break_s))
        for row in fleet.itertuples()
    )


def build_problem(trips: pd.DataFrame, fleet: gpd.GeoDataFrame, date: dt.date, cache_dir: Path | None = None,
                  max_ride_factor: float | None = None, max_ride_slack_s: float | None = None,
                  policy: str = "pooled") -> AlmatyProblem:
    """Build the dispatch problem of ``date`` from validated trips and the fleet.

    Parameters
    ----------
    trips
        Validated trips (``data.trips.read_trips``); only those whose
        earliest pickup falls on ``date`` are used.
    fleet
        The vehicles (``data.fleet`` schema), depots in UTM 43N.
    date
        The service day.
    cache_dir
        Travel-matrix cache folder.
    max_ride_factor, max_ride_slack_s
        Override the default maximum ride time (factor x direct + slack seconds).
    policy
        Operator policy (``POLICIES``).

    Raises
    ------
    ValueError
        No trip on ``date``; an unknown policy or trips without what it needs.
    """
    trips = trips[pd.to_datetime(trips["earliest_pickup"]).dt.date == date].reset_index(drop=True)
    if trips.empty:
        raise ValueError(f"no trip request on {date.isoformat()}")
    operators = request_operators(trips, policy)
    depots = fleet.drop_duplicates("depot_id")[["depot_id", "geometry"]].reset_index(drop=True)
    depot_ll = depots.geometry.to_crs(WGS84)
    n = len(trips)
    lon = np.concatenate([depot_ll.x, trips["pickup_lon"], trips["dropoff_lon"]])
    lat = np.concatenate([depot_ll.y, trips["pickup_lat"], trips["dropoff_lat"]])
    utm = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84).to_crs(UTM43N)
    matrix = travel_matrix(utm.x.to_numpy(), utm.y.to_numpy(), cache_dir)
    n_depots = len(depots)
    points = pd.DataFrame({"kind": ["depot"] * n_depots + ["pickup"] * n + ["dropoff"] * n,
                           "ref": [*depots["depot_id"], *trips["request_id"], *trips["request_id"]],
                           "lon": lon, "lat": lat, "node": matrix.nodes, "snap_m": matrix.snap_m})
    off = matrix.off_network()
    off_network: dict[str, str] = {}
    for k, row in trips.iterrows():
        for end, index in (("pickup", n_depots + k), ("dropoff", n_depots + n + k)):
            if off[index] and row["request_id"] not in off_network:
                off_network[row["request_id"]] = (f"{end} lies {matrix.snap_m[index]:.0f} m from the nearest drivable road "
                                                  f"(limit {MAX_SNAP_M:.0f} m)")
    earliest = seconds_after_midnight(trips["earliest_pickup"], date)
    latest = seconds_after_midnight(trips["latest_pickup"], date)
    latest_drop = seconds_after_midnight(trips["latest_dropoff"], date)
    requests = tuple(
        TripRequest(row.request_id, n_depots + k, n_depots + n + k, earliest[k], latest[k],
                    None if np.isnan(latest_drop[k]) else latest_drop[k], None, bool(row.wheelchair), int(row.companions),
                    float(row.service_pickup_s), float(row.service_dropoff_s), operator=operators[k])
        for k, row in enumerate(trips.itertuples()) if row.request_id not in off_network
    )
    depot_index = {d: i for i, d in enumerate(depots["depot_id"])}
    options = {k: v for k, v in (("max_ride_factor", max_ride_factor), ("max_ride_slack_s", max_ride_slack_s)) if v is not None}
    data = ProblemData(vehicles_from_fleet(fleet, depot_index), requests, matrix.duration_s, matrix.distance_m,
                       operators=frozenset(OPERATORS), max_route_duration_s=float(MAX_ROUTE_S), **options)
    return AlmatyProblem(data, date, points, off_network, matrix)
