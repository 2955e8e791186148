"""Make room for a live booking that no vehicle fits as it stands: a bounded ejection chain.

When the exact cheapest insertion (``routing.insertion.best_insertion``)
finds no place for a new request, a dispatcher would look for a booked trip
to move to another vehicle. :func:`repair_insertion` does that search:

1. **One ejection.** For every vehicle that could carry the new request
   (room, operator, shift) and every request on its route whose pickup is
   not yet under way or committed (``routing.locks``), the *ejected*
   request is taken out of the route (times recomputed by the exact
   scheduler, ``routing.schedule``), the new request goes into that route
   alone at its feasible places, cheapest first (exact insertion), until the
   ejected one fits back at its exact cheapest feasible place anywhere in the
   fleet (its own vehicle included). Candidates are tried nearest in time
   first (the ejected pickup's planned time against the new earliest
   pickup); every success is priced (the arc cost, plus the fixed cost of a
   vehicle that starts or stops being used, of every changed route, as the
   insertion prices) and the cheapest is kept. Within the budget this finds
   a single move whenever one exists (the tests check it by brute force).
2. **Two ejections (a chain)**, only when no single ejection works: an
   ejected request that has no place is itself given room by ejecting one
   more unstarted request from a vehicle that could carry it, which must
   then fit somewhere directly. The first chain found is kept. Chains start
   from the cheapest placements of the new request and try the second
   ejection nearest in time first.

Nothing is applied: the result is an :class:`routing.insertion.Insertion`
whose ``moved`` routes (the other changed vehicles) go in with it. Every
route of it comes from the exact scheduler with the stops locked at ``now_s``
(and the committed ones) kept first at their times, so the plan stays
feasible; every ejected request is placed, so nobody booked is dropped.

**Bounds.** At most :data:`MAX_EJECTIONS` requests move per booking (a
dispatcher does not reshuffle the day for one rider), and the search stops
after ``budget_s`` seconds of wall time (:data:`REPAIR_BUDGET_S`), returning
the best repair found by then (None if none). With drivers' breaks the
scheduler tries ``routing.schedule.BREAK_TRIES`` break places, so, like the
plain insertion, a feasible repair may be missed, never an infeasible one
accepted.

Units: seconds; costs in the pricing's unit (tenge by default).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from routing.cost import Pricing
from routing.insertion import (Insertion, ProfileCache, best_insertion, feasible_insertions, reschedule,
                               route_sequence)
from routing.locks import Commitments, locked_count
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, route_points

REPAIR_BUDGET_S: float = 0.25  # wall time per rejected booking: a quarter second stays below the 1 s after which a
# desk user loses the flow (Nielsen's response-time limits), and it holds the day's plan lock no longer than that
MAX_EJECTIONS: int = 2  # booked requests moved per repair: 2 allows the chains of step 2, 1 single moves only


@dataclass(frozen=True)
class _Room:
    """The new (or an ejected) request placed on ``vehicle_id`` after ``ejected`` left that vehicle."""

    vehicle_id: str
    ejected: TripRequest
    route: Route  # the vehicle's route with the request in and the ejected one out


class _Search:
    """One repair search: the plan as it stands, the clock and the deadline."""

    def __init__(self, data: ProblemData, requests: Mapping[str, TripRequest], routes: Mapping[str, Route],
                 now_s: float | None, pricing: Pricing, cache: ProfileCache, arc: np.ndarray,
                 committed: Commitments, deadline: float) -> None:
        self.data, self.requests, self.routes, self.now_s = data, requests, routes, now_s
        self.pricing, self.cache, self.arc, self.committed, self.deadline = pricing, cache, arc, committed, deadline
        self.vehicles = data.vehicle_index()

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def insert(self, routes: Mapping[str, Route], request: TripRequest, vehicle_id: str | None = None) -> Insertion | None:
        """Exact cheapest insertion of ``request`` into ``routes`` (only on ``vehicle_id`` when given)."""
        return best_insertion(self.data, self.requests, routes, request, self.now_s, self.pricing, self.cache,
                              self.arc, self.committed, None if vehicle_id is None else (vehicle_id,))

    def candidates(self, routes: Mapping[str, Route], request: TripRequest,
                   keep: set[str]) -> list[tuple[Vehicle, TripRequest]]:
        """(vehicle, request to eject) pairs for placing ``request``: a vehicle that could carry it and one of its
        requests whose pickup is not under way or committed (none of ``keep``), nearest in time first."""
        fleet = self.cache.fleet(self.data.vehicles)
        found = []
        for k in fleet.able(self.data.duration_s, request, self.now_s):
            vehicle = self.data.vehicles[k]
            route = routes.get(vehicle.id)
            if route is None or not route.stops:
                continue
            first = locked_count(route, route_points(self.requests, vehicle, route.stops), self.data.duration_s,
                                 self.now_s, self.committed.get(vehicle.id, 0))
            found += [(abs(s.time_s - request.earliest_pickup_s), vehicle.id, s.request_id)
                      for s in route.stops[first:] if s.kind == "pickup" and s.request_id not in keep]
        return [(self.vehicles[v], self.requests[e]) for _, v, e in sorted(found)]

    def rooms(self, routes: Mapping[str, Route], request: TripRequest, vehicle: Vehicle,
              ejected: TripRequest) -> Iterator[_Room]:
        """The feasible placements of ``request`` on ``vehicle`` with ``ejected`` taken off its route, cheapest first."""
        route = routes[vehicle.id]
        rest = [(r, kind) for r, kind in route_sequence(self.requests, route) if r.id != ejected.id]
        emptied = reschedule(self.data, self.requests, vehicle, route, rest, self.now_s,
                             self.committed.get(vehicle.id, 0))
        if emptied is None:  # the matrix breaks the triangle inequality: leave this route alone
            return
        for placed in feasible_insertions(self.data, self.requests, {**routes, vehicle.id: emptied}, request,
                                          self.now_s, self.pricing, self.cache, self.arc, self.committed, (vehicle.id,)):
            yield _Room(vehicle.id, ejected, placed.route)
            if self.out_of_time():
                return

    def cost(self, changed: Mapping[str, Route]) -> float:
        """Arc and fixed cost added by replacing the routes ``changed`` (the insertion's pricing units)."""
        def arc_cost(route: Route) -> float:
            if not route.stops:
                return 0.0
            points = route_points(self.requests, self.vehicles[route.vehicle_id], route.stops)
            return float(self.arc[points[:-1], points[1:]].sum()) + self.pricing.fixed

        return sum(arc_cost(route) - (arc_cost(self.routes[v]) if v in self.routes else 0.0)
                   for v, route in changed.items())


def repair_insertion(data: ProblemData, requests: Mapping[str, TripRequest], routes: Mapping[str, Route],
                     request: TripRequest, now_s: float | None, pricing: Pricing | None = None,
                     cache: ProfileCache | None = None, arc: np.ndarray | None = None,
                     committed: Commitments | None = None, budget_s: float = REPAIR_BUDGET_S) -> Insertion | None:
    """``request`` placed by moving at most :data:`MAX_EJECTIONS` unstarted requests (module docstring), or None.

    Parameters are those of ``routing.insertion.best_insertion`` (a vehicle
    missing from ``routes`` is idle; ``requests`` must hold ``request``), plus
    ``budget_s``, the wall-time limit of the search in seconds. The result is
    not applied: its ``route`` and ``moved`` routes replace those of their
    vehicles; ``moved_requests`` names the booked requests that moved.
    """
    pricing = pricing or Pricing()
    search = _Search(data, requests, routes, now_s, pricing, cache or ProfileCache(),
                     pricing.arc(data) if arc is None else arc, committed or {}, time.perf_counter() + budget_s)
    best: tuple[float, dict[str, Route], tuple[str, ...]] | None = None
    stuck: list[tuple[float, _Room]] = []  # the new request placed, its ejected request not (for chains)
    for vehicle, ejected in search.candidates(routes, request, {request.id}):
        if search.out_of_time():
            break
        for rank, room in enumerate(search.rooms(routes, request, vehicle, ejected)):
            changed = {room.vehicle_id: room.route}
            back = search.insert({**routes, **changed}, room.ejected)
            if back is None:
                if rank == 0:
                    stuck.append((search.cost(changed), room))
                continue
            changed[back.vehicle_id] = back.route
            cost = search.cost(changed)
            if best is None or cost < best[0]:
                best = (cost, changed, (room.ejected.id,))
            break  # the cheapest placement that lets the ejected request back in, for this ejection
    if best is None and MAX_EJECTIONS >= 2:
        best = _chain(search, sorted(stuck, key=lambda s: s[0]), request)
    if best is None:
        return None
    cost, changed, moved = best
    route = changed.pop(next(v for v, r in changed.items() if any(s.request_id == request.id for s in r.stops)))
    return Insertion(route.vehicle_id, route, cost, tuple(changed.values()), moved)


def _chain(search: _Search, stuck: list[tuple[float, _Room]],
           request: TripRequest) -> tuple[float, dict[str, Route], tuple[str, ...]] | None:
    """The first two-ejection repair: a stuck ejected request given room by ejecting one more, which fits directly."""
    for _, room in stuck:
        first = {**search.routes, room.vehicle_id: room.route}
        for vehicle, ejected in search.candidates(first, room.ejected, {request.id, room.ejected.id}):
            if search.out_of_time():
                return None
            for second in search.rooms(first, room.ejected, vehicle, ejected):
                changed = {room.vehicle_id: room.route, second.vehicle_id: second.route}
                back = search.insert({**search.routes, **changed}, second.ejected)
                if back is not None:
                    changed[back.vehicle_id] = back.route
                    return search.cost(changed), changed, (room.ejected.id, second.ejected.id)
    return None
