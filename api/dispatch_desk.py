"""The API's dispatch desk: one live plan per service day on the Almaty drive network.

A trip request is snapped to the drive network, its two points get their
travel times to every point of the day's plan (four scipy Dijkstra runs), and
it is inserted into the live plan (``routing.live.LivePlan``). The desk owns a
lock so that a plan change and its database write happen together: the plan
is changed first, the trip and its history are committed, and the plan change
is undone if the commit fails. On start the day's stored trips are replayed
into a fresh plan, so a restart loses nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.crs import UTM43N, WGS84
from geo.shortest_paths import profile_graph, snap
from routing.almaty import vehicles_from_fleet
from data.demand import SERVICE_WALKING_S, SERVICE_WHEELCHAIR_S as SERVICE_PICKUP_WHEELCHAIR_S
from data.fleet import OPERATORS
from routing.insertion import Insertion
from routing.live import LivePlan
from routing.problem import ProblemData, TripRequest
from routing.solution import Solution
from routing.solver import SolveParams
from routing.travel_matrix import MAX_SNAP_M, node_matrix

ALMATY_TZ = ZoneInfo("Asia/Almaty")


@dataclass(frozen=True)
class Placement:
    """The answer to a new trip: assigned with ETAs (seconds after midnight) or unserved with a reason."""

    vehicle_id: str | None
    operator: str | None
    pickup_eta_s: float | None
    dropoff_eta_s: float | None
    reason: str | None


def now_seconds(service_date: dt.date, clock: dt.datetime | None = None) -> float:
    """Seconds after midnight of ``service_date`` in Almaty time (negative for future days)."""
    now = (clock or dt.datetime.now(ALMATY_TZ)).astimezone(ALMATY_TZ).replace(tzinfo=None)
    return (now - dt.datetime.combine(service_date, dt.time())).total_seconds()


class DispatchDesk:
    """Live plans per service day for the whole fleet.

    Parameters
    ----------
    fleet
        The vehicles (``data.fleet`` schema), depots in UTM 43N.
    """

    def __init__(self, fleet: gpd.GeoDataFrame) -> None:
        self.lock = threading.RLock()
        self.graph = profile_graph("drive")
        depots = fleet.drop_duplicates("depot_id").reset_index(drop=True)
        self._depot_nodes, _ = snap(self.graph, depots.geometry.x.to_numpy(), depots.geometry.y.to_numpy())
        self._vehicles = vehicles_from_fleet(fleet, {d: i for i, d in enumerate(depots["depot_id"])})
        self.operator_of = {v.id: v.operator for v in self._vehicles}
        self._plans: dict[dt.date, LivePlan] = {}
        self._nodes: dict[dt.date, list[int]] = {}
        self._where: dict[str, tuple[dt.date, int, int]] = {}  # trip id -> (day, pickup point, drop-off point)

    def plan(self, day: dt.date) -> LivePlan:
        """The live plan of ``day`` (created empty, with the depots as its first points)."""
        with self.lock:
            if day not in self._plans:
                nodes = [int(n) for n in self._depot_nodes]
                duration, distance = node_matrix(np.array(nodes), workers=1)
                data = ProblemData(self._vehicles, (), duration, distance, operators=frozenset(OPERATORS))
                self._plans[day] = LivePlan(data, Solution((), {}), SolveParams(cost="duration"))
                self._nodes[day] = nodes
            return self._plans[day]

    def _add_points(self, day: dt.date, new_nodes: list[int]) -> list[int]:
        """Add drive-graph nodes as points of the day's plan; returns their point indices."""
        plan, nodes = self.plan(day), self._nodes[day]
        everyone = np.array(nodes + new_nodes)
        duration_out = dijkstra(self.graph.forward, indices=new_nodes)[:, everyone]
        distance_out = dijkstra(self.graph.length, indices=new_nodes)[:, everyone]
        duration_in = dijkstra(self.graph.reverse, indices=new_nodes)[:, np.array(nodes)].T
        distance_in = dijkstra(self.graph.length.T.tocsr(), indices=new_nodes)[:, np.array(nodes)].T
        indices = plan.add_points(duration_out, duration_in, distance_out, distance_in)
        nodes.extend(new_nodes)
        return indices

    def place(self, trip_id: str, day: dt.date, pickup: tuple[float, float], dropoff: tuple[float, float],
              window_s: tuple[float, float, float | None], wheelchair: bool, companions: int,
              operator: str | None, now_s: float) -> Placement:
        """Insert a new trip (lon/lat points, window in seconds after midnight) into the day's plan."""
        with self.lock:
            points = gpd.GeoSeries(gpd.points_from_xy([pickup[0], dropoff[0]], [pickup[1], dropoff[1]]), crs=WGS84).to_crs(UTM43N)
            nodes, snap_m = snap(self.graph, points.x.to_numpy(), points.y.to_numpy())
            for end, distance in zip(("pickup", "dropoff"), snap_m):
                if distance > MAX_SNAP_M:
                    return Placement(None, operator, None, None,
                                     f"{end} lies {distance:.0f} m from the nearest drivable road (limit {MAX_SNAP_M:.0f} m)")
            pick, drop = self._add_points(day, [int(n) for n in nodes])
            service = SERVICE_PICKUP_WHEELCHAIR_S if wheelchair else SERVICE_WALKING_S
            request = TripRequest(trip_id, pick, drop, window_s[0], window_s[1], window_s[2], None, wheelchair, companions,
                                  service, service, operator=operator)
            outcome = self.plan(day).insert(request, now_s)
            self._where[trip_id] = (day, pick, drop)
            if isinstance(outcome, str):
                return Placement(None, operator, None, None, outcome)
            return self._placement(outcome, trip_id)

    def _placement(self, insertion: Insertion, trip_id: str) -> Placement:
        stops = {s.kind: s.time_s for s in insertion.route.stops if s.request_id == trip_id}
        return Placement(insertion.vehicle_id, self.operator_of[insertion.vehicle_id], stops["pickup"], stops["dropoff"], None)

    def cancel(self, trip_id: str, now_s: float) -> None:
        """Cancel a trip in its day's plan (ValueError if its pickup is under way or done)."""
        with self.lock:
            where = self._where.get(trip_id)
            if where is not None:
                self.plan(where[0]).cancel(trip_id, now_s)

    def assignments(self, day: dt.date) -> dict[str, tuple[str, float, float]]:
        """Trip id -> (vehicle, pickup ETA s, drop-off ETA s) for the day's current plan."""
        out: dict[str, tuple[str, float, float]] = {}
        for route in self.plan(day).solution().routes:
            times: dict[str, dict[str, float]] = {}
            for stop in route.stops:
                times.setdefault(stop.request_id, {})[stop.kind] = stop.time_s
            for trip_id, kinds in times.items():
                out[trip_id] = (route.vehicle_id, kinds["pickup"], kinds["dropoff"])
        return out

    def vehicle_routes(self, day: dt.date, operator: str | None) -> list[dict]:
        """Vehicles (of ``operator``, or all) with their stops as GeoJSON features (WGS 84)."""
        plan = self.plan(day)
        requests = plan.problem().request_index()
        xy = self.graph.xy[np.array(self._nodes[day])]
        lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM43N).to_crs(WGS84)
        out = []
        for route in plan.solution().routes:
            if operator is not None and self.operator_of[route.vehicle_id] != operator:
                continue
            features = []
            for order, stop in enumerate(route.stops, start=1):
                point = requests[stop.request_id].point(stop.kind)
                features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                    round(float(lonlat.x[point]), 6), round(float(lonlat.y[point]), 6)]},
                    "properties": {"stop": order, "trip_id": stop.request_id, "kind": stop.kind, "time_s": round(stop.time_s, 1)}})
            if len(features) > 1:
                features.append({"type": "Feature", "properties": {"kind": "path"}, "geometry": {
                    "type": "LineString", "coordinates": [f["geometry"]["coordinates"] for f in features]}})
            out.append({"vehicle_id": route.vehicle_id, "operator": self.operator_of[route.vehicle_id],
                        "route": {"type": "FeatureCollection", "features": features}})
        return out
