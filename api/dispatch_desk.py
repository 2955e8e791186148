"""The API's dispatch desk: one live plan per service day on the Almaty drive network.

A trip request is snapped to the drive network and its two nodes get their
full-graph travel rows (``api.travel_rows``) *before* any lock is taken;
then, under the lock of its service day only, the plan's current points are
looked up in those rows (fastest paths: their time and their length), the points are added and the trip is inserted into
the live plan (``routing.live.LivePlan``). Every change returns a
:class:`PlanChange` (the day's plan version and the changed routes); the
caller commits it with the trip after the lock is released (storage keeps
the newest version of each route) and cancels the trip again if the commit fails.

On start every day's plan is restored from storage (:meth:`DispatchDesk.restore`):
the stored vehicle routes are rescheduled in their stored order, so a
restart brings back the accepted plan (re-optimised or after cancellations),
not a greedy re-insertion of the trips.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
from pyproj import Transformer

from api.travel_rows import NodeRows, RowService
from data.fleet import OPERATORS
from geo.crs import UTM43N, WGS84
from geo.shortest_paths import profile_graph, snap
from routing.almaty import vehicles_from_fleet
from data.demand import SERVICE_WALKING_S, SERVICE_WHEELCHAIR_S as SERVICE_PICKUP_WHEELCHAIR_S
from routing.insertion import Insertion, reschedule
from routing.live import LivePlan
from routing.operations import OperatingPlan
from routing.problem import ProblemData, TripRequest
from routing.solution import Route, Solution
from routing.solver import SolveParams
from routing.travel_matrix import MAX_SNAP_M

LonLat = tuple[float, float]


@dataclass(frozen=True)
class PlanChange:
    """Routes changed by one plan change (``[trip_id, kind]`` stops in driving order) and the day's plan version after it."""

    version: int
    routes: dict[str, list[list[str]]]


NO_CHANGE = PlanChange(0, {})


@dataclass(frozen=True)
class Moved:
    """A booked trip moved to make room for a new one (``routing.repair``): its vehicle and ETAs (seconds after midnight) now."""

    trip_id: str
    vehicle_id: str
    operator: str
    pickup_eta_s: float
    dropoff_eta_s: float


@dataclass(frozen=True)
class Placement:
    """The answer to a new trip: assigned with ETAs (seconds after midnight) or unserved with a reason; ``moved``: the
    booked trips moved to make room for it (their stored assignment changes with it)."""

    vehicle_id: str | None
    operator: str | None
    pickup_eta_s: float | None
    dropoff_eta_s: float | None
    reason: str | None
    change: PlanChange = NO_CHANGE
    moved: tuple[Moved, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A trip's pickup and drop-off snapped to drive-graph nodes, with their travel rows (None if a snap failed)."""

    nodes: list[int]
    rows: NodeRows | None
    reason: str | None


@dataclass(frozen=True)
class StoredTrip:
    """What :meth:`DispatchDesk.restore` needs of a stored, not cancelled trip (window in seconds after midnight)."""

    id: str
    pickup: LonLat
    dropoff: LonLat
    window_s: tuple[float, float, float | None]
    wheelchair: bool
    companions: int
    operator: str | None
    reason: str | None


def _request(trip_id: str, pick: int, drop: int, window_s: tuple[float, float, float | None], wheelchair: bool,
             companions: int, operator: str | None) -> TripRequest:
    service = SERVICE_PICKUP_WHEELCHAIR_S if wheelchair else SERVICE_WALKING_S
    return TripRequest(trip_id, pick, drop, window_s[0], window_s[1], window_s[2], None, wheelchair, companions,
                       service, service, operator=operator)


RESTORE_SLACK_S: float = 86400.0  # restoring a route that ran late: windows and shift may stretch this far (a day)


def _late_route(data: ProblemData, requests: dict[str, TripRequest], vehicle, empty: Route,  # noqa: ANN001 - Vehicle
                sequence: list[tuple[TripRequest, str]]) -> Route | None:
    """A stored route that no longer fits the requested windows and the vehicle as booked, rescheduled as the live
    plan had it: the street ran late (late pickups, riders driven home late, overtime, a break given up). Times are
    those of the stored order with pickups as late, rides as long and the shift as long as needed, no break; the
    windows of ``requests`` on it are widened to those times (a late plan is a fact, as a performed late stop). The
    vehicle's own limits are settled after the replay (``routing.operations.OperatingPlan.settle``)."""
    ids = {r.id for r, _ in sequence}
    relaxed = {k: replace(r, latest_pickup_s=r.latest_pickup_s + RESTORE_SLACK_S, latest_dropoff_s=None,
                          max_ride_s=np.inf) if k in ids else r for k, r in requests.items()}
    stretched = replace(vehicle, shift_end_s=vehicle.shift_end_s + RESTORE_SLACK_S, break_s=0.0)
    route = reschedule(data, relaxed, stretched, empty, [(relaxed[r.id], kind) for r, kind in sequence], None)
    if route is None:
        return None
    at = {(s.request_id, s.kind): s.time_s for s in route.stops}
    for trip_id in ids:
        r, pickup, dropoff = requests[trip_id], at[(trip_id, "pickup")], at[(trip_id, "dropoff")]
        requests[trip_id] = replace(r, latest_pickup_s=max(r.latest_pickup_s, pickup),
                                    latest_dropoff_s=None if r.latest_dropoff_s is None else max(r.latest_dropoff_s, dropoff),
                                    max_ride_s=max(data.max_ride(r), dropoff - pickup - r.service_pickup_s))
    return route


class DispatchDesk:
    """Live plans per service day for the whole fleet, one lock per day.

    Parameters
    ----------
    fleet
        The vehicles (``data.fleet`` schema), depots in UTM 43N.
    workers
        Worker processes for the travel rows (``api.travel_rows.RowService``); 0: in the request thread.
    """

    def __init__(self, fleet: gpd.GeoDataFrame, workers: int = 0) -> None:
        self.graph = profile_graph("drive")
        self.rows = RowService(workers)
        self._to_utm = Transformer.from_crs(WGS84, UTM43N, always_xy=True)
        self._to_wgs84 = Transformer.from_crs(UTM43N, WGS84, always_xy=True)
        depots = fleet.drop_duplicates("depot_id").reset_index(drop=True)
        self._depot_nodes, _ = snap(self.graph, depots.geometry.x.to_numpy(), depots.geometry.y.to_numpy())
        self._vehicles = vehicles_from_fleet(fleet, {d: i for i, d in enumerate(depots["depot_id"])})
        self._depot_matrix = self.rows.matrices([int(n) for n in self._depot_nodes])
        self.operator_of = {v.id: v.operator for v in self._vehicles}
        self._days_lock = threading.Lock()
        self._locks: dict[dt.date, threading.RLock] = {}
        self._plans: dict[dt.date, LivePlan] = {}
        self._nodes: dict[dt.date, list[int]] = {}
        self._versions: dict[dt.date, int] = {}
        self._where: dict[str, tuple[dt.date, int, int]] = {}  # trip id -> (day, pickup point, drop-off point)

    # ------------------------------------------------------------------ days
    def lock(self, day: dt.date) -> threading.RLock:
        """The lock of one service day: plan changes and their database writes happen under it."""
        with self._days_lock:
            return self._locks.setdefault(day, threading.RLock())

    def plan(self, day: dt.date) -> LivePlan:
        """The live plan of ``day`` (created empty, with the depots as its first points)."""
        with self.lock(day):
            if day not in self._plans:
                self._start_plan(day, [int(n) for n in self._depot_nodes], *self._depot_matrix, (), Solution((), {}))
            return self._plans[day]

    def _start_plan(self, day: dt.date, nodes: list[int], duration: np.ndarray, distance: np.ndarray,
                    requests: Sequence[TripRequest], solution: Solution) -> LivePlan:
        data = ProblemData(self._vehicles, tuple(requests), duration, distance, operators=frozenset(OPERATORS))
        self._plans[day] = OperatingPlan(data, solution, SolveParams())
        self._nodes[day] = nodes
        self._versions.setdefault(day, 0)
        return self._plans[day]

    def changed(self, day: dt.date, vehicles: Sequence[str]) -> PlanChange:
        """Record a change of ``day``'s plan (call under its lock): the new version and the routes of ``vehicles``."""
        with self.lock(day):
            self._versions[day] = self._versions.get(day, 0) + 1
            return PlanChange(self._versions[day], {v: self.route_stops(day, v) for v in vehicles})

    # ---------------------------------------------------------------- trips
    def _snap(self, pickup: LonLat, dropoff: LonLat) -> tuple[list[int], str | None]:
        """The drive-graph nodes of a trip's two points, or the reason one lies too far from a road."""
        x, y = self._to_utm.transform(np.array([pickup[0], dropoff[0]]), np.array([pickup[1], dropoff[1]]))
        nodes, snap_m = snap(self.graph, np.asarray(x), np.asarray(y))
        for end, distance in zip(("pickup", "dropoff"), snap_m):
            if distance > MAX_SNAP_M:
                return [], f"{end} lies {distance:.0f} m from the nearest drivable road (limit {MAX_SNAP_M:.0f} m)"
        return [int(n) for n in nodes], None

    def prepare(self, pickup: LonLat, dropoff: LonLat) -> Prepared:
        """Snap a trip's two points and compute their travel rows (no lock held; the slow part of a booking)."""
        nodes, reason = self._snap(pickup, dropoff)
        return Prepared(nodes, self.rows.rows(nodes) if nodes else None, reason)

    def place(self, trip_id: str, day: dt.date, prepared: Prepared, window_s: tuple[float, float, float | None],
              wheelchair: bool, companions: int, operator: str | None, now_s: float) -> Placement:
        """Insert a prepared trip (window in seconds after midnight) into the day's plan."""
        if prepared.rows is None:
            return Placement(None, operator, None, None, prepared.reason)
        with self.lock(day):
            plan, nodes = self.plan(day), self._nodes[day]
            pick, drop = plan.add_points(*prepared.rows.for_plan(nodes, prepared.nodes))
            nodes.extend(prepared.nodes)
            outcome = plan.insert(_request(trip_id, pick, drop, window_s, wheelchair, companions, operator), now_s)
            self._where[trip_id] = (day, pick, drop)
            if isinstance(outcome, str):
                return Placement(None, operator, None, None, outcome)
            return self._placement(outcome, trip_id, self.changed(day, [r.vehicle_id for r in outcome.routes()]))

    def _placement(self, insertion: Insertion, trip_id: str, change: PlanChange) -> Placement:
        times: dict[str, dict[str, float]] = {}
        owner: dict[str, str] = {}
        for route in insertion.routes():
            for stop in route.stops:
                times.setdefault(stop.request_id, {})[stop.kind] = stop.time_s
                owner[stop.request_id] = route.vehicle_id
        moved = tuple(Moved(k, owner[k], self.operator_of[owner[k]], times[k]["pickup"], times[k]["dropoff"])
                      for k in insertion.moved_requests)
        return Placement(insertion.vehicle_id, self.operator_of[insertion.vehicle_id], times[trip_id]["pickup"],
                         times[trip_id]["dropoff"], None, change, moved)

    def vehicle_of(self, trip_id: str) -> str | None:
        """The vehicle whose route holds ``trip_id`` now, or None."""
        where = self._where.get(trip_id)
        if where is None:
            return None
        return next((r.vehicle_id for r in self.plan(where[0]).solution().routes
                     if any(s.request_id == trip_id for s in r.stops)), None)

    def cancel(self, trip_id: str, now_s: float) -> PlanChange:
        """Cancel a trip in its day's plan; returns the changed route (none if it had no vehicle).

        Raises
        ------
        ValueError
            Its pickup is under way or done.
        """
        where = self._where.get(trip_id)
        if where is None:
            return NO_CHANGE
        with self.lock(where[0]):
            vehicle = self.vehicle_of(trip_id)
            self.plan(where[0]).cancel(trip_id, now_s)
            return self.changed(where[0], [vehicle] if vehicle else [])

    def route_stops(self, day: dt.date, vehicle_id: str) -> list[list[str]]:
        """A vehicle's current stops on ``day`` in driving order, as ``[trip_id, kind]`` pairs (what storage keeps)."""
        return [[s.request_id, s.kind] for s in self.plan(day).route(vehicle_id).stops]

    # -------------------------------------------------------------- restore
    def restore(self, day: dt.date, trips: Sequence[StoredTrip], routes: dict[str, list[list[str]]], version: int) -> PlanChange:
        """Rebuild ``day``'s plan from stored trips and stored vehicle routes (of plan ``version``).

        Each stored route is rescheduled in its stored order; trips in no
        stored route stay unserved with their stored reason, except those
        never placed, which are inserted afresh. Returns every route of the
        restored plan, as a change after ``version``.
        """
        with self.lock(day):
            self._versions[day] = version
            snapped = [(t, self._snap(t.pickup, t.dropoff)[0]) for t in trips]
            placed = [(t, nodes) for t, nodes in snapped if nodes]
            nodes = [int(n) for n in self._depot_nodes] + [n for _, pair in placed for n in pair]
            duration, distance = self.rows.matrices(nodes)
            requests = {t.id: _request(t.id, len(self._depot_nodes) + 2 * k, len(self._depot_nodes) + 2 * k + 1,
                                       t.window_s, t.wheelchair, t.companions, t.operator)
                        for k, (t, _) in enumerate(placed)}
            data = ProblemData(self._vehicles, tuple(requests.values()), duration, distance, operators=frozenset(OPERATORS))
            kept, in_routes = [], set()
            for vehicle in self._vehicles:
                sequence = [(requests[trip_id], kind) for trip_id, kind in routes.get(vehicle.id, []) if trip_id in requests]
                empty = Route(vehicle.id, vehicle.shift_start_s, vehicle.shift_start_s, ())
                route = reschedule(data, requests, vehicle, empty, sequence, None) if sequence else None
                if route is None and sequence:  # the street ran late: the stored route is what the plan had
                    route = _late_route(data, requests, vehicle, empty, sequence)
                if route is not None:
                    kept.append(route)
                    in_routes |= {r.id for r, _ in sequence}
            stored_reason = {t.id: t.reason for t, _ in placed}
            unserved = {k: stored_reason[k] for k in requests if k not in in_routes and stored_reason[k]}
            again = [k for k in requests if k not in in_routes and k not in unserved]
            plan = self._start_plan(day, nodes, duration, distance,
                                    [r for k, r in requests.items() if k not in again], Solution(tuple(kept), unserved))
            for trip_id, request in requests.items():
                self._where[trip_id] = (day, request.pickup, request.dropoff)
            for trip_id in again:
                plan.insert(requests[trip_id], -math.inf)
            return self.changed(day, list(self.operator_of))

    # ---------------------------------------------------------------- reads
    def current(self, trip_id: str) -> tuple[str, float, float] | None:
        """(vehicle, pickup ETA s, drop-off ETA s) of a trip in its day's current plan, or None."""
        vehicle = self.vehicle_of(trip_id)
        if vehicle is None:
            return None
        times = {s.kind: s.time_s for s in self.plan(self._where[trip_id][0]).route(vehicle).stops if s.request_id == trip_id}
        return vehicle, times["pickup"], times["dropoff"]

    def assignments(self, day: dt.date) -> dict[str, tuple[str, float, float]]:
        """Trip id -> (vehicle, pickup ETA s, drop-off ETA s) for the day's current plan (none for a day without one)."""
        out: dict[str, tuple[str, float, float]] = {}
        if day not in self._plans:
            return out
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
        lon, lat = self._to_wgs84.transform(xy[:, 0], xy[:, 1])
        out = []
        for route in plan.solution().routes:
            if operator is not None and self.operator_of[route.vehicle_id] != operator:
                continue
            features = []
            for order, stop in enumerate(route.stops, start=1):
                point = requests[stop.request_id].point(stop.kind)
                features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                    round(float(lon[point]), 6), round(float(lat[point]), 6)]},
                    "properties": {"stop": order, "trip_id": stop.request_id, "kind": stop.kind, "time_s": round(stop.time_s, 1)}})
            if len(features) > 1:
                features.append({"type": "Feature", "properties": {"kind": "path"}, "geometry": {
                    "type": "LineString", "coordinates": [f["geometry"]["coordinates"] for f in features]}})
            out.append({"vehicle_id": route.vehicle_id, "operator": self.operator_of[route.vehicle_id],
                        "route": {"type": "FeatureCollection", "features": features}})
        return out

    def close(self) -> None:
        """Stop the travel-row workers."""
        self.rows.close()
