"""Dispatch solutions: per vehicle an ordered list of timed stops, plus unserved requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


from routing.problem import ProblemData

StopKind = Literal["pickup", "dropoff"]


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
    """Routes of the used vehicles and the unserved requests with their reasons."""

    routes: tuple[Route, ...]
    unserved: dict[str, str] = field(default_factory=dict)

    def served_ids(self) -> set[str]:
        """Ids of the requests picked up in some route."""
        return {s.request_id for r in self.routes for s in r.stops if s.kind == "pickup"}


def stop_points(data: ProblemData, route: Route) -> list[int]:
    """Matrix indices visited by a route: depot, stops, depot."""
    requests = data.request_index()
    depot = data.vehicle_index()[route.vehicle_id].depot
    inner = [requests[s.request_id].pickup if s.kind == "pickup" else requests[s.request_id].dropoff for s in route.stops]
    return [depot, *inner, depot]


def route_distance(data: ProblemData, route: Route) -> float:
    """Distance driven on a route (matrix units, metres for Almaty)."""
    points = stop_points(data, route)
    return float(sum(data.distance_m[a, b] for a, b in zip(points[:-1], points[1:])))


def solution_cost(data: ProblemData, solution: Solution) -> dict[str, float]:
    """Total distance, total driving time and vehicle time (leave depot to return) of a solution."""
    distance = sum(route_distance(data, r) for r in solution.routes if r.stops)
    driving = 0.0
    for route in solution.routes:
        points = stop_points(data, route)
        driving += float(sum(data.duration_s[a, b] for a, b in zip(points[:-1], points[1:])))
    vehicle_time = float(sum(r.end_s - r.start_s for r in solution.routes if r.stops))
    return {"distance": float(distance), "driving_time": driving, "vehicle_time": vehicle_time,
            "vehicles_used": float(sum(1 for r in solution.routes if r.stops)), "served": float(len(solution.served_ids()))}


