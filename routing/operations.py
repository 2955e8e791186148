"""Running a day on the street: what vehicles report changes the live plan.

An :class:`OperatingPlan` is a :class:`routing.live.LivePlan` that also
learns what happens on the street, one vehicle event at a time (seconds
after midnight, like every time of the plan):

* **Performed stops** (``picked_up``, ``dropped_off``) are locked at their
  actual time and stay the first stops of their route; a stop done out of the
  planned order moves there. The time kept is the actual one, or, when the
  vehicle got there faster than the travel-time matrix allows, the earliest
  time the matrix allows (the plan stays consistent with its own matrix; the
  caller keeps the actual time). The past is a fact, not a constraint: a
  performed stop's window (and, for a drop-off, the maximum ride) is widened
  to include its time, so a late pickup does not make the plan infeasible.
* **Downstream times** are recomputed from where the vehicle is: after a
  position report at ``at_s`` the next stop starts no earlier than ``at_s``
  plus the travel time from the position (``travel_from``: seconds from the
  position's snapped node to a matrix point, given by the caller), and the
  rest follow by the exact scheduler (``routing.schedule``). A vehicle ahead
  of the matrix does not make ETAs earlier than the matrix allows from its
  last stop; a late one delays them.
* **Repair** when a delay breaks the route: passengers on board stay (if
  even they cannot be delivered within their ride time, their ride time and
  drop-off deadline are relaxed: they are driven home late rather than
  dropped; last resort: the shift is extended by ``OVERTIME_S`` and an
  untaken break is given up; a position report never fails). Overtime is for
  that work only: after the repair the shift ends at the later of its end
  before the overtime and the route's return, so no new trip is booked into it. The waiting
  pickups are kept greedily in route order (the nearest first) while the
  route stays feasible; one that no longer fits in its place is re-sequenced
  on its own vehicle: its pickup and drop-off go to the feasible places (after
  the committed stop) of least added arc cost, e.g. after the drop-off of a
  rider on board whose ride time it would break (pairs of places cheapest
  first, each scheduled exactly, at most ``MAX_RESEQUENCE_CHECKS``; this runs
  only for a pickup that no longer fits). A booked rider is not dropped
  because the vehicle is a few minutes late (the paratransit practice; the **late rule**, in this
  one place): a pickup that still does not fit is first re-inserted at the exact
  cheapest feasible place on another vehicle *within its requested window*
  (``routing.insertion.best_insertion``); if none can take it, it stays on
  its vehicle served late: its pickup window (and drop-off deadline) is
  widened to the predicted time, like a performed late stop's, and the
  outcome lists it in ``late`` (minutes after the requested window: the
  dispatcher sees it at risk); the pickups after it may become late too,
  each by at most ``LATE_TOLERANCE_S`` after its own booked window, and are
  flagged the same way. Only when that would put a pickup more than
  ``LATE_TOLERANCE_S`` after its *booked* window, or break the maximum ride
  time of a rider on board, is it flagged unserved with ``LATE_REASON``.
  Rationale: a rider who booked is waiting at the door; 30 minutes is the
  lateness past which paratransit operators count a "missed trip", so up to
  there the vehicle comes, late, and the dispatcher is warned.
* **Promise margin**: a trip is booked with the pickup window promised to
  the rider, but planned to be reached ``PROMISE_MARGIN_S`` before that
  window closes (offers are priced and bookings inserted with the narrower
  window; the promise is kept as booked): a plan that needs the last minute
  of a window is late whenever traffic is slower than the matrix. A pickup
  that a delay pushes past its planned window spends the margin first (its
  plan window becomes the promise, it stays in its place); only a pickup
  that misses the promise goes through the repair and the late rule below.
* **Committed next stop** (``routing.locks``): the plan assumes vehicles
  leave just in time, but a driver may leave early and wait at the stop. So
  the stop a vehicle heads to is committed as soon as the plan learns it: the
  stop it reported ``arrived`` at, or its next stop once a position report
  puts it more than ``MOVED_S`` of driving away from its last stop (its
  depot before the first; a parked vehicle's reports do not commit it). No
  insertion, repair or re-optimisation puts anything in front of a committed
  stop (:meth:`OperatingPlan.commitments`); performing it (or its no-show)
  ends the commitment, and the next position report away from it commits the
  next stop. A committed pickup that can no longer be served in time is still
  moved, served late or flagged like any other (the driver is redirected).
* **Arrival rule**: a vehicle that reports ``arrived`` at a stop serves that
  stop next (a driver at a pickup waits there for the rider, even when the
  plan had put other stops before it meanwhile: the plan assumes vehicles
  leave just in time, ``routing.locks``, while a driver may drive ahead and
  wait at the stop). The stop moves to the head of the pending ones, and the
  repair below re-judges the stops it overtook at once: a pickup that no
  longer fits is moved to another vehicle or served late while there is still
  time, instead of being found unservable when the vehicle finally leaves the
  stop (hours later, for a pickup reached long before its window). A drop-off
  moves only with its passenger on board.
* **No-show**: the rider's stops leave the route (the seat is free for
  insertions) and the request is withdrawn like a cancellation; the caller
  names the linked return trip to release with it (``release``; the API's rule:
  ``api.operations.linked_return``).
* **Breaks**: ``break_started`` pins the driver's break to its actual start
  (only with nobody on board; the next stop waits for its planned length);
  ``break_ended`` releases it: the break is taken (:meth:`OperatingPlan.break_taken`
  keeps its times), the vehicle owes none any more, and the next stop starts
  after its end.
* **Out of service** (breakdown): every waiting pickup of the vehicle is
  re-inserted elsewhere. Passengers on board leave the broken vehicle at the
  ``rescue_point`` (where it stands): their request ends there, and a
  transfer request (id + ``TRANSFER_SUFFIX``) from there to their
  destination, pickup within ``TRANSFER_WINDOW_S``, is inserted on another
  vehicle (or flagged unserved: the dispatcher must act). The broken vehicle's
  shift ends when it is towed home, so nothing is inserted into it again.

* **Replay** after a restart (:meth:`OperatingPlan.replaying`): the restored
  routes are already what every stored event left, so the events re-applied
  in order only restore the facts (performed stops and their times, breaks,
  no-shows, breakdowns) and re-plan nothing (a replayed breakdown's transfer
  legs, which the restored routes cannot hold before the breakdown made
  them, go back where the stored routes have them); a replayed position report must
  not re-judge a pickup the vehicle made later in reality. When the replay
  ends, each vehicle that reported is rescheduled once from its last report
  (:meth:`OperatingPlan.settle`, the repair above).

Every operation checks its event first and raises :class:`EventError`
(nothing changed) for an impossible transition. :func:`routing.checker.check_solution`
accepts :meth:`OperatingPlan.solution` against :meth:`OperatingPlan.problem`
after every operation.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from types import MappingProxyType
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from routing.insertion import Insertion, best_insertion
from routing.live import CANCELLED_REASON, LivePlan
from routing.problem import ProblemData, StopKind, TripRequest, Vehicle, unservable_reason
from routing.schedule import schedule
from routing.solution import Route, Solution, Stop

TRANSFER_SUFFIX: str = "~transfer"
TRANSFER_WINDOW_S: float = 1800.0  # a rescue vehicle reaches stranded passengers within 30 min (a dispatch standard of the operators)
ASSUMED_BREAK_S: float = 1800.0  # length assumed for a break taken by a driver without a planned one, until break_ended
PROMISE_MARGIN_S: float = 300.0  # plan a pickup 5 min before its promised window closes: the +20 % traffic of a 25-min leg (travel perturbation of issue 13)
MOVED_S: float = 60.0  # a position this far (seconds of driving) from the last stop: the vehicle left for its next one (GPS drift of a parked vehicle stays far below)
MAX_RESEQUENCE_CHECKS: int = 40  # exact schedules tried per pickup re-sequenced on its vehicle (bounds an event's time)
OVERTIME_S: float = 4 * 3600.0  # last resort to deliver passengers on board: the shift may run this much longer
LATE_TOLERANCE_S: float = 1800.0  # a pickup up to 30 min after its window is served late rather than dropped (the usual paratransit "missed trip" threshold)
LATE_REASON: str = ("vehicle {vehicle} delayed: the pickup can no longer be reached within 30 min of its window "
                    "or without breaking a rider's ride time")
BREAKDOWN_REASON: str = "vehicle {vehicle} out of service and no other vehicle can take the trip in its window"
NO_SHOW: str = "no_show"
RELEASED: str = "released"

TravelFrom = Callable[[int], float]


class EventError(ValueError):
    """An event that cannot happen in the current plan (a drop-off before its pickup, a trip on another vehicle...)."""


@dataclass(frozen=True)
class Outcome:
    """What an operation changed.

    Attributes
    ----------
    vehicles
        Vehicles whose route changed (ids).
    moved
        Requests re-inserted on another vehicle (ids).
    unserved
        Requests that left the plan: id -> reason.
    late
        Requests kept on their delayed vehicle and served late (the late rule): id -> minutes after the requested window.
    """

    vehicles: tuple[str, ...]
    moved: tuple[str, ...] = ()
    unserved: tuple[tuple[str, str], ...] = ()
    late: tuple[tuple[str, float], ...] = ()


class OperatingPlan(LivePlan):
    """A live plan that applies vehicle events (see the module docstring).

    Parameters are those of :class:`routing.live.LivePlan`.
    """

    def __init__(self, data: ProblemData, solution: Solution, params=None) -> None:  # noqa: ANN001 - SolveParams
        super().__init__(data, solution, params)
        self._done: dict[str, int] = {}  # vehicle -> its leading stops performed
        self._break_start: dict[str, float] = {}  # vehicle -> start of a break begun (s)
        self._break_over: dict[str, float] = {}  # vehicle -> end of its break (s)
        self._out: dict[str, float] = {}  # vehicle -> when it went out of service (s)
        self._closed: dict[str, str] = {}  # request -> NO_SHOW / RELEASED (withdrawn like a cancellation)
        self._booked: dict[str, TripRequest] = {}  # request planned with another window (margin, served late) -> as booked
        self._heading: dict[str, tuple[str, StopKind]] = {}  # vehicle -> (request, kind) of the stop it heads to
        self._overtime: dict[str, float] = {}  # vehicle given overtime -> its shift end before it (s)
        self._replaying = False  # re-applying stored events onto restored routes: facts only, no repair
        self._stored: dict[str, list[tuple[str, str]]] = {}  # while replaying: the routes as stored (transfer legs' places)

    # ----------------------------------------------------------------- reads
    def performed(self, vehicle_id: str) -> tuple[Stop, ...]:
        """The vehicle's performed stops, in order, at their (locked) times."""
        with self._lock:
            return self._routes[vehicle_id].stops[: self._done.get(vehicle_id, 0)]

    def on_board(self, vehicle_id: str) -> list[str]:
        """Requests picked up and not yet dropped off by the vehicle."""
        performed = self.performed(vehicle_id)
        dropped = {s.request_id for s in performed if s.kind == "dropoff"}
        return [s.request_id for s in performed if s.kind == "pickup" and s.request_id not in dropped]

    def commitments(self) -> dict[str, int]:
        """Per vehicle id, its leading stops committed: performed, and the one it heads to (module docstring)."""
        with self._lock:
            out = {}
            for vehicle_id in sorted(self._done.keys() | self._heading.keys()):  # no other vehicle has a committed stop
                route = self._routes.get(vehicle_id)
                if route is None:
                    continue
                done = self._done.get(vehicle_id, 0)
                heading = done < len(route.stops) and self._heading.get(vehicle_id) == _key(route.stops[done])
                if done + heading:
                    out[vehicle_id] = done + heading
            return out

    def vehicle_status(self, vehicle_id: str) -> str:
        """``in_service``, ``on_break`` or ``out_of_service``."""
        with self._lock:
            if vehicle_id in self._out:
                return "out_of_service"
            return "on_break" if vehicle_id in self._break_start and vehicle_id not in self._break_over else "in_service"

    def break_taken(self, vehicle_id: str) -> tuple[float, float | None] | None:
        """Start and end (None: still on it) of the break the driver took, in seconds; None if none yet."""
        start = self._break_start.get(vehicle_id)
        return None if start is None else (start, self._break_over.get(vehicle_id))

    def requests(self) -> Mapping[str, TripRequest]:
        """Every request received so far, by id (a read-only view; :meth:`problem` builds and validates a whole problem)."""
        return MappingProxyType(self._requests)

    def closed(self, request_id: str) -> str | None:
        """``NO_SHOW`` or ``RELEASED`` for a withdrawn request, else None."""
        return self._closed.get(request_id)

    def vehicle(self, vehicle_id: str) -> Vehicle:
        """The vehicle as the plan now sees it (break pinned, shift ended when out of service)."""
        return self._data.vehicle_index()[vehicle_id]

    def quote(self, request: TripRequest, now_s: float) -> Insertion | None:
        """Where ``request`` would go now (the exact cheapest feasible insertion), without changing the plan."""
        with self._lock:
            if request.id in self._requests:
                raise ValueError(f"request {request.id!r}: duplicate id")
            if unservable_reason(self._data, request, now_s):
                return None
            active = with_vehicles(self._data, tuple(v for v in self._data.vehicles if v.id not in self._out)) \
                if self._out else self._data
            return best_insertion(active, self._requests, self._routes, _with_margin(request), now_s, self.pricing,
                                  self._profiles, self._arc, self.commitments())

    def insert(self, request: TripRequest, now_s: float) -> Insertion | str:
        """:meth:`routing.live.LivePlan.insert`, planned with the promise margin (module docstring)."""
        with self._lock:
            planned = _with_margin(request)
            placed = super().insert(planned, now_s)
            if planned != request:
                self._booked[request.id] = request
            return placed

    # ---------------------------------------------------------------- events
    def position(self, vehicle_id: str, at_s: float, travel_from: TravelFrom) -> Outcome:
        """The vehicle is somewhere at ``at_s``; ``travel_from(point)``: seconds from there to a matrix point."""
        with self._lock:
            if vehicle_id in self._out:  # a broken vehicle being towed: nothing to plan
                return Outcome(())
            self._check_running(vehicle_id)
            route, done = self._routes[vehicle_id], self._done.get(vehicle_id, 0)
            if done < len(route.stops) and travel_from(self._last_point(vehicle_id)) > MOVED_S:
                self._heading[vehicle_id] = _key(route.stops[done])  # it left for its next stop: committed
            return self._repair(vehicle_id, at_s, travel_from)

    def arrived(self, vehicle_id: str, request_id: str, kind: StopKind, at_s: float) -> Outcome:
        """The vehicle stands at a stop of its route at ``at_s``: that stop is its next one (module docstring,
        **arrival rule**), then the repair of a position report at that stop."""
        with self._lock:
            self._check_running(vehicle_id)
            index = self._pending_index(vehicle_id, request_id, kind)
            done = self._done.get(vehicle_id, 0)
            if index > done and not self._replaying and (kind == "pickup" or request_id in self.on_board(vehicle_id)):
                stops = self._routes[vehicle_id].stops
                self._routes[vehicle_id] = replace(self._routes[vehicle_id], stops=(
                    *stops[:done], stops[index], *stops[done:index], *stops[index + 1:]))
                self._version += 1
            self._heading[vehicle_id] = (request_id, kind)
            point = self._requests[request_id].point(kind)
            return self._repair(vehicle_id, at_s, lambda p: float(self._data.duration_s[point, p]))

    def perform(self, vehicle_id: str, request_id: str, kind: StopKind, at_s: float) -> Outcome:
        """``picked_up`` / ``dropped_off``: lock the stop at its actual time, recompute the rest.

        Raises
        ------
        EventError
            The stop is not pending on this vehicle, or a drop-off comes before its pickup.
        """
        with self._lock:
            self._check_running(vehicle_id)
            index = self._pending_index(vehicle_id, request_id, kind)
            if kind == "dropoff" and request_id not in self.on_board(vehicle_id):
                raise EventError(f"trip {request_id}: dropped off before it was picked up")
            vehicle, route = self.vehicle(vehicle_id), self._routes[vehicle_id]
            done = self._done.get(vehicle_id, 0)
            performed = route.stops[:done]
            request = self._requests[request_id]
            time_s = max(at_s, self._earliest_next(vehicle, performed, request.point(kind)))
            self._requests[request_id] = _widened(self._data, request, kind, time_s, performed)
            rest = route.stops[done:index] + route.stops[index + 1:]
            self._routes[vehicle_id] = replace(route, stops=(*performed, Stop(request_id, kind, time_s), *rest))
            self._done[vehicle_id] = done + 1
            self._heading.pop(vehicle_id, None)
            self._version += 1
            point = request.point(kind)
            return self._repair(vehicle_id, at_s, lambda p: float(self._data.duration_s[point, p]))

    def no_show(self, vehicle_id: str, request_id: str, at_s: float, release: Iterable[str] = ()) -> Outcome:
        """The rider is not at the pickup: the request leaves the plan, its seat is free; ``release``: linked
        requests withdrawn with it (their pickups must not be under way)."""
        with self._lock:
            self._check_running(vehicle_id)
            self._pending_index(vehicle_id, request_id, "pickup")
            route, done = self._routes[vehicle_id], self._done.get(vehicle_id, 0)
            self._routes[vehicle_id] = replace(route, stops=route.stops[:done] + tuple(
                s for s in route.stops[done:] if s.request_id != request_id))
            self._unserved[request_id], self._closed[request_id] = CANCELLED_REASON, NO_SHOW
            self._heading.pop(vehicle_id, None)
            self._version += 1
            point = self._requests[request_id].pickup
            outcome = self._repair(vehicle_id, at_s, lambda p: float(self._data.duration_s[point, p]))
            changed, gone = set(outcome.vehicles), [*outcome.unserved, (request_id, NO_SHOW)]
            for other in release:
                if other in self._unserved:
                    continue
                holder = next((r.vehicle_id for r in self._routes.values() if any(s.request_id == other for s in r.stops)), None)
                try:
                    self.cancel(other, at_s)
                except ValueError:  # already under way: it stays
                    continue
                self._closed[other] = RELEASED
                gone.append((other, RELEASED))
                changed |= {holder} if holder else set()
            return Outcome(tuple(sorted(changed)), outcome.moved, tuple(gone))

    def break_started(self, vehicle_id: str, at_s: float) -> Outcome:
        """The driver starts the break at ``at_s`` (nobody on board): the break is pinned there."""
        with self._lock:
            self._check_running(vehicle_id)
            if vehicle_id in self._break_start:
                raise EventError(f"vehicle {vehicle_id}: its break already started at {self._break_start[vehicle_id]:.0f} s")
            if self.on_board(vehicle_id):
                raise EventError(f"vehicle {vehicle_id}: a break with passengers on board {self.on_board(vehicle_id)}")
            vehicle = self.vehicle(vehicle_id)
            if at_s < vehicle.shift_start_s:
                raise EventError(f"vehicle {vehicle_id}: break at {at_s:.0f} s before its shift starts")
            length = vehicle.break_s or ASSUMED_BREAK_S
            self._set_vehicle(replace(vehicle, break_earliest_s=at_s, break_latest_s=at_s, break_s=length,
                                      shift_end_s=max(vehicle.shift_end_s, at_s + length)))
            self._break_start[vehicle_id] = at_s
            return self._repair(vehicle_id, at_s, self._from_last_stop(vehicle_id))

    def break_ended(self, vehicle_id: str, at_s: float) -> Outcome:
        """The break ends at ``at_s``: its actual length replaces the planned one."""
        with self._lock:
            self._check_running(vehicle_id)
            start = self._break_start.get(vehicle_id)
            if start is None or vehicle_id in self._break_over:
                raise EventError(f"vehicle {vehicle_id}: break_ended without a break under way")
            if at_s < start:
                raise EventError(f"vehicle {vehicle_id}: break ends at {at_s:.0f} s before it started ({start:.0f} s)")
            self._set_vehicle(replace(self.vehicle(vehicle_id), break_s=0.0))  # taken: no longer a constraint
            self._break_over[vehicle_id] = at_s
            return self._repair(vehicle_id, at_s, self._from_last_stop(vehicle_id))

    def out_of_service(self, vehicle_id: str, at_s: float, rescue_point: int | None) -> Outcome:
        """Breakdown at ``at_s``: waiting pickups go elsewhere, passengers on board are transferred at
        ``rescue_point`` (matrix index of where the vehicle stands; required when anyone is on board)."""
        with self._lock:
            self._check_running(vehicle_id)
            aboard = self.on_board(vehicle_id)
            if aboard and rescue_point is None:
                raise EventError(f"vehicle {vehicle_id}: passengers on board {aboard} need a rescue point")
            vehicle, route = self.vehicle(vehicle_id), self._routes[vehicle_id]
            done = self._done.get(vehicle_id, 0)
            performed = list(route.stops[:done])
            waiting = [s.request_id for s in route.stops[done:] if s.kind == "pickup"]
            transfers = []
            for request_id in aboard:  # their ride ends where the vehicle broke down
                request = self._requests[request_id]
                ends = replace(request, dropoff=rescue_point, earliest_dropoff_s=None, latest_dropoff_s=None, max_ride_s=np.inf)
                time_s = max(at_s, self._earliest_next(vehicle, performed, rescue_point))
                self._requests[request_id] = ends
                performed.append(Stop(request_id, "dropoff", time_s))
                transfers.append(replace(request, id=request_id + TRANSFER_SUFFIX, pickup=rescue_point,
                                         earliest_pickup_s=time_s, latest_pickup_s=time_s + TRANSFER_WINDOW_S,
                                         earliest_dropoff_s=None, latest_dropoff_s=None, max_ride_s=None))
            towed = replace(vehicle, break_s=0.0)  # no break is owed any more
            self._set_vehicle(towed)
            home = self._schedule(towed, performed, route.start_s) if performed else None
            end = home.end_s if home else max(at_s, vehicle.shift_start_s + 1.0)
            self._set_vehicle(replace(towed, shift_end_s=max(end, towed.shift_start_s + 1.0)))
            self._routes[vehicle_id] = home or Route(vehicle_id, vehicle.shift_start_s, vehicle.shift_start_s, ())
            self._done[vehicle_id] = len(performed)
            self._out[vehicle_id] = at_s
            self._heading.pop(vehicle_id, None)
            self._version += 1
            changed, moved, gone = {vehicle_id}, [], []
            for request in [self._requests[k] for k in waiting] + transfers:
                self._requests[request.id] = request
                placed = self._put_back(request) if self._replaying else None
                if placed is None:
                    insertion = self._reinsert(request, at_s, exclude={vehicle_id})
                    placed = None if insertion is None else insertion.vehicle_id
                if placed is None:
                    self._unserved[request.id] = BREAKDOWN_REASON.format(vehicle=vehicle_id)
                    gone.append((request.id, self._unserved[request.id]))
                else:
                    changed.add(placed)
                    moved.append(request.id)
            return Outcome(tuple(sorted(changed)), tuple(moved), tuple(gone))

    @contextmanager
    def replaying(self, stored: Mapping[str, Sequence[Sequence[str]]] = MappingProxyType({})) -> Iterator[None]:
        """Re-apply stored events onto restored routes: they restore facts and re-plan nothing (module docstring).

        ``stored``: the accepted routes as stored before the restore (vehicle ->
        ``[request id, kind]`` stops in driving order); a replayed breakdown puts
        its transfer legs back where they are there (:meth:`_put_back`).
        """
        with self._lock:
            self._replaying, self._stored = True, {v: [tuple(s) for s in stops] for v, stops in stored.items()}
            try:
                yield
            finally:
                self._replaying, self._stored = False, {}

    def settle(self, vehicle_id: str, at_s: float, travel_from: TravelFrom | None) -> Outcome:
        """After a replay: reschedule the vehicle from its last report at ``at_s`` (``travel_from`` its position; None:
        from its last performed stop), with the repair of a position report."""
        with self._lock:
            if vehicle_id in self._out:
                return Outcome(())
            return self._repair(vehicle_id, at_s, travel_from or self._from_last_stop(vehicle_id))

    def withdraw(self, request_id: str, closed: str) -> None:
        """Mark a request on no route as withdrawn (``NO_SHOW`` / ``RELEASED``), like a cancellation (a restored plan
        whose stored routes already lack it)."""
        with self._lock:
            if any(s.request_id == request_id for r in self._routes.values() for s in r.stops):
                raise EventError(f"trip {request_id}: still on a route")
            self._unserved[request_id], self._closed[request_id] = CANCELLED_REASON, closed
            self._version += 1

    # -------------------------------------------------------------- helpers
    def _check_running(self, vehicle_id: str) -> None:
        if vehicle_id not in self._routes:
            raise KeyError(vehicle_id)
        if vehicle_id in self._out:
            raise EventError(f"vehicle {vehicle_id}: out of service since {self._out[vehicle_id]:.0f} s")

    def _pending_index(self, vehicle_id: str, request_id: str, kind: StopKind) -> int:
        """Index of a stop not yet performed in the vehicle's route; EventError if there is none."""
        route, done = self._routes[vehicle_id], self._done.get(vehicle_id, 0)
        for index, stop in enumerate(route.stops):
            if stop.request_id == request_id and stop.kind == kind:
                if index < done:
                    raise EventError(f"trip {request_id}: its {kind} on vehicle {vehicle_id} is already done")
                return index
        raise EventError(f"trip {request_id}: no {kind} of it on vehicle {vehicle_id}")

    def _set_vehicle(self, vehicle: Vehicle) -> None:
        self._data = with_vehicles(self._data, tuple(vehicle if v.id == vehicle.id else v for v in self._data.vehicles))
        self._version += 1

    def _last_point(self, vehicle_id: str) -> int:
        """Matrix index of the vehicle's last performed stop (its depot if none)."""
        performed = self.performed(vehicle_id)
        return self._requests[performed[-1].request_id].point(performed[-1].kind) if performed else self.vehicle(vehicle_id).depot

    def _from_last_stop(self, vehicle_id: str) -> TravelFrom:
        """Travel from the vehicle's last performed stop (its depot if none)."""
        here = self._last_point(vehicle_id)
        return lambda p: float(self._data.duration_s[here, p])

    def _earliest_next(self, vehicle: Vehicle, performed: Sequence[Stop], point: int) -> float:
        """Earliest service start at ``point`` after the performed stops, by the matrix (seconds)."""
        if not performed:
            return vehicle.shift_start_s + float(self._data.duration_s[vehicle.depot, point])
        last = performed[-1]
        request = self._requests[last.request_id]
        return last.time_s + request.service_s(last.kind) + float(self._data.duration_s[request.point(last.kind), point])

    def _schedule(self, vehicle: Vehicle, stops: Sequence[Stop], planned_start_s: float, at_s: float | None = None,
                  travel_from: TravelFrom | None = None, pending: Sequence[Stop] = ()) -> Route | None:
        """Exact times for the performed ``stops`` (locked) followed by ``pending`` ones, the next pending stop
        starting no earlier than ``at_s + travel_from(its point)``."""
        sequence = [(self._requests[s.request_id], s.kind) for s in (*stops, *pending)]
        departed = None
        if stops:
            first = self._requests[stops[0].request_id].point(stops[0].kind)
            departed = min(planned_start_s, stops[0].time_s - float(self._data.duration_s[vehicle.depot, first]))
        not_before = at_s
        if at_s is not None and pending and travel_from is not None:
            last = self._requests[stops[-1].request_id].point(stops[-1].kind) if stops else vehicle.depot
            nxt = self._requests[pending[0].request_id].point(pending[0].kind)
            # the scheduler starts the next stop at not_before + travel from the last stop: make that the position's
            not_before = at_s + travel_from(nxt) - float(self._data.duration_s[last, nxt])
        if vehicle.id in self._break_start and vehicle.id not in self._break_over and not_before is not None:
            not_before = min(not_before, self._break_start[vehicle.id])  # on the pinned break: it bounds the next stop
        return schedule(self._data, vehicle, sequence, [s.time_s for s in stops], departed, not_before)

    def _repair(self, vehicle_id: str, at_s: float, travel_from: TravelFrom) -> Outcome:
        """Recompute the vehicle's pending times from where it is; re-insert or flag the pickups that no longer fit."""
        if self._replaying:
            return Outcome((vehicle_id,))
        route = self._routes[vehicle_id]
        done = self._done.get(vehicle_id, 0)
        performed, pending = route.stops[:done], route.stops[done:]
        aboard = set(self.on_board(vehicle_id))
        order = list(pending)  # the pending stops in driving order (a re-sequenced pickup moves in it)

        def attempt(keep: set[str], stops: Sequence[Stop] | None = None) -> Route | None:
            return self._schedule(self.vehicle(vehicle_id), performed, route.start_s, at_s, travel_from,
                                  [s for s in (order if stops is None else stops) if s.request_id in keep])

        keep = set(aboard)
        if attempt(keep) is None:
            self._relax_on_board(vehicle_id, aboard, attempt)
        fixed = int(bool(pending) and self._heading.get(vehicle_id) == _key(pending[0]))  # the committed stop stays first
        waiting = [s.request_id for s in pending if s.kind == "pickup"]
        dropped = []
        for request_id in waiting:  # the nearest pickups first
            if attempt(keep | {request_id}) is not None or (
                    self._spend_margin(request_id) and attempt(keep | {request_id}) is not None):
                keep.add(request_id)
            elif (moved_to := self._resequenced(vehicle_id, order[:fixed], order[fixed:], keep, request_id,
                                                attempt)) is not None:
                order = moved_to
                keep.add(request_id)
            else:
                dropped.append(request_id)
        timed = attempt(keep)
        if timed is None:  # cannot happen after _relax_on_board; keep the route's times rather than fail the report
            return Outcome(())
        self._routes[vehicle_id] = timed
        self._version += 1
        changed, moved, gone, at_risk = {vehicle_id}, [], [], []
        for request_id in dropped:  # the late rule (module docstring): another vehicle, within the booked window
            booked = self._booked.pop(request_id, self._requests[request_id])
            self._requests[request_id] = booked
            placed = self._reinsert(booked, at_s, exclude={vehicle_id})
            if placed is None:
                at_risk.append(request_id)
            else:
                changed.add(placed.vehicle_id)
                moved.append(request_id)
        late = self._serve_late(vehicle_id, keep, aboard, at_risk, attempt) if at_risk else []
        self._end_overtime(vehicle_id)
        kept = {s.request_id for s in self._routes[vehicle_id].stops}  # the late rule may keep one on time, too
        for request_id in at_risk:
            if request_id not in kept:
                self._unserved[request_id] = LATE_REASON.format(vehicle=vehicle_id)
                gone.append((request_id, self._unserved[request_id]))
        return Outcome(tuple(sorted(changed)), tuple(moved), tuple(gone), tuple(late))

    def _spend_margin(self, request_id: str) -> bool:
        """Plan a request planned with the promise margin on its promised window; whether that widened it."""
        booked = self._booked.get(request_id)
        if booked is None or self._requests[request_id].latest_pickup_s >= booked.latest_pickup_s:
            return False
        self._requests[request_id] = booked
        del self._booked[request_id]
        return True

    def _resequenced(self, vehicle_id: str, head: list[Stop], rest: list[Stop], keep: set[str], request_id: str,
                     attempt: Callable[[set[str], Sequence[Stop]], Route | None]) -> list[Stop] | None:
        """``head`` + ``rest`` with the stops of ``request_id`` (in ``rest``) moved to the feasible places of least
        added arc cost after ``head``: the pairs of places, cheapest first, scheduled exactly with the ``keep`` stops
        (at most ``MAX_RESEQUENCE_CHECKS``); None if none fits."""
        if not any(s.request_id == request_id and s.kind == "pickup" for s in rest):
            return None  # the committed stop itself: it stays first or leaves the route
        pickup, dropoff = (next(s for s in rest if s.request_id == request_id and s.kind == k) for k in ("pickup", "dropoff"))
        others = [s for s in rest if s.request_id != request_id]
        here, depot, priced, seen = self._last_point(vehicle_id), self.vehicle(vehicle_id).depot, [], set()
        for i in range(len(others) + 1):
            for j in range(i, len(others) + 1):
                candidate = [*head, *others[:i], pickup, *others[i:j], dropoff, *others[j:]]
                kept = tuple(s for s in candidate if s.request_id in keep or s.request_id == request_id)
                if kept not in seen:
                    seen.add(kept)
                    points = [here, *(self._requests[s.request_id].point(s.kind) for s in kept), depot]
                    priced.append((float(self._arc[points[:-1], points[1:]].sum()), len(priced), candidate))
        for _, _, candidate in sorted(priced)[:MAX_RESEQUENCE_CHECKS]:
            if attempt(keep | {request_id}, candidate) is not None:
                return candidate
        return None

    def _serve_late(self, vehicle_id: str, kept: set[str], aboard: set[str], at_risk: list[str],
                    attempt: Callable[[set[str]], Route | None]) -> list[tuple[str, float]]:
        """The late rule on the vehicle: each ``at_risk`` pickup (route order) is kept if the route stays feasible
        with every waiting pickup up to ``LATE_TOLERANCE_S`` after its booked window (riders on board keep their
        limits); the windows of the late ones are widened to their predicted times. Returns the pickups it made
        late or kept late: id -> minutes after the booked window."""
        waiting = kept - aboard  # the pickups kept within their (current) windows
        saved = {k: self._requests[k] for k in (*waiting, *at_risk)}

        def loosen(request_id: str) -> None:
            booked, now = self._booked.get(request_id, saved[request_id]), saved[request_id]
            self._requests[request_id] = replace(
                now, latest_pickup_s=booked.latest_pickup_s + LATE_TOLERANCE_S,
                latest_dropoff_s=None if booked.latest_dropoff_s is None else booked.latest_dropoff_s + LATE_TOLERANCE_S)

        keep = set(kept)
        for request_id in waiting:
            loosen(request_id)
        for request_id in at_risk:
            loosen(request_id)
            if attempt(keep | {request_id}) is not None:
                keep.add(request_id)
            else:
                self._requests[request_id] = saved[request_id]
        timed = attempt(keep)  # feasible: the strict schedule of ``waiting`` was, and loosening only widens
        at = {(s.request_id, s.kind): s.time_s for s in timed.stops}
        late = []
        for request_id in keep - aboard:
            booked, pickup, dropoff = self._booked.get(request_id, saved[request_id]), at[(request_id, "pickup")], at[(request_id, "dropoff")]
            if pickup <= booked.latest_pickup_s and (booked.latest_dropoff_s is None or dropoff <= booked.latest_dropoff_s):
                self._requests[request_id] = booked
                self._booked.pop(request_id, None)
                continue
            self._requests[request_id] = replace(booked, latest_pickup_s=max(booked.latest_pickup_s, pickup), latest_dropoff_s=(
                None if booked.latest_dropoff_s is None else max(booked.latest_dropoff_s, dropoff)))
            if request_id in at_risk or saved[request_id].latest_pickup_s <= booked.latest_pickup_s:  # newly late
                late.append((request_id, round(max(0.0, pickup - booked.latest_pickup_s) / 60.0, 1)))
            self._booked[request_id] = booked
        self._routes[vehicle_id] = timed
        self._version += 1
        return late

    def _end_overtime(self, vehicle_id: str) -> None:
        """A shift extended for the riders on board ends at the later of its former end and the route's return."""
        if vehicle_id not in self._overtime:
            return
        vehicle, end = self.vehicle(vehicle_id), max(self._overtime[vehicle_id], self._routes[vehicle_id].end_s)
        if end <= self._overtime[vehicle_id]:
            del self._overtime[vehicle_id]
        if end < vehicle.shift_end_s:
            self._set_vehicle(replace(vehicle, shift_end_s=end))

    def _relax_on_board(self, vehicle_id: str, aboard: set[str], attempt: Callable[[set[str]], Route | None]) -> None:
        """Passengers on board are delivered late rather than dropped: no ride or drop-off limit; then, while even
        that cannot be scheduled from where the vehicle is, overtime (``OVERTIME_S`` at a time) and no untaken break."""
        for request_id in aboard:
            self._requests[request_id] = replace(self._requests[request_id], max_ride_s=np.inf, latest_dropoff_s=None)
        for _ in range(24):  # OVERTIME_S at a time: 24 of them cover any lateness of a day
            if attempt(set(aboard)) is not None:
                return
            vehicle = self.vehicle(vehicle_id)
            self._overtime.setdefault(vehicle_id, vehicle.shift_end_s)
            self._set_vehicle(replace(vehicle, shift_end_s=vehicle.shift_end_s + OVERTIME_S,
                                      break_s=vehicle.break_s if vehicle_id in self._break_start else 0.0))

    def _put_back(self, request: TripRequest) -> str | None:
        """Replay: put ``request`` (a breakdown's transfer leg) where the stored routes have it: on their vehicle, in
        their order among its pending stops, times by the exact scheduler. Returns the vehicle, or None (no stored
        route holds it, or that order no longer fits: the caller re-inserts it)."""
        for vehicle_id, stored in self._stored.items():
            if vehicle_id in self._out or (request.id, "pickup") not in stored:
                continue
            route, done = self._routes[vehicle_id], self._done.get(vehicle_id, 0)
            pending = {(s.request_id, s.kind) for s in route.stops[done:]} | {(request.id, "pickup"), (request.id, "dropoff")}
            order = [Stop(r, k, 0.0) for r, k in stored if (r, k) in pending]
            if len(order) != len(pending):  # the route holds a stop the stored one does not order
                return None
            timed = self._schedule(self.vehicle(vehicle_id), route.stops[:done], route.start_s, pending=order)
            if timed is None:
                return None
            self._routes[vehicle_id] = timed
            self._unserved.pop(request.id, None)
            self._version += 1
            return vehicle_id
        return None

    def _reinsert(self, request: TripRequest, at_s: float, exclude: set[str]) -> Insertion | None:
        """Cheapest feasible insertion of ``request`` on a vehicle not in ``exclude`` (applied), or None."""
        for vehicle_id, route in self._routes.items():
            if any(s.request_id == request.id for s in route.stops) and vehicle_id not in exclude:
                raise RuntimeError(f"request {request.id}: still on vehicle {vehicle_id}")
        others = with_vehicles(self._data, tuple(v for v in self._data.vehicles
                                                 if v.id not in exclude and v.id not in self._out))
        placed = best_insertion(others, self._requests, self._routes, request, at_s, self.pricing, self._profiles,
                                self._arc, self.commitments())
        if placed is not None:
            self._routes[placed.vehicle_id] = placed.route
            self._unserved.pop(request.id, None)
            self._version += 1
        return placed


def _with_margin(request: TripRequest) -> TripRequest:
    """``request`` with its pickup window ending ``PROMISE_MARGIN_S`` earlier (never before it opens)."""
    latest = max(request.earliest_pickup_s, request.latest_pickup_s - PROMISE_MARGIN_S)
    return request if latest == request.latest_pickup_s else replace(request, latest_pickup_s=latest)


def _key(stop: Stop) -> tuple[str, StopKind]:
    return stop.request_id, stop.kind


def with_vehicles(data: ProblemData, vehicles: tuple[Vehicle, ...]) -> ProblemData:
    """``data`` with another fleet, the vehicles validated but not the unchanged matrices and requests.

    ``dataclasses.replace`` would re-check every matrix entry (tens of
    milliseconds on a day's plan) on every event that touches the fleet.
    """
    changed = copy.copy(data)
    changed.__dict__.pop("_vehicle_index", None)  # the cached index of the old fleet
    object.__setattr__(changed, "vehicles", vehicles)
    changed._validate_vehicles(len(data.duration_s))
    return changed


def _widened(data: ProblemData, request: TripRequest, kind: StopKind, time_s: float,
             performed: Sequence[Stop]) -> TripRequest:
    """``request`` with the window (and the maximum ride, for a drop-off) widened to include a performed stop at ``time_s``."""
    if kind == "pickup":
        return replace(request, earliest_pickup_s=min(request.earliest_pickup_s, time_s),
                       latest_pickup_s=max(request.latest_pickup_s, time_s))
    low, high = request.earliest_dropoff_s, request.latest_dropoff_s
    pickup = next(s.time_s for s in performed if s.request_id == request.id and s.kind == "pickup")
    ride = time_s - pickup - request.service_pickup_s
    return replace(request, earliest_dropoff_s=None if low is None else min(low, time_s),
                   latest_dropoff_s=None if high is None else max(high, time_s),
                   max_ride_s=max(data.max_ride(request), ride))
