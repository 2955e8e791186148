"""What a running plan has fixed at a moment ``now_s``.

A stop whose service started at or before ``now_s`` (performed or under way)
is locked: its time stays, nothing is inserted before it. At ``now_s`` a
vehicle stands at its last locked stop (its depot when none) and can start
driving to a new stop at ``max(now_s, end of that stop's service)`` (its
shift start when still at the depot). Passengers picked up but not yet
dropped off are on board.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Stop


def locked_count(route: Route, now_s: float) -> int:
    """Number of leading stops of ``route`` performed or under way at ``now_s`` (seconds)."""
    return next((k for k, s in enumerate(route.stops) if s.time_s > now_s), len(route.stops))


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
        When it left the depot (None: not yet).
    point
        Matrix index it stands at.
    ready_s
        Earliest time it can start driving to a new stop (seconds).
    on_board
        Requests picked up (locked) but not yet dropped off (locked), with
        their pickup service start (seconds).
    """

    vehicle: Vehicle
    locked: tuple[Stop, ...]
    departed_s: float | None
    point: int
    ready_s: float
    on_board: tuple[tuple[TripRequest, float], ...]


def vehicle_state(data: ProblemData, vehicle: Vehicle, route: Route, now_s: float | None) -> VehicleState:
    """The state at ``now_s`` of ``vehicle`` driving ``route`` (``now_s`` None: the start of the day)."""
    requests = data.request_index()
    count = 0 if now_s is None else locked_count(route, now_s)
    locked = route.stops[:count]
    earliest = vehicle.shift_start_s if now_s is None else max(now_s, vehicle.shift_start_s)
    if not locked:
        return VehicleState(vehicle, (), None, vehicle.depot, earliest, ())
    last = locked[-1]
    last_request = requests[last.request_id]
    picked = {s.request_id: s.time_s for s in locked if s.kind == "pickup"}
    for stop in locked:
        if stop.kind == "dropoff":
            del picked[stop.request_id]
    on_board = tuple((requests[r], t) for r, t in picked.items())
    ready = max(earliest, last.time_s + last_request.service_s(last.kind))
    return VehicleState(vehicle, locked, route.start_s, last_request.point(last.kind), ready, on_board)
