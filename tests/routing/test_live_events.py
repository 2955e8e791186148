"""Vehicle events on a running plan: each changes the plan as specified and the checker accepts the result."""

from __future__ import annotations

import numpy as np
import pytest

from routing.checker import check_solution
from routing.live import CANCELLED_REASON
from routing.operations import NO_SHOW, RELEASED, TRANSFER_SUFFIX, EventError, OperatingPlan
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Solution

SPEED = 10.0  # metres per second on the test line
# matrix points: 0 depot A (x=0), 1 depot B (x=3400), 2 breakdown spot (x=2000), then the requests' stops
XS = [0.0, 3400.0, 2000.0, 1000.0, 3000.0, 3500.0, 5000.0, 3000.0, 1000.0]


def travel_from(x: float):  # noqa: ANN201 - a TravelFrom
    """Seconds from position ``x`` (metres) to a matrix point."""
    return lambda point: abs(XS[point] - x) / SPEED


def instance(second_vehicle: bool = True, break_s: float = 0.0) -> tuple[OperatingPlan, dict[str, TripRequest]]:
    """v0 (depot A) serves a (1000 -> 3000 m), then b (3500 -> 5000 m), then r (a's return, 3000 -> 1000 m);
    v1 (depot B, next to b's pickup) is idle."""
    xs = np.array(XS)
    distance = np.abs(xs[:, None] - xs[None, :])
    walk = {"service_pickup_s": 60.0, "service_dropoff_s": 60.0}
    requests = {"a": TripRequest("a", 3, 4, 600.0, 1200.0, **walk), "b": TripRequest("b", 5, 6, 1500.0, 2100.0, **walk),
                "r": TripRequest("r", 7, 8, 5000.0, 5600.0, **walk)}
    fleet = [Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3, 3000.0, 6000.0, break_s)]
    if second_vehicle:
        fleet.append(Vehicle("v1", "OP", 1, 0.0, 14400.0, 1, 3))
    data = ProblemData(tuple(fleet), tuple(requests.values()), distance / SPEED, distance)
    order = [(requests[k], kind) for k in "abr" for kind in ("pickup", "dropoff")]
    route = schedule(data, fleet[0], order)
    assert route is not None
    return OperatingPlan(data, Solution((route,), {})), requests


def feasible(plan: OperatingPlan) -> None:
    assert check_solution(plan.problem(), plan.solution()) == []


def times(plan: OperatingPlan, vehicle: str) -> dict[tuple[str, str], float]:
    return {(s.request_id, s.kind): s.time_s for s in plan.route(vehicle).stops}


def test_a_late_pickup_is_locked_at_its_actual_time_and_delays_what_follows() -> None:
    plan, _ = instance()
    before = times(plan, "v0")
    plan.perform("v0", "a", "pickup", 1190.0)  # 10 s before its window closes, later than planned
    after = times(plan, "v0")
    assert plan.performed("v0")[0].time_s == 1190.0 and plan.on_board("v0") == ["a"]
    assert after[("a", "dropoff")] == pytest.approx(1190.0 + 60.0 + 200.0)  # service, then 2 000 m at 10 m/s
    assert after[("a", "dropoff")] > before[("a", "dropoff")]
    feasible(plan)
    plan.perform("v0", "a", "dropoff", 1500.0)
    assert [s.kind for s in plan.performed("v0")] == ["pickup", "dropoff"] and plan.on_board("v0") == []
    feasible(plan)


def test_a_pickup_past_its_window_is_a_fact_not_an_infeasible_plan() -> None:
    plan, requests = instance()
    plan.perform("v0", "a", "pickup", 1500.0)  # 5 minutes after its window closed
    assert plan.performed("v0")[0].time_s == 1500.0
    assert plan.problem().request_index()["a"].latest_pickup_s == 1500.0  # widened to what happened
    feasible(plan)


def test_a_delay_that_breaks_a_later_pickup_reinserts_it_on_another_vehicle() -> None:
    plan, _ = instance()
    plan.perform("v0", "a", "pickup", 1190.0)
    outcome = plan.position("v0", 1900.0, travel_from(1500.0))  # stuck in traffic, 1 500 m from a's drop-off
    assert outcome.moved == ("b",) and set(outcome.vehicles) == {"v0", "v1"}
    assert [s.request_id for s in plan.route("v1").stops] == ["b", "b"]
    assert "b" not in {s.request_id for s in plan.route("v0").stops}
    assert times(plan, "v0")[("a", "dropoff")] == pytest.approx(1900.0 + 150.0)  # from the reported position
    feasible(plan)


def test_a_delay_keeps_the_pickup_late_on_its_vehicle_when_no_other_can_take_it() -> None:
    plan, requests = instance(second_vehicle=False)
    plan.perform("v0", "a", "pickup", 1190.0)
    outcome = plan.position("v0", 1900.0, travel_from(1500.0))  # a's drop-off at 2050, b's pickup at 2160: 1 min late
    assert outcome.moved == () and outcome.unserved == () and outcome.late == (("b", 1.0),)
    assert times(plan, "v0")[("b", "pickup")] == pytest.approx(2160.0)
    assert plan.problem().request_index()["b"].latest_pickup_s == pytest.approx(2160.0)  # widened to the prediction
    assert requests["b"].latest_pickup_s == 2100.0 and "b" not in plan.solution().unserved
    feasible(plan)


def test_a_late_pickup_may_make_the_next_one_late_too_within_the_tolerance() -> None:
    xs = np.array([0.0, 1000.0, 3000.0, 3500.0, 3600.0, 3700.0, 3800.0])  # depot, then a, b, c (pickup, drop-off)
    distance = np.abs(xs[:, None] - xs[None, :])
    walk = {"service_pickup_s": 60.0, "service_dropoff_s": 60.0}
    requests = {"a": TripRequest("a", 1, 2, 600.0, 1200.0, **walk), "b": TripRequest("b", 3, 4, 1500.0, 2100.0, **walk),
                "c": TripRequest("c", 5, 6, 2150.0, 2250.0, **walk)}
    vehicle = Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3)
    data = ProblemData((vehicle,), tuple(requests.values()), distance / SPEED, distance)
    route = schedule(data, vehicle, [(requests[k], kind) for k in "abc" for kind in ("pickup", "dropoff")])
    plan = OperatingPlan(data, Solution((route,), {}))
    plan.perform("v0", "a", "pickup", 1190.0)
    outcome = plan.position("v0", 1900.0, lambda p: abs(xs[p] - 1500.0) / SPEED)  # b at 2160, then c at 2300
    assert dict(outcome.late) == {"b": 1.0, "c": 0.8} and outcome.unserved == ()
    assert times(plan, "v0")[("c", "pickup")] == pytest.approx(2300.0)
    assert plan.problem().request_index()["c"].latest_pickup_s == pytest.approx(2300.0)
    feasible(plan)


def test_a_delay_beyond_the_late_tolerance_flags_the_pickup_unserved() -> None:
    plan, _ = instance(second_vehicle=False)
    plan.perform("v0", "a", "pickup", 1190.0)
    outcome = plan.position("v0", 1900.0, travel_from(-20000.0))  # b's pickup would be at 4310: 37 min late
    assert outcome.late == () and [k for k, _ in outcome.unserved] == ["b"]
    assert "delayed" in plan.solution().unserved["b"]
    assert {s.request_id for s in plan.route("v0").stops} == {"a", "r"}  # r, later, still fits
    feasible(plan)


def test_a_vehicle_far_away_at_the_end_of_its_shift_still_delivers_its_passenger() -> None:
    plan, _ = instance(second_vehicle=False)
    plan.perform("v0", "a", "pickup", 1190.0)
    plan.position("v0", 14300.0, travel_from(-100000.0))  # 10 300 s from a's drop-off, 100 s before the shift ends
    assert plan.on_board("v0") == ["a"] and times(plan, "v0")[("a", "dropoff")] == pytest.approx(14300.0 + 10300.0)
    assert plan.vehicle("v0").shift_end_s > 14400.0  # overtime, the last resort
    feasible(plan)


def test_a_replayed_position_does_not_re_plan_a_pickup_the_vehicle_made_later() -> None:
    plan, _ = instance()  # the restored routes: what every stored event left
    with plan.replaying():
        plan.perform("v0", "a", "pickup", 1190.0)
        plan.position("v0", 1900.0, travel_from(1500.0))  # live, this report moved b to v1...
        plan.perform("v0", "a", "dropoff", 2060.0)
        plan.perform("v0", "b", "pickup", 2170.0)  # ...but v0 picked b up (late) and the driver said so
    assert plan.on_board("v0") == ["b"] and plan.route("v1").stops == ()
    outcome = plan.settle("v0", 2170.0, None)
    assert outcome.unserved == () and [s.request_id for s in plan.route("v0").stops] == ["a", "a", "b", "b", "r", "r"]
    feasible(plan)


def test_no_show_frees_the_seat_and_releases_the_linked_return() -> None:
    plan, _ = instance()
    outcome = plan.no_show("v0", "a", 900.0, release=["r"])
    assert dict(outcome.unserved) == {"a": NO_SHOW, "r": RELEASED}
    assert {s.request_id for s in plan.route("v0").stops} == {"b"}
    assert plan.solution().unserved == {"a": CANCELLED_REASON, "r": CANCELLED_REASON}  # re-optimisation leaves them out
    assert plan.closed("a") == NO_SHOW and plan.closed("r") == RELEASED
    feasible(plan)


def test_break_is_pinned_to_its_actual_start_and_length() -> None:
    plan, _ = instance(break_s=1800.0)
    plan.perform("v0", "a", "pickup", 700.0)
    with pytest.raises(EventError, match="passengers on board"):
        plan.break_started("v0", 800.0)
    plan.perform("v0", "a", "dropoff", 1000.0)
    plan.break_started("v0", 1100.0)  # before the planned window: what happened counts
    assert plan.vehicle_status("v0") == "on_break"
    route = plan.route("v0")
    assert route.break_start_s == 1100.0
    assert {s.request_id for s in plan.route("v1").stops} == {"b"}  # b's window closes during the break: moved
    assert times(plan, "v0")[("r", "pickup")] >= 1100.0 + 1800.0
    feasible(plan)
    plan.break_ended("v0", 1400.0)  # the driver ends it after 5 minutes
    assert plan.break_taken("v0") == (1100.0, 1400.0) and plan.vehicle_status("v0") == "in_service"
    assert times(plan, "v0")[("r", "pickup")] == pytest.approx(5000.0)  # back to its window's start
    feasible(plan)


def test_breakdown_transfers_the_passenger_on_board_and_moves_the_waiting_trips() -> None:
    plan, _ = instance()
    plan.perform("v0", "a", "pickup", 700.0)
    outcome = plan.out_of_service("v0", 1000.0, rescue_point=2)  # broken down at x = 2 000 m with a on board
    transfer = "a" + TRANSFER_SUFFIX
    assert plan.vehicle_status("v0") == "out_of_service"
    assert [(s.request_id, s.kind) for s in plan.route("v0").stops] == [("a", "pickup"), ("a", "dropoff")]
    assert {transfer, "b", "r"} <= {s.request_id for s in plan.route("v1").stops}
    assert transfer in outcome.moved and "b" in outcome.moved
    pickup = next(s.time_s for s in plan.route("v1").stops if s.request_id == transfer and s.kind == "pickup")
    assert 1000.0 <= pickup <= 1000.0 + 1800.0
    feasible(plan)
    with pytest.raises(EventError, match="out of service"):
        plan.perform("v0", "b", "pickup", 1100.0)
    assert plan.position("v0", 1200.0, travel_from(2000.0)).vehicles == ()  # towed: nothing to plan


def test_impossible_transitions_change_nothing() -> None:
    plan, _ = instance()
    before = plan.solution()
    with pytest.raises(EventError, match="before it was picked up"):
        plan.perform("v0", "a", "dropoff", 700.0)
    with pytest.raises(EventError, match="no pickup of it on vehicle v1"):
        plan.perform("v1", "a", "pickup", 700.0)
    with pytest.raises(EventError, match="break_ended without a break"):
        plan.break_ended("v0", 700.0)
    assert plan.solution() == before
    plan.perform("v0", "a", "pickup", 700.0)
    with pytest.raises(EventError, match="already done"):
        plan.perform("v0", "a", "pickup", 710.0)


def test_a_stop_done_out_of_order_moves_first() -> None:
    plan, _ = instance()
    plan.perform("v0", "b", "pickup", 1500.0)  # the driver took b first
    assert plan.performed("v0")[0].request_id == "b"
    assert {s.request_id for s in plan.route("v0").stops} >= {"b"}
    feasible(plan)


def test_a_fleet_change_checks_the_vehicle_but_keeps_the_matrices() -> None:
    from routing.operations import with_vehicles

    plan, _ = instance()
    data = plan.problem()
    fewer = with_vehicles(data, data.vehicles[:1])
    assert fewer.duration_s is data.duration_s and list(fewer.vehicle_index()) == ["v0"]
    assert list(data.vehicle_index()) == ["v0", "v1"]  # the original keeps its fleet
    with pytest.raises(ValueError, match="shift_end_s"):
        with_vehicles(data, (Vehicle("bad", "OP", 0, 100.0, 50.0, 1, 1),))


def test_a_vehicle_standing_at_a_later_stop_serves_it_next_and_the_overtaken_pickup_moves_at_once() -> None:
    plan, _ = instance()
    plan.perform("v0", "a", "pickup", 700.0)
    plan.perform("v0", "a", "dropoff", 1000.0)
    outcome = plan.arrived("v0", "r", "pickup", 1100.0)  # the driver went ahead to r (window 5 000 s) and waits there
    assert plan.route("v0").stops[len(plan.performed("v0"))].request_id == "r"  # r is its next stop
    assert outcome.moved == ("b",) and [s.request_id for s in plan.route("v1").stops] == ["b", "b"]  # not found late at 5 000 s
    assert times(plan, "v0")[("r", "pickup")] == pytest.approx(5000.0)
    feasible(plan)


def test_arriving_at_a_drop_off_before_its_pickup_keeps_the_order() -> None:
    plan, _ = instance()
    plan.arrived("v0", "a", "dropoff", 500.0)
    assert [(s.request_id, s.kind) for s in plan.route("v0").stops[:2]] == [("a", "pickup"), ("a", "dropoff")]
    feasible(plan)
