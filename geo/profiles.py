"""Travel profiles: speeds and which ways each kind of traveller can use.

The one place for speed assumptions. The drive table is shared with routing/
(invataxi travel times).
"""

from __future__ import annotations

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
