"""The repair of a live booking that fits nowhere as the plan stands: a booked trip moves to make room.

Each repaired plan is checked by the independent checker and compared with
brute force (every assignment and stop order) on tiny instances; nobody
booked is dropped, and stops under way or committed never move.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from darp_instances import line_problem, narrow_windows, precedence_ok
from routing.checker import check_solution
from routing.evaluate import simulate_day
from routing.cost import Pricing
from routing.insertion import best_insertion, route_sequence
from routing.live import NO_POSITION_REASON, LivePlan
from routing.locks import locked_count
from routing.operations import OperatingPlan
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.repair import repair_insertion
from routing.schedule import schedule
from routing.solution import Solution, route_points, solution_cost
from routing.solver import SolveParams, construct

SPEED = 10.0  # metres per second on the test line
WALK = {"service_pickup_s": 60.0, "service_dropoff_s": 60.0}
DISTANCE = SolveParams(cost="distance", time_limit_s=0.5)
NO_BUDGET_LIMIT_S = 60.0  # tests judge the search, not the machine's speed


def swap_instance(plan_type: type[LivePlan] = LivePlan) -> tuple[LivePlan, TripRequest]:
    """A (one wheelchair place) drives L (picked up at 100 s, under way) then E far west; B (no wheelchair place) is
    idle. R, a wheelchair rider far east at E's time, fits only on A, and only once E moves to B."""
    xs = np.array([0.0, 1000.0, 2000.0, -6000.0, -7000.0, 6000.0, 7000.0])  # depot, L, L, E, E, R, R (metres)
    distance = np.abs(xs[:, None] - xs[None, :])
    l_trip = TripRequest("L", 1, 2, 100.0, 400.0, **WALK)
    e_trip = TripRequest("E", 3, 4, 2000.0, 2600.0, **WALK)
    r_trip = TripRequest("R", 5, 6, 2000.0, 2600.0, wheelchair=True, **WALK)
    fleet = (Vehicle("A", "OP", 0, 0.0, 14400.0, 1, 3), Vehicle("B", "OP", 0, 0.0, 14400.0, 0, 3))
    data = ProblemData(fleet, (l_trip, e_trip), distance / SPEED, distance)
    route = schedule(data, fleet[0], [(l_trip, "pickup"), (l_trip, "dropoff"), (e_trip, "pickup"), (e_trip, "dropoff")])
    assert route is not None and route.stops[0].time_s == 100.0
    plan = plan_type(data, Solution((route,), {}), DISTANCE)
    plan.repair_budget_s = NO_BUDGET_LIMIT_S
    return plan, r_trip


def brute_force_plans(data: ProblemData, plan: LivePlan, now_s: float) -> list[Solution]:
    """Every feasible plan serving every request of ``data``: each vehicle keeps its stops locked at ``now_s``, the
    other requests go to any vehicle in any stop order (exhaustive; tiny instances only)."""
    requests = data.request_index()
    locked = {}
    for vehicle in data.vehicles:
        route = plan.route(vehicle.id)
        count = locked_count(route, route_points(requests, vehicle, route.stops), data.duration_s, now_s)
        locked[vehicle.id] = (route, route.stops[:count])
    held = {s.request_id for _, stops in locked.values() for s in stops}
    free = [r for r in data.requests if r.id not in held]
    plans = []
    for owners in itertools.product(range(len(data.vehicles)), repeat=len(free)):
        routes = []
        for v, vehicle in enumerate(data.vehicles):
            route, stops = locked[vehicle.id]
            head = [(requests[s.request_id], s.kind) for s in stops]
            tails = [(r, k) for r, owner in zip(free, owners) if owner == v for k in ("pickup", "dropoff")]
            tails += [(requests[s.request_id], s.kind) for s in route.stops[len(stops):] if s.request_id in held]
            options = [t for order in itertools.permutations(tails) if precedence_ok(head + list(order))
                       and (t := schedule(data, vehicle, head + list(order), [s.time_s for s in stops],
                                          route.start_s if stops else None, now_s)) is not None] if tails else [None]
            if not options:
                break
            routes.append(options)
        else:
            plans += [Solution(tuple(r for r in combo if r is not None), {}) for combo in itertools.product(*routes)]
    return plans


def test_a_booked_trip_moves_to_make_room_as_brute_force_says() -> None:
    plan, r_trip = swap_instance()
    now = 150.0  # L's pickup is done: locked
    before = plan.solution()
    plain = best_insertion(plan.problem(), {**plan.problem().request_index(), "R": r_trip}, dict(
        (r.vehicle_id, r) for r in before.routes), r_trip, now, Pricing("distance"))
    assert plain is None  # no vehicle fits R as the plan stands
    placed = plan.insert(r_trip, now)
    assert not isinstance(placed, str), placed
    assert (placed.vehicle_id, placed.moved_requests, [r.vehicle_id for r in placed.moved]) == ("A", ("E",), ["B"])
    data, after = plan.problem(), plan.solution()
    assert check_solution(data, after) == []
    assert after.served_ids() == {"L", "E", "R"}  # nobody dropped
    assert plan.route("A").stops[0] == before.routes[0].stops[0]  # the locked pickup stays, at its time
    plans = brute_force_plans(data, plan_before(before, data), now)
    assert plans and min(solution_cost(data, s)["distance"] for s in plans) == \
        pytest.approx(solution_cost(data, after)["distance"])
    assert {tuple(sorted((r.vehicle_id, s.request_id) for r in s.routes for s in r.stops if s.kind == "pickup"))
            for s in plans} == {(("A", "L"), ("A", "R"), ("B", "E"))}  # the only feasible plan: E on B


def plan_before(solution: Solution, data: ProblemData) -> LivePlan:
    """A plan holding ``solution``'s routes (to read their locks) for the brute force."""
    return LivePlan(data, Solution(solution.routes, {}), DISTANCE, repair_budget_s=0.0)


def test_without_repair_the_booking_is_rejected_and_the_plan_unchanged() -> None:
    plan, r_trip = swap_instance()
    plan.repair_budget_s = 0.0
    before = plan.solution()
    assert plan.insert(r_trip, 150.0) == NO_POSITION_REASON
    assert plan.solution().routes == before.routes


def test_no_repair_when_the_moved_trip_would_have_nowhere_to_go() -> None:
    plan, r_trip = swap_instance()
    data = plan.problem()  # B's shift is over: E has no other vehicle, so E stays and R is rejected
    short = replace(data, vehicles=(data.vehicles[0], replace(data.vehicles[1], shift_end_s=120.0)))
    plan = LivePlan(short, plan.solution(), DISTANCE, repair_budget_s=NO_BUDGET_LIMIT_S)
    before = plan.solution()
    assert plan.insert(r_trip, 150.0) == NO_POSITION_REASON
    assert plan.solution().routes == before.routes and plan.solution().served_ids() == {"L", "E"}


def test_a_committed_stop_is_never_ejected() -> None:
    free, r_trip = swap_instance(OperatingPlan)
    placed = free.insert(r_trip, 700.0)
    assert not isinstance(placed, str) and placed.moved_requests == ("E",)
    committed, r_trip = swap_instance(OperatingPlan)
    committed.perform("A", "L", "pickup", 100.0)
    committed.perform("A", "L", "dropoff", 260.0)
    committed.arrived("A", "E", "pickup", 700.0)  # A waits at E's pickup: E is committed
    before = committed.solution()
    assert committed.insert(r_trip, 700.0) == NO_POSITION_REASON
    assert committed.solution().routes == before.routes
    assert check_solution(committed.problem(), committed.solution()) == []


def test_repair_finds_every_single_move_that_brute_force_finds() -> None:
    """Tight windows on a line, 40 days: whenever plain insertion fails and some single booked trip (not under way)
    can move so that the new one fits (brute force over vehicles, ejections and positions), the repair moves one;
    every repair (chains of two included) passes the checker, drops nobody and keeps the locked stops."""
    failed = single = repaired = 0
    for seed in range(40):
        data = narrow_windows(line_problem(10, seed, vehicles=2), seed, spread_s=1800.0, width_s=300.0,
                              ride_factors=(1.2, 1.6), ride_slack_s=120.0)
        base, new = replace(data, requests=data.requests[:-1]), data.requests[-1]
        planned = construct(base, list(base.requests), None, Pricing("distance"))  # deterministic
        now = max(0.0, new.earliest_pickup_s - 1800.0)
        requests = {**base.request_index(), new.id: new}
        routes = {r.vehicle_id: r for r in planned.routes}
        if best_insertion(base, requests, routes, new, now, Pricing("distance")) is not None:
            continue
        failed += 1
        possible = single_move_exists(base, requests, routes, new, now)
        repair = repair_insertion(base, requests, routes, new, now, Pricing("distance"), budget_s=NO_BUDGET_LIMIT_S)
        single += possible
        if possible:
            assert repair is not None and len(repair.moved_requests) == 1, seed
        if repair is None:
            continue
        repaired += 1
        changed = {**routes, **{r.vehicle_id: r for r in (repair.route, *repair.moved)}}
        after = Solution(tuple(changed.values()), planned.unserved)
        assert check_solution(replace(base, requests=tuple(requests.values())), after) == [], seed
        assert after.served_ids() == planned.served_ids() | {new.id}, seed  # nobody dropped
        for vehicle in base.vehicles:  # locked stops kept first, at their times
            old = routes[vehicle.id]
            count = locked_count(old, route_points(requests, vehicle, old.stops), base.duration_s, now)
            assert changed[vehicle.id].stops[:count] == old.stops[:count], seed
    assert failed >= 10 and single >= 5 and repaired > single  # the cases this test is about occur (chains too)


def single_move_exists(data: ProblemData, requests: dict, routes: dict, new: TripRequest, now: float) -> bool:
    """Brute force: some vehicle, without one of its requests not under way, takes ``new`` at some positions, and the
    removed request then fits at some positions of some vehicle."""
    def placements(route, vehicle, request, locked):  # noqa: ANN001, ANN202
        seq = route_sequence(requests, route)
        fixed = [s.time_s for s in route.stops[:locked]]
        for i in range(locked, len(seq) + 1):
            for j in range(i, len(seq) + 1):
                order = [*seq[:i], (request, "pickup"), *seq[i:j], (request, "dropoff"), *seq[j:]]
                timed = schedule(data, vehicle, order, fixed, route.start_s if locked else None, now)
                if timed is not None:
                    yield timed

    vehicles = data.vehicle_index()
    for vehicle in data.vehicles:
        route = routes[vehicle.id]
        locked = locked_count(route, route_points(requests, vehicle, route.stops), data.duration_s, now)
        for ejected in [s.request_id for s in route.stops[locked:] if s.kind == "pickup"]:
            order = [(r, k) for r, k in route_sequence(requests, route) if r.id != ejected]
            fixed = [s.time_s for s in route.stops[:locked]]
            emptied = schedule(data, vehicle, order, fixed, route.start_s if locked else None, now)
            if emptied is None:
                continue
            for with_new in placements(emptied, vehicle, new, locked):
                others = {**routes, vehicle.id: with_new}
                for other_id, other in others.items():
                    count = locked_count(other, route_points(requests, vehicles[other_id], other.stops),
                                         data.duration_s, now)
                    if next(placements(other, vehicles[other_id], requests[ejected], count), None) is not None:
                        return True
    return False


def test_a_simulated_day_counts_the_repairs_and_both_plans_pass_the_checker() -> None:
    data = narrow_windows(line_problem(30, 1, vehicles=3), 1, spread_s=3600.0, width_s=300.0, ride_factors=(1.2, 1.6),
                          ride_slack_s=120.0)
    params = replace(DISTANCE, time_limit_s=60.0, construction="insertion", solution_limit=0, iterations=20)  # work-limited
    report = simulate_day(data, params, live_share=0.3)
    live, plain = report.live, report.plain
    assert live.violations == plain.violations == 0
    assert plain.repaired == plain.repair.calls == 0
    assert 0 < live.repaired <= live.inserted  # this day has bookings that fit only after a move
    assert live.repair.calls == report.live_requests - live.inserted + live.repaired  # rejected or repaired
    assert live.served - live.inserted == plain.served - plain.inserted  # the same booked plan under both
