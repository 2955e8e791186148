"""The compiled search on the service's own problems: drivers' breaks placed by the scheduler's rule, routes priced
in tenge exactly as ``Pricing.route``, insertions the exact cheapest by enumeration, solutions the checker accepts."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from darp_instances import line_problem, narrow_windows, precedence_ok
from data.dataset import dataset_date, load_fleet, load_trips
from routing.alns import _State, handles, search, warm_up
from routing.almaty import build_problem
from routing.checker import check_solution
from routing.cost import Pricing
from routing.darp_kernel import BIG, route_insertion, timed_route, workspace
from routing.improve import Costs
from routing.problem import ProblemData
from routing.schedule import schedule
from routing.solution import Solution, idle_route
from routing.solver import NOT_FITTED_REASON, SolveParams, _penalty, construct, objective

TENGE = Pricing("tenge")
BREAK = {"break_earliest_s": 1800.0, "break_latest_s": 2700.0, "break_s": 900.0}


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """Compile the kernels first (a cold numba cache takes longer than the searches' time limits)."""
    warm_up()


def _costs(data: ProblemData) -> Costs:
    return Costs(TENGE, _penalty(data, SolveParams()))


def _state(data: ProblemData, solution: Solution | None = None) -> _State:
    solution = solution or Solution(tuple(idle_route(v) for v in data.vehicles), {r.id: "x" for r in data.requests})
    state = _State.of(data, solution, _costs(data), "x")
    assert state is not None
    return state


def _nodes(data: ProblemData, order: list) -> np.ndarray:
    index = {r.id: k for k, r in enumerate(data.requests)}
    n = len(data.requests)
    return np.array([index[r.id] + (0 if kind == "pickup" else n) for r, kind in order], dtype=np.int64)


def _kernel(state: _State, v: int, nodes: np.ndarray) -> tuple[int, float]:
    """(break position or -1 / -2 infeasible, tenge cost less the vehicle-day) of the kernel."""
    m = len(nodes)
    return timed_route(nodes, m, v, np.zeros(m + 2), np.zeros(m + 2), True, state.position, *state.arrays.kernel_args())


def _agree(data: ProblemData, state: _State, v: int, order: list) -> tuple[bool, bool]:
    """(the kernel and the scheduler agree on feasibility, break place and tenge cost; the order is feasible)."""
    vehicle = data.vehicles[v]
    after, cost = _kernel(state, v, _nodes(data, order))
    route = schedule(data, vehicle, order) if precedence_ok(order) else None
    if route is None:
        return after == -2, False
    exact = TENGE.route(data, data.request_index(), vehicle, route) - TENGE.fixed
    same_break = after == (route.break_after if route.break_start_s is not None else -1)
    return same_break and cost == pytest.approx(exact, abs=1e-6), True


def line_with_breaks(seed: int) -> ProblemData:
    """Three requests on a line, narrow random windows, a 15-min break 30-45 min into the shift, 90-min routes."""
    data = narrow_windows(line_problem(3, seed, vehicles=1), seed, 3600.0, 900.0, (1.2, 2.5), 300.0)
    return replace(data, vehicles=tuple(replace(v, **BREAK) for v in data.vehicles), max_route_duration_s=5400.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_compiled_breaks_and_tenge_cost_agree_with_the_scheduler_on_every_stop_order(seed: int) -> None:
    data = line_with_breaks(seed)
    state = _state(data)
    results = [_agree(data, state, 0, list(order))
               for order in itertools.permutations([(r, k) for r in data.requests for k in ("pickup", "dropoff")])]
    assert all(ok for ok, _ in results)
    assert 0 < sum(f for _, f in results) < 720  # both kinds of order occur


@pytest.fixture(scope="module")
def almaty_sample(dataset_dir: Path) -> ProblemData:
    """150 requests of the generated Almaty day and 20 of its vehicles (shifts, breaks, route duration kept)."""
    trips = load_trips(dataset_dir).sample(150, random_state=7).sort_values("earliest_pickup")
    fleet = load_fleet(dataset_dir)
    fleet = fleet.iloc[np.linspace(0, len(fleet) - 1, 20).astype(int)]
    data = build_problem(trips, fleet, dataset_date(dataset_dir), cache_dir=dataset_dir / "cache").data
    assert any(v.has_break for v in data.vehicles) and data.max_route_duration_s is not None
    return data


@pytest.fixture(scope="module")
def almaty_start(almaty_sample: ProblemData) -> Solution:
    """Sequential exact cheapest insertion (``routing.insertion``, the scheduler's times) of the sample."""
    return construct(almaty_sample, list(almaty_sample.requests), None, TENGE)


def test_compiled_feasibility_with_breaks_agrees_with_the_scheduler_on_random_insertions(
        almaty_sample: ProblemData, almaty_start: Solution) -> None:
    """Brute force on real routes: one request of a random route put back at every position pair."""
    data = almaty_sample
    state = _state(data, almaty_start)
    requests = data.request_index()
    rng = np.random.default_rng(1)
    used = [v for v, r in enumerate(almaty_start.routes) if r.stops]
    agree = feasible_count = tried = 0
    for _ in range(25):
        v = int(rng.choice(used))
        full = [(requests[s.request_id], s.kind) for s in almaty_start.routes[v].stops]
        assert _agree(data, state, v, full) == (True, True)
        new = full[int(rng.integers(len(full)))][0]  # one of its requests, left out and put back everywhere
        base = [x for x in full if x[0].id != new.id]
        for i, j in itertools.combinations_with_replacement(range(len(base) + 1), 2):
            order = base[:i] + [(new, "pickup")] + base[i:j] + [(new, "dropoff")] + base[j:]
            ok, feasible = _agree(data, state, v, order)
            agree += ok
            feasible_count += feasible
            tried += 1
    assert agree == tried and 0 < feasible_count < tried
    assert sum(1 for r in almaty_start.routes if r.stops and 0 < r.break_after < len(r.stops)) > 0  # breaks inside


def test_compiled_tenge_insertion_is_the_exact_cheapest_by_enumeration(almaty_sample: ProblemData,
                                                                       almaty_start: Solution) -> None:
    data = almaty_sample
    state = _state(data, almaty_start)
    requests, n = data.request_index(), len(data.requests)
    rng = np.random.default_rng(2)
    found = 0
    for _ in range(40):
        v = int(rng.choice([v for v, r in enumerate(almaty_start.routes) if r.stops]))
        route, vehicle = almaty_start.routes[v], data.vehicles[v]
        r = int(rng.integers(n))
        if state.owner[r] == v:
            continue
        m = int(state.lengths[v])
        cost, i, j = route_insertion(r, state.routes[v], m, v, state.times[v], state.latest[v], BIG, workspace(m, state.routes.shape[1], len(state.lengths)),
                                     state.position, *state.arrays.kernel_args())
        base = [(requests[s.request_id], s.kind) for s in route.stops]
        old = TENGE.route(data, requests, vehicle, route)
        best = BIG
        for a, b in itertools.combinations_with_replacement(range(m + 1), 2):
            order = base[:a] + [(data.requests[r], "pickup")] + base[a:b] + [(data.requests[r], "dropoff")] + base[b:]
            timed = schedule(data, vehicle, order)
            if timed is not None:
                best = min(best, TENGE.route(data, requests, vehicle, timed) - old)
        assert (i >= 0) == (best < BIG)
        if i >= 0:
            found += 1
            assert cost == pytest.approx(best, abs=1e-6)
    assert found > 0


def test_search_on_an_almaty_sample_is_checked_priced_exactly_and_never_worse(almaty_sample: ProblemData,
                                                                               almaty_start: Solution) -> None:
    data = almaty_sample
    assert handles(data, TENGE)
    costs = _costs(data)
    params = SolveParams()
    for start in (almaty_start, Solution(tuple(idle_route(v) for v in data.vehicles),
                                         {r.id: NOT_FITTED_REASON for r in data.requests})):
        stats: dict = {}
        result = search(data, start, costs, 3.0, NOT_FITTED_REASON, seed=3, stats=stats)
        assert check_solution(data, result) == []
        assert stats["iterations"] > 0
        assert objective(data, result, params) <= objective(data, start, params) + 1e-6
        # the search's own cost of its best routes is their exact tenge objective
        assert stats["best_cost"] == pytest.approx(objective(data, result, params), rel=1e-9)
        state = _state(data, result)
        requests = data.request_index()
        for v, route in enumerate(result.routes):
            assert state.route_cost[v] == pytest.approx(TENGE.route(data, requests, data.vehicles[v], route)
                                                        - (TENGE.fixed if route.stops else 0.0), abs=1e-6)


def test_a_route_whose_break_fits_nowhere_is_refused_as_the_scheduler_refuses_it() -> None:
    """A passenger on board through the whole break window: no empty stop to pause at, so no route."""
    data = line_with_breaks(0)
    r = data.requests[0]
    long_ride = replace(r, earliest_pickup_s=1500.0, latest_pickup_s=1600.0, max_ride_s=5000.0,
                        earliest_dropoff_s=3400.0)
    data = replace(data, requests=(long_ride, *data.requests[1:]))
    order = [(long_ride, "pickup"), (long_ride, "dropoff")]
    state = _state(data)
    assert schedule(data, data.vehicles[0], order) is None
    assert _kernel(state, 0, _nodes(data, order))[0] == -2
    no_break = replace(data, vehicles=tuple(replace(v, break_s=0.0) for v in data.vehicles))
    assert schedule(no_break, no_break.vehicles[0], order) is not None
    assert _kernel(_state(no_break), 0, _nodes(no_break, order))[0] == -1
