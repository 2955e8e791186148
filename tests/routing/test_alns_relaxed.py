"""The relaxed route duration of the compiled search (``routing.alns.DURATION_SLACK``): time over the limit is priced
exactly when the scheduler cannot keep the limit, insertions are the cheapest by that price, and the plans the search
returns keep the true limit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from darp_instances import FIXTURES
from routing.alns import _State, search, warm_up
from routing.checker import check_solution
from routing.cost import Pricing
from routing.darp_kernel import BIG, route_insertion, timed_route, workspace
from routing.improve import Costs
from routing.literature import read_cordeau, read_cordeau_solution
from routing.problem import ProblemData
from routing.schedule import schedule
from routing.solution import solution_cost
from routing.solver import NOT_FITTED_REASON, construct

PENALTY: float = 1e7
PRICE: float = 0.5  # per minute over the limit (pr01: distance and time in the same units)


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    warm_up()


def _published_state(limit: float, search_limit: float) -> tuple[ProblemData, _State]:
    """pr01's published (optimal) routes, searched with routes up to ``search_limit`` and ``limit`` priced."""
    data = read_cordeau(FIXTURES / "pr01.txt")
    published, _ = read_cordeau_solution(FIXTURES / "pr01.res", data)
    state = _State.of(data, published, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), "x")
    state.arrays = replace(state.arrays, duration_limit=limit)
    state.relax(search_limit, PRICE)
    return data, state


def _order(data: ProblemData, nodes: list[int]) -> list:
    n = len(data.requests)
    return [(data.requests[x % n], "pickup" if x < n else "dropoff") for x in nodes]


def _over(state: _State, v: int, nodes: list[int]) -> float:
    """The kernel's price for the route's time over the limit."""
    m = len(nodes)
    seq = np.array(nodes + [0, 0], dtype=np.int64)
    return timed_route(seq, m, v, np.zeros(m + 2), np.zeros(m + 2), False, state.position, *state.arrays.kernel_args())[1]


def _least_duration(data: ProblemData, v: int, order: list) -> float:
    """The route's least duration by the scheduler, by bisection on the duration limit (minutes, to 1e-4)."""
    low, high = 0.0, 10_000.0
    for _ in range(40):
        middle = (low + high) / 2
        if schedule(replace(data, max_route_duration_s=middle), data.vehicles[v], order) is None:
            low = middle
        else:
            high = middle
    return high


@pytest.mark.parametrize("limit", [300.0, 400.0, 440.0])
def test_time_over_the_limit_is_priced_exactly_when_the_scheduler_cannot_keep_it(limit: float) -> None:
    """Each published route under a tighter limit: a price iff the scheduler fails, and never below the least time
    over it (the price counts the route's least times, departure just in time)."""
    data, state = _published_state(limit, 480.0)
    kinds = set()
    for v in range(len(data.vehicles)):
        nodes = [int(x) for x in state.routes[v, :state.lengths[v]]]
        if not nodes:
            continue
        order = _order(data, nodes)
        over = _over(state, v, nodes)
        keeps = schedule(replace(data, max_route_duration_s=limit), data.vehicles[v], order) is not None
        assert (over == 0.0) == keeps
        assert over >= PRICE * (_least_duration(data, v, order) - limit) - 1e-3
        kinds.add(keeps)
    assert kinds == {True, False}


def test_relaxed_insertion_is_the_cheapest_by_arcs_and_time_over_the_limit() -> None:
    """Every request into every other route of pr01's published plan, routes up to 528 minutes and a limit of 420: the
    cheapest place by arc cost plus the change in the route's price for time over the limit, by enumeration."""
    data, state = _published_state(420.0, 528.0)
    arrays, n = state.arrays, len(data.requests)
    relaxed = replace(data, max_route_duration_s=528.0)
    checked = priced = 0
    for v, vehicle in enumerate(data.vehicles):
        m = int(state.lengths[v])
        base = [int(x) for x in state.routes[v, :m]]
        old = _arc_cost(arrays, v, base) + _over(state, v, base)
        for r in range(n):
            if state.owner[r] == v:
                continue
            cost, i, j = route_insertion(r, state.routes[v], m, v, state.times[v], state.latest[v], BIG,
                                         workspace(m, state.routes.shape[1], len(state.lengths)), state.position,
                                         *arrays.kernel_args())
            best, best_over = BIG, 0.0
            for a in range(m + 1):
                for b in range(a, m + 1):
                    new = base[:a] + [r] + base[a:b] + [n + r] + base[b:]
                    if schedule(relaxed, vehicle, _order(data, new)) is not None:
                        over = _over(state, v, new)
                        if _arc_cost(arrays, v, new) + over - old < best:
                            best, best_over = _arc_cost(arrays, v, new) + over - old, over
            checked += 1
            priced += 0 < best < BIG and best_over > 0
            assert (i >= 0) == (best < BIG)
            if i >= 0:
                assert cost == pytest.approx(best, abs=1e-6)
    assert checked > 0 and priced > 0  # some cheapest places run over the limit


def _arc_cost(arrays, v: int, nodes: list[int]) -> float:  # noqa: ANN001
    points = [arrays.depot[v], *[arrays.point[x] for x in nodes], arrays.depot[v]]
    return float(sum(arrays.arc[a, b] for a, b in zip(points[:-1], points[1:])))


def test_relaxed_search_runs_over_the_limit_yet_returns_plans_within_it() -> None:
    """pr01 under a 440-minute limit (480 published), from the insertion start: the search's current plans run over
    the limit at times, and the plan it returns keeps it (the checker accepts it) at no higher cost."""
    data = replace(read_cordeau(FIXTURES / "pr01.txt"), max_route_duration_s=440.0)
    start = construct(data, list(data.requests), None, Pricing("distance"))
    stats: dict = {}
    best = search(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), 2.0, NOT_FITTED_REASON,
                  stats=stats)
    assert check_solution(data, start) == [] and check_solution(data, best) == [] and not best.unserved
    assert stats["over_chunks"] > 0 and stats["duration_price"] > 0
    assert solution_cost(data, best)["distance"] <= solution_cost(data, start)["distance"] + 1e-6
