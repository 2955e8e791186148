"""The committed next stop: what a vehicle reported outranks the plan's just-in-time assumption.

A vehicle that left early for its next stop, or stands at it waiting for the
window, must not get a new stop in front of it (the plan would send it back
the way it came). Each plan is checked by the independent checker.
"""

from __future__ import annotations

import numpy as np
import pytest

from routing.checker import check_solution
from routing.locks import vehicle_state
from routing.operations import OperatingPlan
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Solution
from routing.solver import SolveParams, solve

SPEED = 10.0  # metres per second on the test line
WALK = {"service_pickup_s": 60.0, "service_dropoff_s": 60.0}
# matrix points on a line (metres): 0 depot, 1 S's pickup, 2 S's drop-off, 3 N's pickup, 4 N's drop-off
XS = np.array([0.0, 5000.0, 6000.0, 500.0, 800.0])


def heading_instance(second_vehicle: bool, n_latest_s: float = 4300.0) -> tuple[OperatingPlan, TripRequest]:
    """v0 (depot at 0 m) must pick S up at 5 000 m at 3 000-3 600 s; the plan has it leave at 2 500 s.
    N (500 -> 800 m, pickup 700 s-``n_latest_s``, planned 5 min before it) is booked later: before S it costs nothing, after S a long way
    back (v1, idle at the same depot, costs a vehicle's fixed cost)."""
    distance = np.abs(XS[:, None] - XS[None, :])
    s = TripRequest("S", 1, 2, 3000.0, 3600.0, **WALK)
    fleet = [Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3)]
    if second_vehicle:
        fleet.append(Vehicle("v1", "OP", 0, 0.0, 14400.0, 1, 3))
    data = ProblemData(tuple(fleet), (s,), distance / SPEED, distance)
    route = schedule(data, fleet[0], [(s, "pickup"), (s, "dropoff")])
    assert route is not None and route.stops[0].time_s == 3000.0
    n = TripRequest("N", 3, 4, 700.0, n_latest_s, **WALK)
    return OperatingPlan(data, Solution((route,), {})), n


def from_x(x: float):  # noqa: ANN201 - a TravelFrom
    return lambda point: abs(XS[point] - x) / SPEED


def stops(plan: OperatingPlan, vehicle: str) -> list[tuple[str, str]]:
    return [(s.request_id, s.kind) for s in plan.route(vehicle).stops]


def feasible(plan: OperatingPlan) -> None:
    assert check_solution(plan.problem(), plan.solution()) == []


def test_a_parked_vehicle_takes_a_new_stop_before_its_next_one() -> None:
    plan, n = heading_instance(second_vehicle=False)
    plan.position("v0", 600.0, from_x(0.0))  # still at its depot: nothing committed
    assert plan.commitments() == {}
    plan.insert(n, 650.0)
    assert stops(plan, "v0")[0] == ("N", "pickup")  # the cheapest place: on its way, before S
    feasible(plan)


def test_a_vehicle_heading_to_its_next_stop_gets_no_new_stop_before_it() -> None:
    plan, n = heading_instance(second_vehicle=False)
    plan.position("v0", 600.0, from_x(1000.0))  # left early: 1 000 m on its way to S (100 s from the depot)
    assert plan.commitments() == {"v0": 1}
    placed = plan.insert(n, 650.0)
    assert not isinstance(placed, str)
    assert stops(plan, "v0")[0] == ("S", "pickup")  # N after S: back from 5 000 m, still in N's window
    assert stops(plan, "v0").index(("N", "pickup")) > 0
    feasible(plan)


def test_a_booking_goes_to_another_vehicle_rather_than_before_the_committed_stop() -> None:
    plan, n = heading_instance(second_vehicle=True, n_latest_s=1800.0)  # too early for v0 after S
    plan.position("v0", 600.0, from_x(1000.0))
    placed = plan.insert(n, 650.0)
    assert not isinstance(placed, str) and placed.vehicle_id == "v1"
    assert stops(plan, "v0") == [("S", "pickup"), ("S", "dropoff")]
    feasible(plan)


def test_a_vehicle_waiting_at_its_stop_is_committed_to_it_until_it_is_done() -> None:
    plan, n = heading_instance(second_vehicle=False)
    plan.arrived("v0", "S", "pickup", 1200.0)  # drove ahead: waits at S for its window
    assert plan.commitments() == {"v0": 1}
    quote = plan.quote(n, 1250.0)
    assert quote is not None and [s.request_id for s in quote.route.stops][0] == "S"
    plan.perform("v0", "S", "pickup", 3000.0)
    assert plan.commitments() == {"v0": 1}  # the performed stop; the drop-off is not committed until it leaves
    plan.position("v0", 3200.0, from_x(5800.0))  # 80 s of driving from S: it left
    assert plan.commitments() == {"v0": 2}
    feasible(plan)


def test_cancelling_the_committed_pickup_frees_the_vehicle() -> None:
    plan, n = heading_instance(second_vehicle=False)
    plan.position("v0", 600.0, from_x(1000.0))
    plan.cancel("S", 700.0)
    assert plan.commitments() == {} and stops(plan, "v0") == []
    feasible(plan)


def test_committed_stops_are_locked_for_the_solver_whatever_the_clock() -> None:
    plan, n = heading_instance(second_vehicle=False)
    data, route = plan.problem(), plan.route("v0")
    requests = data.request_index()
    assert vehicle_state(data, requests, data.vehicles[0], route, 600.0).locked == ()  # the clock alone: not yet
    assert [s.request_id for s in vehicle_state(data, requests, data.vehicles[0], route, 600.0, 1).locked] == ["S"]
    plan.position("v0", 600.0, from_x(1000.0))
    plan.insert(n, 650.0)
    problem = plan.problem()
    result = solve(problem, SolveParams(time_limit_s=2.0, now_s=650.0, committed=tuple(plan.commitments().items()),
                                        iterations=20, solution_limit=5), current=plan.solution())
    assert result.solution.routes[0].stops[0].request_id == "S"
    assert check_solution(problem, result.solution) == []


def test_a_pickup_that_would_break_a_riders_ride_time_is_re_sequenced_after_their_drop_off() -> None:
    """A is on board; B's pickup was planned before A's drop-off (B's window opens at 800 s, A picked up as late
    as its ride limit allows). The driver picks A up early: waiting for B would break A's ride limit, B's pickup
    after A's drop-off fits. No other vehicle: before re-sequencing B was flagged unserved."""
    xs = np.array([0.0, 1000.0, 3000.0, 1300.0, 4000.0])  # depot, A's pickup and drop-off, B's pickup and drop-off
    distance = np.abs(xs[:, None] - xs[None, :])
    a = TripRequest("A", 1, 2, 400.0, 1000.0, max_ride_s=270.0, **WALK)
    b = TripRequest("B", 3, 4, 800.0, 1400.0, **WALK)
    vehicle = Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3)
    data = ProblemData((vehicle,), (a, b), distance / SPEED, distance)
    route = schedule(data, vehicle, [(a, "pickup"), (b, "pickup"), (a, "dropoff"), (b, "dropoff")])
    assert route is not None and route.stops[0].time_s == pytest.approx(700.0)
    plan = OperatingPlan(data, Solution((route,), {}))
    outcome = plan.perform("v0", "A", "pickup", 600.0)
    assert outcome.unserved == () and outcome.late == ()
    assert stops(plan, "v0") == [("A", "pickup"), ("A", "dropoff"), ("B", "pickup"), ("B", "dropoff")]
    assert plan.route("v0").stops[2].time_s == pytest.approx(600.0 + 60.0 + 200.0 + 60.0 + 170.0)
    feasible(plan)


def test_a_committed_pickup_that_no_longer_fits_stays_first_served_late() -> None:
    plan, _ = heading_instance(second_vehicle=False)
    plan.position("v0", 3000.0, from_x(1000.0))  # left late: 400 s from S, whose window closes at 3 600 s
    outcome = plan.position("v0", 3500.0, from_x(2000.0))  # stuck: S at 3 800 s
    assert outcome.late == (("S", 3.3),) and outcome.unserved == ()
    assert stops(plan, "v0")[0] == ("S", "pickup") and plan.commitments() == {"v0": 1}
    feasible(plan)


def test_bookings_are_planned_with_a_margin_before_the_promised_window_closes() -> None:
    plan, _ = heading_instance(second_vehicle=False)
    tight = TripRequest("T", 3, 4, 0.0, 200.0, **WALK)  # reachable at 50 s, but not 5 min before 200 s
    assert plan.quote(tight, 0.0) is None
    n = TripRequest("N", 3, 4, 700.0, 1800.0, **WALK)
    plan.insert(n, 650.0)
    assert plan.problem().request_index()["N"].latest_pickup_s == 1500.0  # planned by 1 500 s, promised by 1 800 s
    assert stops(plan, "v0")[0] == ("N", "pickup")
    outcome = plan.position("v0", 1500.0, from_x(-500.0))  # a detour: N at 1 600 s, inside the promise
    assert outcome.unserved == () and outcome.late == ()
    assert plan.route("v0").stops[0].time_s == pytest.approx(1600.0)
    assert plan.problem().request_index()["N"].latest_pickup_s == 1800.0  # the margin is spent: the promise
    feasible(plan)


def test_overtime_to_bring_a_rider_home_takes_no_new_trip() -> None:
    plan, _ = heading_instance(second_vehicle=False)
    plan.perform("v0", "S", "pickup", 3000.0)
    plan.position("v0", 14000.0, from_x(-100000.0))  # lost far away: S home at 24 660 s, past the 14 400 s shift
    vehicle = plan.vehicle("v0")
    assert vehicle.shift_end_s == pytest.approx(plan.route("v0").end_s) and vehicle.shift_end_s > 14400.0
    late_trip = TripRequest("L", 3, 4, 24800.0, 26000.0, **WALK)  # fits the overtime, not the shift
    assert isinstance(plan.insert(late_trip, 14100.0), str)
    feasible(plan)


def test_a_delay_spends_the_margin_before_the_trip_goes_to_another_vehicle() -> None:
    plan, _ = heading_instance(second_vehicle=True)
    n = TripRequest("N", 3, 4, 700.0, 1800.0, **WALK)
    placed = plan.insert(n, 650.0)
    assert not isinstance(placed, str) and placed.vehicle_id == "v0"
    outcome = plan.position("v0", 1500.0, from_x(-500.0))  # N at 1 600 s: past the margin, inside the promise
    assert outcome.moved == () and stops(plan, "v0")[0] == ("N", "pickup")  # v1 could take it: it stays
    assert plan.problem().request_index()["N"].latest_pickup_s == 1800.0
    feasible(plan)
