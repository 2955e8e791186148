"""Benchmark parsers: counts, windows and pairing; the published best routes pass our checker at their cost."""

from __future__ import annotations

import pytest

from darp_instances import FIXTURES
from routing.checker import check_solution
from routing.literature import read_cordeau, read_cordeau_solution, read_lilim, read_sintef_solution
from routing.solution import solution_cost
from routing.solver import SolveParams, solve

A2_16_OPTIMUM: float = 294.248
LC101_BEST: tuple[int, float] = (10, 828.9369)


def test_cordeau_instance_parses_with_the_right_counts_and_windows() -> None:
    data = read_cordeau(FIXTURES / "a2-16.txt")
    assert len(data.vehicles) == 2 and len(data.requests) == 16
    assert data.max_route_duration_s == 480 and all(data.max_ride(r) == 30 for r in data.requests)
    assert {v.seats for v in data.vehicles} == {3} and {r.seat_load for r in data.requests} == {1}
    first = data.requests[0]  # row 1 (pickup, no window) pairs with row 17 (drop-off, window [402, 417])
    assert (first.pickup, first.dropoff) == (1, 17)
    assert (first.earliest_pickup_s, first.latest_pickup_s) == (0, 480)
    assert (first.earliest_dropoff_s, first.latest_dropoff_s) == (402, 417)
    assert data.duration_s[0, 1] == pytest.approx((1.198**2 + 5.164**2) ** 0.5)


def test_cordeau_instance_solves_near_its_optimum() -> None:
    data = read_cordeau(FIXTURES / "a2-16.txt")
    result = solve(data, SolveParams(cost="distance", time_limit_s=3))
    assert check_solution(data, result.solution) == []
    assert not result.unserved
    assert result.total_distance_m <= A2_16_OPTIMUM * 1.02


def test_lilim_instance_pairs_by_the_pickup_and_delivery_fields() -> None:
    data = read_lilim(FIXTURES / "lc101.txt")
    assert len(data.vehicles) == 25 and {v.seats for v in data.vehicles} == {200}
    assert len(data.requests) == 53
    request = data.request_index()["11"]  # node 11 picks up 10 units delivered at node 1
    assert (request.pickup, request.dropoff, request.seat_load) == (11, 1, 10)
    assert (request.earliest_dropoff_s, request.latest_dropoff_s) == (912, 967)
    assert data.vehicles[0].shift_end_s == 1236


def test_published_lilim_routes_are_feasible_for_our_checker_at_their_cost() -> None:
    data = read_lilim(FIXTURES / "lc101.txt")
    best = read_sintef_solution(FIXTURES / "lc101.bks.txt", data)
    assert check_solution(data, best) == []
    cost = solution_cost(data, best)
    assert (cost["vehicles_used"], cost["distance"]) == pytest.approx(LC101_BEST, abs=1e-4)


def test_pr_instance_header_counts_nodes_not_requests() -> None:
    data = read_cordeau(FIXTURES / "pr01.txt")  # header "3 48 480 6 90": 48 nodes, 24 requests
    assert len(data.vehicles) == 3 and len(data.requests) == 24
    assert data.max_route_duration_s == 480 and {v.seats for v in data.vehicles} == {6}
    assert {(v.shift_start_s, v.shift_end_s) for v in data.vehicles} == {(0, 1440)}
    assert all(data.max_ride(r) == 90 for r in data.requests)
    assert (data.requests[0].pickup, data.requests[0].dropoff) == (1, 25)


def test_published_2003_pr_solution_passes_our_checker_at_its_cost() -> None:
    data = read_cordeau(FIXTURES / "pr01.txt")
    solution, stated_cost = read_cordeau_solution(FIXTURES / "pr01.res", data)
    assert check_solution(data, solution) == []
    assert not solution.unserved
    assert solution_cost(data, solution)["distance"] == pytest.approx(stated_cost, abs=0.01)
