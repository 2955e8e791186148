"""Small dial-a-ride instances and brute-force optima for the engine tests."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from routing.insertion import route_points
from routing.locks import locked_count
from routing.problem import ProblemData, StopKind, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Route, Solution, solution_cost

FIXTURES = Path(__file__).parent / "fixtures"
SPEED_M_PER_S: float = 10.0

Order = list[tuple[TripRequest, StopKind]]


def line_positions(n_requests: int, seed: int) -> np.ndarray:
    """Positions in metres of the points of :func:`line_problem`: depot, then pickup and drop-off of each request."""
    return np.concatenate([[0.0], np.random.default_rng(seed).uniform(-3000, 3000, 2 * n_requests)])


def line_problem(n_requests: int = 3, seed: int = 0, vehicles: int = 1) -> ProblemData:
    """Points on a line (x metres, 10 m/s), depot at 0; loose windows; every other passenger in a wheelchair."""
    xs = line_positions(n_requests, seed)
    distance = np.abs(xs[:, None] - xs[None, :])
    requests = [TripRequest(f"r{k}", 1 + 2 * k, 2 + 2 * k, 0.0, 3600.0, wheelchair=bool(k % 2), service_pickup_s=60,
                            service_dropoff_s=60, max_ride_s=3000.0) for k in range(n_requests)]
    fleet = [Vehicle(f"v{i}", "OP", 0, 0.0, 7200.0, 1, 2) for i in range(vehicles)]
    return ProblemData(tuple(fleet), tuple(requests), distance / SPEED_M_PER_S, distance)


def narrow_windows(data: ProblemData, seed: int, spread_s: float, width_s: float, ride_factors: tuple[float, float],
                   ride_slack_s: float) -> ProblemData:
    """``data`` with random pickup windows (start uniform in [0, ``spread_s``], ``width_s`` wide) and maximum rides
    (a uniform factor in ``ride_factors`` x the direct time + ``ride_slack_s``)."""
    rng = np.random.default_rng(seed)
    requests = []
    for r in data.requests:
        start = float(rng.uniform(0, spread_s))
        requests.append(replace(r, earliest_pickup_s=start, latest_pickup_s=start + width_s,
                                max_ride_s=float(rng.uniform(*ride_factors) * data.direct_s(r) + ride_slack_s)))
    return replace(data, requests=tuple(requests))


def precedence_ok(order: Order) -> bool:
    """Whether every drop-off comes after its pickup."""
    picked: set[str] = set()
    for request, kind in order:
        if kind == "pickup":
            picked.add(request.id)
        elif request.id not in picked:
            return False
    return True


def feasible_routes(data: ProblemData, vehicle: Vehicle, requests: tuple[TripRequest, ...]) -> list[Route]:
    """Every feasible timed route of ``vehicle`` serving exactly ``requests``."""
    stops = [(r, k) for r in requests for k in ("pickup", "dropoff")]
    orders = [list(o) for o in itertools.permutations(stops) if precedence_ok(list(o))]
    return [route for o in orders if (route := schedule(data, vehicle, o)) is not None]


def brute_force_distance(data: ProblemData) -> float:
    """Least total distance serving every request: all assignments to vehicles and all stop orders."""
    best = np.inf
    for owners in itertools.product(range(len(data.vehicles)), repeat=len(data.requests)):
        total = 0.0
        for v, vehicle in enumerate(data.vehicles):
            mine = tuple(r for r, owner in zip(data.requests, owners) if owner == v)
            if mine:
                routes = feasible_routes(data, vehicle, mine)
                total += min((solution_cost(data, Solution((r,)))["distance"] for r in routes), default=np.inf)
        best = min(best, total)
    return best


def assert_locks_kept(data: ProblemData, before: Solution, after: Solution, now_s: float) -> None:
    """Every stop of ``before`` locked at ``now_s`` is still first in its route in ``after``, at the same time."""
    requests = data.request_index()
    for old, new in zip(before.routes, after.routes):
        vehicle = data.vehicle_index()[old.vehicle_id]
        locked = locked_count(old, route_points(requests, vehicle, old.stops), data.duration_s, now_s)
        assert new.stops[:locked] == old.stops[:locked]
