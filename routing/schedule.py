"""Exact timing of a fixed stop sequence (a simple temporal network).

For one vehicle and an ordered list of stops, the start-of-service times must
satisfy difference constraints: windows, travel plus service between
consecutive stops, maximum ride time per passenger, shift and route duration,
and fixed times for locked stops. Feasibility is the absence of a negative
cycle in the constraint graph; the earliest times are the shortest distances
to a time origin (Floyd-Warshall, vectorised). The depot departure is then
delayed to just in time for the first stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Stop, StopKind

TOLERANCE: float = 1e-7


def _stop_fields(request: TripRequest, kind: StopKind) -> tuple[int, float, float, float]:
    """Matrix point, window (earliest, latest) and service time of a stop."""
    if kind == "pickup":
        return request.pickup, request.earliest_pickup_s, request.latest_pickup_s, request.service_pickup_s
    earliest = request.earliest_dropoff_s if request.earliest_dropoff_s is not None else -np.inf
    latest = request.latest_dropoff_s if request.latest_dropoff_s is not None else np.inf
    return request.dropoff, earliest, latest, request.service_dropoff_s


def capacity_ok(vehicle: Vehicle, sequence: Sequence[tuple[TripRequest, StopKind]]) -> bool:
    """Whether wheelchair places and seats suffice after every stop."""
    wheelchairs = seats = 0
    for request, kind in sequence:
        sign = 1 if kind == "pickup" else -1
        wheelchairs += sign * request.wheelchair_load
        seats += sign * request.seat_load
        if wheelchairs > vehicle.wheelchair_places or seats > vehicle.seats:
            return False
    return True


def schedule(
    data: ProblemData,
    vehicle: Vehicle,
    sequence: Sequence[tuple[TripRequest, StopKind]],
    locked: Mapping[int, float] | None = None,
    not_before_s: float | None = None,
) -> Route | None:
    """Earliest feasible times for ``sequence`` on ``vehicle``, or None if none exist.

    Parameters
    ----------
    data
        The problem (matrices, maximum ride times, route duration).
    vehicle
        The vehicle (depot, shift).
    sequence
        Ordered (request, "pickup" | "dropoff") stops; every drop-off's pickup
        must come earlier in the sequence.
    locked
        Stop position -> fixed service-start time (stops already performed or under way).
    not_before_s
        Stops that are not locked cannot start before this time (the present).

    Returns
    -------
    Route or None
        The timed route (capacity is checked too), None if infeasible.
    """
    if not capacity_ok(vehicle, sequence):
        return None
    m = len(sequence)
    n = m + 3  # 0 depot departure, 1..m stops, m+1 depot return, m+2 time origin
    origin = m + 2
    fields = [_stop_fields(r, k) for r, k in sequence]
    points = np.array([vehicle.depot, *[f[0] for f in fields], vehicle.depot])
    services = np.array([0.0, *[f[3] for f in fields]])
    low = np.array([f[1] for f in fields], dtype=float)
    high = np.array([f[2] for f in fields], dtype=float)
    if not_before_s is not None:
        low = np.maximum(low, not_before_s)
    for k, fixed in (locked or {}).items():
        low[k] = high[k] = fixed
    # weight[a, b] = c encodes t_b - t_a <= c
    weight = np.full((n, n), np.inf)
    np.fill_diagonal(weight, 0.0)
    inner = np.arange(1, m + 1)
    weight[origin, inner] = high
    weight[inner, origin] = -low
    weight[0, origin] = -vehicle.shift_start_s
    weight[origin, m + 1] = vehicle.shift_end_s
    steps = np.arange(m + 1)
    weight[steps + 1, steps] = -(services + data.duration_s[points[:-1], points[1:]])
    pickup_at: dict[str, int] = {}
    for k, (request, kind) in enumerate(sequence, start=1):
        if kind == "pickup":
            pickup_at[request.id] = k
        elif request.id in pickup_at:
            p = pickup_at[request.id]
            weight[p, k] = min(weight[p, k], request.service_pickup_s + data.max_ride(request))
        else:
            return None  # drop-off before its pickup
    if data.max_route_duration_s is not None:
        weight[0, m + 1] = min(weight[0, m + 1], data.max_route_duration_s)
    for k in range(n):
        weight = np.minimum(weight, weight[:, k : k + 1] + weight[k : k + 1, :])
    if (np.diag(weight) < -TOLERANCE).any():
        return None
    times = -weight[:, origin]
    if m:
        times[0] = max(times[0], times[1] - data.duration_s[points[0], points[1]])
    stops = tuple(Stop(r.id, k, float(times[i])) for i, (r, k) in enumerate(sequence, start=1))
    return Route(vehicle.id, float(times[0]), float(times[m + 1]), stops)
