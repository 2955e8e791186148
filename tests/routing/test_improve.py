"""Ruin and recreate: empties routes that cost a fixed price, reaches the brute-force optimum, keeps locks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from darp_instances import assert_locks_kept, brute_force_distance, line_problem
from routing.checker import check_solution
from routing.improve import Costs, improve
from routing.schedule import schedule
from routing.cost import Pricing
from routing.solution import Route, Solution, solution_cost
from routing.solver import NOT_FITTED_REASON

PENALTY: float = 1e7


def one_request_per_vehicle(n_requests: int, seed: int) -> tuple:
    """A line problem with as many vehicles as requests, each vehicle carrying one request."""
    data = line_problem(n_requests, seed, vehicles=n_requests)
    routes = tuple(schedule(data, v, [(r, "pickup"), (r, "dropoff")]) for v, r in zip(data.vehicles, data.requests))
    assert all(routes)
    return data, Solution(routes)


def test_fixed_vehicle_cost_empties_routes_and_stays_feasible() -> None:
    data, start = one_request_per_vehicle(6, seed=2)
    costs = Costs(Pricing("distance", vehicle_fixed_cost=50_000.0), PENALTY)
    better = improve(data, start, costs, time_limit_s=1.0, unserved_reason=NOT_FITTED_REASON)
    assert check_solution(data, better) == []
    assert not better.unserved
    assert solution_cost(data, better)["vehicles_used"] < solution_cost(data, start)["vehicles_used"]


@pytest.mark.parametrize("seed", [0, 1])
def test_reaches_the_brute_force_optimum_from_a_poor_start(seed: int) -> None:
    data, start = one_request_per_vehicle(4, seed)
    data = replace(data, vehicles=data.vehicles[:2])
    start = Solution(start.routes[:2], {r.id: NOT_FITTED_REASON for r in data.requests[2:]})
    costs = Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY)
    best = improve(data, start, costs, time_limit_s=1.0, unserved_reason=NOT_FITTED_REASON)
    assert check_solution(data, best) == []
    assert not best.unserved  # the two left-out requests were inserted
    assert solution_cost(data, best)["distance"] == pytest.approx(brute_force_distance(data))


def test_unserved_requests_with_another_reason_are_left_alone() -> None:
    data, start = one_request_per_vehicle(3, seed=4)
    start = Solution(start.routes[:2] + (Route(data.vehicles[2].id, 0.0, 0.0, ()),),
                     {data.requests[2].id: "cancelled"})
    costs = Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY)
    result = improve(data, start, costs, time_limit_s=0.3, unserved_reason=NOT_FITTED_REASON)
    assert result.unserved == {data.requests[2].id: "cancelled"}
    assert data.requests[2].id not in result.served_ids()


def test_stops_under_way_stay_where_they_are() -> None:
    data, start = one_request_per_vehicle(5, seed=6)
    now = min(r.stops[0].time_s for r in start.routes) + 1.0  # the earliest pickup has started
    costs = Costs(Pricing("distance", vehicle_fixed_cost=50_000.0), PENALTY)
    result = improve(data, start, costs, time_limit_s=0.5, unserved_reason=NOT_FITTED_REASON, now_s=now)
    assert check_solution(data, result) == []
    assert_locks_kept(data, start, result, now)
