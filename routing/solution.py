"""Dispatch solutions: per vehicle an ordered list of timed stops, plus unserved requests; their cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from routing.problem import ProblemData, StopKind, TripRequest, Vehicle

__all__ = ["Route", "Solution", "Stop", "StopKind", "idle_route", "route_distance", "route_points", "solution_cost",
           "stop_points"]


@dataclass(frozen=True)
class Stop:
    """A pickup or drop-off with the start of its service (seconds)."""

    request_id: str
    kind: StopKind
    time_s: float


@dataclass(frozen=True)
class Route:
    """One vehicle's tour: leaves its depot at ``start_s``, returns at ``end_s`` (seconds).

    ``break_start_s`` is the start of the driver's break (None: no break) and
    ``break_after`` where it is taken: 0 at the depot before leaving, k (0 < k
    < number of stops) at stop k after its service with nobody on board, the
    number of stops at the depot after returning.
    """

    vehicle_id: str
    start_s: float
    end_s: float
    stops: tuple[Stop, ...]
    break_start_s: float | None = None
    break_after: int = 0


def idle_route(vehicle: Vehicle) -> Route:
    """The route of an unused vehicle (no stops, no break)."""
    return Route(vehicle.id, vehicle.shift_start_s, vehicle.shift_start_s, ())


def route_points(requests: Mapping[str, TripRequest], vehicle: Vehicle, stops: Sequence[Stop]) -> np.ndarray:
    """Matrix indices visited by a vehicle's stops: depot, each stop, depot."""
    return np.array([vehicle.depot, *[requests[s.request_id].point(s.kind) for s in stops], vehicle.depot], dtype=int)


@dataclass(frozen=True)
class Solution:
    """Routes of the vehicles and the unserved requests (id -> reason)."""

    routes: tuple[Route, ...]
    unserved: dict[str, str] = field(default_factory=dict)

    def served_ids(self) -> set[str]:
        """Ids of the requests picked up in some route."""
        return {s.request_id for r in self.routes for s in r.stops if s.kind == "pickup"}


def stop_points(data: ProblemData, route: Route) -> list[int]:
    """Matrix indices visited by a route: depot, stops, depot."""
    return route_points(data.request_index(), data.vehicle_index()[route.vehicle_id], route.stops).tolist()


def route_distance(data: ProblemData, route: Route) -> float:
    """Distance driven on a route in metres (0 for an unused vehicle)."""
    if not route.stops:
        return 0.0
    points = stop_points(data, route)
    return float(data.distance_m[points[:-1], points[1:]].sum())


def solution_cost(data: ProblemData, solution: Solution) -> dict[str, float]:
    """What a solution costs, computed from the matrices alone.

    Returns
    -------
    dict
        ``distance`` (metres driven), ``driving_time`` (seconds driven),
        ``vehicle_time`` (seconds from leaving the depot to returning, summed
        over used vehicles), ``vehicles_used`` and ``served`` (counts).
    """
    used = [r for r in solution.routes if r.stops]
    driving = 0.0
    for route in used:
        points = stop_points(data, route)
        driving += float(data.duration_s[points[:-1], points[1:]].sum())
    return {"distance": sum(route_distance(data, r) for r in used), "driving_time": driving,
            "vehicle_time": float(sum(r.end_s - r.start_s for r in used)),
            "vehicles_used": float(len(used)), "served": float(len(solution.served_ids()))}
