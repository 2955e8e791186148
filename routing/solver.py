"""Solve a dial-a-ride problem with OR-Tools routing.

Model: one routing node per pickup and per drop-off plus each vehicle's depot
start and end; pickup-and-delivery pairs on the same vehicle with precedence;
two capacity dimensions (wheelchair places, seats); a time dimension whose
transit is service time plus travel time, with windows on the start of
service, shifts as the vehicles' start/end windows, and the maximum ride time
as ``time(drop-off) - time(pickup) <= service(pickup) + max ride``; each
request optional with a penalty, so that the plan never fails as a whole.
Requests that cannot be served at all are screened out first
(``problem.unservable_reasons``) and reported with their reason.

The arc cost is the travel time or the distance (``SolveParams.cost``), both
scaled to integers. Final times come from the exact scheduler
(``routing.schedule``), never from rounded solver values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.insertion import LivePlan
from routing.problem import ProblemData, TripRequest, fits, unservable_reasons
from routing.schedule import schedule
from routing.solution import Route, Solution

NOT_FITTED_REASON: str = "no vehicle had room for it within the time limit (all vehicles busy in its window)"
INSERTION_FROM_REQUESTS: int = 200  # "auto" construction: OR-Tools' own below, exact insertion above


@dataclass(frozen=True)
class SolveParams:
    """Solver parameters.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the search in seconds.
    cost
        Arc cost: "duration" (travel time) or "distance".
    scale
        Integer units per matrix unit (100: centiseconds / centimetres).
    unserved_penalty
        Cost of leaving a request unserved, in matrix units (default: large).
    vehicle_fixed_cost
        Cost of using a vehicle, in matrix units (minimise vehicles first when large).
    first_solution, metaheuristic
        OR-Tools strategy names.
    construction
        First solution: "ortools" (its ``first_solution`` strategy),
        "insertion" (exact sequential cheapest insertion, then OR-Tools
        improves it), or "auto" (insertion above ``INSERTION_FROM_REQUESTS`` requests).
    balance_weight
        Operator balancing: cost (matrix units) per request a vehicle serves
        above an even share (requests / vehicles), so that each operator's
        share follows its fleet size; 0 disables it.
    now_s
        Requests whose pickup window closed before this time are unserved.
    log
        Print OR-Tools search progress.
    """

    time_limit_s: float = 30.0
    cost: Literal["duration", "distance"] = "duration"
    scale: float = 100.0
    unserved_penalty: float | None = None
    vehicle_fixed_cost: float = 0.0
    first_solution: str = "LOCAL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    construction: Literal["auto", "ortools", "insertion"] = "auto"
    balance_weight: float = 0.0
    now_s: float | None = None
    log: bool = False


@dataclass(frozen=True)
class SolveResult:
    """The solution and what it cost.

    Attributes
    ----------
    solution
        Routes and unserved requests.
    objective
        OR-Tools objective (integer units of ``SolveParams.scale``).
    runtime_s
        Wall time in seconds.
    status
        OR-Tools routing status name.
    """

    solution: Solution
    objective: int
    runtime_s: float
    status: str


def _int_matrix(matrix: np.ndarray, scale: float, rounding=np.round) -> np.ndarray:  # noqa: ANN001
    """Scaled integer matrix; unreachable pairs become a huge cost."""
    finite = np.where(np.isfinite(matrix), matrix, 1e9)
    return rounding(finite * scale).astype(np.int64)


def solve(data: ProblemData, params: SolveParams | None = None) -> SolveResult:
    """Assign vehicles and order stops; see the module docstring for the model."""
    params = params or SolveParams()
    started = time.perf_counter()
    unserved = unservable_reasons(data, params.now_s)
    requests = [r for r in data.requests if r.id not in unserved]
    vehicles = list(data.vehicles)
    if not requests or not vehicles:
        routes = tuple(Route(v.id, v.shift_start_s, v.shift_start_s, ()) for v in vehicles)
        reasons = {**unserved, **{r.id: "no vehicles" for r in requests}}
        return SolveResult(Solution(routes, reasons), 0, time.perf_counter() - started, "EMPTY")

    # Routing nodes: 0..V-1 vehicle starts, V..2V-1 ends, then pickup, drop-off per request.
    n_vehicles = len(vehicles)
    point = [v.depot for v in vehicles] * 2
    for r in requests:
        point += [r.pickup, r.dropoff]
    point = np.array(point)
    scale = params.scale
    # travel times rounded up: integer-feasible times are then feasible in exact times too
    duration = _int_matrix(data.duration_s, scale, np.ceil)[np.ix_(point, point)]
    arc = _int_matrix(data.duration_s if params.cost == "duration" else data.distance_m, scale)[np.ix_(point, point)]
    service = np.zeros(len(point), dtype=np.int64)
    wheelchair = np.zeros(len(point), dtype=np.int64)
    seats = np.zeros(len(point), dtype=np.int64)
    for k, r in enumerate(requests):
        p, d = 2 * n_vehicles + 2 * k, 2 * n_vehicles + 2 * k + 1
        service[p], service[d] = np.ceil(r.service_pickup_s * scale), np.ceil(r.service_dropoff_s * scale)
        wheelchair[p], wheelchair[d] = r.wheelchair_load, -r.wheelchair_load
        seats[p], seats[d] = r.seat_load, -r.seat_load

    manager = pywrapcp.RoutingIndexManager(len(point), n_vehicles, list(range(n_vehicles)),
                                           list(range(n_vehicles, 2 * n_vehicles)))
    model = pywrapcp.RoutingModel(manager)
    # RegisterTransitMatrix / RegisterUnaryTransitVector take node-indexed values
    cost_cb = model.RegisterTransitMatrix(arc.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    if params.vehicle_fixed_cost:
        model.SetFixedCostOfAllVehicles(int(round(params.vehicle_fixed_cost * scale)))
    horizon = int(round(max(v.shift_end_s for v in vehicles) * scale)) + 1
    model.AddDimension(model.RegisterTransitMatrix((duration + service[:, None]).tolist()), horizon, horizon, False, "time")
    time_dim = model.GetDimensionOrDie("time")
    for load, name, capacity in ((wheelchair, "wheelchair", [v.wheelchair_places for v in vehicles]),
                                 (seats, "seats", [v.seats for v in vehicles])):
        model.AddDimensionWithVehicleCapacity(model.RegisterUnaryTransitVector(load.tolist()), 0, capacity, True, name)
    for i, v in enumerate(vehicles):
        start, end = model.Start(i), model.End(i)
        time_dim.CumulVar(start).SetRange(int(np.ceil(v.shift_start_s * scale)), int(np.floor(v.shift_end_s * scale)))
        time_dim.CumulVar(end).SetRange(int(np.ceil(v.shift_start_s * scale)), int(np.floor(v.shift_end_s * scale)))
        if data.max_route_duration_s is not None:
            model.solver().Add(time_dim.CumulVar(end) - time_dim.CumulVar(start) <= int(np.floor(data.max_route_duration_s * scale)))
        model.AddVariableMinimizedByFinalizer(time_dim.CumulVar(start))
        model.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
    if params.balance_weight:
        model.AddConstantDimension(1, len(point), True, "count")
        count_dim = model.GetDimensionOrDie("count")
        share = int(np.ceil(2 * len(requests) / n_vehicles))  # stops per vehicle at an even split
        for i in range(n_vehicles):
            count_dim.SetCumulVarSoftUpperBound(model.End(i), share, int(round(params.balance_weight * scale)))
    penalty = params.unserved_penalty
    if penalty is None:  # serving must always beat dropping: more than any detour plus a vehicle
        penalty = params.vehicle_fixed_cost + 100 * float(arc[arc < 1e9 * scale].max(initial=0)) / scale + 1
    solver = model.solver()
    for k, r in enumerate(requests):
        p = manager.NodeToIndex(2 * n_vehicles + 2 * k)
        d = manager.NodeToIndex(2 * n_vehicles + 2 * k + 1)
        model.AddPickupAndDelivery(p, d)
        solver.Add(model.VehicleVar(p) == model.VehicleVar(d))
        solver.Add(model.ActiveVar(p) == model.ActiveVar(d))
        solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
        model.AddDisjunction([p], int(round(penalty * scale)))
        model.AddDisjunction([d], 0)
        _set_window(time_dim.CumulVar(p), r.earliest_pickup_s, r.latest_pickup_s, scale, horizon)
        _set_window(time_dim.CumulVar(d), r.earliest_dropoff_s, r.latest_dropoff_s, scale, horizon)
        ride = int(np.floor((r.service_pickup_s + data.max_ride(r)) * scale))
        solver.Add(time_dim.CumulVar(d) - time_dim.CumulVar(p) <= ride)
        allowed = [i for i, v in enumerate(vehicles) if fits(v, r)]
        if len(allowed) < n_vehicles:  # -1: the request may stay unperformed
            model.VehicleVar(p).SetValues([-1, *allowed])
            model.VehicleVar(d).SetValues([-1, *allowed])
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, params.first_solution)
    search.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic)
    search.log_search = params.log
    search.time_limit.FromMilliseconds(int(params.time_limit_s * 1000))
    constructed = None
    if params.construction == "insertion" or (params.construction == "auto" and len(requests) > INSERTION_FROM_REQUESTS):
        constructed = construct(data, requests, params.now_s)
        model.CloseModelWithParameters(search)
        order = {r.id: k for k, r in enumerate(requests)}
        by_vehicle = {route.vehicle_id: route for route in constructed.routes}
        initial_routes = [[manager.NodeToIndex(2 * n_vehicles + 2 * order[stop.request_id] + (stop.kind == "dropoff"))
                           for stop in by_vehicle[v.id].stops] for v in vehicles]
        initial = model.ReadAssignmentFromRoutes(initial_routes, True)
    # keep a margin for reading the answer and timing the routes exactly
    remaining_ms = int(max(0.1, 0.9 * params.time_limit_s - (time.perf_counter() - started) - 1.0) * 1000)
    search.time_limit.FromMilliseconds(remaining_ms)
    if constructed is None:
        assignment = model.SolveWithParameters(search)
    else:
        assignment = model.SolveFromAssignmentWithParameters(initial, search) if initial is not None else None
    status = model.status()
    status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(status)
    if assignment is None:
        if constructed is not None:
            return SolveResult(_with_unserved(constructed, unserved), 0, time.perf_counter() - started, "CONSTRUCTED")
        routes = tuple(Route(v.id, v.shift_start_s, v.shift_start_s, ()) for v in vehicles)
        return SolveResult(Solution(routes, {**unserved, **{r.id: NOT_FITTED_REASON for r in requests}}), 0,
                           time.perf_counter() - started, status_name)
    routes = []
    for i, v in enumerate(vehicles):
        sequence: list[tuple[TripRequest, str]] = []
        index = assignment.Value(model.NextVar(model.Start(i)))
        while not model.IsEnd(index):
            node = manager.IndexToNode(index) - 2 * n_vehicles
            sequence.append((requests[node // 2], "pickup" if node % 2 == 0 else "dropoff"))
            index = assignment.Value(model.NextVar(index))
        route = schedule(data, v, sequence) if sequence else Route(v.id, v.shift_start_s, v.shift_start_s, ())
        if route is None:  # integer rounding made the order infeasible in exact times: drop it, keep the rest
            route = _salvage(data, v, sequence, unserved)
        routes.append(route)
    served = {s.request_id for route in routes for s in route.stops}
    unserved.update({r.id: NOT_FITTED_REASON for r in requests if r.id not in served and r.id not in unserved})
    solution = _repair(data, Solution(tuple(routes), unserved), params.now_s)
    if constructed is not None and len(constructed.served_ids()) > len(solution.served_ids()):
        solution, status_name = _with_unserved(constructed, unserved), "CONSTRUCTED"
    return SolveResult(solution, assignment.ObjectiveValue(), time.perf_counter() - started, status_name)


def construct(data: ProblemData, requests: list[TripRequest], now_s: float | None) -> Solution:
    """Sequential exact cheapest insertion of ``requests`` in order of earliest pickup."""
    plan = LivePlan(data, Solution((), {}))
    start = -np.inf if now_s is None else now_s
    for request in sorted(requests, key=lambda r: (r.earliest_pickup_s, r.id)):
        insertion = plan.best_insertion(request, start)
        if insertion is None:
            plan.unserved[request.id] = NOT_FITTED_REASON
        else:
            plan.set_route(insertion.route)
    return plan.solution()


def _with_unserved(solution: Solution, screened: dict[str, str]) -> Solution:
    return Solution(solution.routes, {**solution.unserved, **screened})


def _repair(data: ProblemData, solution: Solution, now_s: float | None) -> Solution:
    """Try the exact cheapest insertion for every request the search left out."""
    left_out = [r for r in data.requests if solution.unserved.get(r.id) == NOT_FITTED_REASON]
    if not left_out:
        return solution
    plan = LivePlan(data, solution)
    start = -np.inf if now_s is None else now_s
    for request in left_out:
        insertion = plan.best_insertion(request, start)
        if insertion is not None:
            plan.set_route(insertion.route)
            del plan.unserved[request.id]
    return plan.solution()


def _set_window(var, earliest: float | None, latest: float | None, scale: float, horizon: int) -> None:  # noqa: ANN001
    low = 0 if earliest is None or not np.isfinite(earliest) else int(np.ceil(earliest * scale))
    high = horizon if latest is None or not np.isfinite(latest) else int(np.floor(latest * scale))
    var.SetRange(max(0, low), max(0, min(high, horizon)))


def _salvage(data: ProblemData, vehicle, sequence: list, unserved: dict[str, str]) -> Route:  # noqa: ANN001
    """Drop requests from an order that exact times cannot realise, one at a time, until it schedules."""
    kept = list(sequence)
    while kept:
        route = schedule(data, vehicle, kept)
        if route is not None:
            return route
        victim = kept[-1][0].id
        unserved[victim] = "dropped: the solver's rounded times could not be realised exactly"
        kept = [(r, k) for r, k in kept if r.id != victim]
    return Route(vehicle.id, vehicle.shift_start_s, vehicle.shift_start_s, ())
