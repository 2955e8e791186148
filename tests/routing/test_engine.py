"""The dial-a-ride engine on instances checkable by hand or brute force; every solution passes the checker."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from routing.checker import check_solution
from routing.insertion import LivePlan
from routing.literature import read_cordeau
from routing.problem import ProblemData, TripRequest, Vehicle, unservable_reasons
from routing.schedule import schedule
from routing.solution import Route, Solution, Stop, solution_cost
from routing.solver import SolveParams, solve

FIXTURES = Path(__file__).parent / "fixtures"


def line_problem(n_requests: int = 3, seed: int = 0, vehicles: int = 1) -> ProblemData:
    """Points on a line (x metres, 10 m/s), depot at 0; requests with loose windows."""
    rng = np.random.default_rng(seed)
    xs = np.concatenate([[0.0], rng.uniform(-3000, 3000, 2 * n_requests)])
    distance = np.abs(xs[:, None] - xs[None, :])
    requests = [TripRequest(f"r{k}", 1 + 2 * k, 2 + 2 * k, 0.0, 3600.0, wheelchair=bool(k % 2), service_pickup_s=60,
                            service_dropoff_s=60, max_ride_s=3000.0) for k in range(n_requests)]
    fleet = [Vehicle(f"v{i}", "OP", 0, 0.0, 7200.0, 1, 2) for i in range(vehicles)]
    return ProblemData(tuple(fleet), tuple(requests), distance / 10.0, distance)


def brute_force_distance(data: ProblemData) -> float:
    vehicle = data.vehicles[0]
    stops = [(r, k) for r in data.requests for k in ("pickup", "dropoff")]
    best = np.inf
    for order in itertools.permutations(stops):
        picked, valid = set(), True
        for r, k in order:
            if k == "pickup":
                picked.add(r.id)
            elif r.id not in picked:
                valid = False
                break
        if not valid:
            continue
        route = schedule(data, vehicle, list(order))
        if route is not None:
            best = min(best, solution_cost(data, Solution((route,)))["distance"])
    return best


@pytest.mark.parametrize("seed", range(3))
def test_solver_finds_the_brute_force_optimum(seed: int) -> None:
    data = line_problem(3, seed)
    result = solve(data, SolveParams(time_limit_s=2, cost="distance"))
    assert check_solution(data, result.solution) == []
    assert not result.solution.unserved
    assert solution_cost(data, result.solution)["distance"] == pytest.approx(brute_force_distance(data), abs=1e-6)


def test_capacity_forces_two_trips_by_hand() -> None:
    """Two wheelchair users, one wheelchair place: the vehicle must drop the first before taking the second."""
    xs = np.array([0.0, 100.0, 200.0, 110.0, 210.0])
    distance = np.abs(xs[:, None] - xs[None, :])
    requests = (TripRequest("a", 1, 2, 0, 1000, wheelchair=True), TripRequest("b", 3, 4, 0, 1000, wheelchair=True))
    data = ProblemData((Vehicle("v", "OP", 0, 0, 5000, 1, 3),), requests, distance, distance)
    result = solve(data, SolveParams(time_limit_s=1, cost="distance"))
    assert check_solution(data, result.solution) == []
    kinds = [(s.request_id, s.kind) for s in result.solution.routes[0].stops]
    for first, second in (("a", "b"), ("b", "a")):
        if kinds[0] == (first, "pickup"):
            assert kinds[1] == (first, "dropoff")
    # 0-100-200-110-210-0 = 600 m beats 0-110-210-100-200-0 = 620 m
    assert solution_cost(data, result.solution)["distance"] == pytest.approx(600.0)


def test_infeasible_requests_are_reported_with_reasons() -> None:
    data = line_problem(3, 1)
    crowd = replace(data.requests[0], id="crowd", companions=5)
    late = replace(data.requests[1], id="late", earliest_pickup_s=0, latest_pickup_s=100)
    rushed = replace(data.requests[2], id="rushed", latest_dropoff_s=1.0, earliest_pickup_s=0.0)
    data = replace(data, requests=(*data.requests, crowd, late, rushed))
    reasons = unservable_reasons(data, now_s=500.0)
    assert "more than any vehicle holds" in reasons["crowd"]
    assert "in the past" in reasons["late"]
    assert "misses the latest drop-off" in reasons["rushed"]
    result = solve(data, SolveParams(time_limit_s=1, now_s=500.0))
    assert check_solution(data, result.solution) == []
    assert set(result.solution.unserved) >= {"crowd", "late", "rushed"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: replace(r, latest_pickup_s=-5.0), "inverted window"),
        (lambda r: replace(r, latest_dropoff_s=0.0), "drop-off before pickup"),
        (lambda r: replace(r, dropoff=99), "outside the matrix"),
        (lambda r: replace(r, operator="GHOST"), "unknown operator 'GHOST'"),
    ],
)
def test_broken_requests_are_errors_naming_the_request(change, message: str) -> None:
    data = line_problem(2)
    with pytest.raises(ValueError, match=f"request 'r0'.*{message}"):
        replace(data, requests=(change(data.requests[0]), data.requests[1]))


def test_checker_catches_each_violation() -> None:
    data = line_problem(2, 2)
    good = solve(data, SolveParams(time_limit_s=1)).solution
    assert check_solution(data, good) == []
    route = good.routes[0]
    stops = list(route.stops)

    def broken(new_stops: list[Stop], **route_changes) -> Solution:
        return Solution((replace(route, stops=tuple(new_stops), **route_changes),), good.unserved)

    pick = next(k for k, s in enumerate(stops) if s.kind == "pickup")
    early = stops.copy()
    early[pick] = replace(stops[pick], time_s=stops[pick].time_s - 10_000)
    assert any("before it can arrive" in p or "outside its window" in p for p in check_solution(data, broken(early)))
    swapped = [s for s in stops if s.kind == "dropoff"][:1] + stops
    assert any("before (or without) its pickup" in p for p in check_solution(data, broken(swapped)))
    assert any("after its shift ends" in p for p in check_solution(data, broken(stops, end_s=1e6)))
    missing = Solution((replace(route, stops=()),), {})
    assert any("neither served nor listed unserved" in p for p in check_solution(data, missing))
    twice = Solution((route, route), good.unserved)
    assert any("used by two routes" in p for p in check_solution(data, twice))
    tight = replace(data, requests=tuple(replace(r, max_ride_s=1.0) for r in data.requests))
    assert any("exceeds the maximum" in p for p in check_solution(tight, good))
    small = replace(data, vehicles=(replace(data.vehicles[0], seats=0),))
    assert any("over capacity" in p or "cannot carry" in p for p in check_solution(small, good))


def test_insertion_is_the_brute_force_cheapest_and_honours_locks() -> None:
    data = line_problem(5, 3, vehicles=2)
    new = data.requests[-1]
    base = replace(data, requests=data.requests[:-1])
    plan = LivePlan(base, solve(base, SolveParams(time_limit_s=1)).solution)
    now = min(s.time_s for r in plan.routes.values() for s in r.stops) + 1.0  # the first stop has started
    best = np.inf
    for vehicle in data.vehicles:
        seq = plan.sequence(vehicle.id)
        locked = plan.locked_count(vehicle.id, now)
        points = [vehicle.depot, *[r.pickup if k == "pickup" else r.dropoff for r, k in seq], vehicle.depot]
        old = sum(data.duration_s[a, b] for a, b in zip(points[:-1], points[1:]))
        for i in range(locked, len(seq) + 1):
            for j in range(i, len(seq) + 1):
                order = seq[:i] + [(new, "pickup")] + seq[i:j] + [(new, "dropoff")] + seq[j:]
                fixed = {k: plan.routes[vehicle.id].stops[k].time_s for k in range(locked)}
                if schedule(plan.data, vehicle, order, locked=fixed, not_before_s=now) is None:
                    continue
                pts = [vehicle.depot, *[r.pickup if k == "pickup" else r.dropoff for r, k in order], vehicle.depot]
                best = min(best, sum(data.duration_s[a, b] for a, b in zip(pts[:-1], pts[1:])) - old)
    first_stops = {v: plan.routes[v].stops[: plan.locked_count(v, now)] for v in plan.routes}
    result = plan.add_request(new, now)
    assert result.added_s == pytest.approx(best)
    assert check_solution(plan.data, plan.solution()) == []
    for vehicle_id, locked in first_stops.items():
        assert plan.routes[vehicle_id].stops[: len(locked)] == locked  # locked stops unchanged, nothing before them


def test_cancel_and_reoptimise_keep_the_plan_feasible() -> None:
    data = line_problem(6, 4, vehicles=2)
    plan = LivePlan(data, solve(data, SolveParams(time_limit_s=1)).solution)
    target = next(s.request_id for r in plan.routes.values() for s in r.stops)
    plan.cancel(target, now_s=0.0)
    assert plan.solution().unserved[target] == "cancelled"
    assert target not in plan.solution().served_ids()
    plan.reoptimise(time_limit_s=1, now_s=0.0)
    assert check_solution(plan.data, plan.solution()) == []
    with pytest.raises(KeyError):
        plan.cancel("nope", 0.0)


def test_cordeau_instance_parses_and_solves_near_optimum() -> None:
    data = read_cordeau(FIXTURES / "a2-16.txt")
    assert len(data.vehicles) == 2 and len(data.requests) == 16
    assert data.max_route_duration_s == 480 and data.max_ride(data.requests[0]) == 30
    result = solve(data, SolveParams(time_limit_s=3, cost="distance", scale=1000))
    assert check_solution(data, result.solution) == []
    assert not result.solution.unserved
    assert solution_cost(data, result.solution)["distance"] <= 294.248 * 1.05  # best known: 294.248


def test_schedule_rejects_dropoff_before_pickup() -> None:
    data = line_problem(1)
    request = data.requests[0]
    assert schedule(data, data.vehicles[0], [(request, "dropoff"), (request, "pickup")]) is None
    assert isinstance(schedule(data, data.vehicles[0], [(request, "pickup"), (request, "dropoff")]), Route)
