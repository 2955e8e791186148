"""A day's invataxi trip requests, generated to match real paratransit figures, and the trips CSV format.

Trip demand is not public; a day's requests are generated deterministically
from the registered users (households flagged ``invataxi_user``, plus any
extra eligible households of a demand scenario). Every parameter is in the
tables below, each with its source; :data:`REFERENCE` holds the figures the
generator is calibrated against (``bench/service.py`` measures ours beside them).

What is carried over from Seoul's wheelchair call-taxi service (open data,
2025) and why: the trips per vehicle and day (both services run minivans with
a ramp on day shifts, so a vehicle's daily output transfers), the straight-line
trip-length quantiles (Almaty covers about 683 km² against Seoul's 605 km², so
the same trip lengths fit inside the city), the two daily peaks and the
weekend factor. Not carried over: the hour of the morning peak (Seoul runs 24 h
and peaks at 07 h; Almaty's service opens at 07:00 with every vehicle still at
its depot, so its morning peak is an hour later), and the fleet and user counts
(Almaty's own: 170 vehicles, 3 400 registered users).

Journeys: a user travels from home to a destination of a purpose and (unless
one-way) back. Medical appointments have a fixed time: the outbound leg must
arrive by it (``latest_dropoff``) and may be picked up in a 30-minute window
before; the return is picked up in a 30-minute window after the documented
appointment length. Standing orders (dialysis three times a week, JobCoach work
and education every weekday) recur with the same user, place and time on
every day they apply. Windows are placed with the network travel times the
dispatcher uses (``geo.shortest_paths`` drive profile), so every request is
servable on its own; a journey with an end off the drive network is not drawn.

Trips CSV columns (``TRIP_COLUMNS``): ``request_id``, ``user_id``, ``purpose``,
``standing`` (a standing order), ``operator`` (the user's registered operator),
``district`` (the user's home district), ``pickup_lon``, ``pickup_lat``,
``dropoff_lon``, ``dropoff_lat`` (degrees, WGS 84), ``earliest_pickup``,
``latest_pickup``, ``latest_dropoff`` (ISO local date-times, ``latest_dropoff``
may be empty), ``wheelchair`` (true/false), ``companions``,
``service_pickup_s``, ``service_dropoff_s`` (seconds). Only the
routing columns are required when reading (``data.trips``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from data.fleet import OPERATORS, SERVICE_END_H, SERVICE_START_H
from geo.crs import UTM43N, WGS84
from geo.gaps import MAX_SNAP_M
from geo.shortest_paths import profile_graph, snap

# ---------------------------------------------------------------- reference figures (the calibration targets)
REFERENCE: dict[str, float] = {
    "seoul_trips_weekday": 6_002,  # Seoul wheelchair call taxi, one weekday of 2025 (open data)
    "seoul_vehicles": 613,  # same day, vehicles in service
    "seoul_p10_km": 1.2, "seoul_p25_km": 2.2, "seoul_p50_km": 4.3, "seoul_p75_km": 8.3, "seoul_p90_km": 14.1,
    "seoul_peak_am_h": 7, "seoul_peak_am_share": 0.12, "seoul_peak_pm_h": 14, "seoul_peak_pm_share": 0.14,
    "seoul_weekend_factor": 0.37,  # a weekend day's trips over a weekday's
    "almaty_users": 3_400,  # registered invataxi users (the city's 2025 report)
    "almaty_vehicles": 170,  # same report
    "almaty_area_km2": 683, "seoul_area_km2": 605,
}
# ---------------------------------------------------------------- generator parameters
TRIPS_PER_VEHICLE_DAY: float = REFERENCE["seoul_trips_weekday"] / REFERENCE["seoul_vehicles"]  # 9.79, Seoul
TRIPS_PER_USER_WEEKDAY: float = TRIPS_PER_VEHICLE_DAY * REFERENCE["almaty_vehicles"] / REFERENCE["almaty_users"]
WEEKEND_FACTOR: float = REFERENCE["seoul_weekend_factor"]
# Straight-line trip length quantiles (share, km): Seoul's p10-p90, ends extrapolated log-linearly.
LENGTH_QUANTILES_KM: tuple[tuple[float, float], ...] = (
    (0.0, 0.6), (0.10, 1.2), (0.25, 2.2), (0.50, 4.3), (0.75, 8.3), (0.90, 14.1), (1.0, 22.0))
MIN_DIRECT_S: float = 150.0  # a trip under 2.5 min of driving is not booked (walk or roll); keeps short trips rare
# Purpose -> (destination categories, share of journeys, appointment minutes (min, max), standing order weekdays).
# Shares: medical is the core of door-to-door paratransit; work (the city's JobCoach programme) and education
# are the recurring trips; dialysis three times a week (Mon/Wed/Fri) for a tenth of medical users.
PURPOSES: dict[str, tuple[tuple[str, ...], float, tuple[int, int], tuple[int, ...]]] = {
    "medical": (("state_health", "medical_centre"), 0.36, (40, 120), ()),
    "dialysis": (("state_health",), 0.06, (240, 270), (0, 2, 4)),
    "rehabilitation": (("social_services", "state_sport_admin"), 0.20, (120, 240), ()),
    "pharmacy": (("pharmacy",), 0.12, (15, 40), ()),
    "work": (("trade", "consumer_services", "catering"), 0.14, (480, 540), (0, 1, 2, 3, 4)),
    "education": (("state_education", "private_education", "state_higher_education"), 0.12, (300, 360), (0, 1, 2, 3, 4)),
}
# Hour of the outbound arrival (appointment) -> share, for purposes without a fixed start; work, education
# and dialysis start at FIXED_START_H. Shaped so that pickups (outbound and return) peak in the morning and at 14 h.
ARRIVAL_HOUR_SHARE: dict[int, float] = {
    8: 0.07, 9: 0.14, 10: 0.14, 11: 0.11, 12: 0.09, 13: 0.09, 14: 0.11, 15: 0.10, 16: 0.08, 17: 0.07}
FIXED_START_H: dict[str, tuple[float, float]] = {"work": (8.5, 10.0), "education": (8.75, 10.0), "dialysis": (8.5, 13.0)}
PICKUP_WINDOW_S: int = 30 * 60  # dial-a-ride convention: a 30-minute pickup window
BUFFER_S: int = 5 * 60  # slack between the latest direct arrival and the appointment
FIRST_PICKUP_S: int = int(SERVICE_START_H * 3600) + 45 * 60  # vehicles leave depots at 07:00; farthest home ~40 min
DEPOT_MARGIN_S: int = 40 * 60  # the farthest depot is about 40 min from any home: a return must leave time to get back
COMPANION_SHARE: float = 0.3  # users travelling with a companion (carer)
SERVICE_WHEELCHAIR_S: int = 5 * 60  # ramp loading and securing a wheelchair (boarding or alighting)
SERVICE_WALKING_S: int = 2 * 60  # boarding or alighting without a wheelchair
ONE_WAY_SHARE: float = 0.1  # journeys booked outbound only
# The user's registered operator: drawn by contract share (the city's 59/59/22/30 vehicles).
OPERATOR_SHARE: dict[str, float] = {k: v / sum(OPERATORS.values()) for k, v in OPERATORS.items()}

TRIP_COLUMNS: tuple[str, ...] = (
    "request_id", "user_id", "purpose", "standing", "operator", "district", "pickup_lon", "pickup_lat",
    "dropoff_lon", "dropoff_lat", "earliest_pickup", "latest_pickup", "latest_dropoff", "wheelchair", "companions",
    "service_pickup_s", "service_dropoff_s",
)
ONE_OFF_OVERSIZE: float = 1.15  # journeys drawn over the target, for those dropped as too short
OPTIONAL_COLUMNS: frozenset[str] = frozenset({"user_id", "purpose", "standing", "operator", "district"})


def service_times_s(wheelchair: bool) -> int:
    """Boarding (and alighting) time in seconds for a wheelchair or a walking passenger."""
    return SERVICE_WHEELCHAIR_S if wheelchair else SERVICE_WALKING_S


def trips_for_day(users: int, date: dt.date) -> int:
    """Expected requests (legs) on ``date`` for ``users`` registered users (weekends scaled by ``WEEKEND_FACTOR``)."""
    return round(users * TRIPS_PER_USER_WEEKDAY * (WEEKEND_FACTOR if date.weekday() >= 5 else 1.0))


def registered_operator(household_ids: pd.Series, seed: int) -> np.ndarray:
    """Each user's operator, drawn by contract share (``OPERATOR_SHARE``), the same for a user on every day."""
    rng = np.random.default_rng(seed + 7)
    order = np.argsort(household_ids.to_numpy().astype(str))
    drawn = rng.choice(list(OPERATOR_SHARE), size=len(order), p=list(OPERATOR_SHARE.values()))
    out = np.empty(len(order), dtype=object)
    out[order] = drawn
    return out


@dataclass(frozen=True)
class _Journey:
    user: int  # row in the users table
    purpose: str
    destination: tuple[float, float]
    arrival_s: float  # appointment start, seconds after midnight
    duration_min: int
    one_way: bool
    companions: int
    standing: bool


def _length_km(rng: np.random.Generator, size: int) -> np.ndarray:
    """Straight-line lengths (km) drawn by log-linear interpolation of ``LENGTH_QUANTILES_KM``."""
    shares, km = np.array(LENGTH_QUANTILES_KM).T
    return np.exp(np.interp(rng.random(size), shares, np.log(km)))


def _pick_destination(places: np.ndarray, home: np.ndarray, length_m: float, rng: np.random.Generator) -> np.ndarray:
    """The place whose distance from home is closest to ``length_m`` (among the three closest, at random)."""
    gap = np.abs(np.hypot(*(places - home).T) - length_m)
    best = np.argpartition(gap, min(2, len(gap) - 1))[:3]
    return places[int(rng.choice(best))]


def _arrival_s(purpose: str, rng: np.random.Generator) -> float:
    if purpose in FIXED_START_H:
        low, high = FIXED_START_H[purpose]
        return 3600 * float(rng.choice([low, high]) if purpose == "dialysis" else rng.uniform(low, high))
    hours = np.array(list(ARRIVAL_HOUR_SHARE))
    hour = rng.choice(hours, p=np.array(list(ARRIVAL_HOUR_SHARE.values())))
    return 3600 * (hour + rng.random())


def _journeys(users: pd.DataFrame, places: dict[str, np.ndarray], count: int, rng: np.random.Generator,
              standing: bool) -> list[_Journey]:
    """``count`` journeys of standing-order purposes (``standing``) or of one-off purposes."""
    names = [p for p, spec in PURPOSES.items() if bool(spec[3]) == standing]
    shares = np.array([PURPOSES[p][1] for p in names])
    out = []
    xy = np.column_stack([users.geometry.x, users.geometry.y])
    for _ in range(count):
        user = int(rng.integers(len(users)))
        purpose = str(rng.choice(names, p=shares / shares.sum()))
        length_m = 1000 * float(_length_km(rng, 1)[0])
        dest = _pick_destination(places[purpose], xy[user], length_m, rng)
        low, high = PURPOSES[purpose][2]
        out.append(_Journey(user, purpose, (float(dest[0]), float(dest[1])), _arrival_s(purpose, rng),
                            int(rng.integers(low, high + 1)), not standing and rng.random() < ONE_WAY_SHARE,
                            int(rng.random() < COMPANION_SHARE), standing))
    return out


def generate_trips(
    households: gpd.GeoDataFrame,
    objects: gpd.GeoDataFrame,
    date: dt.date,
    seed: int = 2025,
    extra_users: pd.Series | None = None,
    n_trips: int | None = None,
) -> pd.DataFrame:
    """Generate the trip requests (outbound and return legs) of ``date``; see the module docstring.

    Parameters
    ----------
    households
        Households with ``household_id``, ``district``, ``invataxi_user``,
        ``group`` and Point geometry (UTM 43N).
    objects
        The passport registry (destinations), UTM 43N.
    date
        The service day (weekends carry ``WEEKEND_FACTOR`` of a weekday's trips).
    seed
        Random seed; the same inputs and seed give the same trips. Standing
        orders depend on the seed only, one-off journeys on the seed and the date.
    extra_users
        Household ids made eligible on top of the registered users (a demand
        scenario, e.g. the households the adaptation plan leaves with a gap).
    n_trips
        Requests (legs) to generate; None: ``trips_for_day`` of the eligible users.

    Returns
    -------
    DataFrame
        Columns ``TRIP_COLUMNS``, ordered by earliest pickup.
    """
    eligible = households["invataxi_user"].to_numpy(bool)
    if extra_users is not None:
        eligible |= households["household_id"].isin(set(extra_users)).to_numpy()
    users = households[eligible].sort_values("household_id").reset_index(drop=True)
    if users.empty:
        raise ValueError("no household is flagged invataxi_user; nothing to generate")
    target = trips_for_day(len(users), date) if n_trips is None else n_trips
    if target < 1:
        raise ValueError(f"n_trips must be positive, got {target}")
    places = {p: _places(objects, spec[0]) for p, spec in PURPOSES.items()}
    operators = registered_operator(users["household_id"], seed)
    legs_per_journey = 2 - ONE_WAY_SHARE
    standing_share = sum(spec[1] for spec in PURPOSES.values() if spec[3])
    per_day = round(target * standing_share / 2)
    pool = _journeys(users, places, per_day, np.random.default_rng(seed + 11), True)  # the same on every day
    today = [j for j in pool if date.weekday() in PURPOSES[j.purpose][3]]
    rng = np.random.default_rng([seed, date.toordinal()])
    one_off = round((target - 2 * len(today)) / legs_per_journey * ONE_OFF_OVERSIZE)
    journeys = today + _journeys(users, places, max(0, one_off), rng, False)
    legs = _legs(users, operators, journeys, date)
    return _to_table(legs.iloc[:target].copy())


def _places(objects: gpd.GeoDataFrame, categories: tuple[str, ...]) -> np.ndarray:
    chosen = objects[objects["category"].isin(categories)]
    if chosen.empty:
        raise ValueError(f"no object of categories {categories} to travel to")
    return np.column_stack([chosen.geometry.x, chosen.geometry.y])


def _direct_times(home: np.ndarray, dest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Network driving times (s) home -> destination and back, node to node as the dispatcher's matrix
    (infinite when an end lies farther than ``MAX_SNAP_M`` from a drivable road: no taxi can get there)."""
    graph = profile_graph("drive")
    h, h_m = snap(graph, home[:, 0], home[:, 1])
    d, d_m = snap(graph, dest[:, 0], dest[:, 1])
    sources = np.unique(np.concatenate([h, d]))
    row = {int(s): k for k, s in enumerate(sources)}
    times = dijkstra(graph.forward, directed=True, indices=sources)
    off = (h_m > MAX_SNAP_M) | (d_m > MAX_SNAP_M)
    out_s = np.where(off, np.inf, times[[row[int(a)] for a in h], d])
    back_s = np.where(off, np.inf, times[[row[int(b)] for b in d], h])
    return out_s, back_s


def _legs(users: pd.DataFrame, operators: np.ndarray, journeys: list[_Journey], date: dt.date) -> pd.DataFrame:
    """Timed legs of the journeys (windows from network times), in journey order, short trips redrawn out."""
    home = np.array([[users.geometry.x.iloc[j.user], users.geometry.y.iloc[j.user]] for j in journeys])
    dest = np.array([j.destination for j in journeys])
    out_s, back_s = _direct_times(home, dest)
    midnight = pd.Timestamp(date)
    legs: list[dict] = []
    for k, j in enumerate(journeys):
        if min(out_s[k], back_s[k]) < MIN_DIRECT_S or not np.isfinite(out_s[k] + back_s[k]):
            continue
        user = users.iloc[j.user]
        wheelchair = user["group"] == "wheelchair"
        service = service_times_s(wheelchair)
        latest_pickup = j.arrival_s - out_s[k] - service - BUFFER_S
        shift = max(0.0, FIRST_PICKUP_S - (latest_pickup - PICKUP_WINDOW_S))  # not before vehicles can arrive
        arrival = j.arrival_s + shift
        last = SERVICE_END_H * 3600 - PICKUP_WINDOW_S - 2 * service - back_s[k] - DEPOT_MARGIN_S
        ends = min(arrival + 60 * j.duration_min, last)
        common = {"user_id": user["household_id"], "purpose": j.purpose, "standing": j.standing,
                  "operator": operators[j.user], "district": user["district"], "wheelchair": bool(wheelchair),
                  "companions": j.companions, "service_pickup_s": service, "service_dropoff_s": service}
        ref = f"{user['household_id']}-{j.purpose[:3].upper()}{k:04d}"
        latest = midnight + pd.Timedelta(seconds=latest_pickup + shift)
        legs.append({**common, "request_id": f"{ref}-OUT", "from": home[k], "to": dest[k],
                     "earliest_pickup": latest - pd.Timedelta(seconds=PICKUP_WINDOW_S),
                     "latest_pickup": latest.floor("min"), "latest_dropoff": midnight + pd.Timedelta(seconds=arrival)})
        if not j.one_way:
            start = (midnight + pd.Timedelta(seconds=ends)).ceil("min")
            legs.append({**common, "request_id": f"{ref}-RET", "from": dest[k], "to": home[k],
                         "earliest_pickup": start, "latest_pickup": start + pd.Timedelta(seconds=PICKUP_WINDOW_S),
                         "latest_dropoff": pd.NaT})
    return pd.DataFrame(legs)


def _to_table(frame: pd.DataFrame) -> pd.DataFrame:
    for end, column in (("from", "pickup"), ("to", "dropoff")):
        xy = np.array(frame.pop(end).tolist(), dtype=float)
        points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM43N).to_crs(WGS84)
        frame[f"{column}_lon"], frame[f"{column}_lat"] = points.x.round(6), points.y.round(6)
    frame["earliest_pickup"] = frame["earliest_pickup"].dt.ceil("min")
    frame = frame.sort_values(["earliest_pickup", "request_id"]).reset_index(drop=True)
    return frame[list(TRIP_COLUMNS)]
