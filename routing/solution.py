"""Dispatch solutions: per vehicle an ordered list of timed stops, plus unserved requests; their cost."""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.problem import ProblemData, StopKind

__all__ = ["Route", "Solution", "Stop", "StopKind", "route_distance", "solution_cost", "stop_points"]


@dataclass(frozen=True)
class Stop:
    """A pickup or drop-off with the start of its service (seconds)."""

    request_id: str
    kind: StopKind
    time_s: float


@dataclass(frozen=True)
class Route:
    """One vehicle's tour: leaves its depot at ``start_s``, returns at ``end_s`` (seconds)."""

    vehicle_id: str
    start_s: float
    end_s: float
    stops: tuple[Stop, ...]


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
    requests = data.request_index()
    depot = data.vehicle_index()[route.vehicle_id].depot
    return [depot, *[requests[s.request_id].point(s.kind) for s in route.stops], depot]


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
