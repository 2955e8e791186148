"""The independent checker accepts a hand-timed plan and catches each kind of violation."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from routing.checker import check_solution
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Solution, Stop, solution_cost

# Line at 1 m/s: depot 0 m, a: 100 m -> 300 m (walking), b: 200 m -> 400 m (wheelchair); 10 s service.
XS = np.array([0.0, 100.0, 300.0, 200.0, 400.0])
A = TripRequest("a", 1, 2, 100.0, 500.0, service_pickup_s=10, service_dropoff_s=10, max_ride_s=1000.0)
B = TripRequest("b", 3, 4, 200.0, 600.0, wheelchair=True, service_pickup_s=10, service_dropoff_s=10, max_ride_s=1000.0)
V = Vehicle("v", "OP", 0, 0.0, 2000.0, 1, 1)
W = Vehicle("w", "OP", 0, 0.0, 2000.0, 1, 1)


def data(**changes) -> ProblemData:
    matrix = np.abs(XS[:, None] - XS[None, :])
    requests = (changes.pop("a", A), changes.pop("b", B))
    return ProblemData((V, W), requests, matrix, matrix, operators=frozenset({"OP", "OTHER"}), **changes)


# leave 0, pick a 100, pick b 210, drop a 320, drop b 430, back 840
GOOD = (Stop("a", "pickup", 100.0), Stop("b", "pickup", 210.0), Stop("a", "dropoff", 320.0), Stop("b", "dropoff", 430.0))


def plan(stops=GOOD, start: float = 0.0, end: float = 840.0, extra: tuple[Route, ...] = (), unserved=None) -> Solution:
    return Solution((Route("v", start, end, tuple(stops)), *extra), unserved or {})


def test_hand_timed_plan_is_feasible_and_costed() -> None:
    assert check_solution(data(), plan()) == []
    cost = solution_cost(data(), plan())
    assert cost["distance"] == pytest.approx(800.0)
    assert cost["vehicle_time"] == pytest.approx(840.0)
    assert cost["served"] == 2 and cost["vehicles_used"] == 1


LATE_DROP = (GOOD[0], GOOD[1], replace(GOOD[2], time_s=315.0), GOOD[3])  # arrives 320: b's service takes 10 s
SWAPPED = (GOOD[0], GOOD[1], GOOD[3], GOOD[2])


@pytest.mark.parametrize(
    ("problem", "solution", "message"),
    [
        (data(), plan(LATE_DROP), "dropoff of a at 315.0 before it can arrive \\(320.0\\)"),
        (data(a=replace(A, earliest_pickup_s=120.0)), plan(), r"pickup at 100.0 outside its window \[120.0, 500.0\]"),
        (data(b=replace(B, earliest_dropoff_s=440.0)), plan(), "dropoff at 430.0 outside its window"),
        (data(), plan(start=-10.0), "leaves the depot at -10.0 before its shift starts"),
        (data(), plan(end=3000.0), "returns at 3000.0 after its shift ends"),
        (data(), plan(end=500.0), "returns at 500.0 before it can"),
        (data(max_route_duration_s=600.0), plan(), "route lasts 840.0, over 600.0"),
        (data(a=replace(A, wheelchair=True)), plan(), r"over capacity after pickup of b \(2/1 wheelchair"),
        (data(a=replace(A, companions=1)), plan(), "cannot carry it"),
        (data(b=replace(B, wheelchair=False)), plan(), r"over capacity after pickup of b \(0/1 wheelchair, 2/1 seats\)"),
        (data(a=replace(A, max_ride_s=100.0)), plan(), "ride 210.0 exceeds the maximum 100.0"),
        (data(a=replace(A, operator="OTHER")), plan(), "request a: vehicle v cannot carry it"),
        (data(), plan(SWAPPED[::-1]), "dropped off before"),
        (data(), plan(GOOD[:3]), "request b: picked up but never dropped off"),
        (data(), plan(extra=(Route("w", 0.0, 840.0, GOOD),)), "request a: picked up twice"),
        (data(), plan(extra=(Route("v", 0.0, 0.0, ()),)), "vehicle v: used by two routes"),
        (data(), plan(extra=(Route("ghost", 0.0, 0.0, ()),)), "vehicle ghost: unknown vehicle"),
        (data(), plan((Stop("zz", "pickup", 100.0),)), "unknown request"),
        (data(), plan(()), "request a: neither served nor listed unserved"),
        (data(), plan(unserved={"a": "no room"}), "request a: both served and listed unserved"),
        (data(), plan(unserved={"zz": "?"}), "request zz: listed unserved but unknown"),
    ],
)
def test_checker_catches_each_violation(problem: ProblemData, solution: Solution, message: str) -> None:
    problems = check_solution(problem, solution)
    assert any(re.search(message, p) for p in problems), problems
