"""The Almaty service day: every generated request is servable alone; operator policies hold (checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.dataset import dataset_date, load_fleet, load_trips
from data.fleet import ZONES
from routing.almaty import build_problem, request_operators
from routing.checker import check_solution
from routing.kpi import service_kpis
from routing.problem import unservable_reasons
from routing.schedule import schedule
from routing.solution import Solution
from routing.solver import SolveParams, solve


def test_every_generated_request_is_servable_alone(dataset_dir: Path) -> None:
    problem = build_problem(load_trips(dataset_dir), load_fleet(dataset_dir), dataset_date(dataset_dir),
                            cache_dir=dataset_dir / "cache")
    data = problem.data
    assert problem.off_network == {}
    assert unservable_reasons(data) == {}
    twins = {(v.depot, v.shift_start_s, v.wheelchair_places, v.seats): v for v in data.vehicles}
    for request in data.requests:  # some vehicle serves it alone, break and route duration included
        alone = [(request, "pickup"), (request, "dropoff")]
        route = next((r for v in twins.values() if (r := schedule(data, v, alone)) is not None), None)
        assert route is not None, request.id
        assert check_solution(data, Solution((route,), {r.id: "other" for r in data.requests if r.id != request.id})) == []


@pytest.mark.parametrize("policy", ["operator", "zones"])
def test_operator_policies_keep_each_request_with_its_operator(dataset_dir: Path, policy: str) -> None:
    trips = load_trips(dataset_dir).head(120)
    problem = build_problem(trips, load_fleet(dataset_dir), dataset_date(dataset_dir), cache_dir=dataset_dir / "cache",
                            policy=policy)
    data = problem.data
    result = solve(data, SolveParams(time_limit_s=60, construction="insertion", solution_limit=0, iterations=20))
    assert check_solution(data, result.solution) == []
    owner = dict(zip(trips["request_id"], request_operators(trips, policy)))
    served_by = {s.request_id: data.vehicle_index()[r.vehicle_id].operator for r in result.routes for s in r.stops}
    assert len(served_by) >= 0.9 * len(trips)
    assert all(owner[k] == operator for k, operator in served_by.items())
    if policy == "zones":
        zone_of = {d: op for op, ds in ZONES.items() for d in ds}
        assert all(zone_of[d] == o for d, o in zip(trips["district"], request_operators(trips, policy)))
    # the checker catches a request moved to another operator's vehicle
    route = next(r for r in result.routes if r.stops)
    stranger = next(v for v in data.vehicles if v.operator != data.vehicle_index()[route.vehicle_id].operator)
    moved = Solution(tuple(r if r is not route else type(r)(stranger.id, r.start_s, r.end_s, r.stops, r.break_start_s,
                                                                r.break_after) for r in result.routes
                           if r.vehicle_id != stranger.id), result.unserved)
    assert any("cannot carry it (capacity or operator)" in p for p in check_solution(data, moved))
    kpis = service_kpis(data, result.solution)
    assert kpis["total"]["trips"] == len(result.solution.served_ids())
    assert sum(k["trips"] for k in kpis["operators"].values()) == kpis["total"]["trips"]


def test_unknown_policy_is_refused(dataset_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown policy 'fair'"):
        build_problem(load_trips(dataset_dir).head(5), load_fleet(dataset_dir), dataset_date(dataset_dir), policy="fair")
