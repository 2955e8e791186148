"""Exact timing of a fixed stop sequence (a simple temporal network).

For one vehicle and an ordered list of stops, the start-of-service times must
satisfy difference constraints: windows, travel plus service between
consecutive stops, maximum ride time per passenger, shift and route duration,
and fixed times for locked stops. Feasibility is the absence of a negative
cycle in the constraint graph; the earliest times are the shortest distances
to a time origin (Floyd-Warshall, compiled with numba: a fifth of a live
booking's CPU went to the vectorised version's n numpy passes). The depot departure is then
delayed to just in time for the first stop, unless it is fixed.

Earliest times satisfy every maximum ride time by construction (the ride
limits are constraints of the network), so no separate ride-time repair is needed.

Breaks: a driver with a break takes it at the depot before leaving, at a stop
after its service with nobody on board (the vehicle waits there), or at the
depot after returning, starting inside the break window. A break still ahead
starts no earlier than the present (``not_before_s``), except one at the depot
before leaving when the vehicle has not left (no locked stop, no departure):
it has stood at its depot since its shift began, so its driver could take the
break there already, and a vehicle left idle through its break window stays
usable afterwards (before, no later booking could ever fit it). Its position is a
choice: the places where it delays the next stop least in the schedule without
a break are tried in turn (``BREAK_TRIES``), each as an extra node of the same
network, and the first feasible one is kept. The times are always exact; a
feasible placement may be missed only when more than ``BREAK_TRIES`` places fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from routing.problem import ProblemData, StopKind, TripRequest, Vehicle
from routing.solution import Route, Stop

TOLERANCE_S: float = 1e-7  # negative-cycle tolerance in seconds (float round-off)
BREAK_TRIES: int = 3  # break positions tried per sequence, least delaying first

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
        too), with its break placed; None if infeasible.
    """
    if not capacity_ok(vehicle, sequence):
        return None
    network = _Network(data, vehicle, sequence, locked_s, departed_s, not_before_s)
    times = network.solve(None)
    if times is None or not vehicle.has_break or not sequence:
        return None if times is None else network.route(times, None)
    for position in network.break_positions(times)[:BREAK_TRIES]:
        timed = network.solve(position)
        if timed is not None:
            return network.route(timed, position)
    return None


class _Network:
    """The difference constraints of one vehicle's stop sequence (see the module docstring)."""

    def __init__(self, data: ProblemData, vehicle: Vehicle, sequence: StopSequence, locked_s: Sequence[float],
                 departed_s: float | None, not_before_s: float | None) -> None:
        self.vehicle, self.sequence, self.departed_s, self.not_before_s = vehicle, sequence, departed_s, not_before_s
        self.m, self.f = len(sequence), len(locked_s)
        m = self.m
        self.points = np.array([vehicle.depot, *[r.point(k) for r, k in sequence], vehicle.depot])
        self.services = np.array([0.0, *[r.service_s(k) for r, k in sequence]])
        self.drive = data.duration_s[self.points[:-1], self.points[1:]]
        self.weight = self._weights(data, locked_s)
        sign = np.array([1 if k == "pickup" else -1 for _, k in sequence], dtype=int)
        on_board = np.cumsum(sign) if m else np.zeros(0, dtype=int)
        self.empty_after = np.concatenate([[True], on_board[:-1] == 0, [True]]) if m else np.array([True])

    def _weights(self, data: ProblemData, locked_s: Sequence[float]) -> np.ndarray:
        m, f, vehicle, points = self.m, self.f, self.vehicle, self.points
        n = m + 3  # 0 depot departure, 1..m stops, m+1 depot return, m+2 time origin
        origin = m + 2
        travel = self.services + self.drive  # from the start of stop k to stop k+1
        windows = np.array([r.window(k) for r, k in self.sequence], dtype=float).reshape(m, 2)
        low, high = windows[:, 0].copy(), windows[:, 1].copy()
        low[:f] = high[:f] = locked_s
        if self.not_before_s is not None and f < m:
            low[f] = max(low[f], self.not_before_s + data.duration_s[points[f], points[f + 1]])
        # weight[a, b] = c encodes t_b - t_a <= c
        weight = np.full((n, n), np.inf)
        np.fill_diagonal(weight, 0.0)
        inner = np.arange(1, m + 1)
        weight[origin, inner] = high
        weight[inner, origin] = -low
        if self.departed_s is None:
            start = vehicle.shift_start_s if self.not_before_s is None else max(vehicle.shift_start_s, self.not_before_s)
            weight[0, origin] = -start
        else:
            weight[0, origin], weight[origin, 0] = -self.departed_s, self.departed_s
        weight[origin, m + 1] = vehicle.shift_end_s
        steps = np.arange(m + 1)
        weight[steps + 1, steps] = -travel
        pickup_at: dict[str, int] = {}
        for k, (request, kind) in enumerate(self.sequence, start=1):
            if kind == "pickup":
                pickup_at[request.id] = k
            else:
                p = pickup_at[request.id]
                weight[p, k] = min(weight[p, k], request.service_pickup_s + data.max_ride(request))
        if data.max_route_duration_s is not None:
            weight[0, m + 1] = min(weight[0, m + 1], data.max_route_duration_s)
        return weight

    def solve(self, break_after: int | None) -> np.ndarray | None:
        """Earliest times of departure, stops, return (and the break, last) with the break after stop ``break_after``
        (0: before leaving, m: after returning; None: no break), or None if infeasible."""
        m, vehicle, origin = self.m, self.vehicle, self.m + 2
        weight = self.weight.copy()
        if break_after is not None:
            p, b, length = break_after, m + 3, vehicle.break_s
            weight = np.full((m + 4, m + 4), np.inf)
            weight[: m + 3, : m + 3] = self.weight
            weight[b, b] = 0.0
            weight[origin, b] = vehicle.break_latest_s
            weight[b, origin] = -vehicle.break_earliest_s
            waiting = p == self.f and (p > 0 or self.departed_s is None)  # where the vehicle has stood since: may be past
            if self.not_before_s is not None and p >= self.f and not waiting:
                weight[b, origin] = min(weight[b, origin], -self.not_before_s)  # a break still ahead starts after now
            if p == 0:
                weight[0, b] = -length  # leave the depot after the break
            elif p == m:
                weight[b, m + 1] = 0.0  # after the return
                weight[origin, b] = min(weight[origin, b], vehicle.shift_end_s - length)
            else:
                weight[b, p] = -self.services[p]  # after the service of stop p
                weight[p + 1, b] = -(length + self.drive[p])  # then drive on to stop p + 1
        if not _shortest_paths(weight, TOLERANCE_S):
            return None
        times = -weight[:, origin]
        if m and self.departed_s is None:
            times[0] = max(times[0], times[1] - self.drive[0])
        return times

    def break_positions(self, times: np.ndarray) -> list[int]:
        """Where the break could go, least delaying first in the schedule ``times`` (without a break)."""
        m, vehicle, length = self.m, self.vehicle, self.vehicle.break_s
        ranked = []
        for p in np.flatnonzero(self.empty_after):
            ready = vehicle.shift_start_s if p == 0 else times[m + 1] if p == m else times[p] + self.services[p]
            start = max(ready, vehicle.break_earliest_s)
            if start > vehicle.break_latest_s:
                continue
            if p == 0:
                delay = max(0.0, start + length - times[0])
            elif p == m:
                delay = 0.0 if start + length <= vehicle.shift_end_s else np.inf
            else:
                delay = max(0.0, start + length + self.drive[p] - times[p + 1])
            if np.isfinite(delay):
                ranked.append((delay, int(p)))
        return [p for _, p in sorted(ranked)]

    def route(self, times: np.ndarray, break_after: int | None) -> Route:
        """The timed route of ``times`` (as :meth:`solve` returns them)."""
        m = self.m
        stops = tuple(Stop(r.id, k, float(times[i])) for i, (r, k) in enumerate(self.sequence, start=1))
        if break_after is None:
            return Route(self.vehicle.id, float(times[0]), float(times[m + 1]), stops)
        return Route(self.vehicle.id, float(times[0]), float(times[m + 1]), stops, float(times[m + 3]), break_after)


@njit(cache=True)
def _shortest_paths(weight: np.ndarray, tolerance: float) -> bool:  # pragma: no cover - compiled
    """Floyd-Warshall in place on ``weight`` (``weight[a, b]``: shortest a -> b); False on a negative cycle (a
    diagonal entry below ``-tolerance``). Each pass reads row and column k as they were before it, as a vectorised
    pass does, so the distances are the same to the last bit."""
    n = weight.shape[0]
    row, column = np.empty(n), np.empty(n)
    for k in range(n):
        row[:] = weight[k, :]
        column[:] = weight[:, k]
        for i in range(n):
            via = column[i]
            if via == np.inf:
                continue
            for j in range(n):
                candidate = via + row[j]
                if candidate < weight[i, j]:
                    weight[i, j] = candidate
    for i in range(n):
        if weight[i, i] < -tolerance:
            return False
    return True
