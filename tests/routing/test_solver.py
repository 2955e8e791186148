"""The OR-Tools solver on instances solvable by hand or brute force; every solution passes the checker."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from darp_instances import brute_force_distance, line_problem
from routing.checker import check_solution
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import solution_cost
from routing.solver import NOT_FITTED_REASON, NOT_REACHED_REASON, SolveParams, construct, objective, solve


@pytest.mark.parametrize(("seed", "vehicles"), [(0, 1), (1, 1), (2, 2)])
def test_solver_finds_the_brute_force_optimum(seed: int, vehicles: int) -> None:
    data = line_problem(3, seed, vehicles)
    result = solve(data, SolveParams(cost="distance", time_limit_s=1))
    assert check_solution(data, result.solution) == []
    assert not result.solution.unserved
    assert result.total_distance_m == pytest.approx(brute_force_distance(data), abs=1e-6)


def test_capacity_forces_two_trips_by_hand() -> None:
    """Two wheelchair users, one wheelchair place: the vehicle drops the first before taking the second."""
    xs = np.array([0.0, 100.0, 200.0, 110.0, 210.0])
    distance = np.abs(xs[:, None] - xs[None, :])
    requests = (TripRequest("a", 1, 2, 0, 1000, wheelchair=True), TripRequest("b", 3, 4, 0, 1000, wheelchair=True))
    data = ProblemData((Vehicle("v", "OP", 0, 0, 5000, 1, 3),), requests, distance, distance)
    result = solve(data, SolveParams(cost="distance", time_limit_s=1))
    assert check_solution(data, result.solution) == []
    kinds = [(s.request_id, s.kind) for s in result.solution.routes[0].stops]
    assert kinds[1] == (kinds[0][0], "dropoff")
    assert result.total_distance_m == pytest.approx(600.0)  # 0-100-200-110-210-0 beats 0-110-210-100-200-0 (620)


def test_unservable_requests_are_reported_and_the_rest_served() -> None:
    data = line_problem(3, 1)
    crowd = replace(data.requests[0], id="crowd", companions=5)
    late = replace(data.requests[1], id="late", earliest_pickup_s=0, latest_pickup_s=100)
    data = replace(data, requests=(*data.requests, crowd, late))
    result = solve(data, SolveParams(cost="distance", time_limit_s=1, now_s=500.0))
    assert check_solution(data, result.solution) == []
    assert set(result.unserved) == {"crowd", "late"}
    assert "more than any vehicle holds" in result.unserved["crowd"]
    assert "in the past" in result.unserved["late"]
    route = result.solution.routes[0]
    assert route.start_s >= 500.0  # nothing leaves before now


def test_too_many_requests_for_the_fleet_are_left_out_with_the_reason() -> None:
    """Ten simultaneous trips, one vehicle with one place and 10-minute windows: only some fit."""
    data = line_problem(10, 5)
    tight = tuple(replace(r, wheelchair=True, earliest_pickup_s=600.0, latest_pickup_s=1200.0) for r in data.requests)
    data = replace(data, requests=tight)
    result = solve(data, SolveParams(cost="distance", time_limit_s=1))
    assert check_solution(data, result.solution) == []
    assert 0 < result.served < 10
    assert set(result.unserved.values()) == {NOT_FITTED_REASON}


def test_result_figures_match_the_independent_cost() -> None:
    data = line_problem(6, 3, vehicles=2)
    params = SolveParams(time_limit_s=1, cost="duration")
    result = solve(data, params)
    cost = solution_cost(data, result.solution)
    assert result.total_distance_m == pytest.approx(cost["distance"])
    assert result.total_duration_s == pytest.approx(cost["driving_time"])
    assert result.vehicle_hours == pytest.approx(cost["vehicle_time"] / 3600)
    assert result.served == 6 and result.runtime_s <= 5
    assert result.objective == pytest.approx(objective(data, result.solution, params))
    assert result.objective == pytest.approx(cost["driving_time"])


def test_vehicle_fixed_cost_minimises_vehicles_first() -> None:
    data = line_problem(4, 6, vehicles=3)
    loose = replace(data, requests=tuple(replace(r, wheelchair=False) for r in data.requests))
    free = solve(loose, SolveParams(cost="distance", time_limit_s=1))
    fixed = solve(loose, SolveParams(cost="distance", time_limit_s=1, vehicle_fixed_cost=1e6))
    assert fixed.vehicles_used == 1 <= free.vehicles_used
    assert check_solution(loose, fixed.solution) == []


def test_operator_balancing_spreads_work_over_the_fleet() -> None:
    data = line_problem(6, 7, vehicles=2)
    data = replace(data, vehicles=(data.vehicles[0], replace(data.vehicles[1], operator="OTHER")),
                   operators=frozenset({"OP", "OTHER"}))
    data = replace(data, requests=tuple(replace(r, wheelchair=False) for r in data.requests))
    balanced = solve(data, SolveParams(cost="distance", time_limit_s=1, balance_weight=1e5))
    assert check_solution(data, balanced.solution) == []
    assert [len(r.stops) for r in balanced.routes] == [6, 6]


def test_construction_by_insertion_is_improved_and_feasible() -> None:
    data = line_problem(8, 8, vehicles=2)
    result = solve(data, SolveParams(cost="distance", time_limit_s=1, construction="insertion"))
    assert check_solution(data, result.solution) == []
    assert result.served == 8


def test_the_start_stops_at_the_deadline() -> None:
    """A construction that runs past the deadline leaves the rest unserved; solve then skips OR-Tools (issue #14:
    the Almaty day took 7.5 s at a 5 s limit)."""
    data = line_problem(8, 8, vehicles=2)
    late = construct(data, list(data.requests), None, SolveParams().pricing, deadline=time.perf_counter() - 1.0)
    assert late.unserved == {r.id: NOT_REACHED_REASON for r in data.requests}
    on_time = construct(data, list(data.requests), None, SolveParams().pricing, deadline=time.perf_counter() + 60.0)
    assert on_time.unserved == {}
    result = solve(data, SolveParams(time_limit_s=1e-6, construction="insertion"))
    assert check_solution(data, result.solution) == []
    assert result.status == "CONSTRUCTED"  # no OR-Tools search, no improver: the limit had passed


def test_resolving_a_running_plan_keeps_locked_stops_and_never_worsens() -> None:
    data = line_problem(8, 9, vehicles=2)
    params = SolveParams(cost="distance", time_limit_s=1, construction="insertion")
    first = solve(data, replace(params, time_limit_s=0.1, metaheuristic="GREEDY_DESCENT"))
    now = sorted(s.time_s for r in first.routes for s in r.stops)[3]  # a few stops done
    again = solve(data, replace(params, now_s=now), current=first.solution)
    assert check_solution(data, again.solution) == []
    assert again.objective <= first.objective + 1e-6
    before = {r.vehicle_id: [s for s in r.stops if s.time_s <= now] for r in first.routes}
    for route in again.routes:
        assert list(route.stops[: len(before[route.vehicle_id])]) == before[route.vehicle_id]
