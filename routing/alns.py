"""Large-neighbourhood search for the dial-a-ride problem, compiled with numba.

Each iteration ruins part of the current solution and recreates it, and
simulated annealing decides whether to keep the result (Ropke & Pisinger
2006; the ruin operators follow Christiaens & Vanden Berghe's SISR, 2020):

* ruin (chosen at random with fixed weights, ``RUIN_WEIGHTS``) removes q requests, q drawn from
  ``[MIN_RUINED, max_ruined]``: related removal (a random seed request and
  the requests nearest to it in pickup, drop-off and window, Shaw 1998),
  string removal (a string of consecutive stops from each of several
  neighbouring routes, with both stops of every request it touches) or
  random removal;
* recreate inserts the removed requests and every request still unserved,
  one at a time, each at its exact cheapest feasible place over all vehicles
  (``routing.darp_kernel``: no cap on the number of exact tests), in random
  order, by earliest pickup, or longest direct trip first; or by regret-2
  (the request whose best and second-best routes differ most goes first;
  weight 0 by default: at equal CPU time the greedy orders did better);
  ``RECREATE_WEIGHTS``;
* relaxed route duration (Cordeau & Laporte 2003): where the problem has a
  duration limit and no drivers' breaks (the literature's instances), routes
  may run up to ``DURATION_SLACK`` over it while searching, each time unit
  over it priced (from the route's least times, departure just in time, and
  only when the scheduler cannot keep the limit); the price rises by
  ``DURATION_FACTOR`` after each chunk of steps that ends over the limit and
  falls by it after one within; only plans within the limit become the best;
* acceptance: simulated annealing, the temperature falling geometrically
  over the time limit from ``START_TEMPERATURE`` to ``END_TEMPERATURE``
  times the mean arc cost of the starting routes (an empty start, as on the
  city's days, is first filled by regret-2 over every request: ``FIRST_FILL``).

The best solution seen is returned, each route re-timed by the exact
scheduler (``routing.schedule``), so it is feasible by the same rules as
everything else; drivers' breaks are placed by the scheduler's rule inside
the search too. Costs are exactly ``routing.cost.Pricing.route`` (arc sums,
or tenge: vehicle-day, km, paid driver time and passengers' excess ride time
from the scheduler's times), a fixed cost per used vehicle and a penalty per
unserved request (``routing.improve.Costs``). With tenge, an insertion is
priced by timing every screened position, and vehicles are pruned by the km
part of the insertion bound (on the Almaty day's 60 s plan, 300 requests
re-inserted: the pruned choice was the exhaustive cheapest every time).

Not handled here (the caller falls back to ``routing.improve``): re-solving
a running plan (``now_s`` given: locked stops, vehicles already under way).

Compilation: the kernels (``routing.darp_kernel``) are compiled on first use
and cached on disk (numba ``cache=True``, about half a minute once per
checkout; loading the cache takes a fraction of a second). The time limit
counts it: a search whose compilation used up its time returns the start.
:func:`warm_up` compiles them on a tiny problem (benchmarks call it first).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from routing.cost import Pricing
from routing.darp_kernel import (BIG, Arrays, iterate, latest_starts, priced_route, seed_random, total_cost,
                                 within_limit)
from routing.improve import Costs
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Solution, idle_route

MIN_RUINED: int = 2  # requests removed per iteration, at least (one alone is a plain reinsertion)
MAX_RUINED: int = 15  # and at most (fewer on small instances: MAX_RUINED_SHARE of the requests); 15 beat 30
# on a7-70, a8-96 and pr05 (40 000 iterations, 2 seeds); SISR removes about 10 on average
MAX_RUINED_SHARE: float = 0.3  # small instances: at most this share of the requests at once (else little is kept)
RUIN_WEIGHTS: tuple[float, float, float] = (0.4, 0.4, 0.2)  # related, string, random removal (not tuned)
RECREATE_WEIGHTS: tuple[float, float, float, float] = (0.5, 0.25, 0.25, 0.0)  # random, earliest, longest, regret-2.
# Issue #14, equal CPU time (10 s; 8 s on the a-set), 2 seeds: without regret-2 (about 2.6x the CPU of a greedy
# step) the mean gap on pr04/05/09/10/19 fell from 3.4 % to 2.7 % and on a7-84/a8-96 from 1.2 % to 0.7 %
# (0.4/0.2/0.2/0.2 before; a regret weight of 0.4 did no better on pr05/09/10)
FIRST_FILL: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)  # recreate of an empty start: regret-2.
# Issue #14, the Almaty day (1 665 requests, 60 s, seeds 0-5, each pair at once on the two cores): 16 993 km and
# 3.524 M tg mean, against 17 355 km and 3.567 M tg filled by earliest pickup (0, 1, 0, 0), better on every seed; with
# regret's start the start temperature 1 instead of 3 did worse (17 203 km against 16 952, seeds 1-2); on the doubled
# day (3 330 requests, one seed) the fill cost a fifth of the steps, the plan alike (90.78 % served vs 90.75 %). The
# benchmarks' instances (up to 200 requests) start from OR-Tools' routes instead
MAX_STRING: int = 10  # stops per removed string, at most (SISR's default)
START_TEMPERATURE: float = 3.0  # x the mean arc cost. Issue #14, 15 s runs, 2 seeds: pr05/pr10/pr16 mean gap
# 3.16 % at 3 vs 3.62 % at 1, 5.06 % at 0.3, 4.32 % at 10; pr05/06/09/10/16/20 under load 4.48 % vs 5.19 %;
# a6-72/a7-84/a8-80/a8-96 (1 seed) 0.86 % vs 0.77 %, within the seed noise (an earlier 20 s tuning preferred 1-2)
END_TEMPERATURE: float = 0.01  # x the mean arc cost: near-greedy at the end (0.05 did worse)
DURATION_SLACK: float = 0.2  # relaxed route duration (Cordeau & Laporte 2003): routes may run this share over the
# limit while searching, priced per time unit over it; the best kept keeps the limit. 0: no relaxation. Issue #14,
# 30 s, seeds 0-3, two solves at a time: pr05/pr10/pr16/pr20 mean gap 2.99 % at 0.2, 3.15 % at 0.1, 3.05 % at 0.05,
# 3.35 % without; 15 s, seeds 0-1: a6-72/a7-84/a8-80/a8-96 0.51 % at 0.2, 0.68 % without. About a fifth fewer
# iterations (pr10, 10 s: 60 000 against 75 000 at 0.1)
DURATION_PRICE: float = 1.0  # the starting price of a time unit over the limit, x the mean arc cost per mean arc time
DURATION_FACTOR: float = 1.5  # each chunk, the price x this while the current plan runs over the limit, / while not
# (Cordeau & Laporte's 1 + delta, delta = 0.5)
DURATION_PRICE_RANGE: tuple[float, float] = (0.01, 100.0)  # the price stays within these multiples of its start (on
# pr10 it settles near 0.06; unbounded, a run that stays within the limit drives it towards 0, and the first run over
# it then costs many chunks to price again)
TIME_WEIGHT: float = 1.0  # relatedness: one time unit of window difference weighs as one arc-cost unit
# (as routing.improve; at speed 1, as on the benchmarks, a minute of window is a minute of driving)
CHUNK_S: float = 0.05  # seconds between temperature updates and deadline checks


def handles(data: ProblemData, pricing: Pricing) -> bool:
    """Whether the compiled search models this problem exactly: every objective (``Pricing``) and drivers' breaks.

    Its feasibility test places breaks by the scheduler's rule and its route
    costs are ``Pricing.route`` (tenge: paid and excess ride time from the
    scheduler's times), so it models every problem of ``ProblemData``; a
    running plan (``now_s``) is the caller's to hand to ``routing.improve``.
    """
    return True


def search(data: ProblemData, solution: Solution, costs: Costs, time_limit_s: float, unserved_reason: str,
           now_s: float | None = None, seed: int = 0, stats: dict | None = None) -> Solution:
    """Large-neighbourhood search from ``solution`` for ``time_limit_s`` seconds; see the module docstring.

    Same interface as ``routing.improve.improve``, to which it falls back for
    a running plan (``now_s`` given) and for a starting route the compiled
    feasibility test rejects (it is stricter by ``EPSILON`` than the scheduler).

    Parameters
    ----------
    data, solution, costs, time_limit_s, unserved_reason, now_s, seed
        As for ``routing.improve.improve`` (the time limit counts compilation
        when numba's cache is cold).
    stats
        Filled, when given, with ``iterations`` and ``best_cost`` (cost-matrix units).
    """
    from routing.improve import improve

    started = time.perf_counter()
    if now_s is not None or not data.requests or not data.vehicles or not handles(data, costs.pricing):
        return improve(data, solution, costs, time_limit_s, unserved_reason, now_s, seed)
    state = _State.of(data, solution, costs, unserved_reason)
    if state is None:
        return improve(data, solution, costs, time_limit_s, unserved_reason, now_s, seed)
    n = len(data.requests)
    max_ruined = max(MIN_RUINED, min(MAX_RUINED, int(MAX_RUINED_SHARE * n)))
    seed_random(seed)
    state.run(0, 0.0, max_ruined)  # compiles, or loads from numba's cache, before the first timed chunk
    # a first step tries every unserved request in every route (an empty start: all, by regret-2)
    state.run(1, 0.0, max_ruined, recreate=RECREATE_WEIGHTS if state.lengths.any() else FIRST_FILL, full_retry=True)
    used = state.lengths > 0
    arcs = int(state.lengths.sum() + used.sum())
    scale = max(float(state.route_cost[used].sum()) / max(1, arcs), 1e-9)  # the mean arc cost
    price = DURATION_PRICE * scale / state.mean_arc_time() if state.relaxable() and DURATION_SLACK > 0 else 0.0
    low, high = price * DURATION_PRICE_RANGE[0], price * DURATION_PRICE_RANGE[1]
    if price > 0:
        state.relax(state.arrays.max_duration * (1 + DURATION_SLACK), price)
    iterations, chunk, chunks, over_chunks = 0, 16, 0, 0
    while (elapsed := time.perf_counter() - started) < time_limit_s:
        temperature = scale * START_TEMPERATURE * (END_TEMPERATURE / START_TEMPERATURE) ** (elapsed / time_limit_s)
        tick = time.perf_counter()
        state.run(chunk, temperature, max_ruined)
        iterations += chunk
        chunks += 1
        if price > 0:
            within = state.within_limit()
            over_chunks += not within
            price = min(max(price / DURATION_FACTOR if within else price * DURATION_FACTOR, low), high)
            state.relax(state.arrays.max_duration, price)
        spent = time.perf_counter() - tick
        left = time_limit_s - (time.perf_counter() - started)
        chunk = max(1, min(int(chunk * CHUNK_S / max(spent, 1e-6)), int(chunk * left / max(spent, 1e-6))))
    if stats is not None:
        stats.update(iterations=iterations, best_cost=float(state.cost[1]), chunks=chunks, over_chunks=over_chunks,
                     duration_price=price)
    return state.best_solution(data, solution, unserved_reason) or solution


class _State:
    """The search's arrays: current and best routes, times, owners, costs."""

    def __init__(self, arrays: Arrays, routes: np.ndarray, lengths: np.ndarray, owner: np.ndarray,
                 insertable: np.ndarray, near: np.ndarray, fixed: float, penalty: float) -> None:
        self.arrays, self.routes, self.lengths, self.owner = arrays, routes, lengths, owner
        self.insertable, self.near, self.fixed, self.penalty = insertable, near, fixed, penalty
        v, cap = routes.shape
        self.times = np.zeros((v, cap + 2))
        self.latest = np.zeros((v, cap + 2))  # per route, the latest starts (backward time slack) beside the least times
        self.position = -np.ones(2 * len(owner), dtype=np.int64)
        args = arrays.kernel_args()
        self.route_cost = np.zeros(v)
        self.ok = True
        timed = np.empty(cap + 2)  # the scheduler's times of each route in turn (unused here)
        for k in range(v):
            fine, self.route_cost[k] = priced_route(routes[k], lengths[k], k, self.times[k], timed, self.position, *args)
            latest_starts(routes[k], lengths[k], k, self.latest[k], arrays.point, arrays.high, arrays.service,
                          arrays.depot, arrays.shift_end, arrays.duration)
            self.ok &= fine
        self.best_routes, self.best_lengths = routes.copy(), lengths.copy()
        self.cost = np.array([total_cost(self.route_cost, lengths, owner, insertable, fixed, penalty)] * 2)  # current, best

    @classmethod
    def of(cls, data: ProblemData, solution: Solution, costs: Costs, unserved_reason: str) -> _State | None:
        """The state of ``solution`` (None: a route the compiled test rejects)."""
        n = len(data.requests)
        arc = costs.pricing.arc(data)
        arrays = Arrays.of(data, arc, costs.pricing)
        index = {r.id: k for k, r in enumerate(data.requests)}
        vehicle_at = {v.id: k for k, v in enumerate(data.vehicles)}
        routes = -np.ones((len(data.vehicles), 2 * n + 2), dtype=np.int64)
        lengths = np.zeros(len(data.vehicles), dtype=np.int64)
        owner = -np.ones(n, dtype=np.int64)
        for route in solution.routes:
            v = vehicle_at[route.vehicle_id]
            nodes = [index[s.request_id] + (0 if s.kind == "pickup" else n) for s in route.stops]
            routes[v, :len(nodes)] = nodes
            lengths[v] = len(nodes)
            owner[[x for x in nodes if x < n]] = v
        insertable = np.array([owner[k] >= 0 or solution.unserved.get(r.id) == unserved_reason
                               for k, r in enumerate(data.requests)], dtype=np.bool_)
        state = cls(arrays, routes, lengths, owner, insertable, _neighbours(data, arc, arrays.low[:n]), costs.pricing.fixed,
                    costs.unserved_penalty)
        return state if state.ok else None

    def relaxable(self) -> bool:
        """Whether the route duration limit can be relaxed: there is one, and no driver's breaks (whose places the
        price for time over the limit does not model)."""
        return self.arrays.max_duration < BIG and not self.arrays.break_len.any()

    def mean_arc_time(self) -> float:
        """Mean travel time of the current routes' arcs (time units; at least 1e-9)."""
        total, arcs = 0.0, 0
        for v in np.flatnonzero(self.lengths):
            stops = [self.arrays.depot[v], *self.arrays.point[self.routes[v, :self.lengths[v]]], self.arrays.depot[v]]
            total += float(self.arrays.duration[stops[:-1], stops[1:]].sum())
            arcs += len(stops) - 1
        return max(total / max(arcs, 1), 1e-9)

    def relax(self, search_limit: float, price: float) -> None:
        """Search with routes up to ``search_limit`` long, each time unit over the true limit at ``price``; the
        routes are repriced."""
        self.arrays = replace(self.arrays, max_duration=search_limit, duration_weight=price)
        args = self.arrays.kernel_args()
        timed = np.empty(self.routes.shape[1] + 2)
        for v in np.flatnonzero(self.lengths):
            _, self.route_cost[v] = priced_route(self.routes[v], self.lengths[v], v, self.times[v], timed, self.position,
                                                 *args)
        self.cost[0] = total_cost(self.route_cost, self.lengths, self.owner, self.insertable, self.fixed, self.penalty)

    def within_limit(self) -> bool:
        """Whether every current route keeps the true duration limit."""
        return within_limit(self.routes, self.lengths, self.position, *self.arrays.kernel_args())

    def run(self, iterations: int, temperature: float, max_ruined: int,
            recreate: tuple[float, ...] = RECREATE_WEIGHTS, full_retry: bool = False) -> None:
        """``iterations`` ruin-and-recreate steps at ``temperature`` (``recreate``: weights of the recreate orders;
        ``full_retry``: unserved requests tried in every route, not only in those ruined)."""
        iterate(iterations, temperature, MIN_RUINED, max_ruined, MAX_STRING, self.routes, self.lengths, self.times, self.latest,
                 self.route_cost, self.owner,
                 self.insertable, self.near, self.fixed, self.penalty, self.cost, self.best_routes, self.best_lengths,
                 self.position, np.array(RUIN_WEIGHTS), np.array(recreate, dtype=float), full_retry,
                 *self.arrays.kernel_args())

    def best_solution(self, data: ProblemData, start: Solution, unserved_reason: str) -> Solution | None:
        """The best routes, timed by ``routing.schedule`` (None: one cannot be timed, which the tests rule out)."""
        n = len(data.requests)
        routes = []
        for v, vehicle in enumerate(data.vehicles):
            nodes = self.best_routes[v, :self.best_lengths[v]]
            sequence = [(data.requests[x % n], "pickup" if x < n else "dropoff") for x in nodes]
            route = schedule(data, vehicle, sequence) if sequence else idle_route(vehicle)
            if route is None:
                return None
            routes.append(route)
        served = {s.request_id for r in routes for s in r.stops}
        unserved = {k: why for k, why in start.unserved.items() if k not in served}
        unserved.update({r.id: unserved_reason for r in data.requests if r.id not in served and r.id not in unserved})
        return Solution(tuple(routes), unserved)


def _neighbours(data: ProblemData, arc: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per request, all requests from most to least related (pickup and drop-off arc costs plus window gap).

    ``starts``: per request, the earliest pickup its own drop-off window allows
    (``Arrays.low``), so that open pickup windows do not all look alike.
    """
    requests: tuple[TripRequest, ...] = data.requests
    pickups = np.array([r.pickup for r in requests], dtype=int)
    dropoffs = np.array([r.dropoff for r in requests], dtype=int)
    near = arc[np.ix_(pickups, pickups)] + arc[np.ix_(dropoffs, dropoffs)]
    near = np.where(np.isfinite(near), near, BIG) + np.abs(starts[:, None] - starts[None, :]) / TIME_WEIGHT
    return np.argsort(near, axis=1, kind="stable").astype(np.int64)


def warm_up() -> float:
    """Compile (or load from the on-disk cache) every kernel on a two-request problem; seconds it took."""
    started = time.perf_counter()
    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    matrix = np.abs(xs[:, None] - xs[None, :])
    data = ProblemData((Vehicle("v", "op", 0, 0.0, 100.0, 1, 2), Vehicle("w", "op", 0, 0.0, 100.0, 1, 2)),
                       (TripRequest("a", 1, 2, 0.0, 50.0), TripRequest("b", 3, 4, 0.0, 50.0)), matrix, matrix)
    start = Solution((idle_route(data.vehicles[0]), idle_route(data.vehicles[1])), {"a": "retry", "b": "retry"})
    state = _State.of(data, start, Costs(Pricing("distance"), 100.0), "retry")
    seed_random(0)
    state.run(8, 1.0, 2)
    state.best_solution(data, start, "retry")
    return time.perf_counter() - started
