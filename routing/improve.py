"""Improve a solution by ruin and recreate under simulated annealing.

Each iteration removes a few related requests (a random seed request and
those closest to it in space and time, Shaw's relatedness) and reinserts
them one by one, in a random order, at their exact cheapest feasible place
(``routing.insertion``), together with any request still unserved. The new
solution is accepted by the simulated-annealing rule, with a temperature
falling geometrically over the time budget from ``START_TEMPERATURE`` to
``END_TEMPERATURE`` times the mean arc cost of the starting routes (fixed
vehicle costs left out, so that they do not heat the search). The best
solution seen is returned; it is feasible by construction (every route comes
from the exact scheduler).

Costs are exact route costs (``routing.cost.Pricing.route``: tenge, metres or
seconds) plus a penalty per unserved request. With ``iterations`` (a work
limit) and a seed the result does not depend on the machine's speed, as long
as the time limit is not reached first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from routing.cost import Pricing
from routing.insertion import ProfileCache, best_insertion, reschedule, route_sequence
from routing.locks import Commitments, locked_count
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Solution, idle_route, route_points

MIN_RUINED: int = 2  # requests removed per iteration, at least
MAX_RUINED: int = 20  # and at most (fewer on small instances: a quarter of the requests)
START_TEMPERATURE: float = 0.1
END_TEMPERATURE: float = 0.001
TIME_WEIGHT_S: float = 1.0  # relatedness: seconds of window difference worth one cost unit of distance


@dataclass(frozen=True)
class Costs:
    """How solutions are priced: the routes (``pricing``) and each unserved request (``unserved_penalty``, same unit)."""

    pricing: Pricing
    unserved_penalty: float


def improve(data: ProblemData, solution: Solution, costs: Costs, time_limit_s: float, unserved_reason: str,
            now_s: float | None = None, seed: int = 0, iterations: int | None = None,
            committed: Commitments | None = None) -> Solution:
    """Ruin and recreate ``solution`` for ``time_limit_s`` seconds; see the module docstring.

    Parameters
    ----------
    data
        The problem.
    solution
        A feasible starting solution.
    costs
        Route pricing and unserved penalty.
    time_limit_s
        Wall-clock budget in seconds.
    unserved_reason
        Only the unserved requests listed with this reason are retried (the
        others cannot be served at all).
    now_s
        The present (seconds): stops locked at ``now_s`` stay (``routing.locks``).
    seed
        Random seed.
    iterations
        Work limit: stop after this many ruin-and-recreate iterations (None: only the time limit).
    committed
        Per vehicle id, leading stops that stay first whatever the clock says (``routing.locks``).
    """
    committed = committed or {}
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    requests = data.request_index()
    vehicles = data.vehicle_index()
    pricing = costs.pricing
    arc = pricing.arc(data)
    routes = {r.vehicle_id: r for r in solution.routes}
    retry = [requests[k] for k, why in solution.unserved.items() if why == unserved_reason]
    cost_of = {v: pricing.route(data, requests, vehicles[v], r) for v, r in routes.items()}
    current = sum(cost_of.values()) + len(retry) * costs.unserved_penalty
    best, best_routes, best_retry = current, dict(routes), list(retry)
    used = [r for r in routes.values() if r.stops]
    legs = [route_points(requests, vehicles[r.vehicle_id], r.stops) for r in used]
    scale = sum(float(arc[p[:-1], p[1:]].sum()) for p in legs) / max(1, sum(len(p) - 1 for p in legs))  # mean arc cost
    related = _relatedness(data, arc)
    index_of = {r.id: k for k, r in enumerate(data.requests)}
    cache = ProfileCache()
    step_s = 0.0  # duration of the last iteration: the next starts only if one as long still fits
    done = 0
    while (elapsed := time.perf_counter() - started) + step_s < time_limit_s and (iterations is None or done < iterations):
        progress = elapsed / time_limit_s if iterations is None else done / iterations
        done += 1
        temperature = scale * START_TEMPERATURE * (END_TEMPERATURE / START_TEMPERATURE) ** progress
        movable = _movable(data, requests, routes, now_s, committed)
        if not movable:
            break
        seed_request = movable[rng.integers(len(movable))]
        count = int(rng.integers(MIN_RUINED, max(MIN_RUINED, min(MAX_RUINED, len(movable) // 4)) + 1))
        order = np.argsort(related[index_of[seed_request]])
        movable_set = set(movable)
        ruined = [data.requests[k].id for k in order if data.requests[k].id in movable_set][:count]
        trial = _remove(data, requests, vehicles, routes, set(ruined), now_s, committed)
        if trial is None:
            step_s = time.perf_counter() - started - elapsed
            continue
        pending = [requests[k] for k in ruined] + retry
        rng.shuffle(pending)
        left: list[TripRequest] = []
        for request in pending:
            insertion = best_insertion(data, requests, trial, request, now_s, pricing, cache, committed=committed)
            if insertion is None:
                left.append(request)
            else:
                trial[insertion.vehicle_id] = insertion.route
        changed = {v for v in trial if trial[v] is not routes[v]}
        trial_cost = {v: pricing.route(data, requests, vehicles[v], trial[v]) for v in changed}
        candidate = current + sum(trial_cost[v] - cost_of[v] for v in changed) \
            + (len(left) - len(retry)) * costs.unserved_penalty
        if candidate < current - temperature * math.log(1.0 - rng.random()):  # simulated annealing
            routes, retry, current = trial, left, candidate
            cost_of.update(trial_cost)
            if current < best - 1e-9:
                best, best_routes, best_retry = current, dict(routes), list(retry)
        step_s = time.perf_counter() - started - elapsed
    unserved = {k: why for k, why in solution.unserved.items() if why != unserved_reason}
    unserved.update({r.id: unserved_reason for r in best_retry})  # also those ruined and never reinserted
    return Solution(tuple(best_routes[r.vehicle_id] for r in solution.routes), unserved)


def _relatedness(data: ProblemData, arc: np.ndarray) -> np.ndarray:
    """Shaw relatedness between requests (lower: more related): pickup and drop-off distances plus window gap."""
    pickups = np.array([r.pickup for r in data.requests], dtype=int)
    dropoffs = np.array([r.dropoff for r in data.requests], dtype=int)
    starts = np.array([r.earliest_pickup_s for r in data.requests])
    near = arc[np.ix_(pickups, pickups)] + arc[np.ix_(dropoffs, dropoffs)]
    return np.where(np.isfinite(near), near, np.inf) + np.abs(starts[:, None] - starts[None, :]) / TIME_WEIGHT_S


def _movable(data: ProblemData, requests: Mapping[str, TripRequest], routes: Mapping[str, Route],
             now_s: float | None, committed: Commitments) -> list[str]:
    """Served requests whose pickup is neither locked at ``now_s`` nor committed."""
    movable = []
    for vehicle in data.vehicles:
        route = routes[vehicle.id]
        first = locked_count(route, route_points(requests, vehicle, route.stops), data.duration_s, now_s,
                             committed.get(vehicle.id, 0))
        movable += [s.request_id for s in route.stops[first:] if s.kind == "pickup"]
    return movable


def _remove(data: ProblemData, requests: Mapping[str, TripRequest], vehicles: Mapping[str, Vehicle],
            routes: Mapping[str, Route], ruined: set[str], now_s: float | None,
            committed: Commitments) -> dict[str, Route] | None:
    """Routes without the ``ruined`` requests, re-timed (None if a route cannot be re-timed)."""
    trial = dict(routes)
    for vehicle_id, route in routes.items():
        if any(s.request_id in ruined for s in route.stops):
            vehicle = vehicles[vehicle_id]
            kept = [(r, k) for r, k in route_sequence(requests, route) if r.id not in ruined]
            new = reschedule(data, requests, vehicle, route, kept, now_s, committed.get(vehicle_id, 0)) \
                if kept else idle_route(vehicle)
            if new is None:
                return None
            trial[vehicle_id] = new
    return trial
