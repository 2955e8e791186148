"""Travel profiles: speeds and which ways each kind of traveller can use.

The one place for speed assumptions. The drive table is shared with routing/
(invataxi travel times). Profiles:

* ``wheelchair``: the pedestrian network without steps and other ways a
  wheelchair cannot use (``wheelchair_barrier``), 0.8 m/s;
* ``walk``: the full pedestrian network, 1.2 m/s;
* ``drive``: the car network, speeds by highway class (``DRIVE_SPEED_KPH``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Free-flow urban car speeds (km/h) by OSM highway class, lowered from the legal
# limits (60 km/h in town, 80 on urban expressways) for Almaty's signals and
# congestion; unknown classes fall back to DEFAULT_DRIVE_SPEED_KPH.
DRIVE_SPEED_KPH: dict[str, float] = {
    "motorway": 70.0,
    "motorway_link": 40.0,
    "trunk": 50.0,
    "trunk_link": 35.0,
    "primary": 40.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 25.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "road": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
}
DEFAULT_DRIVE_SPEED_KPH: float = 20.0


def drive_speed_mps(highway: pd.Series) -> np.ndarray:
    """Car speed in metres per second for each edge's highway class."""
    kph = highway.map(DRIVE_SPEED_KPH).fillna(DEFAULT_DRIVE_SPEED_KPH).to_numpy(dtype="float64")
    return kph / 3.6


def drive_travel_time_s(edges: pd.DataFrame) -> np.ndarray:
    """Car travel time in seconds of each edge (``length`` metres / class speed)."""
    return edges["length"].to_numpy(dtype="float64") / drive_speed_mps(edges["highway"])


@dataclass(frozen=True)
class TravelProfile:
    """How one kind of traveller moves on the network.

    Attributes
    ----------
    name
        Profile name ("wheelchair", "walk", "drive").
    network
        Which shipped network it uses ("walk" or "drive").
    speed_mps
        Travel speed on the network in metres per second (None: by road class, drive).
    access_speed_mps
        Speed on the straight leg between a building and its snapped node, metres per second.
    excludes_barriers
        Whether ways a wheelchair cannot use are removed (see ``wheelchair_barrier``).
    """

    name: str
    network: str
    speed_mps: float | None
    access_speed_mps: float
    excludes_barriers: bool = False


WHEELCHAIR_SPEED_MPS: float = 0.8  # manual wheelchair in town, incl. kerbs and crossings
WALK_SPEED_MPS: float = 1.2  # pedestrian, incl. people with vision or hearing impairments
DRIVE_ACCESS_SPEED_MPS: float = 1.2  # walk/roll between door and kerb for taxi trips

PROFILES: dict[str, TravelProfile] = {
    "wheelchair": TravelProfile("wheelchair", "walk", WHEELCHAIR_SPEED_MPS, WHEELCHAIR_SPEED_MPS, True),
    "walk": TravelProfile("walk", "walk", WALK_SPEED_MPS, WALK_SPEED_MPS),
    "drive": TravelProfile("drive", "drive", None, DRIVE_ACCESS_SPEED_MPS),
}
# Profile used for each disability group when none is forced.
GROUP_PROFILE: dict[str, str] = {
    "wheelchair": "wheelchair",
    "mobility": "walk",
    "vision": "walk",
    "hearing": "walk",
    "intellectual": "walk",
}

# Surfaces and smoothness values a manual wheelchair cannot cross (OSM tags).
BARRIER_SURFACES: frozenset[str] = frozenset(
    {"dirt", "earth", "ground", "grass", "mud", "sand", "pebblestone", "rock", "stone",
     "unpaved", "woodchips", "gravel", "scree", "shells"}
)
BARRIER_SMOOTHNESS: frozenset[str] = frozenset({"very_bad", "horrible", "very_horrible", "impassable"})
MAX_WHEELCHAIR_INCLINE_PCT: float = 8.0  # steeper ramps/streets than 1:12.5 are barriers


def _incline_pct(incline: pd.Series) -> np.ndarray:
    """Absolute incline in percent from OSM ``incline`` ("10%", "-6 %", "5°"); NaN if unknown."""
    text = incline.astype("string").str.strip()
    number = pd.to_numeric(text.str.extract(r"^(-?\d+(?:\.\d+)?)")[0], errors="coerce").abs()
    degrees = text.str.contains("°", na=False)
    percent = np.where(degrees, np.tan(np.radians(number.to_numpy(dtype=float))) * 100.0, number.to_numpy(dtype=float))
    return percent


def wheelchair_barrier(edges: pd.DataFrame) -> np.ndarray:
    """True for edges a wheelchair cannot use, from their OSM tags.

    Barriers: ``highway=steps``, ``wheelchair=no``, any ``sac_scale`` (hiking
    path), a surface in ``BARRIER_SURFACES``, a smoothness in
    ``BARRIER_SMOOTHNESS``, or an incline steeper than
    ``MAX_WHEELCHAIR_INCLINE_PCT`` percent.
    """

    def column(name: str) -> pd.Series:
        return edges[name] if name in edges.columns else pd.Series(None, index=edges.index, dtype="object")

    barrier = (column("highway") == "steps").to_numpy(dtype=bool, copy=True)
    barrier |= (column("wheelchair") == "no").to_numpy(dtype=bool)
    barrier |= column("sac_scale").notna().to_numpy()
    barrier |= column("surface").isin(BARRIER_SURFACES).to_numpy()
    barrier |= column("smoothness").isin(BARRIER_SMOOTHNESS).to_numpy()
    barrier |= np.nan_to_num(_incline_pct(column("incline")), nan=0.0) > MAX_WHEELCHAIR_INCLINE_PCT
    return barrier


def edge_travel_time_s(profile: TravelProfile, edges: pd.DataFrame) -> np.ndarray:
    """Travel time in seconds of each edge for ``profile``; ``inf`` where it cannot pass."""
    if profile.speed_mps is None:
        times = drive_travel_time_s(edges)
    else:
        times = edges["length"].to_numpy(dtype="float64") / profile.speed_mps
    if profile.excludes_barriers:
        times = np.where(wheelchair_barrier(edges), np.inf, times)
    return times


def get_profile(name: str) -> TravelProfile:
    """The profile called ``name``; a clear error for unknown names."""
    if name not in PROFILES:
        raise ValueError(f"unknown travel profile {name!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[name]
