"""Travel profiles: speeds, grade limits and which barriers each kind of traveller can pass.

The one place for speed and barrier assumptions (``PROFILES``, each number
with its source). The drive table is shared with routing/ (invataxi travel
times; grades do not change car times). The walking profiles run on the walk
network, whose ways are stored in both directions, so every edge is directed:
a slope too steep to climb may still be descended.

* ``manual_wheelchair``, ``powered_wheelchair``: blocked by steps, raised
  kerbs, ``wheelchair=no``, rough surfaces, bad smoothness and hiking paths,
  and by grades beyond their uphill / downhill limits; slower uphill
  (``speed_on_grade_mps``).
* ``walker`` (walking aids: canes, crutches, rollators): climbs steps at half
  speed (``STEPS_TIME_FACTOR``), steps down kerbs, avoids hiking paths and
  impassable smoothness; grade limits; Tobler's speed curve.
* ``walk``: everything on the walk network; Tobler's speed curve.
* ``drive``: the car network, speeds by highway class (``DRIVE_SPEED_KPH``).

Barriers are read from OSM tags (``edge_barriers``); crossings whose kerb is
not tagged follow ``UNTAGGED_KERB_DEFAULT`` unless the caller picks the other
assumption.
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


# Barrier kinds read from an edge's OSM tags (``edge_barriers``).
BARRIER_KINDS: tuple[str, ...] = ("steps", "raised_kerb", "wheelchair_no", "rough_surface", "bad_smoothness", "hiking_path")
# Barriers a city works programme can remove (``geo.barriers``): a ramp or lift
# at steps, a kerb ramp at a raised kerb. The others need rebuilding a way.
FIXABLE_BARRIERS: frozenset[str] = frozenset({"steps", "raised_kerb"})
# Surfaces and smoothness values a wheelchair cannot cross (OSM tags).
BARRIER_SURFACES: frozenset[str] = frozenset(
    {"dirt", "earth", "ground", "grass", "mud", "sand", "pebblestone", "rock", "stone",
     "unpaved", "woodchips", "gravel", "scree", "shells"}
)
BARRIER_SMOOTHNESS: frozenset[str] = frozenset({"very_bad", "horrible", "very_horrible", "impassable"})
# kerb=* values a wheelchair cannot pass ("rolled" kerbs are low and sloped).
RAISED_KERBS: frozenset[str] = frozenset({"raised", "yes"})
# Untagged crossings (kerb "unknown" from data.osm_import): assumed passable by
# default, because the 2012 network outside the 2025 centre maps no crossings
# at all, so assuming them raised would penalise only the well-mapped centre;
# "raised" is the other assumption (the worst case for the centre).
UNTAGGED_KERB_ASSUMPTIONS: tuple[str, ...] = ("lowered", "raised")
UNTAGGED_KERB_DEFAULT: str = "lowered"
STEPS_TIME_FACTOR: float = 2.0  # walker on steps: about half the walking pace (one step per 1-2 s)
TOBLER_OPTIMUM_GRADE: float = -0.05  # Tobler (1993): fastest walking on a 5 % descent
TOBLER_DECAY: float = 3.5  # Tobler (1993): exp(-3.5 |grade + 0.05|)


@dataclass(frozen=True)
class TravelProfile:
    """How one kind of traveller moves on the network.

    Attributes
    ----------
    name
        Profile name (a key of ``PROFILES``).
    network
        Which shipped network it uses ("walk" or "drive").
    speed_mps
        Speed on flat ground in metres per second (None: by road class, drive).
    access_speed_mps
        Speed on the straight leg between a building and its snapped node, metres per second.
    max_uphill, max_downhill
        Steepest grade (fraction, both positive) it can climb / descend; inf: no limit.
    speed_curve
        ``"tobler"`` (walking), ``"wheelchair"`` (slower uphill, braking
        downhill) or ``"flat"`` (grade ignored: drive).
    half_speed_grade
        Wheelchair curve: the uphill grade at which speed halves.
    blocked_by
        Barrier kinds (``BARRIER_KINDS``) it cannot pass.
    steps_time_factor
        Time multiplier on steps it may use.
    """

    name: str
    network: str
    speed_mps: float | None
    access_speed_mps: float
    max_uphill: float = np.inf
    max_downhill: float = np.inf
    speed_curve: str = "tobler"
    half_speed_grade: float = np.inf
    blocked_by: frozenset[str] = frozenset()
    steps_time_factor: float = 1.0

    def __post_init__(self) -> None:
        if not (self.max_uphill > 0 and self.max_downhill > 0):
            raise ValueError(f"profile {self.name!r}: grade limits must be positive, got uphill {self.max_uphill}, "
                             f"downhill {self.max_downhill}")
        if self.speed_curve not in ("tobler", "wheelchair", "flat"):
            raise ValueError(f"profile {self.name!r}: unknown speed curve {self.speed_curve!r}")
        unknown = set(self.blocked_by) - set(BARRIER_KINDS)
        if unknown:
            raise ValueError(f"profile {self.name!r}: unknown barrier kind(s) {sorted(unknown)}")

    @property
    def uses_grades(self) -> bool:
        """Whether grades change its times or block its way."""
        return self.speed_curve != "flat"


WHEELCHAIR_BARRIERS: frozenset[str] = frozenset(BARRIER_KINDS)  # every barrier kind stops a wheelchair
DRIVE_ACCESS_SPEED_MPS: float = 1.2  # walk/roll between door and kerb for taxi trips

PROFILES: dict[str, TravelProfile] = {
    # AccessMap (OpenSidewalks) manual wheelchair defaults: uphill <= 8.33 % (ADA
    # ramp limit 1:12), downhill <= 10 %, 0.6 m/s; speed halves at 6 % (assumption:
    # constant pushing power against rolling resistance plus grade).
    "manual_wheelchair": TravelProfile("manual_wheelchair", "walk", 0.6, 0.6, 0.0833, 0.10, "wheelchair", 0.06,
                                       WHEELCHAIR_BARRIERS),
    # AccessMap powered wheelchair: +-12 %; 1.5 m/s, under the 6 km/h limit of
    # EN 12184 class B (pavement) chairs; the motor loses half its speed only at 25 %.
    "powered_wheelchair": TravelProfile("powered_wheelchair", "walk", 1.5, 1.5, 0.12, 0.12, "wheelchair", 0.25,
                                        WHEELCHAIR_BARRIERS),
    # AccessMap cane profile: +-14 %; 0.8 m/s: gait speed of older adults with
    # walking aids (0.6-1.0 m/s). Steps allowed at STEPS_TIME_FACTOR, kerbs stepped.
    "walker": TravelProfile("walker", "walk", 0.8, 0.8, 0.14, 0.14, "tobler", np.inf,
                            frozenset({"hiking_path", "bad_smoothness"}), STEPS_TIME_FACTOR),
    # Pedestrians (incl. people with vision or hearing impairments): 1.2 m/s on
    # flat ground (a common planning speed), Tobler's curve, no grade limit.
    "walk": TravelProfile("walk", "walk", 1.2, 1.2),
    "drive": TravelProfile("drive", "drive", None, DRIVE_ACCESS_SPEED_MPS, speed_curve="flat"),
}
# Profile used for each disability group when none is forced; wheelchair
# households are split between the two wheelchair profiles (``household_profiles``).
GROUP_PROFILE: dict[str, str] = {
    "wheelchair": "manual_wheelchair",
    "mobility": "walker",
    "vision": "walk",
    "hearing": "walk",
    "intellectual": "walk",
}
# Share of wheelchair households using a powered chair (assumption: powered
# chairs are about 10-20 % of wheelchairs in use where the state supplies mostly
# manual ones; Kazakhstan's social-code provision is mostly manual).
POWERED_WHEELCHAIR_SHARE: float = 0.15


def household_profiles(household_id: pd.Series, group: pd.Series) -> np.ndarray:
    """Profile of each household by group; wheelchair households manual or powered.

    The split is deterministic: a household uses a powered chair when the
    stable pandas hash of its id, as a fraction of 2**64, is below
    ``POWERED_WHEELCHAIR_SHARE``.
    """
    profiles = group.map(GROUP_PROFILE).to_numpy(dtype=object)
    fraction = pd.util.hash_pandas_object(household_id.astype(str), index=False).to_numpy(dtype=np.uint64) / 2.0**64
    powered = (group.to_numpy() == "wheelchair") & (fraction < POWERED_WHEELCHAIR_SHARE)
    profiles[powered] = "powered_wheelchair"
    return profiles


def _column(edges: pd.DataFrame, name: str) -> pd.Series:
    return edges[name] if name in edges.columns else pd.Series(None, index=edges.index, dtype="object")


def edge_barriers(edges: pd.DataFrame, untagged_kerb: str = UNTAGGED_KERB_DEFAULT) -> pd.DataFrame:
    """Which barrier kinds each edge carries, from its OSM tags.

    Parameters
    ----------
    edges
        Walk-network edges with the tags kept by ``data.osm_import``.
    untagged_kerb
        What a crossing of unknown kerb is: ``"lowered"`` (passable) or ``"raised"``.

    Returns
    -------
    DataFrame
        One boolean column per ``BARRIER_KINDS``, aligned with ``edges``.
        ``steps``: ``highway=steps`` without ``ramp:wheelchair=yes``;
        ``raised_kerb``: ``kerb`` in ``RAISED_KERBS`` (or unknown, when assumed raised).
    """
    if untagged_kerb not in UNTAGGED_KERB_ASSUMPTIONS:
        raise ValueError(f"unknown untagged-kerb assumption {untagged_kerb!r}; expected one of {UNTAGGED_KERB_ASSUMPTIONS}")
    kerb = _column(edges, "kerb")
    raised = kerb.isin(RAISED_KERBS | ({"unknown"} if untagged_kerb == "raised" else set()))
    return pd.DataFrame({
        "steps": (_column(edges, "highway") == "steps") & (_column(edges, "ramp:wheelchair") != "yes"),
        "raised_kerb": raised,
        "wheelchair_no": _column(edges, "wheelchair") == "no",
        "rough_surface": _column(edges, "surface").isin(BARRIER_SURFACES),
        "bad_smoothness": _column(edges, "smoothness").isin(BARRIER_SMOOTHNESS),
        "hiking_path": _column(edges, "sac_scale").notna(),
    }, index=edges.index).fillna(False).astype(bool)


def fixed_barrier_tags(edges: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``edges`` with every fixable barrier removed: kerbs lowered, steps given a wheelchair ramp."""
    fixed = edges.copy()
    kerb = _column(fixed, "kerb")
    fixed["kerb"] = kerb.where(~kerb.isin(RAISED_KERBS | {"unknown"}), "lowered")
    steps = _column(fixed, "highway") == "steps"
    fixed["ramp:wheelchair"] = _column(fixed, "ramp:wheelchair").where(~steps, "yes")
    return fixed


def speed_on_grade_mps(profile: TravelProfile, grade: np.ndarray) -> np.ndarray:
    """Speed in metres per second of ``profile`` on each directed grade (fraction, + uphill).

    ``tobler``: ``speed * exp(-3.5 (|g + 0.05| - 0.05))`` (Tobler 1993,
    normalised to ``speed`` on flat ground); ``wheelchair``: ``speed / (1 +
    max(g, 0) / half_speed_grade)`` uphill and ``speed`` downhill (users brake);
    ``flat``: ``speed``.
    """
    grade = np.asarray(grade, dtype=float)
    if profile.speed_curve == "tobler":
        decay = TOBLER_DECAY * (np.abs(grade - TOBLER_OPTIMUM_GRADE) - abs(TOBLER_OPTIMUM_GRADE))
        return profile.speed_mps * np.exp(-decay)
    if profile.speed_curve == "wheelchair":
        return profile.speed_mps / (1.0 + np.maximum(grade, 0.0) / profile.half_speed_grade)
    return np.full(grade.shape, float(profile.speed_mps))


def edge_travel_time_s(
    profile: TravelProfile,
    edges: pd.DataFrame,
    grade: np.ndarray | None = None,
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT,
    ignore_grade_limits: bool = False,
) -> np.ndarray:
    """Travel time in seconds of each edge for ``profile``; ``inf`` where it cannot pass.

    Parameters
    ----------
    profile
        The travel profile.
    edges
        Edges with ``length`` (metres), ``highway`` and the barrier tags.
    grade
        Directed grade of each edge (fraction, + uphill); None: flat.
    untagged_kerb
        The untagged-crossing assumption (``edge_barriers``).
    ignore_grade_limits
        Keep edges steeper than the profile's limits (at their speed), e.g. to
        decide which nodes belong to the network whatever the terrain.

    A wheelchair ramp at steps (``ramp:wheelchair=yes``) is built to the
    profile's limits, so such an edge takes its grade clipped to them.
    """
    if profile.speed_mps is None:
        return drive_travel_time_s(edges)
    length = edges["length"].to_numpy(dtype="float64")
    grade = np.zeros(len(edges)) if grade is None or not profile.uses_grades else np.asarray(grade, dtype=float)
    ramped = ((_column(edges, "highway") == "steps") & (_column(edges, "ramp:wheelchair") == "yes")).to_numpy()
    grade = np.where(ramped, np.clip(grade, -profile.max_downhill, profile.max_uphill), grade)
    times = length / speed_on_grade_mps(profile, grade)
    barriers = edge_barriers(edges, untagged_kerb)
    times = np.where(barriers["steps"].to_numpy(), times * profile.steps_time_factor, times)
    blocked = barriers[sorted(profile.blocked_by)].to_numpy().any(axis=1) if profile.blocked_by else np.zeros(len(edges), bool)
    if not ignore_grade_limits:
        blocked |= (grade > profile.max_uphill) | (grade < -profile.max_downhill)
    return np.where(blocked, np.inf, times)


def get_profile(name: str) -> TravelProfile:
    """The profile called ``name``; a clear error for unknown names."""
    if name not in PROFILES:
        raise ValueError(f"unknown travel profile {name!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[name]
