"""Solve a dial-a-ride problem with OR-Tools routing.

Model: one routing node per pickup and per drop-off plus each vehicle's
start and end; pickup-and-delivery pairs on the same vehicle with
precedence; two capacity dimensions (wheelchair places, seats); a time
dimension whose transit is service time plus travel time, with windows on
the start of service, shifts as the vehicles' start/end windows, the route
duration as a span limit, and the maximum ride time as ``time(drop-off) -
time(pickup) <= service(pickup) + max ride``; each request optional with a
penalty, so that the plan never fails as a whole. Requests no plan can serve
are screened out first (``problem.unservable_reason``) and reported with
their reason.

Search: without a starting solution, a portfolio of OR-Tools first-solution
strategies (``FIRST_SOLUTIONS``), each improved by guided local search in an
equal share of OR-Tools' time; large days start instead from the exact
cheapest-insertion construction. The best solution then goes to the
improver (``SolveParams.search``) for the rest of the time limit
(``SolveParams.lns_share``): by default the compiled large-neighbourhood
search (``routing.alns``), which gets 95 % of the time and, on large days,
builds its own start instead of the construction and OR-Tools; a running
plan goes to ruin and recreate (``routing.improve``). Both empty routes that
OR-Tools' local search keeps (fewer vehicles when they carry a fixed cost).

Re-solving a running plan (``current`` and ``SolveParams.now_s``): the stops
locked at ``now_s`` or committed (``SolveParams.committed``, ``routing.locks``) stay; each vehicle starts where it
stands, with its passengers on board, whose drop-offs it must still make.

OR-Tools needs integers: travel and service times are scaled and rounded up,
windows rounded inwards, so every integer solution is feasible in exact
times. Final times come from the exact scheduler (``routing.schedule``),
never from rounded solver values.

Objective (``routing.cost.Pricing``): tenge by default (vehicle-days, paid
driver hours, km, passengers' excess ride time); the OR-Tools model prices
the arcs (km and driving hours) and the vehicle-day as its fixed cost, and
every choice between whole plans uses the exact cost. Literature instances
use ``cost="distance"`` (or "duration") and keep their published objectives.
Drivers' breaks are OR-Tools break intervals (not during a service); the
exact scheduler then places each break at the depot or at an empty stop.

Reproducibility: with ``solution_limit`` and ``iterations`` (work limits)
and a ``seed``, the same problem gives the same plan on any machine, as long
as the time limit (then only a safety cap) is not reached.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.alns import handles as alns_handles
from routing.alns import search as alns_search
from routing.cost import TENGE, CostModel, CostName, Pricing
from routing.improve import Costs, improve
from routing.insertion import ProfileCache, best_insertion
from routing.locks import VehicleState, vehicle_state
from routing.problem import ProblemData, StopKind, TripRequest, fits, unservable_reason
from routing.schedule import schedule
from routing.solution import Route, Solution, idle_route, solution_cost

NOT_FITTED_REASON: str = "no vehicle had room for it within the time limit (all vehicles busy in its window)"
NOT_REACHED_REASON: str = "not considered: the solver's time limit ended during the first insertion pass (raise the time limit)"
INSERTION_FROM_REQUESTS: int = 200  # "auto" construction: OR-Tools' own below, exact insertion above
INTEGER_RANGE: float = 1e8  # automatic scale: the largest time (or arc cost) maps to about this many units
UNREACHABLE: float = 1e9  # stands in for infinite matrix entries (unreachable pairs), in matrix units
PENALTY_FACTOR: float = 100.0  # default unserved penalty = this x the longest arc + the vehicle fixed cost
FIRST_SOLUTIONS: tuple[str, ...] = ("PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION")
LNS_SHARE: float = 0.5  # share of the time limit left to ruin and recreate after OR-Tools
ALNS_SHARE: float = 0.95  # the same for the compiled search (issue #14: 0.95 beat 0.5 on a7-70, a8-96, pr05 at 20 s)
MIN_SEARCH_MS: int = 50  # OR-Tools always gets this long, even past the deadline, to find a first solution


@dataclass(frozen=True)
class SolveParams:
    """Solver parameters.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the whole solve in seconds (a safety cap when
        ``solution_limit`` and ``iterations`` bound the work).
    cost
        Objective: "tenge" (the service's cost model ``tenge``), "distance"
        (metres) or "duration" (seconds of travel).
    tenge
        Tenge rates (``routing.cost.TENGE``: calibrated to the city's budget).
    scale
        Integer units per matrix unit for OR-Tools; None: automatic (the
        horizon and the longest arc map to about ``INTEGER_RANGE`` units).
    unserved_penalty
        Cost of leaving a request unserved, in cost-matrix units; None: larger
        than any detour, so the solver serves all it can.
    vehicle_fixed_cost
        Extra cost of using a vehicle, in the objective's unit (large: minimise vehicles first).
    first_solutions
        OR-Tools ``FirstSolutionStrategy`` names: without a starting solution
        each is tried in turn, its solution improved by the metaheuristic in
        an equal share of OR-Tools' time, and the best kept (a portfolio);
        with one (a construction or a running plan), one search from it.
    metaheuristic
        OR-Tools ``LocalSearchMetaheuristic`` name.
    construction
        First solution: "ortools" (the ``first_solutions`` portfolio),
        "insertion" (exact sequential cheapest insertion, which OR-Tools then
        improves; where the compiled search applies (see ``search``), it
        inserts every request itself and OR-Tools is skipped), or "auto"
        (insertion above ``INSERTION_FROM_REQUESTS`` requests).
    lns_share
        Share of the time limit given, after OR-Tools, to the improver
        (``search``) from the best solution so far; 0: OR-Tools only; None:
        ``ALNS_SHARE`` where the compiled search applies, else ``LNS_SHARE``.
        Not used with operator balancing, which only the OR-Tools model prices.
    balance_weight
        Operator balancing: cost (cost-matrix units) per stop a vehicle makes
        above an even share of all stops, so that each operator's share
        follows its fleet size; 0 disables it.
    now_s
        The present (seconds): requests whose pickup window closed are
        unserved; with a current plan, its stops under way are locked.
    committed
        With a current plan: (vehicle id, leading stops) committed whatever
        the clock says (the stop a vehicle heads to: ``routing.locks``).
    seed
        Random seed of ruin and recreate.
    solution_limit
        Work limit of OR-Tools: solutions per search (None: time only; 0:
        skip OR-Tools when a construction gives the start).
    iterations
        Work limit of ruin and recreate: iterations (None: time only).
    log
        Print OR-Tools search progress.
    search
        The improver given ``lns_share`` of the time: "alns" (``routing.alns``,
        compiled large-neighbourhood search) or "ruin_and_recreate"
        (``routing.improve``). The compiled search models every objective
        (tenge included), fixed costs, penalties and drivers' breaks
        (``routing.alns.handles``); a running plan (``now_s``) and an
        ``iterations`` work limit go to ruin and recreate.
    """

    time_limit_s: float = 30.0
    cost: CostName = "tenge"
    tenge: CostModel = TENGE
    scale: float | None = None
    unserved_penalty: float | None = None
    vehicle_fixed_cost: float = 0.0
    first_solutions: tuple[str, ...] = FIRST_SOLUTIONS
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    construction: Literal["auto", "ortools", "insertion"] = "auto"
    lns_share: float | None = None
    balance_weight: float = 0.0
    now_s: float | None = None
    committed: tuple[tuple[str, int], ...] = ()
    seed: int = 0
    solution_limit: int | None = None
    iterations: int | None = None
    log: bool = False
    search: Literal["alns", "ruin_and_recreate"] = "alns"  # solver hook (issue #14): the improver after OR-Tools

    @property
    def pricing(self) -> Pricing:
        """The objective's route pricing."""
        return Pricing(self.cost, self.tenge, self.vehicle_fixed_cost)

    @property
    def work_limited(self) -> bool:
        """Whether work limits, not the clock, end both searches (a reproducible solve)."""
        return self.solution_limit is not None and self.iterations is not None


@dataclass(frozen=True)
class SolveResult:
    """A solution and what it costs.

    Attributes
    ----------
    solution
        Routes (one per vehicle) and unserved requests with reasons.
    objective
        Cost of the solution in the objective's unit (tenge, metres or
        seconds): routes and unserved penalties (see :func:`objective`).
    runtime_s
        Wall time in seconds.
    status
        OR-Tools routing status name, or how the solution was obtained.
    total_distance_m, total_duration_s
        Distance (metres) and travel time (seconds) driven.
    vehicle_hours
        Hours from leaving the depot to returning, summed over used vehicles.
    served, vehicles_used
        Counts.
    search_iterations
        Ruin-and-recreate steps the compiled search took (0: it did not run);
        with the time limit, a measure of the machine's speed.
    """

    solution: Solution
    objective: float
    runtime_s: float
    status: str
    total_distance_m: float = 0.0
    total_duration_s: float = 0.0
    vehicle_hours: float = 0.0
    served: int = 0
    vehicles_used: int = 0
    search_iterations: int = 0

    @property
    def routes(self) -> tuple[Route, ...]:
        """The routes, one per vehicle."""
        return self.solution.routes

    @property
    def unserved(self) -> dict[str, str]:
        """Unserved request id -> reason."""
        return self.solution.unserved


def objective(data: ProblemData, solution: Solution, params: SolveParams) -> float:
    """The solver's objective, computed exactly: route costs (``routing.cost.Pricing``) + unserved penalties.

    The unserved penalty is paid for every request of ``data`` left
    unserved that some plan might serve; those no plan can serve at
    ``params.now_s`` (``problem.unservable_reason``) cost nothing.
    """
    pricing = params.pricing
    requests, vehicles = data.request_index(), data.vehicle_index()
    total = sum(pricing.route(data, requests, vehicles[r.vehicle_id], r) for r in solution.routes)
    servable = sum(1 for r in solution.unserved if r in requests
                   and unservable_reason(data, requests[r], params.now_s) is None)
    return total + servable * _penalty(data, params)


def solve(data: ProblemData, params: SolveParams | None = None, current: Solution | None = None) -> SolveResult:
    """Assign vehicles and order stops; see the module docstring for the model.

    Parameters
    ----------
    data
        The problem.
    params
        Solver parameters.
    current
        A running plan to improve: its stops locked at ``params.now_s`` stay,
        it is the search's starting point, and the result is never worse.
    """
    params = params or SolveParams()
    started = time.perf_counter()
    deadline = started + params.time_limit_s
    requests = data.request_index()
    committed = dict(params.committed)
    states = [vehicle_state(data, requests, v, _route_of(current, v.id), params.now_s, committed.get(v.id, 0))
              for v in data.vehicles]
    fixed = {s.request_id for state in states for s in state.locked}
    unserved = {r.id: reason for r in data.requests if r.id not in fixed
                and (reason := unservable_reason(data, r, params.now_s)) is not None}
    open_requests = [r for r in data.requests if r.id not in fixed and r.id not in unserved]
    model = _Model(data, params, states, open_requests)
    initial = current
    lns_share = 0.0 if params.balance_weight else params.lns_share
    compiled = params.search == "alns" and params.now_s is None and params.iterations is None \
        and alns_handles(data, params.pricing)  # solver hook (issue #14): where the compiled search applies
    if lns_share is None:  # the compiled search gets most of the time
        lns_share = ALNS_SHARE if compiled else LNS_SHARE
    by_insertion = initial is None and (params.construction == "insertion" or (
        params.construction == "auto" and len(open_requests) > INSERTION_FROM_REQUESTS))
    compiled_start = by_insertion and compiled and lns_share > 0
    if compiled_start:  # the compiled search inserts every request itself: no Python construction, no OR-Tools
        initial = Solution(tuple(idle_route(v) for v in data.vehicles), {r.id: NOT_FITTED_REASON for r in open_requests})
    elif by_insertion:
        initial = construct(data, open_requests, params.now_s, params.pricing, None if params.work_limited else deadline)
    ortools_end = deadline if params.work_limited else deadline - lns_share * max(0.0, deadline - time.perf_counter())
    candidates = []
    strategies = params.first_solutions if initial is None else params.first_solutions[:1]
    if compiled_start or (initial is not None and params.solution_limit == 0) \
            or (initial is not None and not params.work_limited and time.perf_counter() >= ortools_end):
        strategies = ()  # nothing for OR-Tools to do, or no time left for it after the start
    for k, strategy in enumerate(strategies):  # a portfolio: each start improved in an equal share of the time
        until = time.perf_counter() + (ortools_end - time.perf_counter()) / (len(strategies) - k)
        sequences, status = model.solve(until, initial, strategy)
        found = None if sequences is None else _solution_of(data, states, sequences, open_requests, unserved, params)
        if found is not None:
            candidates.append((found, status))
    if initial is not None:
        kept = {r.id: NOT_FITTED_REASON for r in open_requests if r.id not in initial.served_ids()}
        routes = tuple(_route_of(initial, v.id) or idle_route(v) for v in data.vehicles)
        candidates.append((Solution(routes, {**kept, **unserved}), "CONSTRUCTED" if current is None else "KEPT"))
    if not candidates:
        routes = tuple(idle_route(v) for v in data.vehicles)
        candidates.append((Solution(routes, {**{r.id: NOT_FITTED_REASON for r in open_requests}, **unserved}),
                           "NO_SOLUTION"))
    solution, status = min(candidates, key=lambda c: objective(data, c[0], params))
    stats: dict = {}
    if lns_share > 0 and params.iterations != 0 and (left_s := deadline - time.perf_counter()) > 0:
        costs = Costs(params.pricing, _penalty(data, params))
        if compiled:
            improved = alns_search(data, solution, costs, left_s, NOT_FITTED_REASON, None, params.seed, stats)
            search = "ALNS"
        else:
            improved = improve(data, solution, costs, left_s, NOT_FITTED_REASON, params.now_s, params.seed,
                               params.iterations, committed)
            search = "RUIN_AND_RECREATE"
        if objective(data, improved, params) < objective(data, solution, params) - 1e-9:
            solution, status = improved, f"{status}+{search}"
    return _result(data, solution, params, time.perf_counter() - started, status, stats.get("iterations", 0))


def construct(data: ProblemData, requests: list[TripRequest], now_s: float | None, pricing: Pricing,
              deadline: float | None = None) -> Solution:
    """Sequential exact cheapest insertion of ``requests`` in order of earliest pickup (unserved: not fitted).

    ``deadline`` (a ``time.perf_counter()`` value): the requests not yet
    inserted when it passes stay unserved, so that a short time limit holds.
    """
    index = data.request_index()
    routes: dict[str, Route] = {}
    unserved: dict[str, str] = {}
    cache = ProfileCache()
    for request in sorted(requests, key=lambda r: (r.earliest_pickup_s, r.id)):
        if deadline is not None and time.perf_counter() > deadline:
            unserved[request.id] = NOT_REACHED_REASON
            continue
        insertion = best_insertion(data, index, routes, request, now_s, pricing, cache)
        if insertion is None:
            unserved[request.id] = NOT_FITTED_REASON
        else:
            routes[insertion.vehicle_id] = insertion.route
    return Solution(tuple(routes.get(v.id) or idle_route(v) for v in data.vehicles), unserved)


def _solution_of(data: ProblemData, states: list[VehicleState], sequences: list[list[tuple[TripRequest, StopKind]]],
                 open_requests: list[TripRequest], unserved: dict[str, str], params: SolveParams) -> Solution | None:
    """The exactly timed, repaired solution of the solver's stop sequences (None: a vehicle's stops cannot be timed)."""
    routes = [_timed_route(data, state, sequence, params.now_s) for state, sequence in zip(states, sequences)]
    if any(route is None for route in routes):
        return None
    served = {s.request_id for r in routes for s in r.stops}
    left = {r.id: NOT_FITTED_REASON for r in open_requests if r.id not in served}
    return _repair(data, Solution(tuple(routes), {**left, **unserved}), params)


def _repair(data: ProblemData, solution: Solution, params: SolveParams) -> Solution:
    """Try the exact cheapest insertion for every request the search left out."""
    left_out = [r for r in data.requests if solution.unserved.get(r.id) == NOT_FITTED_REASON]
    if not left_out:
        return solution
    index = data.request_index()
    routes = {r.vehicle_id: r for r in solution.routes}
    unserved = dict(solution.unserved)
    cache = ProfileCache()
    for request in left_out:
        insertion = best_insertion(data, index, routes, request, params.now_s, params.pricing, cache,
                                   committed=dict(params.committed))
        if insertion is not None:
            routes[insertion.vehicle_id] = insertion.route
            del unserved[request.id]
    return Solution(tuple(routes[v.id] for v in data.vehicles), unserved)


def _route_of(solution: Solution | None, vehicle_id: str) -> Route | None:
    if solution is None:
        return None
    return next((r for r in solution.routes if r.vehicle_id == vehicle_id), None)


def _timed_route(data: ProblemData, state: VehicleState, sequence: list[tuple[TripRequest, StopKind]],
                 now_s: float | None) -> Route | None:
    """Exact times for the vehicle's locked stops followed by ``sequence``.

    Should rounding have let the solver accept an order that exact times
    cannot realise (a window narrower than one integer unit), open requests
    are dropped from the end until it schedules (the caller re-inserts
    them); None if even the passengers on board cannot be dropped off.
    """
    requests = data.request_index()
    locked = [(requests[s.request_id], s.kind) for s in state.locked]
    on_board = {r.id for r, _ in state.on_board}
    while True:
        full = locked + sequence
        if not full:
            return idle_route(state.vehicle)
        route = schedule(data, state.vehicle, full, [s.time_s for s in state.locked], state.departed_s, now_s)
        if route is not None:
            return route
        victim = next((r.id for r, _ in reversed(sequence) if r.id not in on_board), None)
        if victim is None:
            return None
        sequence = [(r, k) for r, k in sequence if r.id != victim]


def _result(data: ProblemData, solution: Solution, params: SolveParams, runtime_s: float, status: str,
            iterations: int = 0) -> SolveResult:
    cost = solution_cost(data, solution)
    return SolveResult(solution, objective(data, solution, params), runtime_s, status, cost["distance"],
                       cost["driving_time"], cost["vehicle_time"] / 3600.0, int(cost["served"]), int(cost["vehicles_used"]),
                       iterations)


def _penalty(data: ProblemData, params: SolveParams) -> float:
    """Unserved penalty in the objective's unit."""
    if params.unserved_penalty is not None:
        return params.unserved_penalty
    arc = params.pricing.arc(data)
    longest = float(arc[np.isfinite(arc)].max(initial=0.0))
    return params.pricing.fixed + PENALTY_FACTOR * longest + 1.0


def _scale(params: SolveParams, largest: float) -> float:
    """Integer units per matrix unit: a power of ten mapping ``largest`` to at most ``INTEGER_RANGE``."""
    if params.scale is not None:
        return params.scale
    return 10.0 ** math.floor(math.log10(INTEGER_RANGE / max(largest, 1.0)))


class _Model:
    """The OR-Tools routing model of one solve.

    Nodes: vehicle starts (where each vehicle stands), vehicle ends (depots),
    then pickup and drop-off of each open request, then the drop-off of each
    passenger on board.
    """

    def __init__(self, data: ProblemData, params: SolveParams, states: list[VehicleState],
                 open_requests: list[TripRequest]) -> None:
        self.data, self.params, self.states = data, params, states
        self.vehicles = [s.vehicle for s in states]
        self.open = open_requests
        self.on_board = [(r, t, i) for i, s in enumerate(states) for r, t in s.on_board]
        n_vehicles = len(states)
        # stops[k] = (request, kind) of node 2V + k
        self.stops: list[tuple[TripRequest, StopKind]] = [(r, k) for r in open_requests for k in ("pickup", "dropoff")]
        self.stops += [(r, "dropoff") for r, _, _ in self.on_board]
        self.node_of = {(r.id, k): 2 * n_vehicles + j for j, (r, k) in enumerate(self.stops)}
        self.points = np.array([s.point for s in states] + [v.depot for v in self.vehicles]
                               + [r.point(k) for r, k in self.stops], dtype=int)
        horizon_s = max(v.shift_end_s for v in self.vehicles) if self.vehicles else 1.0
        finite = data.duration_s[np.isfinite(data.duration_s)]
        self.time_scale = _scale(params, max(horizon_s, float(finite.max(initial=1.0))))
        arc = params.pricing.arc(data)
        self.cost_scale = _scale(params, float(arc[np.isfinite(arc)].max(initial=1.0)))
        self.horizon = int(math.ceil(horizon_s * self.time_scale))

    def _ints(self, matrix: np.ndarray, scale: float) -> np.ndarray:
        """Scaled matrix between the model's nodes, rounded up; unreachable pairs get a huge value."""
        sub = matrix[np.ix_(self.points, self.points)]
        return np.ceil(np.where(np.isfinite(sub), sub, UNREACHABLE) * scale).astype(np.int64)

    def _time(self, seconds: float, rounding=math.ceil) -> int:  # noqa: ANN001 - math.ceil / math.floor
        return int(rounding(seconds * self.time_scale))

    def solve(self, deadline: float, initial: Solution | None,
              first_solution: str) -> tuple[list[list[tuple[TripRequest, StopKind]]] | None, str]:
        """Per vehicle the ordered open stops (after its locked ones), or None; and the status name.

        Parameters
        ----------
        deadline
            ``time.perf_counter()`` value at which the search stops (the model
            is built first, within the same time).
        initial
            Starting solution; None: OR-Tools builds one with ``first_solution``.
        first_solution
            OR-Tools ``FirstSolutionStrategy`` name.
        """
        if not self.vehicles or not self.stops:
            return [[] for _ in self.vehicles], "EMPTY"
        data, params = self.data, self.params
        n_vehicles = len(self.vehicles)
        manager = pywrapcp.RoutingIndexManager(len(self.points), n_vehicles, list(range(n_vehicles)),
                                               list(range(n_vehicles, 2 * n_vehicles)))
        model = pywrapcp.RoutingModel(manager)
        arc = self._ints(params.pricing.arc(data), self.cost_scale)
        model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(arc.tolist()))
        if params.pricing.fixed:
            model.SetFixedCostOfAllVehicles(int(round(params.pricing.fixed * self.cost_scale)))
        service = np.zeros(len(self.points), dtype=np.int64)
        service[2 * n_vehicles:] = [self._time(r.service_s(k)) for r, k in self.stops]
        transit = self._ints(data.duration_s, self.time_scale) + service[:, None]
        model.AddDimension(model.RegisterTransitMatrix(transit.tolist()), self.horizon, self.horizon, False, "time")
        time_dim = model.GetDimensionOrDie("time")
        self._add_capacities(model)
        self._add_vehicle_limits(model, time_dim)
        self._add_breaks(model, manager, time_dim, service)
        self._add_requests(model, manager, time_dim)
        if params.balance_weight:
            model.AddConstantDimension(1, len(self.points), True, "count")
            share = int(math.ceil(len(self.stops) / n_vehicles)) + 1  # arcs = stops + 1
            for i in range(n_vehicles):
                model.GetDimensionOrDie("count").SetCumulVarSoftUpperBound(
                    model.End(i), share, int(round(params.balance_weight * self.cost_scale)))
        search = pywrapcp.DefaultRoutingSearchParameters()
        search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
        search.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic)
        search.log_search = params.log
        search.time_limit.FromMilliseconds(max(MIN_SEARCH_MS, int((deadline - time.perf_counter()) * 1000)))
        if params.solution_limit is not None:
            search.solution_limit = max(1, params.solution_limit)
        if initial is None:
            assignment = model.SolveWithParameters(search)
        else:
            model.CloseModelWithParameters(search)
            start = model.ReadAssignmentFromRoutes(self._initial_routes(manager, initial), True)
            assignment = model.SolveFromAssignmentWithParameters(start, search) if start is not None else None
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(model.status())
        if assignment is None:
            return None, status
        sequences = []
        for i in range(n_vehicles):
            sequence = []
            index = assignment.Value(model.NextVar(model.Start(i)))
            while not model.IsEnd(index):
                sequence.append(self.stops[manager.IndexToNode(index) - 2 * n_vehicles])
                index = assignment.Value(model.NextVar(index))
            sequences.append(sequence)
        return sequences, status

    def _add_capacities(self, model: pywrapcp.RoutingModel) -> None:
        n_vehicles = len(self.vehicles)
        for name, load_of, capacity in (("wheelchair", lambda r: r.wheelchair_load, [v.wheelchair_places for v in self.vehicles]),
                                        ("seats", lambda r: r.seat_load, [v.seats for v in self.vehicles])):
            load = np.zeros(len(self.points), dtype=np.int64)
            load[2 * n_vehicles:] = [load_of(r) * (1 if k == "pickup" else -1) for r, k in self.stops]
            model.AddDimensionWithVehicleCapacity(model.RegisterUnaryTransitVector(load.tolist()), 0, capacity, False, name)
            dimension = model.GetDimensionOrDie(name)
            for i, state in enumerate(self.states):
                dimension.CumulVar(model.Start(i)).SetValue(sum(load_of(r) for r, _ in state.on_board))

    def _add_vehicle_limits(self, model: pywrapcp.RoutingModel, time_dim: pywrapcp.RoutingDimension) -> None:
        limit = self.data.max_route_duration_s
        for i, state in enumerate(self.states):
            end_max = state.vehicle.shift_end_s
            if limit is not None and state.departed_s is None:
                time_dim.SetSpanUpperBoundForVehicle(int(math.floor(limit * self.time_scale)), i)
            elif limit is not None:
                end_max = min(end_max, state.departed_s + limit)
            latest = self._time(end_max, math.floor)
            time_dim.CumulVar(model.Start(i)).SetRange(self._time(state.ready_s), latest)
            time_dim.CumulVar(model.End(i)).SetRange(self._time(state.ready_s), latest)

    def _add_breaks(self, model: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager,
                    time_dim: pywrapcp.RoutingDimension, service: np.ndarray) -> None:
        """Each driver's break as an OR-Tools break interval, never during a boarding or alighting."""
        solver = model.solver()
        visits = [int(service[manager.IndexToNode(index)]) for index in range(model.Size())]
        for i, vehicle in enumerate(self.vehicles):
            if vehicle.has_break:
                interval = solver.FixedDurationIntervalVar(
                    self._time(vehicle.break_earliest_s), self._time(vehicle.break_latest_s, math.floor),
                    self._time(vehicle.break_s), False, f"break {vehicle.id}")
                time_dim.SetBreakIntervalsOfVehicle([interval], i, visits)

    def _add_requests(self, model: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager,
                      time_dim: pywrapcp.RoutingDimension) -> None:
        solver = model.solver()
        penalty = int(round(_penalty(self.data, self.params) * self.cost_scale))
        n_vehicles = len(self.vehicles)
        for request in self.open:
            p = manager.NodeToIndex(self.node_of[(request.id, "pickup")])
            d = manager.NodeToIndex(self.node_of[(request.id, "dropoff")])
            model.AddPickupAndDelivery(p, d)
            solver.Add(model.VehicleVar(p) == model.VehicleVar(d))
            solver.Add(model.ActiveVar(p) == model.ActiveVar(d))
            model.AddDisjunction([p], penalty)
            model.AddDisjunction([d], 0)
            self._window(time_dim.CumulVar(p), *request.window("pickup"))
            self._window(time_dim.CumulVar(d), *request.window("dropoff"))
            ride = self._time(request.service_pickup_s + self.data.max_ride(request), math.floor)
            time_dim.AddNodePrecedence(d, p, -ride)  # time(p) >= time(d) - ride
            allowed = [i for i, v in enumerate(self.vehicles) if fits(v, request)]
            if len(allowed) < n_vehicles:  # the vehicle-variable domain (SetAllowedVehiclesForIndex lacks a Python binding)
                model.VehicleVar(p).SetValues([-1, *allowed])
                model.VehicleVar(d).SetValues([-1, *allowed])
        for request, picked_s, vehicle in self.on_board:
            d = manager.NodeToIndex(self.node_of[(request.id, "dropoff")])
            earliest, latest = request.window("dropoff")
            self._window(time_dim.CumulVar(d), earliest,
                         min(latest, picked_s + request.service_pickup_s + self.data.max_ride(request)))
            model.VehicleVar(d).SetValue(vehicle)

    def _window(self, var: pywrapcp.IntVar, earliest: float, latest: float) -> None:
        """Window rounded inwards (a window narrower than one unit keeps its lower end)."""
        low = 0 if not np.isfinite(earliest) else max(0, self._time(earliest))
        high = self.horizon if not np.isfinite(latest) else min(self.horizon, self._time(latest, math.floor))
        var.SetRange(low, max(low, high))

    def _initial_routes(self, manager: pywrapcp.RoutingIndexManager, initial: Solution) -> list[list[int]]:
        """Routing indices of each vehicle's open stops in ``initial`` (locked stops left out)."""
        routes = []
        for state in self.states:
            route = _route_of(initial, state.vehicle.id)
            stops = route.stops[len(state.locked):] if route else ()
            routes.append([manager.NodeToIndex(self.node_of[(s.request_id, s.kind)]) for s in stops
                           if (s.request_id, s.kind) in self.node_of])
        return routes
