"""A stored route that ran late (pickups served late, a ride relaxed) is restored as it was, not dropped."""

from __future__ import annotations

import numpy as np

from api.dispatch_desk import _late_route
from routing.checker import check_solution
from routing.insertion import reschedule
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Solution


def test_a_stored_late_route_is_restored_with_its_windows_widened_to_its_times() -> None:
    xs = np.array([0.0, 1000.0, 3000.0, 3500.0, 5000.0])  # depot, a's stops, b's stops (metres on a line, 10 m/s)
    distance = np.abs(xs[:, None] - xs[None, :])
    walk = {"service_pickup_s": 60.0, "service_dropoff_s": 60.0}
    requests = {"a": TripRequest("a", 1, 2, 600.0, 1200.0, **walk),
                "b": TripRequest("b", 3, 4, 0.0, 200.0, **walk)}  # b cannot be reached after a in its window
    vehicle = Vehicle("v0", "OP", 0, 0.0, 14400.0, 1, 3)
    data = ProblemData((vehicle,), tuple(requests.values()), distance / 10.0, distance)
    sequence = [(requests["a"], "pickup"), (requests["a"], "dropoff"), (requests["b"], "pickup"), (requests["b"], "dropoff")]
    empty = Route("v0", 0.0, 0.0, ())
    assert reschedule(data, requests, vehicle, empty, sequence, None) is None  # what restore dropped before
    route = _late_route(data, requests, vehicle, empty, sequence)
    assert route is not None and [s.request_id for s in route.stops] == ["a", "a", "b", "b"]
    assert requests["b"].latest_pickup_s == route.stops[2].time_s > 200.0  # widened to its (late) time
    problem = ProblemData((vehicle,), tuple(requests.values()), distance / 10.0, distance)
    assert check_solution(problem, Solution((route,), {})) == []
