"""The live plan: insert a new request, cancel one, improve the rest of the day.

Insertion is exact cheapest feasible insertion. For every vehicle that can
carry the request, every (pickup position, drop-off position) after the
vehicle's locked stops is priced by the added driving time (vectorised with
numpy) and filtered by the pickup window; candidates are then tried cheapest
first with the exact scheduler (``routing.schedule``: windows, ride times,
capacities, shift, locks) and the first feasible one is taken, so the answer
is the cheapest feasible insertion among the candidates tried
(``MAX_EXACT_CHECKS``).

Stops whose service started at or before ``now_s`` (performed or under way)
are locked: nothing is inserted before them and their times stay fixed.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from dataclasses import dataclass, replace

import numpy as np

from routing.problem import ProblemData, TripRequest, Vehicle, fits, unservable_reasons
from routing.schedule import schedule
from routing.solution import Route, Solution, StopKind

MAX_EXACT_CHECKS: int = 400  # exact schedule checks per insertion before giving up
NO_POSITION_REASON: str = "no vehicle can fit it: every insertion breaks a window, ride time, capacity or shift"
CANCELLED_REASON: str = "cancelled"

Sequence = list[tuple[TripRequest, StopKind]]


@dataclass(frozen=True)
class Insertion:
    """Where a request went: vehicle, its timed route, and the added driving time (seconds)."""

    vehicle_id: str
    route: Route
    added_s: float


class LivePlan:
    """A day's plan that accepts new requests and cancellations while it runs.

    Parameters
    ----------
    data
        The problem; new requests must reference points of its matrices
        (:meth:`with_points` adds points).
    solution
        The current solution (e.g. from ``routing.solver.solve``).
    """

    def __init__(self, data: ProblemData, solution: Solution) -> None:
        self.data = data
        self.lock = threading.RLock()
        self.requests: dict[str, TripRequest] = data.request_index()
        self.routes: dict[str, Route] = {r.vehicle_id: r for r in solution.routes}
        for vehicle in data.vehicles:
            self.routes.setdefault(vehicle.id, Route(vehicle.id, vehicle.shift_start_s, vehicle.shift_start_s, ()))
        self.unserved: dict[str, str] = dict(solution.unserved)

    def set_route(self, route: Route) -> None:
        """Replace a vehicle's route."""
        with self.lock:
            self.routes[route.vehicle_id] = route

    # ----------------------------------------------------------------- state
    def solution(self) -> Solution:
        """The current plan as a :class:`Solution`."""
        with self.lock:
            order = [v.id for v in self.data.vehicles]
            return Solution(tuple(self.routes[v] for v in order), dict(self.unserved))

    def sequence(self, vehicle_id: str) -> Sequence:
        """The ordered (request, kind) stops of a vehicle."""
        return [(self.requests[s.request_id], s.kind) for s in self.routes[vehicle_id].stops]

    def locked_count(self, vehicle_id: str, now_s: float) -> int:
        """Number of leading stops already performed or under way at ``now_s``."""
        stops = self.routes[vehicle_id].stops
        return next((k for k, s in enumerate(stops) if s.time_s > now_s), len(stops))

    def with_points(self, duration_rows: np.ndarray, duration_cols: np.ndarray, distance_rows: np.ndarray,
                    distance_cols: np.ndarray) -> list[int]:
        """Append new points to the matrices; returns their indices.

        ``*_rows[k, j]``: from new point k to existing point j; ``*_cols[j, k]``:
        from existing point j to new point k (the new points' mutual values are
        taken from the rows restricted to them, which callers include last).
        """
        with self.lock:
            n, k = len(self.data.duration_s), len(duration_rows)
            duration = np.empty((n + k, n + k))
            distance = np.empty((n + k, n + k))
            for full, base, rows, cols in ((duration, self.data.duration_s, duration_rows, duration_cols),
                                           (distance, self.data.distance_m, distance_rows, distance_cols)):
                full[:n, :n] = base
                full[n:, :] = rows
                full[:n, n:] = cols
            self.data = replace(self.data, duration_s=duration, distance_m=distance)
            return list(range(n, n + k))

    # ------------------------------------------------------------- insertion
    def _candidates(self, request: TripRequest, vehicle: Vehicle, now_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Added driving time, pickup position and drop-off position of the insertions that pass cheap bounds.

        Position i means "before stop i" (i == number of stops: at the end).
        The bounds only use lower bounds on times, so they never discard a
        feasible insertion: pickup and drop-off windows, the maximum ride time,
        and the latest start of the stop that follows each inserted stop.
        """
        route = self.routes[vehicle.id]
        seq = self.sequence(vehicle.id)
        m = len(seq)
        first = self.locked_count(vehicle.id, now_s)
        duration = self.data.duration_s
        points = np.array([vehicle.depot, *[r.pickup if k == "pickup" else r.dropoff for r, k in seq], vehicle.depot])
        services = np.array([_service(r, k) for r, k in seq])
        # when the vehicle can leave each stop at the earliest (times only grow when a stop is added)
        ends = np.concatenate([[vehicle.shift_start_s], np.array([s.time_s for s in route.stops]) + services])
        latest = np.empty(m + 1)  # latest start of stop k (index m: depot return) keeping the rest feasible
        latest[m] = vehicle.shift_end_s
        for k in range(m - 1, -1, -1):
            window = _latest(*seq[k])
            latest[k] = min(window, latest[k + 1] - services[k] - duration[points[k + 1], points[k + 2]])
        p, d = request.pickup, request.dropoff
        positions = np.arange(first, m + 1)
        before, after = points[positions], points[positions + 1]
        ready = np.maximum(ends[positions], max(now_s, vehicle.shift_start_s))
        start_p = np.maximum(ready + duration[before, p], request.earliest_pickup_s)
        drop_low = request.earliest_dropoff_s if request.earliest_dropoff_s is not None else -np.inf
        drop_high = request.latest_dropoff_s if request.latest_dropoff_s is not None else np.inf
        max_ride = self.data.max_ride(request)
        base = duration[before, after]
        a, b = _pairs(len(positions))  # b >= a
        keep = start_p[a] <= request.latest_pickup_s
        # adjacent: pickup then drop-off right after it
        start_d_adj = np.maximum(start_p + request.service_pickup_s + duration[p, d], drop_low)
        ok_adj = (start_d_adj <= drop_high) & (start_d_adj + request.service_dropoff_s + duration[d, after] <= latest[positions])
        # apart: the stop after the pickup is pushed, the drop-off starts no earlier than its slot allows
        ok_pick = start_p + request.service_pickup_s + duration[p, after] <= latest[positions]
        start_d = np.maximum(ready + duration[before, d], drop_low)
        apart = a != b
        ride_low = np.maximum(start_d[b], start_p[a] + request.service_pickup_s + duration[p, d]) - start_p[a] - request.service_pickup_s
        ok_apart = (ok_pick[a] & (start_d[b] <= drop_high) & (ride_low <= max_ride)
                    & (start_d[b] + request.service_dropoff_s + duration[d, after[b]] <= latest[positions[b]]))
        keep &= np.where(apart, ok_apart, ok_adj[a])
        a, b = a[keep], b[keep]
        pick_detour = duration[before, p] + duration[p, after] - base
        drop_detour = duration[before, d] + duration[d, after] - base
        adjacent = duration[before, p] + duration[p, d] + duration[d, after] - base
        cost = np.where(a == b, adjacent[a], pick_detour[a] + drop_detour[b])
        return cost, positions[a], positions[b]

    def best_insertion(self, request: TripRequest, now_s: float) -> Insertion | None:
        """The cheapest feasible insertion of ``request`` (not applied), or None."""
        with self.lock:
            costs, owners, picks, drops = [], [], [], []
            vehicles = list(self.data.vehicles)
            for index, vehicle in enumerate(vehicles):
                if fits(vehicle, request) and vehicle.shift_end_s > now_s:
                    cost, i, j = self._candidates(request, vehicle, now_s)
                    costs.append(cost)
                    owners.append(np.full(len(cost), index))
                    picks.append(i)
                    drops.append(j)
            if not costs:
                return None
            cost, owner, pick, drop = (np.concatenate(x) for x in (costs, owners, picks, drops))
            order = np.lexsort((drop, pick, owner, cost))
            tried_empty: set[tuple] = set()
            checks = 0
            for k in order:
                if checks >= MAX_EXACT_CHECKS:
                    break
                vehicle = vehicles[owner[k]]
                if not self.routes[vehicle.id].stops:  # idle twins (same depot, shift, layout) behave alike
                    twin = (vehicle.depot, vehicle.shift_start_s, vehicle.shift_end_s, vehicle.wheelchair_places, vehicle.seats)
                    if twin in tried_empty:
                        continue
                    tried_empty.add(twin)
                checks += 1
                i, j = int(pick[k]), int(drop[k])
                seq = self.sequence(vehicle.id)
                new = seq[:i] + [(request, "pickup")] + seq[i:j] + [(request, "dropoff")] + seq[j:]
                route = self._schedule(vehicle, new, now_s)
                if route is not None:
                    return Insertion(vehicle.id, route, float(cost[k]))
            return None

    def _schedule(self, vehicle: Vehicle, sequence: Sequence, now_s: float) -> Route | None:
        current = self.routes[vehicle.id]
        first = self.locked_count(vehicle.id, now_s)
        locked = {k: current.stops[k].time_s for k in range(first)}
        return schedule(self.data, vehicle, sequence, locked=locked, not_before_s=now_s)

    def add_request(self, request: TripRequest, now_s: float) -> Insertion | str:
        """Add ``request`` to the problem and insert it; returns the insertion or the reason it is unserved."""
        with self.lock:
            if request.id in self.requests:
                raise ValueError(f"request {request.id!r} already exists")
            self.data = replace(self.data, requests=(*self.data.requests, request))
            self.requests[request.id] = request
            reason = unservable_reasons(replace(self.data, requests=(request,)), now_s).get(request.id)
            insertion = None if reason else self.best_insertion(request, now_s)
            if insertion is None:
                self.unserved[request.id] = reason or NO_POSITION_REASON
                return self.unserved[request.id]
            self.routes[insertion.vehicle_id] = insertion.route
            return insertion

    def cancel(self, request_id: str, now_s: float) -> None:
        """Remove a request that has not been picked up yet; its vehicle's times are recomputed.

        Raises
        ------
        KeyError
            Unknown request.
        ValueError
            The passenger is already on board (or was dropped off).
        """
        with self.lock:
            if request_id not in self.requests:
                raise KeyError(request_id)
            if request_id in self.unserved:
                self.unserved[request_id] = CANCELLED_REASON
                return
            for vehicle in self.data.vehicles:
                route = self.routes[vehicle.id]
                stops = [s for s in route.stops if s.request_id == request_id]
                if not stops:
                    continue
                if stops[0].time_s <= now_s:
                    raise ValueError(f"request {request_id!r} was already picked up at {stops[0].time_s:.0f} s")
                remaining = [(r, k) for r, k in self.sequence(vehicle.id) if r.id != request_id]
                new = self._schedule(vehicle, remaining, now_s) if remaining else None
                self.routes[vehicle.id] = new or Route(vehicle.id, route.start_s, route.start_s, ())
                self.unserved[request_id] = CANCELLED_REASON
                return

    # ------------------------------------------------------------ improvement
    def reoptimise(self, time_limit_s: float, now_s: float) -> dict[str, float]:
        """Improve the not-yet-started part by removing and re-inserting requests (and retrying unserved ones).

        A request is moved only when its new position costs less added driving
        time than its current one; locked stops never move.

        Returns
        -------
        dict
            ``moved``, ``newly_served`` and ``seconds``.
        """
        started = time.perf_counter()
        moved = newly_served = 0
        requests = self.requests
        for request_id in [r for r, why in self.unserved.items() if why != CANCELLED_REASON]:
            if time.perf_counter() - started > time_limit_s:
                break
            with self.lock:
                insertion = self.best_insertion(requests[request_id], now_s)
                if insertion is not None:
                    self.routes[insertion.vehicle_id] = insertion.route
                    del self.unserved[request_id]
                    newly_served += 1
        for vehicle in self.data.vehicles:
            for stop in list(self.routes[vehicle.id].stops):
                if time.perf_counter() - started > time_limit_s:
                    return {"moved": moved, "newly_served": newly_served, "seconds": time.perf_counter() - started}
                if stop.kind == "pickup" and stop.time_s > now_s:
                    moved += self._try_move(requests[stop.request_id], vehicle, now_s)
        return {"moved": moved, "newly_served": newly_served, "seconds": time.perf_counter() - started}

    def _try_move(self, request: TripRequest, vehicle: Vehicle, now_s: float) -> int:
        with self.lock:
            current = self.routes[vehicle.id]
            if not any(s.request_id == request.id for s in current.stops):
                return 0
            points = _route_points(self, vehicle.id)
            before = _driving(self.data, points)
            remaining = [(r, k) for r, k in self.sequence(vehicle.id) if r.id != request.id]
            reduced = self._schedule(vehicle, remaining, now_s) if remaining else Route(vehicle.id, current.start_s, current.start_s, ())
            if reduced is None:
                return 0
            self.routes[vehicle.id] = reduced
            saved = before - _driving(self.data, _route_points(self, vehicle.id))
            insertion = self.best_insertion(request, now_s)
            if insertion is not None and insertion.added_s < saved - 1e-6:
                self.routes[insertion.vehicle_id] = insertion.route
                return 1
            self.routes[vehicle.id] = current
            return 0


def _service(request: TripRequest, kind: StopKind) -> float:
    return request.service_pickup_s if kind == "pickup" else request.service_dropoff_s


def _latest(request: TripRequest, kind: StopKind) -> float:
    if kind == "pickup":
        return request.latest_pickup_s
    return request.latest_dropoff_s if request.latest_dropoff_s is not None else np.inf


@lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All (a, b) with 0 <= a <= b < n (cached: insertion asks for the same sizes often)."""
    return np.triu_indices(n)


def _route_points(plan: LivePlan, vehicle_id: str) -> list[int]:
    depot = plan.data.vehicle_index()[vehicle_id].depot
    return [depot, *[r.pickup if k == "pickup" else r.dropoff for r, k in plan.sequence(vehicle_id)], depot]


def _driving(data: ProblemData, points: list[int]) -> float:
    return float(sum(data.duration_s[a, b] for a, b in zip(points[:-1], points[1:]))) if len(points) > 2 else 0.0
