"""Cheapest feasible insertion of one request into timed routes.

For every vehicle that can carry the request, every (pickup position,
drop-off position) pair after the vehicle's locked stops (those under way at
``now_s`` or committed: ``routing.locks``) is priced by the
added arc cost (``routing.cost.Pricing.arc``: tenge of km and driving time,
or distance, or travel time; the bounds compiled with numba), plus the vehicle's fixed
cost when it was idle, and screened
by bounds that never discard a feasible insertion: the new stops' windows
against the earliest the vehicle can get there; the latest start of each
following stop that keeps the rest of its route feasible (backward time
slack); and the shortest possible ride time against the maximum ride time.
Survivors are tried cheapest first with the exact scheduler
(``routing.schedule``: windows, ride times, capacities, shift, route
duration, locks) and the first feasible one is returned. That is the exact
cheapest feasible insertion unless more than ``MAX_EXACT_CHECKS`` candidates
fail first.

Units: seconds for times; the added cost is in the pricing's unit (tenge,
metres or seconds). With drivers' breaks the screening bounds use the current
times, so a feasible insertion that moves the break earlier may be missed
(never an infeasible one accepted).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit

from routing.cost import Pricing
from routing.locks import Commitments, locked_count
from routing.problem import ProblemData, StopKind, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Route, idle_route, route_points

MAX_EXACT_CHECKS: int = 400  # exact schedule checks per insertion before giving up
_UNSET = object()  # a fleet row not yet filled


@dataclass(frozen=True)
class Insertion:
    """Where a request fits: the vehicle, its new timed route and the added arc and fixed cost (pricing units).

    A repair (``routing.repair``) also changes other vehicles' routes: ``moved``
    holds them (applied together with ``route``) and ``moved_requests`` the
    booked requests it moved; both are empty for a plain insertion.
    """

    vehicle_id: str
    route: Route
    added_cost: float
    moved: tuple[Route, ...] = ()
    moved_requests: tuple[str, ...] = ()

    def routes(self) -> tuple[Route, ...]:
        """Every route this insertion changes: its vehicle's, then the ``moved`` ones."""
        return (self.route, *self.moved)


def route_sequence(requests: Mapping[str, TripRequest], route: Route) -> list[tuple[TripRequest, StopKind]]:
    """The ordered (request, kind) stops of a route."""
    return [(requests[s.request_id], s.kind) for s in route.stops]


def reschedule(data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route,
               sequence: list[tuple[TripRequest, StopKind]], now_s: float | None, committed: int = 0) -> Route | None:
    """Exact times for a new ``sequence`` replacing ``route``, keeping the stops locked at ``now_s`` (None: no locks).

    The stops of ``route`` locked at ``now_s`` or among its first
    ``committed`` (``routing.locks``) must be the first stops of
    ``sequence``, in the same order.
    """
    count = locked_count(route, route_points(requests, vehicle, route.stops), data.duration_s, now_s, committed)
    locked = [s.time_s for s in route.stops[:count]]
    return schedule(data, vehicle, sequence, locked, route.start_s if count else None, now_s)


@dataclass(frozen=True)
class RouteProfile:
    """Arrays of one timed route that the screening needs (computed once per route object).

    Attributes
    ----------
    route
        The route they describe.
    sequence
        Its (request, kind) stops.
    points
        Matrix indices: depot, stops, depot.
    times
        Service starts of the stops (seconds).
    arrive_travel
        Travel time from the previous point to each stop (seconds).
    services
        Service time of each stop (seconds).
    through
        No-wait time from the start of stop 0 to the start of stop k (k = m: the depot return).
    latest
        Latest start of stop k (k = m: the return) keeping the rest of the route feasible.
    ends
        Earliest the vehicle can leave point k (the depot, then each stop).
    wheelchairs, seats
        Load after leaving point k.
    """

    route: Route
    sequence: list[tuple[TripRequest, StopKind]]
    points: np.ndarray
    times: np.ndarray
    arrive_travel: np.ndarray
    services: np.ndarray
    through: np.ndarray
    latest: np.ndarray
    ends: np.ndarray
    wheelchairs: np.ndarray
    seats: np.ndarray


class ProfileCache:
    """Route profiles by vehicle id, recomputed only when a vehicle's route object changes, and the fleet's arrays
    (:class:`FleetArrays`, :class:`FleetRows`), rebuilt only when the problem's vehicle tuple changes."""

    def __init__(self) -> None:
        self._profiles: dict[str, RouteProfile] = {}
        self._fleet: FleetArrays | None = None
        self._rows: FleetRows | None = None

    def get(self, data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route) -> RouteProfile:
        """The profile of ``route`` driven by ``vehicle``."""
        profile = self._profiles.get(vehicle.id)
        if profile is None or profile.route is not route:
            profile = self._profiles[vehicle.id] = _profile(data, requests, vehicle, route)
        return profile

    def fleet(self, vehicles: tuple[Vehicle, ...]) -> FleetArrays:
        """The arrays of ``vehicles``."""
        if self._fleet is None or self._fleet.vehicles is not vehicles:
            self._fleet = FleetArrays.of(vehicles)
        return self._fleet

    def rows(self, vehicles: tuple[Vehicle, ...]) -> FleetRows:
        """The route profiles of ``vehicles`` as rows of 2-D arrays (filled by :meth:`FleetRows.update`)."""
        if self._rows is None or self._rows.vehicles is not vehicles:
            self._rows = FleetRows(vehicles)
        return self._rows


class FleetRows:
    """Every vehicle's route profile as one row of 2-D arrays, so one compiled call screens the whole fleet.

    Row k holds vehicle k's profile (:class:`RouteProfile`; an idle vehicle
    has no stops); ``stops[k]`` is its number of stops. Rows grow in
    capacity as routes lengthen.
    """

    def __init__(self, vehicles: tuple[Vehicle, ...], capacity: int = 16) -> None:
        self.vehicles = vehicles
        self._routes: list[object] = [_UNSET] * len(vehicles)  # the route each row describes (None: idle)
        self.stops = np.zeros(len(vehicles), dtype=np.int64)
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        n, old = len(self.vehicles), getattr(self, "points", None)
        shapes = {"points": (capacity + 2, np.int64), "services": (capacity, float), "through": (capacity + 1, float),
                  "latest": (capacity + 1, float), "ends": (capacity + 1, float), "times": (capacity, float),
                  "arrive_travel": (capacity, float), "wheelchairs": (capacity + 1, np.int64),
                  "seats": (capacity + 1, np.int64)}
        for name, (width, dtype) in shapes.items():
            array = np.zeros((n, width), dtype=dtype)
            if old is not None:
                previous = getattr(self, name)
                array[:, : previous.shape[1]] = previous
            setattr(self, name, array)
        self.capacity = capacity

    def update(self, k: int, route: Route | None, profile: RouteProfile | None) -> None:
        """Make row ``k`` describe ``route`` (None: the vehicle is idle) with its ``profile`` (None when idle)."""
        if self._routes[k] is route:
            return
        self._routes[k] = route
        m = 0 if route is None else len(route.stops)
        self.stops[k] = m
        if m > self.capacity:
            self._allocate(max(m, 2 * self.capacity))
        if profile is None:
            vehicle = self.vehicles[k]
            self.points[k, :2] = vehicle.depot
            self.through[k, 0], self.latest[k, 0], self.ends[k, 0] = 0.0, vehicle.shift_end_s, vehicle.shift_start_s
            self.wheelchairs[k, 0] = self.seats[k, 0] = 0
            return
        self.points[k, : m + 2] = profile.points
        for name in ("services", "times", "arrive_travel"):
            getattr(self, name)[k, :m] = getattr(profile, name)
        for name in ("through", "latest", "ends", "wheelchairs", "seats"):
            getattr(self, name)[k, : m + 1] = getattr(profile, name)


@dataclass(frozen=True)
class FleetArrays:
    """Per-vehicle arrays for the first, vectorised screening of a request (depot index, shift in seconds, places)."""

    vehicles: tuple[Vehicle, ...]
    depot: np.ndarray
    shift_start_s: np.ndarray
    shift_end_s: np.ndarray
    wheelchair_places: np.ndarray
    seats: np.ndarray
    operator: np.ndarray

    @classmethod
    def of(cls, vehicles: tuple[Vehicle, ...]) -> FleetArrays:
        """The arrays of ``vehicles``, in their order."""
        return cls(vehicles, np.array([v.depot for v in vehicles], dtype=np.int64),
                   np.array([v.shift_start_s for v in vehicles], dtype=float),
                   np.array([v.shift_end_s for v in vehicles], dtype=float),
                   np.array([v.wheelchair_places for v in vehicles], dtype=np.int64),
                   np.array([v.seats for v in vehicles], dtype=np.int64),
                   np.array([v.operator for v in vehicles], dtype=object))

    def able(self, duration: np.ndarray, request: TripRequest, now_s: float | None) -> np.ndarray:
        """Indices of the vehicles that could take ``request``: room (``routing.problem.fits``), operator, shift not
        over at ``now_s``, and a shift that reaches the pickup in its window and gets home after the drop-off (a
        bound: from the depot at the shift start)."""
        pick = np.maximum(self.shift_start_s + duration[self.depot, request.pickup], request.earliest_pickup_s)
        home = (pick + request.service_pickup_s + duration[request.pickup, request.dropoff] + request.service_dropoff_s
                + duration[request.dropoff, self.depot])
        able = ((self.wheelchair_places >= request.wheelchair_load) & (self.seats >= request.seat_load)
                & (pick <= request.latest_pickup_s) & (home <= self.shift_end_s))
        if request.operator is not None:
            able &= self.operator == request.operator
        if now_s is not None:
            able &= self.shift_end_s > now_s
        return np.flatnonzero(able)


def _profile(data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route) -> RouteProfile:
    seq = route_sequence(requests, route)
    duration = data.duration_s
    points = route_points(requests, vehicle, route.stops)
    services = np.array([r.service_s(k) for r, k in seq], dtype=float)
    high = np.array([r.window(k)[1] for r, k in seq] + [vehicle.shift_end_s])
    step = services + duration[points[1:-1], points[2:]]  # from the start of stop k to the start of stop k + 1
    through = np.concatenate([[0.0], np.cumsum(step)])
    latest = through + np.minimum.accumulate((high - through)[::-1])[::-1]
    times = np.array([s.time_s for s in route.stops], dtype=float)
    sign = np.array([1 if k == "pickup" else -1 for _, k in seq], dtype=int)
    wheelchairs = np.concatenate([[0], np.cumsum(sign * np.array([r.wheelchair_load for r, _ in seq], dtype=int))])
    seats = np.concatenate([[0], np.cumsum(sign * np.array([r.seat_load for r, _ in seq], dtype=int))])
    return RouteProfile(route, seq, points, times, duration[points[:-2], points[1:-1]], services, through, latest,
                        np.concatenate([[vehicle.shift_start_s], times + services]), wheelchairs, seats)


def best_insertion(data: ProblemData, requests: Mapping[str, TripRequest], routes: Mapping[str, Route],
                   request: TripRequest, now_s: float | None = None, pricing: Pricing | None = None,
                   cache: ProfileCache | None = None, arc: np.ndarray | None = None,
                   committed: Commitments | None = None, vehicle_ids: Collection[str] | None = None) -> Insertion | None:
    """The cheapest feasible insertion of ``request`` (not applied), or None; parameters of :func:`feasible_insertions`."""
    return next(feasible_insertions(data, requests, routes, request, now_s, pricing, cache, arc, committed, vehicle_ids),
                None)


def feasible_insertions(data: ProblemData, requests: Mapping[str, TripRequest], routes: Mapping[str, Route],
                        request: TripRequest, now_s: float | None = None, pricing: Pricing | None = None,
                        cache: ProfileCache | None = None, arc: np.ndarray | None = None,
                        committed: Commitments | None = None,
                        vehicle_ids: Collection[str] | None = None) -> Iterator[Insertion]:
    """The feasible insertions of ``request`` (not applied), cheapest first, among the ``MAX_EXACT_CHECKS`` cheapest
    candidates that pass the screening (lazily: each is scheduled when asked for).

    Parameters
    ----------
    data
        Matrices, fleet and maximum ride-time rule.
    requests
        Every request appearing in ``routes`` (by id).
    routes
        Current timed route per vehicle id (a missing vehicle is idle).
    request
        The request to insert.
    now_s
        The present in seconds: stops performed or under way are locked
        (``routing.locks``), and no vehicle starts driving to a new stop
        before it; None: planning ahead, nothing locked.
    pricing
        The objective (``routing.cost.Pricing``; default: tenge).
    cache
        Route profiles kept between calls (faster when few routes change).
    arc
        ``pricing``'s arc costs of ``data`` when the caller keeps them
        (a live plan grows them with its matrices); default: ``pricing.arc(data)``.
    committed
        Per vehicle id, the leading stops of its route that nothing may
        precede (performed, and the stop it heads to: ``routing.locks``);
        None: only the clock locks stops.
    vehicle_ids
        Only these vehicles may take it (None: the whole fleet).
    """
    pricing = pricing or Pricing()
    arc = pricing.arc(data) if arc is None else arc
    cache = cache or ProfileCache()
    committed = committed or {}
    vehicles = data.vehicles
    ask = np.array([request.pickup, request.dropoff, request.earliest_pickup_s, request.latest_pickup_s,
                    request.service_pickup_s, request.service_dropoff_s, *request.window("dropoff"), data.max_ride(request),
                    request.wheelchair_load, request.seat_load], dtype=float)
    fleet, rows, chosen, idle_seen = cache.fleet(vehicles), cache.rows(vehicles), [], set()
    for k in fleet.able(data.duration_s, request, now_s):
        vehicle = vehicles[k]
        if vehicle_ids is not None and vehicle.id not in vehicle_ids:
            continue
        route = routes.get(vehicle.id)
        if route is None or not route.stops:  # idle twins (same depot, shift, layout, operator) give the same insertions
            twin = (vehicle.depot, vehicle.shift_start_s, vehicle.shift_end_s, vehicle.wheelchair_places,
                    vehicle.seats, vehicle.operator)
            if twin in idle_seen:
                continue
            idle_seen.add(twin)
            rows.update(k, None, None)
        else:
            rows.update(k, route, cache.get(data, requests, vehicle, route))
        chosen.append(k)
    if not chosen:
        return
    chosen_rows = np.array(chosen, dtype=np.int64)
    committed_stops = np.array([committed.get(vehicles[k].id, 0) for k in chosen], dtype=np.int64)
    added, picks, drops, owner, locked = _screen_fleet(
        data.duration_s, arc, rows.points, rows.services, rows.through, rows.latest, rows.ends, rows.times,
        rows.arrive_travel, rows.wheelchairs, rows.seats, rows.stops, fleet.wheelchair_places, fleet.seats,
        fleet.shift_start_s, chosen_rows, committed_stops, np.nan if now_s is None else now_s, pricing.fixed, ask)
    for k in np.lexsort((drops, picks, owner, added))[:MAX_EXACT_CHECKS]:
        vehicle = vehicles[chosen[owner[k]]]
        profile = cache.get(data, requests, vehicle, routes.get(vehicle.id) or idle_route(vehicle))
        seq, i, j, first = profile.sequence, int(picks[k]), int(drops[k]), int(locked[owner[k]])
        new = [*seq[:i], (request, "pickup"), *seq[i:j], (request, "dropoff"), *seq[j:]]
        timed = schedule(data, vehicle, new, profile.times[:first], profile.route.start_s if first else None, now_s)
        if timed is not None:
            yield Insertion(vehicle.id, timed, float(added[k]))


@njit(cache=True)
def _screen_fleet(duration: np.ndarray, arc: np.ndarray, points: np.ndarray, services: np.ndarray,
                  through: np.ndarray, latest: np.ndarray, ends: np.ndarray, times: np.ndarray,
                  arrive_travel: np.ndarray, wheelchairs: np.ndarray, seats: np.ndarray, stops: np.ndarray,
                  wheelchair_places: np.ndarray, seat_places: np.ndarray, shift_start: np.ndarray, chosen: np.ndarray,
                  committed: np.ndarray, now_s: float, fixed: float,
                  ask: np.ndarray):  # noqa: ANN202  # pragma: no cover - compiled
    """Added cost, pickup position, drop-off position and owner (index into ``chosen``) of every insertion into
    the routes of the ``chosen`` rows that passes the bounds of :func:`_screen`, and each chosen route's number of
    locked stops.

    ``ask``: the request's pickup and drop-off points, earliest and latest
    pickup, pickup and drop-off service, drop-off window, maximum ride
    (seconds), wheelchair and seat load. ``now_s``: NaN when planning ahead.
    A route without stops gets ``fixed`` (the cost of using a vehicle) added.
    Locked stops follow ``routing.locks.leading_locked``; no insertion goes before them.
    """
    n = len(chosen)
    locked = np.empty(n, dtype=np.int64)
    size = 0
    for c in range(n):
        k, m = chosen[c], stops[chosen[c]]
        first = min(committed[c], m)
        if not np.isnan(now_s):
            free_at = m
            for i in range(m):
                if times[k, i] > now_s and times[k, i] - arrive_travel[k, i] >= now_s:
                    free_at = i
                    break
            first = max(first, free_at)
        locked[c] = first
        count = m + 1 - first
        size += count + count * (count - 1) // 2
    added, picks, drops = np.empty(size), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    owner = np.empty(size, dtype=np.int64)
    found = 0
    for c in range(n):
        k, m = chosen[c], stops[chosen[c]]
        start = shift_start[k] if np.isnan(now_s) else max(now_s, shift_start[k])
        got = _screen(duration, arc, points[k, : m + 2], services[k, :m], through[k, : m + 1], latest[k, : m + 1],
                      ends[k, : m + 1], wheelchairs[k, : m + 1], seats[k, : m + 1], wheelchair_places[k],
                      seat_places[k], locked[c], start, ask, added[found:], picks[found:], drops[found:])
        if m == 0:
            added[found : found + got] += fixed
        owner[found : found + got] = c
        found += got
    return added[:found], picks[:found], drops[:found], owner[:found], locked


@njit(cache=True)
def _screen(duration: np.ndarray, arc: np.ndarray, points: np.ndarray, services: np.ndarray, through: np.ndarray,
            latest: np.ndarray, ends: np.ndarray, wheelchairs: np.ndarray, seats: np.ndarray, wheelchair_places: int,
            seat_places: int, first: int, start: float, ask: np.ndarray, added: np.ndarray, picks: np.ndarray,
            drops: np.ndarray) -> int:  # pragma: no cover - compiled
    """The bounds for one route (compiled): adjacent insertions first, then (a, b) pairs in order, written to
    ``added``, ``picks`` and ``drops``; returns how many.

    Position i means "before stop i" (i == number of stops: before the
    return to the depot); positions before ``first`` (the locked stops) are
    not considered. Every bound uses a lower bound on the new times (the
    current times are the earliest ones and insertions only delay them), so
    no feasible insertion is discarded. ``start``: the earliest the vehicle
    may leave (its shift start, or now). ``free[k]``: room left on board
    after stop k for the request (negative: too full).
    """
    p, d = int(ask[0]), int(ask[1])
    earliest_p, latest_pickup, s_p, s_d, drop_low, drop_high, max_ride = ask[2], ask[3], ask[4], ask[5], ask[6], ask[7], ask[8]
    free = np.minimum(wheelchair_places - int(ask[9]) - wheelchairs, seat_places - int(ask[10]) - seats)
    count = len(ends) - first  # positions first .. len(times)
    start_p, latest_p, ready = np.empty(count), np.empty(count), np.empty(count)
    pick_detour, drop_detour = np.empty(count), np.empty(count)
    for i in range(count):
        pos = first + i
        before, after = points[pos], points[pos + 1]
        ready[i] = max(ends[pos], start)
        start_p[i] = max(ready[i] + duration[before, p], earliest_p)
        latest_p[i] = min(latest_pickup, latest[pos] - s_p - duration[p, after])
        base = arc[before, after]
        pick_detour[i] = arc[before, p] + arc[p, after] - base
        drop_detour[i] = arc[before, d] + arc[d, after] - base
    found = 0
    for i in range(count):  # adjacent: drop-off right after the pickup
        pos = first + i
        before, after = points[pos], points[pos + 1]
        start_d = max(start_p[i] + s_p + duration[p, d], drop_low)
        if (start_p[i] <= latest_pickup and start_d <= drop_high and free[pos] >= 0
                and start_d + s_d + duration[d, after] <= latest[pos]):
            added[found] = arc[before, p] + arc[p, d] + arc[d, after] - arc[before, after]
            picks[found], drops[found] = pos, pos
            found += 1
    for i in range(count):  # apart: pickup before stop a, drop-off before stop b > a
        a = first + i
        room = free[a]
        for j in range(i + 1, count):
            b = first + j
            room = min(room, free[b])
            if room < 0:
                break  # on board from a to b: fuller for every later b too
            before_b, after_b = points[b], points[b + 1]
            start_d = max(ready[j] + duration[before_b, d], drop_low)
            ride_chain = (duration[p, points[a + 1]] + through[b - 1] - through[a] + services[b - 1]
                          + duration[before_b, d])
            ride_low = max(ride_chain, start_d - latest_p[i] - s_p)
            if (start_p[i] <= latest_p[i] and start_d <= drop_high and ride_low <= max_ride
                    and start_d + s_d + duration[d, after_b] <= latest[b]):
                added[found] = pick_detour[i] + drop_detour[j]
                picks[found], drops[found] = a, b
                found += 1
    return found
