"""A day's invataxi trip requests (generated) and the trips CSV format.

Trip demand is not public; a busy day's ~1 500 requests are generated
deterministically from the registered users (households flagged
``invataxi_user``): most users travel out to an appointment and back, from
home to a clinic / medical centre, a rehabilitation or social-service centre,
or a pharmacy near home.

Time windows follow the usual dial-a-ride convention: an outbound trip must
arrive by the appointment (``latest_dropoff``) and may be picked up in a
30-minute window before it; a return trip may be picked up in a 30-minute
window after the appointment ends and has no drop-off deadline other than the
maximum ride time.

Trips CSV columns (``TRIP_COLUMNS``): ``request_id``, ``user_id``, ``purpose``,
``pickup_lon``, ``pickup_lat``, ``dropoff_lon``, ``dropoff_lat`` (degrees,
WGS 84), ``earliest_pickup``, ``latest_pickup``, ``latest_dropoff`` (ISO local
date-times, ``latest_dropoff`` may be empty), ``wheelchair`` (true/false),
``companions``, ``service_pickup_s``, ``service_dropoff_s`` (seconds).
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.crs import UTM43N, WGS84

BUSY_DAY_TRIPS: int = 1_500
# Trip purpose -> (destination services or categories, share of round trips).
PURPOSES: dict[str, tuple[tuple[str, ...], float]] = {
    "clinic": (("medical",), 0.55),
    "rehabilitation": (("social_services", "state_sport_admin"), 0.25),
    "pharmacy": (("pharmacy",), 0.20),
}
NEAREST_CHOICES: int = 5  # a user picks among the nearest destinations of the purpose
APPOINTMENT_FIRST_H: float = 8.5
APPOINTMENT_LAST_H: float = 17.5
APPOINTMENT_DURATION_MIN: tuple[int, int] = (40, 150)
PICKUP_WINDOW_S: int = 30 * 60
DETOUR_FACTOR: float = 1.35  # network / straight-line distance, for window placement only
PLANNING_SPEED_MPS: float = 25 / 3.6  # average taxi speed used to place windows
BUFFER_S: int = 10 * 60  # slack added to the estimated ride when placing outbound windows
COMPANION_SHARE: float = 0.3
SERVICE_WHEELCHAIR_S: int = 5 * 60  # ramp loading and securing
SERVICE_WALKING_S: int = 2 * 60
ONE_WAY_SHARE: float = 0.1  # users who book only the outbound leg

TRIP_COLUMNS: tuple[str, ...] = (
    "request_id", "user_id", "purpose", "pickup_lon", "pickup_lat", "dropoff_lon", "dropoff_lat",
    "earliest_pickup", "latest_pickup", "latest_dropoff", "wheelchair", "companions",
    "service_pickup_s", "service_dropoff_s",
)


def _destinations(objects: gpd.GeoDataFrame, targets: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Objects a trip of this purpose may go to (by service, or by category)."""
    return objects[objects["service"].isin(targets) | objects["category"].isin(targets)]


def generate_trips(
    households: gpd.GeoDataFrame,
    objects: gpd.GeoDataFrame,
    date: dt.date,
    n_trips: int = BUSY_DAY_TRIPS,
    seed: int = 2025,
) -> pd.DataFrame:
    """Generate ``n_trips`` trip requests (outbound and return legs) for ``date``.

    Parameters
    ----------
    households
        Households with ``invataxi_user``, ``group`` and Point geometry (UTM 43N).
    objects
        The passport registry (destinations), UTM 43N.
    date
        The service day.
    n_trips
        Number of requests (legs) to generate.
    seed
        Random seed; the same inputs and seed give the same trips.

    Returns
    -------
    DataFrame
        Columns ``TRIP_COLUMNS`` (see the module docstring), ordered by earliest pickup.
    """
    if n_trips < 1:
        raise ValueError(f"n_trips must be positive, got {n_trips}")
    rng = np.random.default_rng(seed + 2)
    users = households[households["invataxi_user"]]
    if users.empty:
        raise ValueError("no household is flagged invataxi_user; nothing to generate")
    midnight = pd.Timestamp(date)
    choices = {}
    for purpose, (targets, _) in PURPOSES.items():
        places = _destinations(objects, targets)
        choices[purpose] = (places, cKDTree(np.column_stack([places.geometry.x, places.geometry.y])))
    legs: list[dict] = []
    trip_no = 0
    while len(legs) < n_trips:
        user = users.iloc[int(rng.integers(len(users)))]
        purpose = rng.choice(list(PURPOSES), p=[share for _, share in PURPOSES.values()])
        targets, tree = choices[purpose]
        home = np.array([user.geometry.x, user.geometry.y])
        _, nearest = tree.query(home, k=min(NEAREST_CHOICES, len(targets)))
        dest = targets.iloc[int(rng.choice(np.atleast_1d(nearest)))].geometry
        direct_s = float(np.hypot(*(home - [dest.x, dest.y]))) * DETOUR_FACTOR / PLANNING_SPEED_MPS
        appointment = midnight + pd.Timedelta(hours=float(rng.uniform(APPOINTMENT_FIRST_H, APPOINTMENT_LAST_H)))
        appointment = appointment.floor("5min")
        wheelchair = user["group"] == "wheelchair"
        common = {
            "user_id": user["household_id"],
            "purpose": purpose,
            "wheelchair": bool(wheelchair),
            "companions": int(rng.random() < COMPANION_SHARE),
            "service_pickup_s": SERVICE_WHEELCHAIR_S if wheelchair else SERVICE_WALKING_S,
            "service_dropoff_s": SERVICE_WHEELCHAIR_S if wheelchair else SERVICE_WALKING_S,
        }
        trip_no += 1
        latest_pickup = appointment - pd.Timedelta(seconds=round(direct_s) + BUFFER_S + common["service_pickup_s"])
        legs.append({**common, "request_id": f"T{trip_no:05d}-OUT", "from": home, "to": (dest.x, dest.y),
                     "earliest_pickup": latest_pickup - pd.Timedelta(seconds=PICKUP_WINDOW_S),
                     "latest_pickup": latest_pickup.floor("min"), "latest_dropoff": appointment})
        if len(legs) < n_trips and rng.random() >= ONE_WAY_SHARE:
            ends = appointment + pd.Timedelta(minutes=int(rng.integers(*APPOINTMENT_DURATION_MIN)))
            legs.append({**common, "request_id": f"T{trip_no:05d}-RET", "from": (dest.x, dest.y), "to": home,
                         "earliest_pickup": ends, "latest_pickup": ends + pd.Timedelta(seconds=PICKUP_WINDOW_S),
                         "latest_dropoff": pd.NaT})
    return _to_table(legs)


def _to_table(legs: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(legs)
    for end, column in (("from", "pickup"), ("to", "dropoff")):
        xy = np.array(frame.pop(end).tolist(), dtype=float)
        points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM43N).to_crs(WGS84)
        frame[f"{column}_lon"], frame[f"{column}_lat"] = points.x.round(6), points.y.round(6)
    frame["earliest_pickup"] = frame["earliest_pickup"].dt.floor("min")
    frame = frame.sort_values(["earliest_pickup", "request_id"]).reset_index(drop=True)
    return frame[list(TRIP_COLUMNS)]
