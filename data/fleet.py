"""The invataxi fleet: 170 vehicles of four operators, one depot each; drivers' shifts and breaks; operator zones.

Operators and vehicle counts are the city's 2025 figures. Depot sites, shifts
and vehicle layouts are not public; they are generated deterministically:
each operator's depot is the node of the drive network's largest strongly
connected component nearest to the street-length centroid of its home
district; a driver works one of the shift templates (``SHIFT_TEMPLATES_H``,
Seoul's wheelchair call-taxi templates, in a mix weighted towards the morning
peak) with one break inside a window after 4-5 hours; a vehicle is a
ramp-equipped minivan with 1-2 wheelchair places and 3-4 seats. Fleets of
other sizes (fleet sizing) keep the operators' contract shares.

Schema (``FLEET_SCHEMA``), geometry = depot Point in UTM 43N:
``vehicle_id``, ``operator``, ``depot_id``, ``depot_node`` (OSM node id),
``shift_start_s`` / ``shift_end_s`` (seconds after midnight),
``break_earliest_s`` / ``break_latest_s`` (window of the break's start) and
``break_s`` (its length), ``wheelchair_places``, ``seats``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd

from geo.validate import SchemaError, TableSchema, validate_frame
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
# Operator -> districts it covers under the ``zones`` policy: its depot's district and neighbours, chosen so that
# each operator's share of registered users (3 400, by home district) is close to its share of vehicles.
ZONES: dict[str, tuple[str, ...]] = {
    "INCLUSION.KZ": ("Auezov", "Nauryzbai", "Almaly"),
    "SPO-GROUP": ("Turksib", "Medeu", "Jetysu"),
    "АМАЛЬ-ИМАН": ("Alatau",),
    "Ден.Зор.Байлык": ("Bostandyk",),
}
HOUR_S: int = 3_600
SERVICE_START_H: int = 7  # the service day, 07:00-21:00 (the span of the shift templates)
SERVICE_END_H: int = 21
# Shift templates (start hour, end hour): Seoul wheelchair call taxi's 07-16, 08-17, 10-19, 12-21.
SHIFT_TEMPLATES_H: tuple[tuple[int, int], ...] = ((7, 16), (8, 17), (10, 19), (12, 21))
# Template of each vehicle, round-robin within an operator over this pattern (indices into SHIFT_TEMPLATES_H):
# 30 % 07-16, 30 % 08-17, 20 % 10-19, 20 % 12-21 (morning outbound and late-afternoon return peaks).
SHIFT_PATTERN: tuple[int, ...] = (0, 1, 2, 3, 0, 1, 0, 1, 2, 3)
BREAK_S: int = 45 * 60  # a driver's meal break (Labour Code of Kazakhstan art. 81: 30 min to 1 h, unpaid)
BREAK_AFTER_H: tuple[float, float] = (4.0, 5.0)  # the break starts 4-5 hours into the shift
MAX_ROUTE_S: int = 8 * HOUR_S + BREAK_S  # depot to depot: an 8-hour working day (Labour Code art. 68) plus the break
WHEELCHAIR_PLACES: tuple[int, ...] = (2, 1, 2, 1, 1)  # round-robin layout per vehicle
SEATS: tuple[int, ...] = (3, 4, 3, 4, 4)

FLEET_SCHEMA = TableSchema(
    name="fleet",
    id_column="vehicle_id",
    required=("operator", "depot_id", "depot_node", "shift_start_s", "shift_end_s", "break_earliest_s",
              "break_latest_s", "break_s", "wheelchair_places", "seats"),
    enums={"operator": tuple(OPERATORS)},
    numeric=("shift_start_s", "shift_end_s", "break_earliest_s", "break_latest_s", "break_s", "wheelchair_places",
             "seats"),
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


def operator_counts(total: int) -> dict[str, int]:
    """Vehicles per operator for a fleet of ``total``, in the contract shares of ``OPERATORS`` (largest remainders)."""
    if total < 1:
        raise ValueError(f"a fleet needs at least one vehicle, got {total}")
    exact = {k: total * v / sum(OPERATORS.values()) for k, v in OPERATORS.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def build_fleet(total: int | None = None, depot_table: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The vehicles with operator, depot, shift, break and capacities (validated).

    Parameters
    ----------
    total
        Fleet size; None: the city's 170 (``OPERATORS``). Other sizes keep the
        contract shares (``operator_counts``); a vehicle's id, template and
        layout depend on its rank within its operator only, so a smaller fleet
        is a subset of a larger one.
    depot_table
        Depots (``depots()``), to avoid recomputing them.
    """
    depot = (depots() if depot_table is None else depot_table).set_index("operator")
    rows = []
    for operator, count in (OPERATORS if total is None else operator_counts(total)).items():
        prefix = OPERATOR_DEPOT[operator][0]
        for i in range(count):
            start_h, end_h = SHIFT_TEMPLATES_H[SHIFT_PATTERN[i % len(SHIFT_PATTERN)]]
            rows.append(
                {
                    "vehicle_id": f"{prefix}-{i + 1:03d}",
                    "operator": operator,
                    "depot_id": depot.loc[operator, "depot_id"],
                    "depot_node": depot.loc[operator, "depot_node"],
                    "shift_start_s": start_h * HOUR_S,
                    "shift_end_s": end_h * HOUR_S,
                    "break_earliest_s": int((start_h + BREAK_AFTER_H[0]) * HOUR_S),
                    "break_latest_s": int((start_h + BREAK_AFTER_H[1]) * HOUR_S),
                    "break_s": BREAK_S,
                    "wheelchair_places": WHEELCHAIR_PLACES[i % len(WHEELCHAIR_PLACES)],
                    "seats": SEATS[i % len(SEATS)],
                    "geometry": depot.loc[operator, "geometry"],
                }
            )
    fleet = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM43N)
    fleet["depot_node"] = fleet["depot_node"].astype("int64")
    return validate_fleet(fleet)


def validate_fleet(fleet: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check a fleet table: the schema, then shifts and breaks (one error naming the vehicle and field).

    Raises
    ------
    SchemaError
        A shift that ends before it starts or leaves the service day, a break
        window outside its shift, or a break longer than the shift.
    """
    fleet = validate_frame(fleet, FLEET_SCHEMA)
    checks = (
        (fleet["shift_end_s"] <= fleet["shift_start_s"], "shift_end_s", "the shift ends before it starts"),
        ((fleet["shift_start_s"] < 0) | (fleet["shift_end_s"] > 24 * HOUR_S), "shift_start_s",
         "the shift leaves the service day (0-24 h)"),
        (fleet["break_s"] < 0, "break_s", "negative break"),
        (fleet["break_s"] > fleet["shift_end_s"] - fleet["shift_start_s"], "break_s", "the break is longer than the shift"),
        (fleet["break_latest_s"] < fleet["break_earliest_s"], "break_latest_s", "the break window is inverted"),
        ((fleet["break_earliest_s"] < fleet["shift_start_s"])
         | (fleet["break_latest_s"] + fleet["break_s"] > fleet["shift_end_s"]), "break_earliest_s",
         "the break window does not fit inside the shift"),
    )
    for bad, field, message in checks:
        if bad.any():
            row = fleet[bad].iloc[0]
            raise SchemaError(f"fleet vehicle {row['vehicle_id']!r}: field {field!r}: {message}")
    return fleet


def vehicles_by_operator(fleet: pd.DataFrame) -> dict[str, int]:
    """Vehicle count per operator, in the order of ``OPERATORS``."""
    counts = fleet["operator"].value_counts()
    return {operator: int(counts.get(operator, 0)) for operator in OPERATORS}


