"""Compiled (numba) kernels of the dial-a-ride search: exact route feasibility, cheapest insertion, search steps.

A solution is held in arrays: ``routes[v, :lengths[v]]`` are the stop nodes of
vehicle v, node ``r`` the pickup and node ``n + r`` the drop-off of request r.
Everything a route must satisfy is an arrays-of-numbers problem (``Arrays``):

* feasibility of a stop sequence is a simple temporal network (windows,
  travel plus service, maximum ride time, shift, route duration) plus loads.
  :func:`feasible` computes its least solution by label correcting
  (Bellman-Ford: forward passes along the route, ride-time and route-duration
  constraints pulling earlier nodes later); the network is infeasible when a
  least time passes its upper bound or the passes do not settle within the
  number of nodes (a positive cycle). It is the same network as
  ``routing.schedule`` solves by Floyd-Warshall, so it accepts exactly the
  sequences that one does (with a stricter tolerance). A driver's break is
  placed by the scheduler's own rule (:func:`timed_route`: the places with
  nobody on board ranked by the delay they cause, ``BREAK_TRIES`` of them
  tried as an extra node of the same network), so the kernel and the
  scheduler accept the same routes and time them alike;
* route costs are those of ``routing.cost.Pricing.route``: arc sums, and for
  the tenge objective km plus paid driver time and passengers' excess ride
  time from the scheduler's times (:func:`timed_route`);
* :func:`route_insertion` prices every (pickup, drop-off) position pair of a
  request in one route by the added arc cost, screens them with necessary
  conditions, and tries the survivors cheapest first with the exact test:
  the first feasible one is the exact cheapest insertion in that route, with
  no cap on the number of exact tests (with time-priced costs every survivor
  is timed and priced, and the cheapest kept). The screens compare lower bounds on
  the new start times (the route's least times, pushed forward through the
  inserted pickup) with each stop's window and its latest start that keeps
  the rest of the route in its windows and shift (backward time slack), the
  ride's lower bound with its maximum, and the loads with the capacities.
  The bounds assume travel times obey the triangle inequality (true of
  shortest-path and Euclidean matrices): inserting a stop never makes a
  later one earlier;
* :func:`iterate` runs steps of the search of ``routing.alns`` (ruin,
  recreate by :func:`route_insertion` over all vehicles or by regret-2,
  simulated-annealing acceptance, undo of rejected steps) on these arrays.

The insertion kernels allocate nothing: their buffers come from one
:func:`workspace` per search, candidates are taken cheapest first from a heap
(ties by index), and they are compiled without numba's reference counting
(``_nrt=False``), which had cost a sixth of the time on array arguments.
They read the legs into and out of the stop being placed from rows of the
matrices and of their transposes (``Arrays.duration_t``): on a city day the
matrices are far larger than the cache, and a column read costs a memory
access per route and place.

Every kernel lives in this one module: numba's on-disk cache (``cache=True``)
is keyed by the source file of each function, so a caller cached in another
module could keep a stale copy of a changed callee.

Units: those of the matrices (seconds or benchmark minutes for times, metres
or benchmark units for the arc cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from routing.cost import Pricing
from routing.problem import ProblemData, fits
from routing.schedule import BREAK_TRIES

BIG: float = 1e15  # stands in for infinite matrix entries and open window ends (numba-friendly, no inf - inf)
EPSILON: float = 1e-9  # time tolerance, stricter than routing.schedule's 1e-7: what we accept, it accepts
IN_SHIFT_SLACK: float = 1e-6  # seconds: the shift test is looser than the kernels' EPSILON, so it never drops a vehicle
# they would accept


@dataclass(frozen=True)
class Arrays:
    """The problem as arrays for the kernels (node r: pickup of request r; node n + r: its drop-off).

    Attributes
    ----------
    point, low, high, service
        Per node: matrix index (of its place: stops at one place share a row and column, see
        :func:`_places`), earliest and latest start of service, service time.
    wheel, seat
        Per node: change of wheelchair places and seats taken (+ at pickups, - at drop-offs).
    ride
        Per request: latest drop-off start minus pickup start (pickup service + maximum ride).
    depot, shift_start, shift_end, wheel_cap, seat_cap
        Per vehicle (``depot``: a matrix index, as ``point``).
    allowed
        ``allowed[r, v]``: vehicle v may carry request r (capacity and operator) and r alone fits its
        shift (:func:`_in_shift`).
    twin
        Per vehicle: the first vehicle with the same depot, shift, capacities
        and allowed requests (empty twins give the same insertions).
    duration, arc
        Travel time and arc cost matrices (infinite entries replaced by ``BIG``).
    max_duration
        Route duration limit (``BIG``: none).
    break_earliest, break_latest, break_len
        Per vehicle: the window of the driver's break start and its length (0: no break).
    break_tries
        Break positions tried per route (``routing.schedule.BREAK_TRIES``: the same rule).
    cost_arc, paid_rate, excess_rate
        Route cost = arc sum of ``cost_arc`` + ``paid_rate`` x paid seconds +
        ``excess_rate`` x passengers' excess ride seconds (``Pricing.timed_terms``;
        the literature objectives: ``cost_arc`` is ``arc`` and both rates are 0).
    direct
        Per request: direct drive time from pickup to drop-off (excess ride = ride - direct).
    duration_t, cost_arc_t, arc_t
        The transposes of ``duration``, ``cost_arc`` and ``arc`` (the same
        arrays when symmetric, as on the benchmarks): the insertion kernels read
        the legs into a new stop ``x`` as ``duration_t[x, before]``, a row that
        stays in cache over all routes, not as ``duration[before, x]``, one
        cache line per route and place of a matrix far larger than the cache.
    duration_limit, duration_weight
        The route duration limit a solution must keep, and the price of each
        time unit a route's least duration exceeds it (0: none; ``max_duration``
        is then the limit). A relaxed search (``routing.alns``) sets
        ``max_duration`` above ``duration_limit`` and a positive weight: routes
        may then run over the limit, at that price.
    """

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    service: np.ndarray
    wheel: np.ndarray
    seat: np.ndarray
    ride: np.ndarray
    depot: np.ndarray
    shift_start: np.ndarray
    shift_end: np.ndarray
    wheel_cap: np.ndarray
    seat_cap: np.ndarray
    allowed: np.ndarray
    twin: np.ndarray
    duration: np.ndarray
    arc: np.ndarray
    max_duration: float
    break_earliest: np.ndarray
    break_latest: np.ndarray
    break_len: np.ndarray
    break_tries: int
    cost_arc: np.ndarray
    paid_rate: float
    excess_rate: float
    direct: np.ndarray
    duration_t: np.ndarray
    cost_arc_t: np.ndarray
    arc_t: np.ndarray
    duration_limit: float
    duration_weight: float = 0.0

    @classmethod
    def of(cls, data: ProblemData, arc: np.ndarray, pricing: Pricing | None = None) -> Arrays:
        """The arrays of ``data`` with arc cost matrix ``arc`` (screens, relatedness) and route costs by ``pricing``
        (None: the arc sum)."""
        requests, vehicles = data.requests, data.vehicles
        n = len(requests)
        windows = np.array([r.window(k) for k in ("pickup", "dropoff") for r in requests], dtype=float).reshape(2 * n, 2)
        sign = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
        point = np.array([r.pickup for r in requests] + [r.dropoff for r in requests], dtype=np.int64)
        service = np.array([r.service_pickup_s for r in requests] + [r.service_dropoff_s for r in requests], dtype=float)
        ride = np.array([r.service_pickup_s + data.max_ride(r) for r in requests], dtype=float)
        duration = np.where(np.isfinite(data.duration_s), data.duration_s, BIG)
        cost_arc, paid_rate, excess_rate = (arc, 0.0, 0.0) if pricing is None else pricing.timed_terms(data)
        same = cost_arc is arc
        arc = np.where(np.isfinite(arc), arc, BIG)
        cost_arc = arc if same else np.where(np.isfinite(cost_arc), cost_arc, BIG)
        low, high = _tightened(np.clip(windows[:, 0], -BIG, BIG), np.clip(windows[:, 1], -BIG, BIG), point, service,
                               ride, duration)
        depot = np.array([v.depot for v in vehicles], dtype=np.int64)
        place = _places((duration, arc) if same else (duration, arc, cost_arc))
        kept = np.unique(place)
        if len(kept) < len(place):  # one row and column per place: the same entries, a matrix that fits the cache
            point, depot = np.searchsorted(kept, place[point]), np.searchsorted(kept, place[depot])
            duration, arc = duration[np.ix_(kept, kept)], arc[np.ix_(kept, kept)]
            cost_arc = arc if same else cost_arc[np.ix_(kept, kept)]
        shift_start = np.array([v.shift_start_s for v in vehicles], dtype=float)
        shift_end = np.array([v.shift_end_s for v in vehicles], dtype=float)
        allowed = np.array([[fits(v, r) for v in vehicles] for r in requests], dtype=np.bool_).reshape(n, len(vehicles))
        allowed &= _in_shift(point, low, high, service, depot, shift_start, shift_end, duration)
        keys = [(v.depot, v.shift_start_s, v.shift_end_s, v.wheelchair_places, v.seats, v.break_earliest_s,
                 v.break_latest_s, v.break_s, allowed[:, k].tobytes())
                for k, v in enumerate(vehicles)]
        first = {}
        twin = np.array([first.setdefault(key, k) for k, key in enumerate(keys)], dtype=np.int64)
        arc_t = _transposed(arc)
        return cls(
            point=point, low=low, high=high, service=service,
            wheel=sign * np.tile([r.wheelchair_load for r in requests], 2).astype(np.int64),
            seat=sign * np.tile([r.seat_load for r in requests], 2).astype(np.int64),
            ride=ride,
            depot=depot,
            shift_start=shift_start, shift_end=shift_end,
            wheel_cap=np.array([v.wheelchair_places for v in vehicles], dtype=np.int64),
            seat_cap=np.array([v.seats for v in vehicles], dtype=np.int64),
            allowed=allowed, twin=twin,
            duration=duration,
            arc=arc,
            max_duration=BIG if data.max_route_duration_s is None else float(data.max_route_duration_s),
            duration_limit=BIG if data.max_route_duration_s is None else float(data.max_route_duration_s),
            break_earliest=np.array([v.break_earliest_s for v in vehicles], dtype=float),
            break_latest=np.array([v.break_latest_s for v in vehicles], dtype=float),
            break_len=np.array([v.break_s if v.has_break else 0.0 for v in vehicles], dtype=float),
            break_tries=BREAK_TRIES,
            cost_arc=cost_arc,
            paid_rate=paid_rate, excess_rate=excess_rate,
            direct=duration[point[:n], point[n:]].copy(),
            duration_t=_transposed(duration), cost_arc_t=arc_t if same else _transposed(cost_arc), arc_t=arc_t,
        )

    def kernel_args(self) -> tuple:
        """The arrays in the order the kernels take them (``*P`` below)."""
        return (self.point, self.low, self.high, self.service, self.wheel, self.seat, self.ride, self.depot,
                self.shift_start, self.shift_end, self.wheel_cap, self.seat_cap, self.allowed, self.twin,
                self.duration, self.arc, self.max_duration, self.break_earliest, self.break_latest, self.break_len,
                self.break_tries, self.cost_arc, self.paid_rate, self.excess_rate, self.direct, self.duration_t,
                self.cost_arc_t, self.arc_t, self.duration_limit, self.duration_weight)

    def bound_args(self) -> tuple:
        """The arrays :func:`insertion_bound` takes, in its order."""
        return (self.point, self.low, self.high, self.service, self.wheel, self.seat, self.depot, self.wheel_cap,
                self.seat_cap, self.duration, self.cost_arc, self.duration_t, self.cost_arc_t)


def _in_shift(point: np.ndarray, low: np.ndarray, high: np.ndarray, service: np.ndarray, depot: np.ndarray,
              shift_start: np.ndarray, shift_end: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """``[r, v]``: whether request r alone fits vehicle v's shift (seconds): leaving the depot at the shift's start,
    the pickup and the drop-off within their windows and back by the shift's end.

    Every route of v that serves r does at least this (other stops and the
    break only delay, by the triangle inequality), so a request that fails it
    has no feasible insertion on v: the kernels skip such vehicles without
    computing their bounds, and find the same insertions.
    """
    n = len(point) // 2
    pickup, dropoff = point[:n, None], point[n:, None]
    pick = np.maximum(low[:n, None], shift_start[None, :] + duration[depot[None, :], pickup])
    drop = np.maximum(low[n:, None], pick + service[:n, None] + duration[pickup, dropoff])
    back = drop + service[n:, None] + duration[dropoff, depot[None, :]]
    return (pick <= high[:n, None] + IN_SHIFT_SLACK) & (drop <= high[n:, None] + IN_SHIFT_SLACK) \
        & (back <= shift_end[None, :] + IN_SHIFT_SLACK)


def _places(matrices: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per matrix index, the first index whose row and column equal its own in every matrix: the same place.

    Stops often share a place (a rider's home at both ends of the day, a
    clinic many ride to: the Almaty day's 3 334 points are 1 239
    places), and indexing the matrices by place gives every kernel the very
    same entries from matrices several times smaller. Candidates share a
    fingerprint (each row's and column's products with a fixed random vector)
    and are then compared entry by entry, so only identical rows and columns
    are merged.
    """
    size = len(matrices[0])
    weights = np.random.default_rng(0).random(size)
    prints = np.column_stack([part for m in matrices for part in (m @ weights, weights @ m)])
    _, lead, group = np.unique(prints, axis=0, return_index=True, return_inverse=True)
    place = lead[group.ravel()]  # the first index of each fingerprint
    others = np.flatnonzero(place != np.arange(size))
    same = np.ones(len(others), dtype=bool)
    for m in matrices:
        same &= (m[others] == m[place[others]]).all(axis=1) & (m[:, others] == m[:, place[others]]).all(axis=0)
    place[others[~same]] = others[~same]
    return place


def _transposed(matrix: np.ndarray) -> np.ndarray:
    """``matrix.T`` in row-major order (``matrix`` itself when symmetric; a road network's first row already
    differs from its first column, so the full test runs only on symmetric-looking matrices)."""
    if np.array_equal(matrix[0], matrix[:, 0]) and np.array_equal(matrix, matrix.T):
        return matrix
    return np.ascontiguousarray(matrix.T)


def _tightened(low: np.ndarray, high: np.ndarray, point: np.ndarray, service: np.ndarray, ride: np.ndarray,
               duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows narrowed by what each request's own pickup and drop-off imply (Cordeau 2006, section 4).

    A drop-off starts at least the direct trip after its pickup and at most
    ``ride`` after it, so the pickup window loses what no drop-off time can
    follow (``[low_d - ride, high_d - service_p - t(p, d)]``) and then the
    drop-off window what no pickup time can precede. Every feasible route
    keeps the same times, so feasibility is unchanged; what changes is that a
    pickup with an open window ([0, day end], half the requests of the
    Cordeau sets) gets the window its drop-off's implies, which the screens
    of :func:`route_insertion`, the relatedness of requests and the
    earliest-first recreate order use.
    """
    n = len(ride)
    low, high = low.copy(), high.copy()
    direct = service[:n] + duration[point[:n], point[n:]]
    low[:n] = np.maximum(low[:n], low[n:] - ride)
    high[:n] = np.minimum(high[:n], high[n:] - direct)
    low[n:] = np.maximum(low[n:], low[:n] + direct)
    high[n:] = np.minimum(high[n:], high[:n] + ride)
    return low, high


@njit(cache=True)
def feasible(seq, m, v, times, position, point, low, high, service, wheel, seat, ride, depot, shift_start,  # noqa: ANN001
             shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Whether ``seq[:m]`` is a feasible route for vehicle v (its break placed); its least times in ``times[:m + 2]``.

    ``times[0]`` is the depot departure, ``times[k + 1]`` the service start
    of stop k, ``times[m + 1]`` the return, all without the break (lower
    bounds whatever the break does). ``position`` is scratch (one entry per
    node). Loads and pickup-before-drop-off are checked too.
    """
    timed = np.empty(m + 2)
    after, _ = timed_route(seq, m, v, times, timed, False, position, point, low, high, service, wheel, seat, ride, depot,
                           shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
                           break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    return after >= -1


@njit(cache=True, _nrt=False)
def priced_route(seq, m, v, times, timed, position, point, low, high, service, wheel, seat, ride, depot, shift_start,  # noqa: ANN001
                 shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
                 break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """(:func:`feasible`, the route's cost without the fixed cost) of ``seq[:m]``; least times in ``times``.

    ``timed`` (at least m + 2 entries) gets the scheduler's times (:func:`timed_route`)."""
    after, cost = timed_route(seq, m, v, times, timed, True, position, point, low, high, service, wheel, seat, ride,
                              depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc,
                              max_duration, break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate,
                              excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    return after >= -1, cost


@njit(cache=True, _nrt=False)
def timed_route(seq, m, v, times, timed, with_cost, position, point, low, high, service, wheel, seat, ride, depot,  # noqa: ANN001, C901
                shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
                break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """The route ``seq[:m]`` of vehicle v timed as ``routing.schedule`` times it, and its cost.

    Returns (break position, cost): the break after stop p (0: at the depot
    before leaving, m: after returning; -1: none, no break needed; -2: the
    route is infeasible), and, if ``with_cost``, the route's cost without
    the fixed cost (``Arrays``: arcs, paid time, excess ride time; else 0). ``times[:m + 2]`` gets
    the least times without the break (as :func:`feasible`), ``timed[:m + 2]``
    the scheduler's times: least times with the break, the departure then
    delayed to just in time for the first stop. The break rule is the
    scheduler's: the places with nobody on board, ranked by how much they
    delay the next stop in the times without a break, the first
    ``break_tries`` tried in turn, the first feasible kept.

    A relaxed duration (``duration_weight`` > 0, no break): a route that
    cannot keep ``duration_limit`` costs ``duration_weight`` per time unit
    its least times (departure just in time) run over it, added to the cost
    whether or not ``with_cost`` (so alone when it is not).
    """
    n = len(ride)
    w = 0
    s = 0
    for k in range(m):
        node = seq[k]
        if node < n:
            position[node] = k + 1
        w += wheel[node]
        s += seat[node]
        if (node >= n and position[node - n] < 0) or w > wheel_cap[v] or s > seat_cap[v]:
            _clear(seq, k + 1, position, n)
            return -2, 0.0  # a drop-off before its pickup, or over capacity
    if not _least(seq, m, v, times, -1, position, point, low, high, service, ride, depot, shift_start, shift_end,
                  duration, max_duration, break_earliest, break_latest, break_len):
        _clear(seq, m, position, n)
        return -2, 0.0
    after = -1
    if break_len[v] > 0 and m > 0:
        after = _place_break(seq, m, v, times, timed, position, point, low, high, service, ride, depot, shift_start,
                             shift_end, duration, max_duration, break_earliest, break_latest, break_len, break_tries)
    elif with_cost:
        for k in range(m + 2):
            timed[k] = times[k]
    cost = 0.0
    if after >= -1 and with_cost:
        if m > 0:
            timed[0] = max(timed[0], timed[1] - duration[depot[v], point[seq[0]]])
        cost = _route_cost(seq, m, v, timed, after, position, point, service, depot, cost_arc, paid_rate, excess_rate,
                           direct, break_len)
    if after == -1 and duration_weight > 0.0 and m > 0:
        over = times[m + 1] - max(times[0], times[1] - duration[depot[v], point[seq[0]]]) - duration_limit
        if over > EPSILON and not _least(seq, m, v, timed, -1, position, point, low, high, service, ride, depot,
                                         shift_start, shift_end, duration, duration_limit, break_earliest, break_latest,
                                         break_len):
            cost += duration_weight * over  # the limit cannot be kept: the time over it, from the least times, priced
        if with_cost:  # `timed` was scratch: the scheduler's times again
            for k in range(m + 2):
                timed[k] = times[k]
            timed[0] = max(timed[0], timed[1] - duration[depot[v], point[seq[0]]])
    _clear(seq, m, position, n)
    return after, cost


@njit(cache=True, _nrt=False)
def _clear(seq, m, position, n):  # noqa: ANN001
    """Reset the scratch ``position`` of the pickups in ``seq[:m]``."""
    for k in range(m):
        if seq[k] < n:
            position[seq[k]] = -1


@njit(cache=True, _nrt=False)
def _place_break(seq, m, v, times, timed, position, point, low, high, service, ride, depot, shift_start,  # noqa: ANN001
                 shift_end, duration, max_duration, break_earliest, break_latest, break_len, break_tries):
    """The break position of ``routing.schedule`` (-2: none feasible), ``timed`` its least times; ``times``: without."""
    n = len(ride)
    length = break_len[v]
    depart = max(times[0], times[1] - duration[depot[v], point[seq[0]]])  # the scheduler's just-in-time departure
    last_delay, last_place = -1.0, -1  # places are tried by (delay, place), each try the next after the last
    for _ in range(break_tries):
        best_delay, best_place = BIG, -1
        on_board = 0
        for p in range(m + 1):
            if 0 < p:
                on_board += 1 if seq[p - 1] < n else -1
                if p < m and on_board != 0:
                    continue
            ready = shift_start[v] if p == 0 else times[m + 1] if p == m else times[p] + service[seq[p - 1]]
            start = max(ready, break_earliest[v])
            if start > break_latest[v]:
                continue
            if p == 0:
                delay = max(0.0, start + length - depart)
            elif p == m:
                if start + length > shift_end[v]:
                    continue
                delay = 0.0
            else:
                delay = max(0.0, start + length + duration[point[seq[p - 1]], point[seq[p]]] - times[p + 1])
            if (delay > last_delay or (delay == last_delay and p > last_place)) and delay < best_delay:
                best_delay, best_place = delay, p
        if best_place < 0:
            return -2
        if _least(seq, m, v, timed, best_place, position, point, low, high, service, ride, depot, shift_start,
                  shift_end, duration, max_duration, break_earliest, break_latest, break_len):
            return best_place
        last_delay, last_place = best_delay, best_place
    return -2


@njit(cache=True, _nrt=False)
def _least(seq, m, v, times, after, position, point, low, high, service, ride, depot, shift_start, shift_end,  # noqa: ANN001, C901
           duration, max_duration, break_earliest, break_latest, break_len):
    """Least times of ``seq[:m]`` in ``times[:m + 2]`` with the break after stop ``after`` (-1: none); feasible?

    Label correcting (see the module docstring); ``position`` holds the
    pickups' indices in ``times``. The break as ``routing.schedule`` models
    it: after stop 0 < p < m it starts once the service of stop p ends and
    no earlier than its window, no later than its window's end, and the
    drive to stop p + 1 starts after it; at the depot before leaving (p = 0)
    the departure waits for its end; after returning (p = m) the return is
    early enough for it to start in its window and end within the shift.
    """
    n = len(ride)
    times[0] = shift_start[v]
    if after == 0:
        times[0] = max(times[0], break_earliest[v] + break_len[v])
    last = shift_end[v]
    if after == m:
        last = min(last, min(break_latest[v], shift_end[v] - break_len[v]))
        if break_earliest[v] > last:
            return False
    for k in range(m):
        times[k + 1] = low[seq[k]]
    times[m + 1] = -BIG
    start = 0
    rounds = 0
    while True:
        rounds += 1
        if rounds > m + 3:
            return False
        # forward pass from `start`: travel and service between consecutive nodes (and the break)
        for k in range(start, m + 1):
            here = depot[v] if k == 0 else point[seq[k - 1]]
            there = depot[v] if k == m else point[seq[k]]
            leave = times[k] + (0.0 if k == 0 else service[seq[k - 1]])
            if k == after and 0 < k < m:
                pause = max(leave, break_earliest[v])
                if pause > break_latest[v] + EPSILON:
                    return False
                leave = pause + break_len[v]
            arrive = leave + duration[here, there]
            if arrive > times[k + 1]:
                times[k + 1] = arrive
            upper = last if k == m else high[seq[k]]
            if times[k + 1] > upper + EPSILON:
                return False
        # backward constraints: maximum ride times, route duration
        start = m + 1
        for k in range(m):
            node = seq[k]
            if node >= n:
                p = position[node - n]
                need = times[k + 1] - ride[node - n]
                if need > times[p] + EPSILON:
                    times[p] = need
                    if times[p] > high[seq[p - 1]] + EPSILON:
                        return False
                    if p < start:
                        start = p
        need = times[m + 1] - max_duration
        if need > times[0] + EPSILON:
            times[0] = need
            start = 0
        if start == m + 1:
            return True


@njit(cache=True, _nrt=False)
def _route_cost(seq, m, v, timed, after, position, point, service, depot, cost_arc, paid_rate, excess_rate, direct,  # noqa: ANN001
                break_len):
    """Cost of the timed route ``seq[:m]`` (``routing.cost.Pricing.route`` less the fixed cost; 0 when empty)."""
    cost = route_arc(seq, m, v, point, depot, cost_arc)
    if m == 0 or (paid_rate == 0.0 and excess_rate == 0.0):
        return cost
    n = len(direct)
    paid = timed[m + 1] - timed[0] - (break_len[v] if 0 < after < m else 0.0)
    excess = 0.0
    for k in range(m):
        node = seq[k]
        if node >= n:
            r = node - n
            excess += max(0.0, timed[k + 1] - timed[position[r]] - service[r] - direct[r])
    return cost + paid_rate * paid + excess_rate * excess


@njit(cache=True, _nrt=False)
def with_insertion(seq, m, pickup, dropoff, i, j, out):  # noqa: ANN001
    """Write ``seq[:m]`` with ``pickup`` before stop i and ``dropoff`` before stop j (i <= j; m: at the end) to ``out``."""
    length = 0
    for q in range(m + 1):
        if q == i:
            out[length] = pickup
            length += 1
        if q == j:
            out[length] = dropoff
            length += 1
        if q < m:
            out[length] = seq[q]
            length += 1


@njit(cache=True, _nrt=False)
def route_arc(seq, m, v, point, depot, arc):  # noqa: ANN001
    """Arc cost of ``seq[:m]`` from vehicle v's depot back to it (0 when empty)."""
    if m == 0:
        return 0.0
    total = 0.0
    here = depot[v]
    for k in range(m):
        total += arc[here, point[seq[k]]]
        here = point[seq[k]]
    return total + arc[here, depot[v]]


@njit(cache=True, _nrt=False)
def latest_starts(seq, m, v, latest, point, high, service, depot, shift_end, duration):  # noqa: ANN001
    """Write to ``latest[k]`` the latest start of node k (``times``' indexing: 1..m the stops, m + 1 the return) that
    keeps the rest of route ``seq[:m]`` of vehicle v within its windows and shift (backward time slack, seconds).

    The search keeps it per route beside the least times, updated whenever a route changes."""
    latest[m + 1] = shift_end[v]
    for k in range(m, 0, -1):
        after = depot[v] if k == m else point[seq[k]]
        latest[k] = min(high[seq[k - 1]], latest[k + 1] - service[seq[k - 1]] - duration[point[seq[k - 1]], after])


@njit(cache=True, _nrt=False)
def _first_place(seq, m, latest, earliest, wheel, seat):  # noqa: ANN001
    """(i, wheelchair load, seat load): the first place i (before stop i) where a stop that starts no earlier than
    ``earliest`` can go, by binary search on the latest starts, and the loads on board before stop i.

    Before stop i the new stop starts at ``earliest`` or later, and stop i
    must still start by ``latest[i + 1]``, so every place with
    ``latest[i + 1] < earliest`` fails the screens; the latest starts only
    grow along a route, so those places are the route's head.
    """
    lo, hi = 0, m + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if latest[mid + 1] + EPSILON < earliest:
            lo = mid + 1
        else:
            hi = mid
    w = 0
    s = 0
    for k in range(min(lo, m)):
        w += wheel[seq[k]]
        s += seat[seq[k]]
    return lo, w, s


@njit(cache=True)
def workspace(stops, cap, n_vehicles):  # noqa: ANN001
    """Buffers of :func:`route_insertion` for routes of up to ``stops`` stops, and of :func:`_best_insertion`.

    A tuple: costs, pickup places, drop-off places and a heap, one entry per
    position pair ((stops + 1)(stops + 2) / 2); a trial route's least and
    scheduled times (``cap`` + 4, ``cap`` the longest route the arrays hold);
    the vehicles' bounds and order (``n_vehicles``); a trial route's stops
    (``cap`` + 2). The kernels that use it allocate nothing, so they skip
    reference counting.
    """
    size = (stops + 1) * (stops + 2) // 2
    return (np.empty(size), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64),
            np.empty(size, dtype=np.int64), np.empty(cap + 4), np.empty(cap + 4), np.empty(n_vehicles),
            np.empty(n_vehicles, dtype=np.int64), np.empty(cap + 2, dtype=np.int64))


@njit(cache=True)
def _fitted(work, stops):  # noqa: ANN001
    """``work``, or a :func:`workspace` twice as long when its position-pair buffers are short of ``stops`` stops."""
    if len(work[0]) >= (stops + 1) * (stops + 2) // 2:
        return work
    return workspace(2 * stops, len(work[4]) - 4, len(work[6]))


@njit(cache=True, _nrt=False)
def _before(key, a, b):  # noqa: ANN001
    """Whether index a comes before b: by ``key``, then by index."""
    return key[a] < key[b] or (key[a] == key[b] and a < b)


@njit(cache=True, _nrt=False)
def _sift_down(heap, count, key, root):  # noqa: ANN001
    """Restore the min-heap ``heap[:count]`` (of indices, in :func:`_before` order) below ``root``."""
    while True:
        child = 2 * root + 1
        if child >= count:
            return
        if child + 1 < count and _before(key, heap[child + 1], heap[child]):
            child += 1
        if not _before(key, heap[child], heap[root]):
            return
        heap[root], heap[child] = heap[child], heap[root]
        root = child


@njit(cache=True, _nrt=False)
def _heapify(heap, count, key):  # noqa: ANN001
    """Make ``heap[:count]`` a min-heap of indices by ``key`` (then index), to be popped in order by :func:`_pop`."""
    for root in range(count // 2 - 1, -1, -1):
        _sift_down(heap, count, key, root)


@njit(cache=True, _nrt=False)
def _pop(heap, count, key):  # noqa: ANN001
    """The first index of the min-heap ``heap[:count]``, which becomes ``heap[:count - 1]``."""
    top = heap[0]
    heap[0] = heap[count - 1]
    _sift_down(heap, count - 1, key, 0)
    return top


@njit(cache=True, _nrt=False)
def route_insertion(r, seq, m, v, times, latest, bound, work, position, point, low, high, service, wheel, seat, ride,  # noqa: ANN001
                    depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """The exact cheapest insertion of request r into vehicle v's route ``seq[:m]`` costing less than ``bound``.

    ``times`` holds the route's least times (:func:`feasible`) and ``latest``
    its latest starts (:func:`latest_starts`); ``work`` is a :func:`workspace`
    for routes of at least m stops. Returns (added cost,
    pickup position, drop-off position); positions count stops of the
    current route (insert before that stop; m: at the end), and the cost is
    ``bound`` with positions -1 when no insertion is cheaper than ``bound``.
    Arc costs alone: the screened positions are tried cheapest first and the
    first feasible one is the answer (relaxed duration: the first within the
    limit, or the cheapest with its price for time over the limit among those
    whose arc cost is below it; an insertion cannot shorten a route). With time-priced costs (paid and excess
    ride time, which an insertion may even lower by filling waiting time) every
    screened position is timed and priced (:func:`timed_route`).
    """
    n = len(ride)
    priced = paid_rate != 0.0 or excess_rate != 0.0
    screen = BIG if priced else bound  # an arc cost bounds the added cost only when arcs are all that is priced
    p = r
    d = n + r
    pp = point[p]
    pd = point[d]
    costs, picks, drops, heap, trial_times, timed, scratch = work[0], work[1], work[2], work[3], work[4], work[5], work[8]
    count = 0
    head, w, s = _first_place(seq, m, latest, low[p], wheel, seat)
    for i in range(head, m + 1):
        if i > head:
            w += wheel[seq[i - 1]]
            s += seat[seq[i - 1]]
        if w + wheel[p] > wheel_cap[v] or s + seat[p] > seat_cap[v]:
            continue
        before = depot[v] if i == 0 else point[seq[i - 1]]
        after = depot[v] if i == m else point[seq[i]]
        leave = times[i] + (0.0 if i == 0 else service[seq[i - 1]])
        start_p = max(leave + duration_t[pp, before], low[p])
        if start_p > high[p] + EPSILON:
            break  # later positions only leave later
        latest_p = min(high[p], latest[i + 1] - service[p] - duration[pp, after])
        if start_p > latest_p + EPSILON:
            continue
        pick_detour = arc_t[pp, before] + arc[pp, after] - arc[before, after]
        # adjacent: the drop-off right after the pickup
        start_d = max(start_p + service[p] + duration[pp, pd], low[d])
        cost = arc_t[pp, before] + arc[pp, pd] + arc[pd, after] - arc[before, after]
        latest_adjacent = min(latest_p, high[d] - service[p] - duration[pp, pd],
                              latest[i + 1] - service[d] - duration[pd, after] - service[p] - duration[pp, pd])
        if (cost < screen and start_d <= high[d] + EPSILON and start_d - latest_adjacent <= ride[r] + EPSILON
                and service[p] + duration[pp, pd] <= ride[r] + EPSILON
                and start_d + service[d] + duration[pd, after] <= latest[i + 1] + EPSILON):
            costs[count] = cost
            picks[count] = i
            drops[count] = i
            count += 1
        # apart: the drop-off before stop j > i; `current` is the earliest start of stop j - 1 after the pickup
        ww = w
        ss = s
        current = 0.0
        for j in range(i + 1, m + 1):
            node = seq[j - 1]
            ww += wheel[node]
            ss += seat[node]
            if ww + wheel[p] > wheel_cap[v] or ss + seat[p] > seat_cap[v]:
                break  # the passenger would be on board past a full stop
            if j == i + 1:
                current = max(times[j], start_p + service[p] + duration[pp, point[node]])
            else:
                current = max(times[j], current + service[seq[j - 2]] + duration[point[seq[j - 2]], point[node]])
            if current > latest[j] + EPSILON:
                break  # stop j - 1 is late whatever follows
            a2 = depot[v] if j == m else point[seq[j]]
            start_d = max(current + service[node] + duration_t[pd, point[node]], low[d])
            if start_d > high[d] + EPSILON or start_d - latest_p > ride[r] + EPSILON:
                break  # later drop-offs only start later
            if start_d + service[d] + duration[pd, a2] > latest[j + 1] + EPSILON:
                continue
            cost = pick_detour + arc_t[pd, point[node]] + arc[pd, a2] - arc[point[node], a2]
            if cost < screen:
                costs[count] = cost
                picks[count] = i
                drops[count] = j
                count += 1
    for k in range(count):
        heap[k] = k
    _heapify(heap, count, costs)
    base = 0.0
    if priced and count > 0:
        _, base = timed_route(seq, m, v, trial_times, timed, True, position, point, low, high, service, wheel, seat, ride,
                              depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc,
                              max_duration, break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate,
                              excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    best, bi, bj = bound, -1, -1
    over = -1.0  # arcs alone, relaxed duration: the route's own price for its time over the limit, once needed
    for left in range(count, 0, -1):
        c = _pop(heap, left, costs)
        if not priced and costs[c] >= best:
            break  # an arc cost bounds the rest (time over the limit only adds)
        i = picks[c]
        j = drops[c]
        with_insertion(seq, m, p, d, i, j, scratch)
        after, cost = timed_route(scratch, m + 2, v, trial_times, timed, priced, position, point, low, high, service, wheel,
                                  seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                                  duration, arc, max_duration, break_earliest, break_latest, break_len, break_tries,
                                  cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
        if after < -1:
            continue
        if not priced:
            if cost == 0.0:
                return costs[c], i, j  # within the duration limit (always, unless relaxed): the cheapest
            if over < 0.0:
                _, over = timed_route(seq, m, v, trial_times, timed, False, position, point, low, high, service, wheel,
                                      seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                                      duration, arc, max_duration, break_earliest, break_latest, break_len,
                                      break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t,
                                      arc_t, duration_limit, duration_weight)
            added = costs[c] + cost - over
        else:
            added = cost - base
        if added < best:
            best, bi, bj = added, i, j
    return best, bi, bj


@njit(cache=True)
def within_limit(routes, lengths, position, point, low, high, service, wheel, seat, ride, depot, shift_start,  # noqa: ANN001
                 shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Whether every route keeps ``duration_limit`` (a relaxed search's routes may not; else always true)."""
    if duration_weight == 0.0:
        return True
    times = np.empty(routes.shape[1] + 2)
    timed = np.empty(routes.shape[1] + 2)
    for v in range(len(lengths)):
        if lengths[v] > 0:
            _, over = timed_route(routes[v], lengths[v], v, times, timed, False, position, point, low, high, service,
                                  wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                                  duration, arc, max_duration, break_earliest, break_latest, break_len, break_tries,
                                  cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t,
                                  duration_limit, duration_weight)
            if over > 0.0:
                return False
    return True


@njit(cache=True)
def seed_random(seed):  # noqa: ANN001
    """Seed numba's random generator (separate from NumPy's)."""
    np.random.seed(seed)


@njit(cache=True, _nrt=False)
def total_cost(route_cost, lengths, owner, insertable, fixed, penalty):  # noqa: ANN001
    total = 0.0
    for v in range(len(lengths)):
        if lengths[v] > 0:
            total += route_cost[v] + fixed
    for r in range(len(owner)):
        if insertable[r] and owner[r] < 0:
            total += penalty
    return total


@njit(cache=True, _nrt=False)
def _choose(weights):  # noqa: ANN001
    x = np.random.random() * weights.sum()
    for k in range(len(weights)):
        x -= weights[k]
        if x < 0:
            return k
    return len(weights) - 1


@njit(cache=True, _nrt=False)
def _best_insertion(r, only, usable, routes, lengths, times, latest, fixed, work, seen, position, point, low, high, service, wheel, seat,  # noqa: ANN001
                    ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Cheapest insertion of request r over all vehicles (``only``: those ``usable``): (added cost, fixed cost
    included; v; i; j).

    Vehicles are tried in order of a lower bound on their insertion cost
    (:func:`insertion_bound` on ``cost_arc``), and the search stops at the
    first whose bound reaches the best cost found: when arcs are all that is
    priced, the answer is the same as trying every vehicle, with far fewer
    position pairs screened. With time-priced costs the bound is the km part
    alone, exact unless an insertion lowers the route's paid or excess ride
    time elsewhere (a later departure, a break moved inside the route), a
    saving that no vehicle farther away than the best cost can then offer.
    """
    n_vehicles = len(lengths)
    best = BIG
    bv, bi, bj = -1, -1, -1
    bounds, order = work[6], work[7]
    count = 0
    for v in range(n_vehicles):
        seen[v] = False
    for v in range(n_vehicles):
        bounds[v] = BIG
        if not allowed[r, v] or (only and not usable[v]):
            continue
        if lengths[v] == 0:
            if seen[twin[v]]:
                continue
            seen[twin[v]] = True
            bounds[v] = fixed + cost_arc[depot[v], point[r]] + cost_arc[point[r], point[len(ride) + r]] \
                + cost_arc[point[len(ride) + r], depot[v]]
        else:
            bounds[v] = insertion_bound(r, routes[v], lengths[v], v, times[v], latest[v], point, low, high, service,
                                        wheel, seat, depot, wheel_cap, seat_cap, duration, cost_arc, duration_t, cost_arc_t)
        if bounds[v] < BIG:
            order[count] = v
            count += 1
    _heapify(order, count, bounds)
    for left in range(count, 0, -1):
        v = _pop(order, left, bounds)
        if bounds[v] >= best:
            break
        m = lengths[v]
        extra = fixed if m == 0 else 0.0
        c, i, j = route_insertion(r, routes[v], m, v, times[v], latest[v], best - extra, work, position, point, low, high,
                                  service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed,
                                  twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
        if i >= 0:
            best = c + extra
            bv, bi, bj = v, i, j
    return best, bv, bi, bj


@njit(cache=True, _nrt=False)
def insertion_bound(r, seq, m, v, times, latest, point, low, high, service, wheel, seat, depot, wheel_cap,  # noqa: ANN001
                    seat_cap, duration, cost_arc, duration_t, cost_arc_t):
    """A lower bound on the added arc cost (``cost_arc``: the arcs' cost, their km part when time is priced too) of
    inserting request r into route ``seq[:m]`` (m > 0), in O(m).

    Takes only the arrays it reads (``Arrays.bound_args``), not all the
    kernels' arguments: it runs once per route for every insertion, and each
    array passed costs a reference-count increment and decrement per call.

    Pickup before stop i, drop-off before stop j > i: the cost is the pickup's
    detour at i plus the drop-off's at j, so at least the least pickup detour
    plus the least drop-off detour (each detour is non-negative by the
    triangle inequality). Both before stop i: the cost itself, O(1) per i.
    Only places that pass :func:`route_insertion`'s own necessary conditions
    count (the route's least times ``times`` and backward time slack against
    each stop's window and the loads; for a drop-off, its least start after
    stop j - 1 unmoved), so a route whose windows exclude r gets ``BIG`` and
    the bound never exceeds the exact cheapest insertion's cost. Ride-time
    and route-duration limits are ignored; a driver's break only delays
    stops, so ``times`` (without the break) stay least times.
    """
    n = len(point) // 2
    p = r
    d = n + r
    pp = point[p]
    pd = point[d]
    least_p = BIG
    least_d = BIG
    least_adjacent = BIG
    first = m + 1  # the first place the pickup may go
    head, w, s = _first_place(seq, m, latest, low[p], wheel, seat)
    for i in range(head, m + 1):
        if i > head:
            w += wheel[seq[i - 1]]
            s += seat[seq[i - 1]]
        before = depot[v] if i == 0 else point[seq[i - 1]]
        after = depot[v] if i == m else point[seq[i]]
        leave = times[i] + (0.0 if i == 0 else service[seq[i - 1]])
        if i > first:  # the drop-off before stop i (stop i - 1 starts at times[i] or later)
            start_d = max(leave + duration_t[pd, before], low[d])
            if start_d > high[d] + EPSILON:
                break  # later places only start later, for the pickup too
            if start_d + service[d] + duration[pd, after] <= latest[i + 1] + EPSILON:
                least_d = min(least_d, cost_arc_t[pd, before] + cost_arc[pd, after] - cost_arc[before, after])
        if w + wheel[p] > wheel_cap[v] or s + seat[p] > seat_cap[v]:
            continue
        start_p = max(leave + duration_t[pp, before], low[p])
        if start_p > high[p] + EPSILON:
            if first > m:
                break  # no place for the pickup
            continue
        if start_p > min(high[p], latest[i + 1] - service[p] - duration[pp, after]) + EPSILON:
            continue
        if first > m:
            first = i
        least_p = min(least_p, cost_arc_t[pp, before] + cost_arc[pp, after] - cost_arc[before, after])
        start_d = max(start_p + service[p] + duration[pp, pd], low[d])
        if start_d <= high[d] + EPSILON and start_d + service[d] + duration[pd, after] <= latest[i + 1] + EPSILON:
            least_adjacent = min(least_adjacent, cost_arc_t[pp, before] + cost_arc[pp, pd] + cost_arc[pd, after] - cost_arc[before, after])
    if first > m:
        return BIG
    return min(least_adjacent, least_p + least_d)


@njit(cache=True, _nrt=False)
def _touch(v, touched, n_touched, routes, lengths, times, latest, route_cost, bak_routes, bak_lengths, bak_times,  # noqa: ANN001
           bak_latest, bak_cost):
    """Back up route v before its first change in this iteration; the new count of touched routes."""
    for k in range(n_touched):
        if touched[k] == v:
            return n_touched
    m = lengths[v]
    for k in range(m):
        bak_routes[v, k] = routes[v, k]
    for k in range(m + 2):
        bak_times[v, k] = times[v, k]
        bak_latest[v, k] = latest[v, k]
    bak_lengths[v] = m
    bak_cost[v] = route_cost[v]
    touched[n_touched] = v
    return n_touched + 1


@njit(cache=True)
def iterate(iterations, temperature, min_ruined, max_ruined, max_string, routes, lengths, times, latest, route_cost, owner, insertable, near, fixed,  # noqa: ANN001, C901
             penalty, cost, best_routes, best_lengths, position, ruin_weights, recreate_weights, full_retry, point, low, high,
             service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration,
             arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """``iterations`` ruin-and-recreate steps under simulated annealing at ``temperature``; see the module docstring.

    A request left unserved is retried in the routes the step ruined (the
    others only gained stops since it last found no place in them; all
    routes when ``full_retry``, as on a first fill).
    """
    n = len(owner)
    n_vehicles = len(lengths)
    cap = routes.shape[1]
    bak_routes = np.empty_like(routes)
    bak_times = np.empty_like(times)
    bak_latest = np.empty_like(latest)
    bak_lengths = np.empty_like(lengths)
    bak_cost = np.empty_like(route_cost)
    touched = np.empty(n_vehicles, dtype=np.int64)
    pending = np.empty(n, dtype=np.int64)
    old_owner = np.empty(n, dtype=np.int64)
    removed_flag = np.zeros(n, dtype=np.bool_)
    keys = np.empty(n)
    work = workspace(0, cap, n_vehicles)
    seen = np.zeros(n_vehicles, dtype=np.bool_)
    route_hit = np.zeros(n_vehicles, dtype=np.bool_)
    ruined = np.zeros(n_vehicles, dtype=np.bool_)
    served = np.empty(n, dtype=np.int64)
    for _ in range(iterations):
        n_served = 0
        for r in range(n):
            if owner[r] >= 0:
                served[n_served] = r
                n_served += 1
        if n_served == 0 and not (insertable & (owner < 0)).any():
            return
        q = min(n_served, min_ruined + np.random.randint(max(1, max_ruined - min_ruined + 1)))
        n_pending = 0
        n_touched = 0
        # ruin
        operator = _choose(ruin_weights)
        if n_served > 0:
            seed_request = served[np.random.randint(n_served)]
            route_hit[:] = False
            for k in range(n):
                if n_pending >= q:
                    break
                if operator == 2:  # random
                    c = served[np.random.randint(n_served)]
                else:
                    c = near[seed_request, k]
                if owner[c] < 0 or removed_flag[c]:
                    continue
                if operator == 1:  # string removal around c's pickup in its route
                    v = owner[c]
                    if route_hit[v]:
                        continue
                    route_hit[v] = True
                    m = lengths[v]
                    at = 0
                    for x in range(m):
                        if routes[v, x] == c:
                            at = x
                    length = 1 + np.random.randint(min(max_string, m))
                    first = max(0, min(at - np.random.randint(length), m - length))
                    for x in range(first, first + length):
                        node = routes[v, x]
                        rr = node if node < n else node - n
                        if not removed_flag[rr]:
                            removed_flag[rr] = True
                            pending[n_pending] = rr
                            n_pending += 1
                else:
                    removed_flag[c] = True
                    pending[n_pending] = c
                    n_pending += 1
            for k in range(n_pending):
                n_touched = _touch(owner[pending[k]], touched, n_touched, routes, lengths, times, latest, route_cost,
                                   bak_routes, bak_lengths, bak_times, bak_latest, bak_cost)
        for k in range(n_pending):
            old_owner[k] = owner[pending[k]]
            owner[pending[k]] = -1
        ok = True
        for t in range(n_touched):
            v = touched[t]
            m = 0
            for x in range(lengths[v]):
                node = routes[v, x]
                rr = node if node < n else node - n
                if not removed_flag[rr]:
                    routes[v, m] = node
                    m += 1
            lengths[v] = m
            fine, route_cost[v] = priced_route(routes[v], m, v, times[v], work[5], position, point, low, high, service, wheel,
                                               seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed,
                                               twin, duration, arc, max_duration, break_earliest, break_latest,
                                               break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
            ok &= fine  # a shorter route keeps its times, but its break may find no place by the scheduler's rule
            latest_starts(routes[v], m, v, latest[v], point, high, service, depot, shift_end, duration)
        ruined[:] = full_retry
        for t in range(n_touched):
            ruined[touched[t]] = True
        removed_count = n_pending
        for r in range(n):  # and every request still unserved
            if insertable[r] and owner[r] < 0 and not removed_flag[r]:
                old_owner[n_pending] = -1
                pending[n_pending] = r
                n_pending += 1
        for k in range(removed_count):
            removed_flag[pending[k]] = False
        # recreate
        delta_unserved = 0
        if ok:
            order = _choose(recreate_weights)
            if order == 0:
                for k in range(n_pending - 1, 0, -1):
                    x = np.random.randint(k + 1)
                    pending[k], pending[x] = pending[x], pending[k]
                    old_owner[k], old_owner[x] = old_owner[x], old_owner[k]
            elif order <= 2:
                for k in range(n_pending):
                    r = pending[k]
                    keys[k] = low[r] if order == 1 else -arc[point[r], point[n + r]]
                sort = np.argsort(keys[:n_pending])
                pending[:n_pending] = pending[:n_pending][sort]
                old_owner[:n_pending] = old_owner[:n_pending][sort]
            if order == 3:
                n_touched, delta_unserved, work = _regret_insert(pending, old_owner, ruined, n_pending, routes, lengths, times, latest, route_cost, owner, fixed,
                                                touched, n_touched, bak_routes, bak_lengths, bak_times, bak_latest, bak_cost,
                                                work, seen, position, point, low, high, service, wheel, seat, ride,
                                                depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                                                duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
            else:
                for k in range(n_pending):
                    r = pending[k]
                    work = _fitted(work, lengths.max())
                    c, v, i, j = _best_insertion(r, old_owner[k] < 0, ruined, routes, lengths, times, latest, fixed, work, seen, position, point, low,
                                                 high, service, wheel, seat, ride, depot, shift_start, shift_end,
                                                 wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
                    if v < 0:
                        delta_unserved += 1
                        continue
                    n_touched = _touch(v, touched, n_touched, routes, lengths, times, latest, route_cost, bak_routes,
                                       bak_lengths, bak_times, bak_latest, bak_cost)
                    _insert(r, v, i, j, routes, lengths, times, latest, route_cost, owner, work, position, point, low, high, service,
                            wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                            duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
        # accept or undo
        new_cost = cost[0]
        for t in range(n_touched):
            v = touched[t]
            new_cost += route_cost[v] - bak_cost[v]
            if bak_lengths[v] == 0 and lengths[v] > 0:
                new_cost += fixed
            elif bak_lengths[v] > 0 and lengths[v] == 0:
                new_cost -= fixed
        previously_unserved = n_pending - removed_count
        new_cost += (delta_unserved - previously_unserved) * penalty
        if ok and new_cost < cost[0] - temperature * np.log(1.0 - np.random.random()):
            cost[0] = new_cost
            if new_cost < cost[1] - 1e-9 and (duration_weight == 0.0 or within_limit(
                    routes, lengths, position, point, low, high, service, wheel, seat, ride, depot, shift_start,
                    shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration, break_earliest,
                    break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t,
                    cost_arc_t, arc_t, duration_limit, duration_weight)):
                cost[1] = new_cost
                for v in range(n_vehicles):
                    best_routes[v, :lengths[v]] = routes[v, :lengths[v]]
                    best_lengths[v] = lengths[v]
        else:
            for t in range(n_touched):
                v = touched[t]
                m = bak_lengths[v]
                routes[v, :m] = bak_routes[v, :m]
                times[v, :m + 2] = bak_times[v, :m + 2]
                latest[v, :m + 2] = bak_latest[v, :m + 2]
                lengths[v] = m
                route_cost[v] = bak_cost[v]
            for k in range(n_pending):
                owner[pending[k]] = old_owner[k]


@njit(cache=True, _nrt=False)
def _insert(r, v, i, j, routes, lengths, times, latest, route_cost, owner, work, position, point, low, high, service, wheel, seat,  # noqa: ANN001
            ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Insert request r into route v: pickup before stop i, drop-off before stop j (of the route before insertion).

    ``work``: a :func:`workspace` (its trial-route buffers)."""
    n = len(owner)
    m = lengths[v]
    row = routes[v]
    before = work[8]
    for k in range(m):
        before[k] = row[k]
    with_insertion(before, m, r, n + r, i, j, row)
    lengths[v] = m + 2
    owner[r] = v
    _, route_cost[v] = priced_route(row, m + 2, v, times[v], work[5], position, point, low, high, service, wheel, seat, ride,
                                    depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc,
                                    max_duration, break_earliest, break_latest, break_len, break_tries, cost_arc,
                                    paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    latest_starts(row, m + 2, v, latest[v], point, high, service, depot, shift_end, duration)


@njit(cache=True)
def _regret_insert(pending, old_owner, usable, n_pending, routes, lengths, times, latest, route_cost, owner, fixed, touched,  # noqa: ANN001
                   n_touched, bak_routes, bak_lengths, bak_times, bak_latest, bak_cost, work, seen, position, point, low, high, service,
                   wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin, duration, arc,
                   max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Regret-2 insertion of ``pending[:n_pending]``; returns the touched-route count, the requests left out and
    ``work`` (:func:`workspace`), grown if the routes outgrew it.

    Requests without an old owner (``old_owner`` < 0: unserved before) go only to ``usable`` vehicles."""
    n_vehicles = len(lengths)
    best = np.full((n_pending, n_vehicles), BIG)
    pick = -np.ones((n_pending, n_vehicles), dtype=np.int64)
    drop = -np.ones((n_pending, n_vehicles), dtype=np.int64)
    done = np.zeros(n_pending, dtype=np.bool_)
    left = 0
    work = _fitted(work, lengths.max())
    for k in range(n_pending):
        for v in range(n_vehicles):
            if old_owner[k] < 0 and not usable[v]:
                continue
            _regret_entry(k, pending[k], v, best, pick, drop, routes, lengths, times, latest, fixed, work, position, point,
                          low, high, service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap,
                          allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    for _ in range(n_pending):
        chosen, regret, chosen_v = -1, -1.0, -1
        for k in range(n_pending):
            if done[k]:
                continue
            first, second, fv = BIG, BIG, -1
            for v in range(n_vehicles):
                if best[k, v] < first:
                    second = first
                    first, fv = best[k, v], v
                elif best[k, v] < second:
                    second = best[k, v]
            if fv < 0:
                continue
            value = (second - first) if second < BIG else BIG / 2 - first
            if value > regret:
                chosen, regret, chosen_v = k, value, fv
        if chosen < 0:
            break
        done[chosen] = True
        v = chosen_v
        n_touched = _touch(v, touched, n_touched, routes, lengths, times, latest, route_cost, bak_routes, bak_lengths,
                           bak_times, bak_latest, bak_cost)
        _insert(pending[chosen], v, pick[chosen, v], drop[chosen, v], routes, lengths, times, latest, route_cost, owner, work,
                position, point, low, high, service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap,
                seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
        work = _fitted(work, lengths[v])
        for k in range(n_pending):
            if not done[k] and (old_owner[k] >= 0 or usable[v]):
                _regret_entry(k, pending[k], v, best, pick, drop, routes, lengths, times, latest, fixed, work, position,
                              point, low, high, service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap,
                              seat_cap, allowed, twin, duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    for k in range(n_pending):
        if not done[k]:
            left += 1
    return n_touched, left, work


@njit(cache=True, _nrt=False)
def _regret_entry(k, r, v, best, pick, drop, routes, lengths, times, latest, fixed, work, position, point, low, high,  # noqa: ANN001
                  service, wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                  duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight):
    """Best insertion of request r (row k) into vehicle v alone (an empty route pays the fixed cost)."""
    best[k, v], pick[k, v], drop[k, v] = BIG, -1, -1
    if not allowed[r, v]:
        return
    if lengths[v] > 0 and insertion_bound(r, routes[v], lengths[v], v, times[v], latest[v], point, low, high, service,
                                          wheel, seat, depot, wheel_cap, seat_cap, duration, cost_arc, duration_t, cost_arc_t) >= BIG:
        return  # the route's windows or loads leave no place
    extra = fixed if lengths[v] == 0 else 0.0
    c, i, j = route_insertion(r, routes[v], lengths[v], v, times[v], latest[v], BIG, work, position, point, low, high, service,
                              wheel, seat, ride, depot, shift_start, shift_end, wheel_cap, seat_cap, allowed, twin,
                              duration, arc, max_duration,
        break_earliest, break_latest, break_len, break_tries, cost_arc, paid_rate, excess_rate, direct, duration_t, cost_arc_t, arc_t, duration_limit, duration_weight)
    if i >= 0:
        best[k, v], pick[k, v], drop[k, v] = c + extra, i, j
