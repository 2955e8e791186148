"""What a running plan has fixed at a moment ``now_s``.

Vehicles drive just in time: a vehicle leaves for a stop at its service
start minus the travel time, waiting at the previous stop if early. At
``now_s`` a stop is locked when its service has started (``time_s <=
now_s``) or the vehicle is already driving to it (``time_s - travel <
now_s``): its time stays and nothing is inserted before it. The vehicle then
stands, as far as new stops are concerned, at its last locked stop (its depot
when none) and can start driving to a new stop at ``max(now_s, end of that
stop's service)``. Passengers picked up at a locked stop and not yet dropped
off at one are on board. An unchanged plan stays feasible as time passes.

**Commitments**: what the vehicle reported overrides the just-in-time
assumption. A running plan may know that a vehicle has left early, or stands
at a stop waiting for its window (``routing.operations``: a driver who
reported ``arrived`` there, or a position away from its last stop). Its
performed stops and the stop it heads to are then *committed*: they stay the
first stops of its route, and no insertion, repair or re-optimisation puts
anything in front of them, whatever the clock says. A :data:`Commitments`
mapping gives, per vehicle id, how many leading stops of its route are
committed; the stops locked are the committed ones or the ones the clock
locks, whichever are more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Stop, route_points

Commitments = Mapping[str, int]  # vehicle id -> leading stops of its route committed (performed, and the one it heads to)


def locked_count(route: Route, points: Sequence[int], duration_s: np.ndarray, now_s: float | None,
                 committed: int = 0) -> int:
    """Number of leading stops performed or under way at ``now_s`` (None: none), at least the ``committed`` ones.

    Parameters
    ----------
    route
        The timed route.
    points
        Its matrix indices: depot, stops, depot.
    duration_s
        Travel times (seconds).
    now_s
        The present (seconds).
    committed
        Leading stops committed whatever the clock says (module docstring).
    """
    points = np.asarray(points)
    times = np.array([s.time_s for s in route.stops], dtype=float)
    return leading_locked(times, duration_s[points[:-2], points[1:-1]], now_s, committed)


def leading_locked(times_s: np.ndarray, arrive_travel_s: np.ndarray, now_s: float | None, committed: int = 0) -> int:
    """Number of leading stops locked at ``now_s``, from their service starts and the travel time to each (seconds),
    at least the ``committed`` ones."""
    committed = min(committed, len(times_s))
    if now_s is None or not len(times_s) or (times_s[0] > now_s and times_s[0] - arrive_travel_s[0] >= now_s):
        return committed  # nothing under way (the common case when booking ahead: no array work)
    free = (times_s > now_s) & (times_s - arrive_travel_s >= now_s)
    return max(committed, int(np.argmax(free)) if free.any() else len(times_s))


@dataclass(frozen=True)
class VehicleState:
    """Where a vehicle stands at a moment and what it must still do.

    Attributes
    ----------
    vehicle
        The vehicle.
    locked
        Its stops performed or under way (they stay, in this order, at these times).
    departed_s
        When it left the depot (None: not yet, it is free to leave later).
    point
        Matrix index it stands at (for new stops).
    ready_s
        Earliest time (seconds) it can start driving to a new stop.
    on_board
        Requests picked up at a locked stop but not dropped off at one, with
        their pickup service start (seconds).
    """

    vehicle: Vehicle
    locked: tuple[Stop, ...]
    departed_s: float | None
    point: int
    ready_s: float
    on_board: tuple[tuple[TripRequest, float], ...]


def vehicle_state(data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route | None,
                  now_s: float | None, committed: int = 0) -> VehicleState:
    """The state at ``now_s`` (None: the start of the day) of ``vehicle`` driving ``route`` (None: idle), its first
    ``committed`` stops locked whatever the clock says."""
    earliest = vehicle.shift_start_s if now_s is None else max(now_s, vehicle.shift_start_s)
    if route is None or not route.stops:
        return VehicleState(vehicle, (), None, vehicle.depot, earliest, ())
    points = route_points(requests, vehicle, route.stops)
    locked = route.stops[: locked_count(route, points, data.duration_s, now_s, committed)]
    if not locked:
        return VehicleState(vehicle, (), None, vehicle.depot, earliest, ())
    picked = {s.request_id: s.time_s for s in locked if s.kind == "pickup"}
    for stop in locked:
        if stop.kind == "dropoff":
            del picked[stop.request_id]
    last = locked[-1]
    ready = max(earliest, last.time_s + requests[last.request_id].service_s(last.kind))
    return VehicleState(vehicle, locked, route.start_s, int(points[len(locked)]), ready,
                        tuple((requests[r], t) for r, t in picked.items()))
