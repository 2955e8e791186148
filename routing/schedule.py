"""Exact timing of a fixed stop sequence (a simple temporal network).

For one vehicle and an ordered list of stops, the start-of-service times must
satisfy difference constraints: windows, travel plus service between
consecutive stops, maximum ride time per passenger, shift and route duration,
and fixed times for locked stops. Feasibility is the absence of a negative
cycle in the constraint graph; the earliest times are the shortest distances
to a time origin (Floyd-Warshall, vectorised). The depot departure is then
delayed to just in time for the first stop, unless it is fixed.

Earliest times satisfy every maximum ride time by construction (the ride
limits are constraints of the network), so no separate ride-time repair is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from routing.problem import ProblemData, StopKind, TripRequest, Vehicle
from routing.solution import Route, Stop

TOLERANCE_S: float = 1e-7  # negative-cycle tolerance in seconds (float round-off)

StopSequence = Sequence[tuple[TripRequest, StopKind]]


def capacity_ok(vehicle: Vehicle, sequence: StopSequence) -> bool:
    """Whether wheelchair places and seats suffice after every stop, and every drop-off follows its pickup."""
    wheelchairs = seats = 0
    on_board: set[str] = set()
    for request, kind in sequence:
        if kind == "pickup":
            on_board.add(request.id)
            wheelchairs += request.wheelchair_load
            seats += request.seat_load
        elif request.id in on_board:
            on_board.remove(request.id)
            wheelchairs -= request.wheelchair_load
            seats -= request.seat_load
        else:
            return False
        if wheelchairs > vehicle.wheelchair_places or seats > vehicle.seats:
            return False
    return True


def schedule(
    data: ProblemData,
    vehicle: Vehicle,
    sequence: StopSequence,
    locked_s: Sequence[float] = (),
    departed_s: float | None = None,
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
        Ordered (request, "pickup" | "dropoff") stops.
    locked_s
        Fixed service-start times (seconds) of the first ``len(locked_s)``
        stops: those performed or under way.
    departed_s
        Fixed depot departure in seconds when the vehicle already left; None: free.
    not_before_s
        The present (seconds): the vehicle cannot start driving from its last
        locked stop (or its depot) to the next stop before it.

    Returns
    -------
    Route or None
        The timed route (capacities and pickup-before-drop-off are checked
        too), None if infeasible.
    """
    if not capacity_ok(vehicle, sequence):
        return None
    m, f = len(sequence), len(locked_s)
    n = m + 3  # 0 depot departure, 1..m stops, m+1 depot return, m+2 time origin
    origin = m + 2
    points = np.array([vehicle.depot, *[r.point(k) for r, k in sequence], vehicle.depot])
    services = np.array([0.0, *[r.service_s(k) for r, k in sequence]])
    travel = services + data.duration_s[points[:-1], points[1:]]  # from the start of stop k to stop k+1
    windows = np.array([r.window(k) for r, k in sequence], dtype=float).reshape(m, 2)
    low, high = windows[:, 0].copy(), windows[:, 1].copy()
    low[:f] = high[:f] = locked_s
    if not_before_s is not None and f < m:
        low[f] = max(low[f], not_before_s + data.duration_s[points[f], points[f + 1]])
    # weight[a, b] = c encodes t_b - t_a <= c
    weight = np.full((n, n), np.inf)
    np.fill_diagonal(weight, 0.0)
    inner = np.arange(1, m + 1)
    weight[origin, inner] = high
    weight[inner, origin] = -low
    if departed_s is None:
        weight[0, origin] = -(vehicle.shift_start_s if not_before_s is None else max(vehicle.shift_start_s, not_before_s))
    else:
        weight[0, origin], weight[origin, 0] = -departed_s, departed_s
    weight[origin, m + 1] = vehicle.shift_end_s
    steps = np.arange(m + 1)
    weight[steps + 1, steps] = -travel
    pickup_at: dict[str, int] = {}
    for k, (request, kind) in enumerate(sequence, start=1):
        if kind == "pickup":
            pickup_at[request.id] = k
        else:
            p = pickup_at[request.id]
            weight[p, k] = min(weight[p, k], request.service_pickup_s + data.max_ride(request))
    if data.max_route_duration_s is not None:
        weight[0, m + 1] = min(weight[0, m + 1], data.max_route_duration_s)
    for k in range(n):
        np.minimum(weight, weight[:, k : k + 1] + weight[k : k + 1, :], out=weight)
    if (np.diag(weight) < -TOLERANCE_S).any():
        return None
    times = -weight[:, origin]
    if m and departed_s is None:
        times[0] = max(times[0], times[1] - data.duration_s[points[0], points[1]])
    stops = tuple(Stop(r.id, k, float(times[i])) for i, (r, k) in enumerate(sequence, start=1))
    return Route(vehicle.id, float(times[0]), float(times[m + 1]), stops)
