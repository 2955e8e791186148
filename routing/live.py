"""The live plan: insert a new request, cancel one, re-optimise the rest of the day.

A :class:`LivePlan` holds the current solution while the day runs. Every
change keeps it feasible: :meth:`LivePlan.insert` is the exact cheapest
feasible insertion (``routing.insertion``) and, when no vehicle fits the
request as the plan stands, a bounded ejection chain that moves one or two
booked, not yet started requests to make room (``routing.repair``; nobody
booked is dropped), :meth:`LivePlan.cancel` removes
a request not yet picked up, and :meth:`LivePlan.reoptimise` re-solves the
part not yet under way with OR-Tools (``routing.solver``, locked stops fixed)
and keeps the result only if it is better. Re-optimisation can run in a
background thread while requests keep arriving: its result is discarded if
the plan changed meanwhile. Locks follow ``routing.locks``; every change
keeps the vehicles' committed stops (:meth:`LivePlan.commitments`) first.

Units: seconds; costs in the objective's unit (``SolveParams.cost``: tenge by
default, the same objective as the batch solver's).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from routing.cost import Pricing
from routing.insertion import Insertion, ProfileCache, best_insertion, reschedule, route_sequence
from routing.locks import Commitments, locked_count
from routing.problem import ProblemData, TripRequest, unservable_reason, validate_request
from routing.repair import MAX_EJECTIONS, REPAIR_BUDGET_S, repair_insertion
from routing.solution import Route, Solution, idle_route, route_points
from routing.solver import SolveParams, objective, solve

GROWTH: float = 1.5  # matrix buffers grow by this factor when full: amortised O(n) per added point, at most 2.25x the memory
MIN_BUFFER_POINTS: int = 64
NO_POSITION_REASON: str = (f"no vehicle can fit it, even after moving up to {MAX_EJECTIONS} booked trips: every "
                           "insertion breaks a window, ride time, capacity or shift")
CANCELLED_REASON: str = "cancelled"


@dataclass(frozen=True)
class Reoptimisation:
    """Outcome of a re-optimisation.

    Attributes
    ----------
    applied
        Whether the new plan replaced the current one (it was better and the
        plan did not change meanwhile).
    objective_before, objective_after
        Solver objective (``routing.solver.objective``) of the current and the re-solved plan.
    served_before, served_after
        Requests served.
    runtime_s
        Wall time in seconds.
    """

    applied: bool
    objective_before: float
    objective_after: float
    served_before: int
    served_after: int
    runtime_s: float


class LivePlan:
    """A day's plan that accepts new requests and cancellations while it runs.

    Parameters
    ----------
    data
        The problem; new requests must reference points of its matrices
        (:meth:`add_points` adds points).
    solution
        The current solution (e.g. ``routing.solver.solve(data).solution``).
    params
        Solver parameters used by :meth:`reoptimise`; their objective
        (``pricing``) is also the insertion's.
    repair_budget_s
        Wall-time limit in seconds of the repair of a request that does not
        fit as the plan stands (``routing.repair``); 0: no repair.
    """

    def __init__(self, data: ProblemData, solution: Solution, params: SolveParams | None = None,
                 repair_budget_s: float = REPAIR_BUDGET_S) -> None:
        self.params = params or SolveParams()
        self.repair_budget_s = repair_budget_s
        self._data = data
        self._lock = threading.RLock()
        self._version = 0
        self._requests: dict[str, TripRequest] = dict(data.request_index())
        self._routes: dict[str, Route] = {r.vehicle_id: r for r in solution.routes}
        for vehicle in data.vehicles:
            self._routes.setdefault(vehicle.id, idle_route(vehicle))
        self._unserved: dict[str, str] = dict(solution.unserved)
        self._executor: ThreadPoolExecutor | None = None
        self._profiles = ProfileCache()
        self._arc = self.pricing.arc(data)  # the insertion's arc costs, grown with the matrices
        self._buffers: tuple[np.ndarray, np.ndarray, np.ndarray] = ()  # duration, distance, arc with room to grow

    @property
    def pricing(self) -> Pricing:
        """The insertion's and the solver's objective."""
        return self.params.pricing

    # ----------------------------------------------------------------- state
    def solution(self) -> Solution:
        """The current plan."""
        with self._lock:
            return Solution(tuple(self._routes[v.id] for v in self._data.vehicles), dict(self._unserved))

    def problem(self) -> ProblemData:
        """The problem with every request received so far (e.g. to check :meth:`solution`)."""
        with self._lock:
            return replace(self._data, requests=tuple(self._requests.values()))

    def commitments(self) -> Commitments:
        """Per vehicle id, the leading stops of its route committed whatever the clock says (``routing.locks``).

        None here: this plan learns nothing from the street (a plan that does
        overrides it: ``routing.operations.OperatingPlan``).
        """
        return {}

    def route(self, vehicle_id: str) -> Route:
        """The current route of a vehicle."""
        with self._lock:
            return self._routes[vehicle_id]

    def add_points(self, duration_rows: np.ndarray, duration_cols: np.ndarray, distance_rows: np.ndarray,
                   distance_cols: np.ndarray) -> list[int]:
        """Append k new points to the matrices; returns their indices.

        Parameters
        ----------
        duration_rows, distance_rows
            Shape (k, n + k): from each new point to every point (existing, then new).
        duration_cols, distance_cols
            Shape (n, k): from every existing point to each new point.

        The matrices live in buffers with room to grow (:data:`GROWTH`
        times the points when full), so adding k points writes O(n k)
        entries; the plan's matrices are read-only views of them.
        """
        with self._lock:
            n, k = len(self._data.duration_s), len(duration_rows)
            if not self._buffers or n + k > len(self._buffers[0]):
                self._grow(n + k)
            arc_rows = self.pricing.arc_of(distance_rows, duration_rows)
            arc_cols = self.pricing.arc_of(distance_cols, duration_cols)
            views = []
            for buffer, rows, cols in zip(self._buffers, (duration_rows, distance_rows, arc_rows),
                                          (duration_cols, distance_cols, arc_cols), strict=True):
                buffer[n:n + k, :n + k] = rows
                buffer[:n, n:n + k] = cols
                view = buffer[:n + k, :n + k]
                view.flags.writeable = False
                views.append(view)
            self._data, self._arc = self._data.extended(views[0], views[1]), views[2]
            self._version += 1
            return list(range(n, n + k))

    def _grow(self, points: int) -> None:
        """New matrix buffers for at least ``points`` points holding the current matrices (call under the lock)."""
        n = len(self._data.duration_s)
        size = max(points, int(GROWTH * n), MIN_BUFFER_POINTS)
        self._buffers = tuple(np.empty((size, size)) for _ in range(3))
        for buffer, matrix in zip(self._buffers, (self._data.duration_s, self._data.distance_m, self._arc), strict=True):
            buffer[:n, :n] = matrix

    # ------------------------------------------------------------- changes
    def insert(self, request: TripRequest, now_s: float) -> Insertion | str:
        """Add ``request`` and insert it at the cheapest feasible place, else make room for it (``routing.repair``).

        Returns
        -------
        Insertion or str
            Where it went (with the routes of the other vehicles changed to
            make room, ``Insertion.moved``), or the reason it stays unserved.

        Raises
        ------
        ValueError
            Duplicate id or structurally broken request (naming the field).
        """
        with self._lock:
            if request.id in self._requests:
                raise ValueError(f"request {request.id!r}: duplicate id")
            validate_request(request, len(self._data.duration_s), self._data.operators)
            self._requests[request.id] = request
            self._version += 1
            reason = unservable_reason(self._data, request, now_s)
            insertion = None if reason else best_insertion(self._data, self._requests, self._routes, request,
                                                           now_s, self.pricing, self._profiles, self._arc,
                                                           self.commitments())
            if insertion is None and not reason and self.repair_budget_s > 0:
                insertion = repair_insertion(self._data, self._requests, self._routes, request, now_s, self.pricing,
                                             self._profiles, self._arc, self.commitments(), self.repair_budget_s)
            if insertion is None:
                self._unserved[request.id] = reason or NO_POSITION_REASON
                return self._unserved[request.id]
            for route in insertion.routes():
                self._routes[route.vehicle_id] = route
            return insertion

    def cancel(self, request_id: str, now_s: float) -> None:
        """Remove a request whose pickup is not yet under way; its vehicle's times are recomputed.

        Raises
        ------
        KeyError
            Unknown request.
        ValueError
            The pickup is already under way or done (``routing.locks``).
        """
        with self._lock:
            if request_id not in self._requests:
                raise KeyError(request_id)
            route = next((r for r in self._routes.values() if any(s.request_id == request_id for s in r.stops)), None)
            if route is not None:
                vehicle = self._data.vehicle_index()[route.vehicle_id]
                points = route_points(self._requests, vehicle, route.stops)
                pickup = next(k for k, s in enumerate(route.stops) if s.request_id == request_id)
                if pickup < locked_count(route, points, self._data.duration_s, now_s):
                    raise ValueError(f"request {request_id!r}: its pickup at {route.stops[pickup].time_s:.0f} s "
                                     "is already under way or done")
                remaining = [(r, k) for r, k in route_sequence(self._requests, route) if r.id != request_id]
                committed = min(self.commitments().get(vehicle.id, 0), pickup)  # the stop it heads to may be this one
                new = reschedule(self._data, self._requests, vehicle, route, remaining, now_s, committed)
                if new is None:
                    raise RuntimeError(f"request {request_id!r}: removing it made route {vehicle.id} infeasible "
                                       "(the travel-time matrix breaks the triangle inequality)")
                self._routes[vehicle.id] = new
            self._unserved[request_id] = CANCELLED_REASON
            self._version += 1

    # ------------------------------------------------------- re-optimisation
    def reoptimise(self, time_limit_s: float, now_s: float) -> Reoptimisation:
        """Re-solve the part of the plan not yet under way at ``now_s`` and keep it if better.

        The current plan is OR-Tools' starting point; stops locked at
        ``now_s`` and committed ones stay; cancelled requests stay out. The new plan replaces
        the current one only if its objective is lower and no change
        happened while solving. Safe to call from another thread.
        """
        with self._lock:
            version = self._version
            committed = tuple(sorted(self.commitments().items()))
            cancelled = {k for k, why in self._unserved.items() if why == CANCELLED_REASON}
            data = replace(self._data, requests=tuple(r for k, r in self._requests.items() if k not in cancelled))
            current = self.solution()
        active = Solution(current.routes, {k: v for k, v in current.unserved.items() if k not in cancelled})
        params = replace(self.params, time_limit_s=time_limit_s, now_s=now_s, committed=committed)
        before = objective(data, active, params)
        result = solve(data, params, current=active)
        better = result.objective < before - 1e-9
        with self._lock:
            applied = better and version == self._version
            if applied:
                self._routes = {r.vehicle_id: r for r in result.solution.routes}
                self._unserved = {**result.solution.unserved, **{k: CANCELLED_REASON for k in cancelled}}
                self._version += 1
        return Reoptimisation(applied, before, result.objective, len(active.served_ids()), result.served,
                              result.runtime_s)

    def reoptimise_in_background(self, time_limit_s: float, now_s: float) -> Future[Reoptimisation]:
        """Start :meth:`reoptimise` in a worker thread (one at a time) and return its future."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reoptimise")
            return self._executor.submit(self.reoptimise, time_limit_s, now_s)
