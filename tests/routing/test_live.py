"""Live plan: insertion equals the brute-force best, locks hold, cancel and re-optimisation keep it feasible."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from darp_instances import SPEED_M_PER_S, line_positions, line_problem
from routing.checker import check_solution
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Solution, route_points
from routing.cost import Pricing
from routing.live import CANCELLED_REASON, LivePlan
from routing.locks import locked_count
from routing.schedule import schedule
from routing.solver import SolveParams, construct, solve


def planned(n_requests: int, seed: int, vehicles: int, held_out: int = 1) -> tuple[LivePlan, list]:
    """A live plan of all but the last ``held_out`` requests, and those requests."""
    data = line_problem(n_requests, seed, vehicles)
    base = replace(data, requests=data.requests[:-held_out])
    params = SolveParams(cost="distance", time_limit_s=0.5)
    return LivePlan(base, solve(base, params).solution, params), list(data.requests[-held_out:])


def brute_force_insertion(plan: LivePlan, request, now: float) -> float:  # noqa: ANN001
    """Least added distance over every vehicle and every (pickup, drop-off) position after the locked stops."""
    data, requests = plan.problem(), plan.problem().request_index()
    best = np.inf
    for vehicle in data.vehicles:
        route = plan.route(vehicle.id)
        points = route_points(requests, vehicle, route.stops)
        locked = locked_count(route, points, data.duration_s, now)
        seq = [(requests[s.request_id], s.kind) for s in route.stops]
        old = data.distance_m[points[:-1], points[1:]].sum() if seq else 0.0
        for i in range(locked, len(seq) + 1):
            for j in range(i, len(seq) + 1):
                order = seq[:i] + [(request, "pickup")] + seq[i:j] + [(request, "dropoff")] + seq[j:]
                fixed = [s.time_s for s in route.stops[:locked]]
                timed = schedule(data, vehicle, order, fixed, route.start_s if locked else None, now)
                if timed is not None:
                    new = route_points({**requests, request.id: request}, vehicle, timed.stops)
                    best = min(best, data.distance_m[new[:-1], new[1:]].sum() - old)
    return best


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_insertion_is_the_brute_force_cheapest_and_honours_locks(seed: int) -> None:
    plan, (new,) = planned(6, seed, vehicles=2)
    now = min(s.time_s for v in plan.solution().routes for s in v.stops) + 1.0  # the first stop has started
    before = {r.vehicle_id: r for r in plan.solution().routes}
    best = brute_force_insertion(plan, new, now)
    insertion = plan.insert(new, now)
    assert insertion.added_cost == pytest.approx(best)
    assert check_solution(plan.problem(), plan.solution()) == []
    data = plan.problem()
    for vehicle in data.vehicles:
        old = before[vehicle.id]
        locked = locked_count(old, route_points(data.request_index(), vehicle, old.stops), data.duration_s, now)
        assert locked >= (1 if old.stops and old.stops[0].time_s <= now else 0)
        assert plan.route(vehicle.id).stops[:locked] == old.stops[:locked]  # kept, nothing inserted before them


def test_insertions_one_after_another_stay_the_brute_force_cheapest() -> None:
    """Routes grow past the compiled screen's first row capacity and idle vehicles get their first trips."""
    plan, held_out = planned(16, 8, vehicles=3, held_out=13)
    inserted = 0
    for request in held_out:
        best = brute_force_insertion(plan, request, now=0.0)
        outcome = plan.insert(request, 0.0)
        if np.isfinite(best):
            assert outcome.added_cost == pytest.approx(best, abs=1e-6)
            inserted += 1
        else:
            assert isinstance(outcome, str)
    assert inserted >= 10 and max(len(r.stops) for r in plan.solution().routes) > 16
    assert check_solution(plan.problem(), plan.solution()) == []


def test_unservable_and_duplicate_requests() -> None:
    plan, (new,) = planned(4, 1, vehicles=1)
    assert plan.insert(replace(new, id="past"), now_s=4000.0) == "pickup window is in the past"
    assert plan.solution().unserved["past"] == "pickup window is in the past"
    with pytest.raises(ValueError, match="request 'past': duplicate id"):
        plan.insert(replace(new, id="past"), now_s=0.0)
    with pytest.raises(ValueError, match="request 'broken': dropoff index 999"):
        plan.insert(replace(new, id="broken", dropoff=999), now_s=0.0)
    assert check_solution(plan.problem(), plan.solution()) == []


def test_cancel_removes_a_request_not_yet_under_way() -> None:
    plan, _ = planned(6, 4, vehicles=2, held_out=1)
    first = min((s for r in plan.solution().routes for s in r.stops), key=lambda s: s.time_s)
    later = max((s for r in plan.solution().routes for s in r.stops if s.kind == "pickup"), key=lambda s: s.time_s)
    now = first.time_s
    with pytest.raises(ValueError, match="already under way or done"):
        plan.cancel(first.request_id, now)
    plan.cancel(later.request_id, now)
    assert plan.solution().unserved[later.request_id] == CANCELLED_REASON
    assert later.request_id not in plan.solution().served_ids()
    assert check_solution(plan.problem(), plan.solution()) == []
    with pytest.raises(KeyError):
        plan.cancel("nope", now)


def test_reoptimise_improves_a_poor_plan_keeps_locks_and_cancellations() -> None:
    data = line_problem(10, 11, vehicles=3)
    poor = construct(data, list(reversed(data.requests)), None, Pricing("distance"))  # insertion in a poor order
    plan = LivePlan(data, poor, SolveParams(cost="distance"))
    cancelled = next(s.request_id for r in poor.routes for s in r.stops[2:] if s.kind == "pickup")
    now = min(s.time_s for r in poor.routes for s in r.stops) + 1.0
    plan.cancel(cancelled, now)
    outcome = plan.reoptimise_in_background(time_limit_s=1.0, now_s=now).result(timeout=30)
    assert outcome.applied and outcome.objective_after < outcome.objective_before
    assert outcome.served_after == outcome.served_before == 9
    solution = plan.solution()
    assert check_solution(plan.problem(), solution) == []
    assert solution.unserved == {cancelled: CANCELLED_REASON}
    for route in poor.routes:
        done = [s for s in route.stops if s.time_s <= now]
        assert list(plan.route(route.vehicle_id).stops[: len(done)]) == done


def test_reoptimise_result_is_discarded_if_the_plan_changed_meanwhile() -> None:
    plan, (new,) = planned(8, 12, vehicles=2)
    future = plan.reoptimise_in_background(time_limit_s=1.0, now_s=0.0)
    inserted = plan.insert(new, now_s=0.0)  # arrives while re-optimising
    outcome = future.result(timeout=30)
    assert not outcome.applied
    assert plan.route(inserted.vehicle_id) == inserted.route
    assert check_solution(plan.problem(), plan.solution()) == []


def test_new_points_can_be_added_for_new_requests() -> None:
    plan, (new,) = planned(3, 2, vehicles=1)
    old_x = line_positions(3, 2)
    new_x = np.array([500.0, -500.0])
    rows = np.abs(new_x[:, None] - np.concatenate([old_x, new_x])[None, :])  # metres, from the new points
    cols = np.abs(old_x[:, None] - new_x[None, :])  # to the new points
    pickup, dropoff = plan.add_points(rows / SPEED_M_PER_S, cols / SPEED_M_PER_S, rows, cols)
    result = plan.insert(replace(new, id="new", pickup=pickup, dropoff=dropoff), now_s=0.0)
    assert not isinstance(result, str)
    assert check_solution(plan.problem(), plan.solution()) == []


def test_growing_matrices_equal_the_full_ones_and_keep_earlier_views_intact() -> None:
    plan, _ = planned(3, 2, vehicles=1)
    x = list(line_positions(3, 2))
    rng = np.random.default_rng(5)
    early = plan.problem()
    snapshots = []
    for _ in range(60):  # past the first buffer and through two growths
        new_x = rng.uniform(-3000, 3000, 2)
        rows = np.abs(new_x[:, None] - np.concatenate([x, new_x])[None, :])
        cols = np.abs(np.array(x)[:, None] - new_x[None, :])
        assert plan.add_points(rows / SPEED_M_PER_S, cols / SPEED_M_PER_S, rows, cols) == [len(x), len(x) + 1]
        x += list(new_x)
        snapshots.append((plan.problem(), len(x)))
    full = np.abs(np.array(x)[:, None] - np.array(x)[None, :])
    for problem, n in [(early, len(early.distance_m))] + snapshots:
        np.testing.assert_array_equal(problem.distance_m, full[:n, :n])
        np.testing.assert_array_equal(problem.duration_s, full[:n, :n] / SPEED_M_PER_S)
        assert not problem.distance_m.flags.writeable
    np.testing.assert_array_equal(plan._arc, plan.pricing.arc(plan.problem()))
    with pytest.raises(ValueError, match="negative or NaN"):
        plan.add_points(np.full((1, len(x) + 1), np.nan), np.zeros((len(x), 1)), np.zeros((1, len(x) + 1)),
                        np.zeros((len(x), 1)))


@pytest.mark.parametrize("early_trip", [False, True])
def test_a_vehicle_left_waiting_through_its_break_window_still_takes_bookings(early_trip: bool) -> None:
    """The driver stood at the depot (no trip yet) or at its last stop (``routing.locks``: the vehicle waits at its
    last locked stop) through the break window: the break was possible there, so a booking after the window fits
    the vehicle (it used to be unusable for the rest of the day: a break still ahead must start after now)."""
    xs = np.array([0.0, 3000.0, 6000.0])  # depot, pickup, drop-off (metres)
    distance = np.abs(xs[:, None] - xs[None, :])
    vehicle = Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3, break_earliest_s=1000.0, break_latest_s=2000.0, break_s=600.0)
    data = ProblemData((vehicle,), (), distance / SPEED_M_PER_S, distance)
    plan = LivePlan(data, Solution((), {}), SolveParams(cost="distance"))
    if early_trip:  # done by 720 s; the planned break follows it
        assert not isinstance(plan.insert(TripRequest("early", 1, 2, 300.0, 400.0, service_pickup_s=60.0,
                                                      service_dropoff_s=60.0), 0.0), str)
    trip = TripRequest("late", 1, 2, 3500.0, 3800.0, service_pickup_s=60.0, service_dropoff_s=60.0)
    placed = plan.insert(trip, 3000.0)  # booked after the break window closed
    assert not isinstance(placed, str), placed
    route = plan.route("v0")
    assert route.break_after == 2 * early_trip and 1000.0 <= route.break_start_s <= 2000.0  # in the window, where it waited
    assert check_solution(plan.problem(), plan.solution()) == []
