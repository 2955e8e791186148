"""The compiled search: its feasibility test and insertion agree with the exact scheduler and brute force,
it reaches brute-force and published optima, and every solution it returns passes the checker."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from darp_instances import assert_locks_kept, FIXTURES, brute_force_distance, line_problem, narrow_windows, precedence_ok
from routing.alns import _State, search, warm_up
from routing.checker import check_solution
from routing.cost import Pricing
from routing.darp_kernel import BIG, Arrays, feasible, insertion_bound, route_insertion, seed_random, workspace
from routing.improve import Costs
from routing.literature import read_cordeau, read_cordeau_solution
from routing.problem import ProblemData, Vehicle
from routing.schedule import schedule
from routing.solution import Route, Solution, solution_cost
from routing.solver import NOT_FITTED_REASON, SolveParams, construct, solve

PENALTY: float = 1e7
A2_16_OPTIMUM: float = 294.248


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """Compile the kernels first (a cold numba cache takes longer than the searches' time limits)."""
    warm_up()


def tight_problem(n_requests: int, seed: int) -> ProblemData:
    """A line problem with narrow random windows, short maximum rides and a route-duration limit."""
    data = narrow_windows(line_problem(n_requests, seed, vehicles=2), seed, 1800.0, 600.0, (1.0, 2.0), 120.0)
    return replace(data, max_route_duration_s=3600.0)


def _nodes(data: ProblemData, order: list) -> np.ndarray:
    index = {r.id: k for k, r in enumerate(data.requests)}
    n = len(data.requests)
    return np.array([index[r.id] + (0 if kind == "pickup" else n) for r, kind in order], dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_feasibility_agrees_with_the_scheduler_on_every_stop_order(seed: int) -> None:
    data = tight_problem(3, seed)
    state = _State.of(data, Solution(tuple(Route(v.id, 0.0, 0.0, ()) for v in data.vehicles),
                                     {r.id: "x" for r in data.requests}), Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), "x")
    stops = [(r, k) for r in data.requests for k in ("pickup", "dropoff")]
    agree = feasible_count = 0
    for order in itertools.permutations(stops):
        order = list(order)
        nodes = _nodes(data, order)
        times = np.zeros(len(nodes) + 2)
        ours = feasible(nodes, len(nodes), 0, times, state.position, *state.arrays.kernel_args())
        exact = precedence_ok(order) and schedule(data, data.vehicles[0], order) is not None
        agree += ours == exact
        feasible_count += exact
    assert agree == 720 and 0 < feasible_count < 720  # both kinds of order occur


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_compiled_insertion_is_the_exact_cheapest_by_enumeration(seed: int) -> None:
    """Every request into every route of a solution: the cheapest feasible place, found or proven absent; the
    insertion-cost lower bound of ``routing.darp_kernel`` stays at or below it."""
    data = tight_problem(7, seed)
    start = construct(data, list(data.requests), None, Pricing("distance"))
    state = _State.of(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), NOT_FITTED_REASON)
    arrays, n = state.arrays, len(data.requests)
    checked = found = 0
    for v, vehicle in enumerate(data.vehicles):
        m = int(state.lengths[v])
        base = list(state.routes[v, :m])
        old = route_points_cost(arrays, base)
        for r in range(n):
            if state.owner[r] == v:
                continue
            cost, i, j = route_insertion(r, state.routes[v], m, v, state.times[v], state.latest[v], BIG, workspace(m, state.routes.shape[1], len(state.lengths)),
                                         state.position, *arrays.kernel_args())
            best = BIG
            for a in range(m + 1):
                for b in range(a, m + 1):
                    new = base[:a] + [r] + base[a:b] + [n + r] + base[b:]
                    order = [(data.requests[x % n], "pickup" if x < n else "dropoff") for x in new]
                    if schedule(data, vehicle, order) is not None:
                        best = min(best, route_points_cost(arrays, new) - old)
            checked += 1
            found += best < BIG
            assert (i >= 0) == (best < BIG)
            if i >= 0:
                assert cost == pytest.approx(best, abs=1e-9)
                if m > 0:  # the lower bound that orders and prunes the vehicles never passes the exact cost
                    assert insertion_bound(r, state.routes[v], m, v, state.times[v], state.latest[v], *arrays.bound_args()) \
                        <= best + 1e-9
    assert checked > 0 and found > 0


def route_points_cost(arrays, nodes: list[int]) -> float:  # noqa: ANN001
    points = [arrays.depot[0], *[arrays.point[x] for x in nodes], arrays.depot[0]]
    return float(sum(arrays.arc[a, b] for a, b in zip(points[:-1], points[1:])))


@pytest.mark.parametrize(("seed", "vehicles"), [(0, 1), (1, 1), (2, 2), (3, 2)])
def test_search_reaches_the_brute_force_optimum_from_a_poor_start(seed: int, vehicles: int) -> None:
    data = line_problem(4 if vehicles == 2 else 3, seed, vehicles)
    idle = tuple(Route(v.id, 0.0, 0.0, ()) for v in data.vehicles)
    start = Solution(idle, {r.id: NOT_FITTED_REASON for r in data.requests})  # nothing served
    best = search(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), 1.0, NOT_FITTED_REASON)
    assert check_solution(data, best) == []
    assert not best.unserved
    assert solution_cost(data, best)["distance"] == pytest.approx(brute_force_distance(data), abs=1e-6)


@pytest.mark.parametrize(("seed", "vehicles"), [(0, 1), (2, 2), (3, 2)])
def test_regret_recreate_alone_reaches_the_brute_force_optimum(seed: int, vehicles: int) -> None:
    """Regret-2 (off in the default weights) keeps its own kernel path: its workspace grows with the routes."""
    data = line_problem(4 if vehicles == 2 else 3, seed, vehicles)
    idle = tuple(Route(v.id, 0.0, 0.0, ()) for v in data.vehicles)
    start = Solution(idle, {r.id: NOT_FITTED_REASON for r in data.requests})
    state = _State.of(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), NOT_FITTED_REASON)
    seed_random(seed)
    state.run(2000, 1.0, len(data.requests), recreate=(0.0, 0.0, 0.0, 1.0), full_retry=True)
    best = state.best_solution(data, start, NOT_FITTED_REASON)
    assert check_solution(data, best) == []
    assert not best.unserved
    assert solution_cost(data, best)["distance"] == pytest.approx(brute_force_distance(data), abs=1e-6)


def test_solver_with_the_search_reaches_the_a2_16_optimum() -> None:
    data = read_cordeau(FIXTURES / "a2-16.txt")
    result = solve(data, SolveParams(time_limit_s=5, cost="distance", scale=1000.0))  # the instance's own objective
    assert check_solution(data, result.solution) == []
    assert result.total_distance_m == pytest.approx(A2_16_OPTIMUM, abs=0.01)


def test_narrowed_windows_keep_the_published_pr01_schedule_and_the_search_stays_feasible() -> None:
    """Open pickup windows get the window their drop-off implies; the published (optimal) times still fit."""
    data = read_cordeau(FIXTURES / "pr01.txt")
    n = len(data.requests)
    arrays = _State.of(data, Solution(tuple(Route(v.id, 0.0, 0.0, ()) for v in data.vehicles),
                                      {r.id: "x" for r in data.requests}), Costs(Pricing("distance"), PENALTY), "x").arrays
    open_pickups = [k for k, r in enumerate(data.requests) if r.latest_pickup_s - r.earliest_pickup_s >= 1000]
    assert open_pickups and all(arrays.high[k] - arrays.low[k] <= arrays.high[k + n] - arrays.low[k + n] + arrays.ride[k]
                                for k in open_pickups)  # drop-off window plus the longest ride
    published, _ = read_cordeau_solution(FIXTURES / "pr01.res", data)
    index = {r.id: k for k, r in enumerate(data.requests)}
    for route in published.routes:
        for stop in route.stops:
            node = index[stop.request_id] + (0 if stop.kind == "pickup" else n)
            assert arrays.low[node] - 1e-6 <= stop.time_s <= arrays.high[node] + 1e-6
    result = solve(data, SolveParams(time_limit_s=3, scale=1000.0))
    assert check_solution(data, result.solution) == [] and not result.unserved


def test_insertion_bound_on_the_published_pr01_routes_never_passes_the_exact_cheapest_insertion() -> None:
    """Every request into every other route of the published pr01 solution (real windows, binding route durations):
    the lower bound that orders and prunes vehicles stays at or below the exact cheapest insertion, and it rules
    out (``BIG``) routes whose windows leave no place."""
    data = read_cordeau(FIXTURES / "pr01.txt")
    published, _ = read_cordeau_solution(FIXTURES / "pr01.res", data)
    state = _State.of(data, published, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), "x")
    assert state is not None
    args, n = state.arrays.kernel_args(), len(data.requests)
    pruned = feasible_places = 0
    for v in range(len(data.vehicles)):
        m = int(state.lengths[v])
        for r in range(n):
            if state.owner[r] == v or m == 0:
                continue
            bound = insertion_bound(r, state.routes[v], m, v, state.times[v], state.latest[v], *state.arrays.bound_args())
            cost, i, _ = route_insertion(r, state.routes[v], m, v, state.times[v], state.latest[v], BIG, workspace(m, state.routes.shape[1], len(state.lengths)),
                                         state.position, *args)
            if i >= 0:
                feasible_places += 1
                assert bound <= cost + 1e-9
            pruned += bound >= BIG
    assert feasible_places > 0 and pruned > 0


def test_fixed_vehicle_cost_empties_routes_and_operators_and_capacities_hold() -> None:
    """One request per vehicle to start; a fixed cost pools them; wheelchairs and an operator restriction respected."""
    data = line_problem(6, seed=2, vehicles=6)
    fleet = tuple(replace(v, operator="A" if k < 3 else "B", wheelchair_places=k % 2) for k, v in enumerate(data.vehicles))
    requests = tuple(replace(r, operator="B" if k == 0 else None) for k, r in enumerate(data.requests))
    data = replace(data, vehicles=fleet, requests=requests, operators=frozenset({"A", "B"}))
    start = solve(data, SolveParams(time_limit_s=1, lns_share=0.0)).solution
    costs = Costs(Pricing("distance", vehicle_fixed_cost=50_000.0), PENALTY)
    better = search(data, start, costs, 1.0, NOT_FITTED_REASON)
    assert check_solution(data, better) == []
    assert solution_cost(data, better)["vehicles_used"] < solution_cost(data, start)["vehicles_used"] or \
        solution_cost(data, start)["vehicles_used"] == 1
    assert set(better.unserved) == set(start.unserved)


def test_unserved_requests_with_another_reason_are_left_alone() -> None:
    data = line_problem(3, seed=4, vehicles=3)
    routes = tuple(schedule(data, v, [(r, "pickup"), (r, "dropoff")]) for v, r in zip(data.vehicles[:2], data.requests))
    start = Solution(routes + (Route(data.vehicles[2].id, 0.0, 0.0, ()),), {data.requests[2].id: "cancelled"})
    result = search(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), 0.3, NOT_FITTED_REASON)
    assert check_solution(data, result) == []
    assert result.unserved == {data.requests[2].id: "cancelled"}


def test_a_running_plan_keeps_its_stops_under_way() -> None:
    """With ``now_s`` the search hands over to ruin and recreate, which keeps locked stops."""
    data = line_problem(5, seed=6, vehicles=5)
    start = Solution(tuple(schedule(data, v, [(r, "pickup"), (r, "dropoff")]) for v, r in zip(data.vehicles, data.requests)))
    now = min(r.stops[0].time_s for r in start.routes) + 1.0
    result = search(data, start, Costs(Pricing("distance", vehicle_fixed_cost=50_000.0), PENALTY), 0.5, NOT_FITTED_REASON, now_s=now)
    assert check_solution(data, result) == []
    assert_locks_kept(data, start, result, now)


def test_shifts_and_depots_per_vehicle_are_respected() -> None:
    """Two vehicles with different depots and shifts; every returned route fits its own shift."""
    data = tight_problem(6, seed=9)
    fleet = (Vehicle("early", "OP", 0, 0.0, 2400.0, 1, 2), Vehicle("late", "OP", 3, 1200.0, 7200.0, 1, 2))
    data = replace(data, vehicles=fleet)
    start = Solution(tuple(Route(v.id, v.shift_start_s, v.shift_start_s, ()) for v in fleet),
                     {r.id: NOT_FITTED_REASON for r in data.requests})
    result = search(data, start, Costs(Pricing("distance", vehicle_fixed_cost=0.0), PENALTY), 0.5, NOT_FITTED_REASON)
    assert check_solution(data, result) == []
    assert len(result.served_ids()) > 0


def test_kernel_matrices_have_one_row_per_place_with_every_entry_unchanged() -> None:
    """Stops at one place share a matrix row and column (``Arrays.of``); one whose times differ keeps its own."""
    data = line_problem(4, 0)
    duration, distance = data.duration_s.copy(), data.distance_m.copy()
    for matrix in (duration, distance):  # point 4 at point 2's place; 6 at 3's but slower to leave, 8 at 5's to reach
        for twin, place in ((4, 2), (6, 3), (8, 5)):
            matrix[twin], matrix[:, twin] = matrix[place], matrix[:, place]
    duration[6, 0] += 5.0
    duration[0, 8] += 5.0
    data = replace(data, duration_s=duration, distance_m=distance)
    arrays = Arrays.of(data, data.distance_m)
    assert arrays.duration.shape == (len(duration) - 1, len(duration) - 1)
    n = len(data.requests)
    original = [r.pickup for r in data.requests] + [r.dropoff for r in data.requests] + [0]
    merged = [*arrays.point, arrays.depot[0]]
    assert merged[original.index(4)] == merged[original.index(2)]
    assert merged[original.index(6)] != merged[original.index(3)] and merged[original.index(8)] != merged[original.index(5)]
    for a, b in itertools.product(range(2 * n + 1), repeat=2):
        assert arrays.duration[merged[a], merged[b]] == duration[original[a], original[b]]
        assert arrays.arc[merged[a], merged[b]] == distance[original[a], original[b]]


@pytest.mark.parametrize("seed", [0, 1])
def test_vehicles_skipped_for_their_shift_cannot_serve_the_request_even_alone(seed: int) -> None:
    """``Arrays.allowed`` drops a vehicle only when the request alone does not fit its shift (exact scheduler)."""
    data = narrow_windows(line_problem(6, seed), seed, 3600.0, 600.0, (1.0, 2.0), 120.0)
    shifts = [(0.0, 1800.0), (900.0, 2400.0), (1800.0, 4000.0), (0.0, 4000.0)]
    data = replace(data, vehicles=tuple(Vehicle(f"v{k}", "OP", 0, a, b, 1, 2) for k, (a, b) in enumerate(shifts)))
    arrays = Arrays.of(data, data.distance_m)
    dropped = 0
    for (k, r), (v, vehicle) in itertools.product(enumerate(data.requests), enumerate(data.vehicles)):
        if not arrays.allowed[k, v]:
            dropped += 1
            assert schedule(data, vehicle, [(r, "pickup"), (r, "dropoff")]) is None
    assert dropped > 0
