"""The invataxi fleet: 170 vehicles of four operators, one depot each.

Operators and vehicle counts are the city's 2025 figures. Depot sites, shifts
and vehicle layouts are not public; they are generated deterministically:
each operator's depot is the node of the drive network's largest strongly
connected component nearest to the street-length centroid of its home district, shifts follow the service's 07:00-21:00 day, and a
vehicle is a ramp-equipped minivan with 1-2 wheelchair places and 3-4 seats.

Schema (``FLEET_SCHEMA``), geometry = depot Point in UTM 43N:
``vehicle_id``, ``operator``, ``depot_id``, ``depot_node`` (OSM node id),
``shift_start_s`` / ``shift_end_s`` (seconds after midnight),
``wheelchair_places``, ``seats``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd

from geo.validate import TableSchema, validate_frame
from geo.crs import UTM43N
from geo.network import load_graph
from data.placement import street_edges

OPERATORS: dict[str, int] = {
    "INCLUSION.KZ": 59,
    "SPO-GROUP": 59,
    "АМАЛЬ-ИМАН": 22,
    "Ден.Зор.Байлык": 30,
}
# Operator -> (vehicle id prefix, home district of its depot).
OPERATOR_DEPOT: dict[str, tuple[str, str]] = {
    "INCLUSION.KZ": ("INC", "Auezov"),
    "SPO-GROUP": ("SPO", "Turksib"),
    "АМАЛЬ-ИМАН": ("AMI", "Alatau"),
    "Ден.Зор.Байлык": ("DZB", "Bostandyk"),
}
HOUR_S: int = 3_600
# Shift patterns (start hour, end hour) assigned round-robin within an operator.
SHIFTS_H: tuple[tuple[int, int], ...] = ((7, 19), (8, 20), (9, 21), (7, 15), (13, 21))
WHEELCHAIR_PLACES: tuple[int, ...] = (2, 1, 2, 1, 1)  # round-robin layout per vehicle
SEATS: tuple[int, ...] = (3, 4, 3, 4, 4)

FLEET_SCHEMA = TableSchema(
    name="fleet",
    id_column="vehicle_id",
    required=("operator", "depot_id", "depot_node", "shift_start_s", "shift_end_s", "wheelchair_places", "seats"),
    enums={"operator": tuple(OPERATORS)},
    numeric=("shift_start_s", "shift_end_s", "wheelchair_places", "seats"),
)


def depots() -> gpd.GeoDataFrame:
    """One depot per operator, at a drive node every other node can reach and be reached from."""
    edges = street_edges()
    midpoints = edges.geometry.interpolate(0.5, normalized=True)
    weight = edges["length"].to_numpy()
    graph = ox.truncate.largest_component(load_graph("drive"), strongly=True)
    rows = []
    for operator, (prefix, district) in OPERATOR_DEPOT.items():
        mine = (edges["district"] == district).to_numpy()
        x = float(np.average(midpoints.x[mine], weights=weight[mine]))
        y = float(np.average(midpoints.y[mine], weights=weight[mine]))
        node = int(ox.distance.nearest_nodes(graph, x, y))
        rows.append({"operator": operator, "depot_id": f"DEPOT-{prefix}", "depot_node": node,
                     "x": graph.nodes[node]["x"], "y": graph.nodes[node]["y"]})
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.pop("x"), frame.pop("y")), crs=UTM43N)


def build_fleet() -> gpd.GeoDataFrame:
    """The 170 vehicles with operator, depot, shift and capacities (validated)."""
    depot = depots().set_index("operator")
    rows = []
    for operator, count in OPERATORS.items():
        prefix = OPERATOR_DEPOT[operator][0]
        for i in range(count):
            start_h, end_h = SHIFTS_H[i % len(SHIFTS_H)]
            rows.append(
                {
                    "vehicle_id": f"{prefix}-{i + 1:03d}",
                    "operator": operator,
                    "depot_id": depot.loc[operator, "depot_id"],
                    "depot_node": depot.loc[operator, "depot_node"],
                    "shift_start_s": start_h * HOUR_S,
                    "shift_end_s": end_h * HOUR_S,
                    "wheelchair_places": WHEELCHAIR_PLACES[i % len(WHEELCHAIR_PLACES)],
                    "seats": SEATS[i % len(SEATS)],
                    "geometry": depot.loc[operator, "geometry"],
                }
            )
    fleet = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM43N)
    fleet["depot_node"] = fleet["depot_node"].astype("int64")
    return validate_frame(fleet, FLEET_SCHEMA)


def vehicles_by_operator(fleet: pd.DataFrame) -> dict[str, int]:
    """Vehicle count per operator, in the order of ``OPERATORS``."""
    counts = fleet["operator"].value_counts()
    return {operator: int(counts.get(operator, 0)) for operator in OPERATORS}


