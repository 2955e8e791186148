"""Drivers' breaks and route duration (solver, scheduler, checker), the tenge cost model by hand, seeded work limits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from darp_instances import line_problem
from routing.checker import check_solution
from routing.cost import (BUDGET_TG_YEAR, KM_PER_DAY, PAID_HOURS_PER_DAY, TENGE, VEHICLE_DAYS_PER_YEAR, CostModel,
                          Pricing, yearly_cost)
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Route, Solution, Stop
from routing.solver import SolveParams, solve

BREAK = {"break_earliest_s": 1800.0, "break_latest_s": 2400.0, "break_s": 900.0}


def with_breaks(data: ProblemData, max_route_s: float | None = None) -> ProblemData:
    """``data`` whose drivers take a 15-min break starting 30-40 min into the shift."""
    return replace(data, vehicles=tuple(replace(v, **BREAK) for v in data.vehicles), max_route_duration_s=max_route_s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solver_places_every_break_in_its_window_and_keeps_the_route_duration(seed: int) -> None:
    data = with_breaks(line_problem(8, seed, vehicles=3), max_route_s=4000.0)
    result = solve(data, SolveParams(cost="distance", time_limit_s=2))
    assert check_solution(data, result.solution) == []
    used = [r for r in result.routes if r.stops]
    assert used and len(result.solution.served_ids()) == 8
    vehicles = data.vehicle_index()
    for route in used:
        vehicle = vehicles[route.vehicle_id]
        assert vehicle.break_earliest_s <= route.break_start_s <= vehicle.break_latest_s
        assert route.end_s - route.start_s <= 4000.0 + 1e-6
        times = [route.start_s, *[s.time_s for s in route.stops], route.end_s]
        inside = 0 < route.break_after < len(route.stops)
        if inside:  # the gap around the break holds it
            assert times[route.break_after + 1] - times[route.break_after] >= vehicle.break_s


def test_a_break_is_taken_between_stops_with_nobody_on_board() -> None:
    # one request before the window and one after: the break falls between them, at the first drop-off
    xs = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    matrix = np.abs(xs[:, None] - xs[None, :])  # 1 m/s
    a = TripRequest("a", 1, 2, 100.0, 200.0, max_ride_s=500.0)
    b = TripRequest("b", 3, 4, 2500.0, 2600.0, max_ride_s=500.0)
    vehicle = Vehicle("v", "OP", 0, 0.0, 5000.0, 1, 2, 1000.0, 2000.0, 1200.0)
    data = ProblemData((vehicle,), (a, b), matrix, matrix)
    route = schedule(data, vehicle, [(a, "pickup"), (a, "dropoff"), (b, "pickup"), (b, "dropoff")])
    assert route is not None and route.break_after == 2
    assert 1000.0 <= route.break_start_s <= 2000.0
    assert check_solution(data, Solution((route,))) == []
    # with a break too long for the gap (2300 s) no schedule exists
    long_break = replace(vehicle, break_s=2300.0)
    data = replace(data, vehicles=(long_break,))
    assert schedule(data, long_break, [(a, "pickup"), (a, "dropoff"), (b, "pickup"), (b, "dropoff")]) is None


def test_checker_catches_breaks_and_route_duration() -> None:
    xs = np.array([0.0, 100.0, 200.0])
    matrix = np.abs(xs[:, None] - xs[None, :])
    a = TripRequest("a", 1, 2, 100.0, 200.0, max_ride_s=500.0)
    vehicle = Vehicle("v", "OP", 0, 0.0, 5000.0, 1, 2, 1000.0, 2000.0, 600.0)
    data = ProblemData((vehicle,), (a,), matrix, matrix, max_route_duration_s=400.0)
    stops = (Stop("a", "pickup", 100.0), Stop("a", "dropoff", 200.0))
    good = Route("v", 0.0, 400.0, stops, 1000.0, 2)  # break at the depot after returning
    assert check_solution(data, Solution((good,))) == []
    cases = {
        "no break": replace(good, break_start_s=None),
        "outside its window": replace(good, break_start_s=2100.0),
        "does not fit": replace(good, break_after=0, break_start_s=1000.0),  # before leaving, but it left at 0
        "passengers on board": replace(good, break_after=1, break_start_s=1000.0),
        "route lasts": replace(good, end_s=500.0, break_start_s=1000.0),
    }
    for expected, route in cases.items():
        problems = check_solution(data, Solution((route,)))
        assert any(expected in p for p in problems), (expected, problems)


def test_tenge_cost_of_a_two_vehicle_plan_by_hand() -> None:
    # two vehicles, metres and seconds on a line at 10 m/s
    xs = np.array([0.0, 3000.0, 9000.0, 6000.0])
    distance = np.abs(xs[:, None] - xs[None, :])
    duration = distance / 10.0
    model = CostModel(vehicle_day_tg=5000.0, driver_hour_tg=2600.0, km_tg=45.0, excess_ride_hour_tg=1300.0)
    a = TripRequest("a", 1, 2, 0.0, 10_000.0, service_pickup_s=60, service_dropoff_s=60, max_ride_s=5000.0)
    b = TripRequest("b", 3, 1, 0.0, 10_000.0, service_pickup_s=0, service_dropoff_s=0, max_ride_s=5000.0)
    v1 = Vehicle("v1", "OP", 0, 0.0, 20_000.0, 1, 2, 5000.0, 6000.0, 1800.0)
    v2 = Vehicle("v2", "OP", 0, 0.0, 20_000.0, 1, 2)
    data = ProblemData((v1, v2), (a, b), duration, distance)
    # v1: depot 0 -> a pickup (3 km, 300 s) at 1000, service 60, drive 600 s, waits, drops a at 2000 (direct 600:
    # ride 2000 - 1060 = 940, excess 340 s), back 900 s at 2960; break 1800 s inside the route after stop 1? no:
    # the route carries a break after the return (break_after = 2), so paid time is the whole 0 -> 2960.
    r1 = Route("v1", 700.0, 2960.0, (Stop("a", "pickup", 1000.0), Stop("a", "dropoff", 2000.0)), 5000.0, 2)
    # v2: depot -> b pickup (6 km, 600 s) at 600, to 3 km (300 s) at 900, back 300 s at 1200; ride 300 = direct
    r2 = Route("v2", 0.0, 1200.0, (Stop("b", "pickup", 600.0), Stop("b", "dropoff", 900.0)))
    plan = Solution((r1, r2))
    assert check_solution(data, plan) == []
    km = (3 + 6 + 9) + (6 + 3 + 3)
    paid_h = (2960 - 700) / 3600 + 1200 / 3600
    excess_h = 340 / 3600
    by_hand = 2 * 5000 + paid_h * 2600 + km * 45 + excess_h * 1300
    pricing = Pricing("tenge", model)
    requests = data.request_index()
    total = sum(pricing.route(data, requests, data.vehicle_index()[r.vehicle_id], r) for r in plan.routes)
    assert total == pytest.approx(by_hand)
    # a break taken between two stops is unpaid
    r3 = replace(r1, stops=r1.stops, break_after=1, break_start_s=1060.0)
    assert pricing.route(data, requests, v1, r3) == pytest.approx(
        5000 + (2960 - 700 - 1800) / 3600 * 2600 + 18 * 45 + excess_h * 1300)


def test_cost_model_is_calibrated_to_the_city_budget() -> None:
    assert yearly_cost(170) == pytest.approx(BUDGET_TG_YEAR, rel=1e-4)
    per_day = TENGE.vehicle_day_tg + PAID_HOURS_PER_DAY * TENGE.driver_hour_tg + KM_PER_DAY * TENGE.km_tg
    assert 170 * VEHICLE_DAYS_PER_YEAR * per_day == pytest.approx(1.6e9, rel=1e-4)
    assert TENGE.vehicle_day_tg > 0


def test_seed_and_work_limits_give_the_same_plan_twice() -> None:
    data = with_breaks(line_problem(10, 3, vehicles=3))
    params = SolveParams(cost="distance", time_limit_s=60, solution_limit=30, iterations=40, seed=5)
    first, second = solve(data, params), solve(data, params)
    assert first.routes == second.routes and first.unserved == second.unserved
    assert check_solution(data, first.solution) == []
