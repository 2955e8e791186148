"""The dial-a-ride problem data: vehicles, trip requests and the travel matrix.

One explicit, immutable object (:class:`ProblemData`) validated on
construction: structurally broken data raise ``ValueError`` naming the
vehicle or request and the field. Requests that are well-formed but cannot be
served (a window already past, more passengers than any vehicle holds, a
drop-off deadline that even a direct ride misses) are not errors: the solver
reports them unserved with the reason (:func:`unservable_reasons`).

Units: times in seconds (after midnight of the service day, or benchmark
units), distances in metres (or benchmark units). A wheelchair passenger
takes one wheelchair place, a walking passenger one seat, companions seats.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

StopKind = Literal["pickup", "dropoff"]

DEFAULT_MAX_RIDE_FACTOR: float = 1.5  # maximum ride = factor x direct time + slack
DEFAULT_MAX_RIDE_SLACK_S: float = 600.0


@dataclass(frozen=True)
class Vehicle:
    """One vehicle: depot is an index into the matrices; shift in seconds.

    A driver with ``break_s > 0`` takes one break of that length starting
    between ``break_earliest_s`` and ``break_latest_s`` (seconds), at the depot
    or at a stop with nobody on board (``routing.schedule``).
    """

    id: str
    operator: str
    depot: int
    shift_start_s: float
    shift_end_s: float
    wheelchair_places: int
    seats: int
    break_earliest_s: float = 0.0
    break_latest_s: float = 0.0
    break_s: float = 0.0

    @property
    def has_break(self) -> bool:
        """Whether the driver must take a break."""
        return self.break_s > 0


@dataclass(frozen=True)
class TripRequest:
    """One passenger trip (with companions).

    Attributes
    ----------
    pickup, dropoff
        Indices into the matrices.
    earliest_pickup_s, latest_pickup_s
        Window for the start of pickup service.
    latest_dropoff_s, earliest_dropoff_s
        Optional window for the start of drop-off service.
    wheelchair
        The passenger travels in a wheelchair (needs a wheelchair place).
    companions
        Companions travelling along (seats).
    service_pickup_s, service_dropoff_s
        Boarding and alighting time.
    max_ride_s
        Maximum ride time (drop-off start minus pickup end); None: the
        problem's default (factor x direct time + slack).
    operator
        Only vehicles of this operator may serve it (None: any).
    """

    id: str
    pickup: int
    dropoff: int
    earliest_pickup_s: float
    latest_pickup_s: float
    latest_dropoff_s: float | None = None
    earliest_dropoff_s: float | None = None
    wheelchair: bool = False
    companions: int = 0
    service_pickup_s: float = 0.0
    service_dropoff_s: float = 0.0
    max_ride_s: float | None = None
    operator: str | None = None

    def point(self, kind: StopKind) -> int:
        """Matrix index of the pickup or the drop-off."""
        return self.pickup if kind == "pickup" else self.dropoff

    def window(self, kind: StopKind) -> tuple[float, float]:
        """Earliest and latest start of service (seconds) at the pickup or drop-off; open ends are -inf / inf."""
        if kind == "pickup":
            return self.earliest_pickup_s, self.latest_pickup_s
        return (-np.inf if self.earliest_dropoff_s is None else self.earliest_dropoff_s,
                np.inf if self.latest_dropoff_s is None else self.latest_dropoff_s)

    def service_s(self, kind: StopKind) -> float:
        """Boarding (pickup) or alighting (drop-off) time in seconds."""
        return self.service_pickup_s if kind == "pickup" else self.service_dropoff_s

    @property
    def wheelchair_load(self) -> int:
        """Wheelchair places taken on board."""
        return 1 if self.wheelchair else 0

    @property
    def seat_load(self) -> int:
        """Seats taken on board."""
        return self.companions + (0 if self.wheelchair else 1)


@dataclass(frozen=True)
class ProblemData:
    """Vehicles, requests and the travel matrices, validated on construction.

    Attributes
    ----------
    vehicles, requests
        The fleet and the trip requests (ids unique).
    duration_s
        ``duration_s[i, j]`` travel time from point i to point j (seconds).
    distance_m
        ``distance_m[i, j]`` travel distance (metres).
    operators
        Known operators (default: those of the vehicles).
    max_ride_factor, max_ride_slack_s
        Default maximum ride time = factor x direct time + slack.
    max_route_duration_s
        Optional limit on a vehicle's time from leaving to returning to its depot.
    """

    vehicles: tuple[Vehicle, ...]
    requests: tuple[TripRequest, ...]
    duration_s: np.ndarray
    distance_m: np.ndarray
    operators: frozenset[str] = field(default_factory=frozenset)
    max_ride_factor: float = DEFAULT_MAX_RIDE_FACTOR
    max_ride_slack_s: float = DEFAULT_MAX_RIDE_SLACK_S
    max_route_duration_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "requests", tuple(self.requests))
        if not self.operators:
            object.__setattr__(self, "operators", frozenset(v.operator for v in self.vehicles))
        duration, distance = _frozen(self.duration_s), _frozen(self.distance_m)
        object.__setattr__(self, "duration_s", duration)
        object.__setattr__(self, "distance_m", distance)
        self._validate_matrices(duration, distance)
        if self.max_route_duration_s is not None and not self.max_route_duration_s > 0:
            raise ValueError(f"max_route_duration_s {self.max_route_duration_s} must be positive")
        if not (self.max_ride_factor >= 0 and self.max_ride_slack_s >= 0):
            raise ValueError("max_ride_factor and max_ride_slack_s must be non-negative")
        n = len(duration)
        self._validate_vehicles(n)
        self._validate_requests(n)

    def extended(self, duration_s: np.ndarray, distance_m: np.ndarray) -> ProblemData:
        """This problem on matrices that extend its own by new points (a live plan's growth).

        The leading block of ``duration_s`` and ``distance_m`` must be the
        current matrices (the caller guarantees it); only the new rows and
        columns are checked, so growing by k points costs O(n k), not the
        O(n^2) of a full validation. The arrays are kept (made read-only), not copied.
        """
        n, duration, distance = len(self.duration_s), _frozen(duration_s), _frozen(distance_m)
        if duration.shape != distance.shape or duration.ndim != 2 or duration.shape[0] != duration.shape[1] \
                or len(duration) < n:
            raise ValueError(f"extended matrices {duration.shape} and {distance.shape} must be square and at least {n} x {n}")
        for name, matrix in (("duration_s", duration), ("distance_m", distance)):
            for part in (matrix[n:], matrix[:n, n:]):
                if np.isnan(part).any() or (part < 0).any():
                    raise ValueError(f"{name} has negative or NaN entries")
        grown = copy.copy(self)
        object.__setattr__(grown, "duration_s", duration)
        object.__setattr__(grown, "distance_m", distance)
        return grown

    @staticmethod
    def _validate_matrices(duration: np.ndarray, distance: np.ndarray) -> None:
        for name, matrix in (("duration_s", duration), ("distance_m", distance)):
            if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
                raise ValueError(f"{name} must be a square matrix, got shape {matrix.shape}")
            if np.isnan(matrix).any() or (matrix < 0).any():
                raise ValueError(f"{name} has negative or NaN entries")
        if duration.shape != distance.shape:
            raise ValueError(f"duration_s {duration.shape} and distance_m {distance.shape} differ in shape")

    def _validate_vehicles(self, n: int) -> None:
        seen: set[str] = set()
        for v in self.vehicles:
            where = f"vehicle {v.id!r}"
            if v.id in seen:
                raise ValueError(f"{where}: duplicate id")
            seen.add(v.id)
            if v.operator not in self.operators:
                raise ValueError(f"{where}: unknown operator {v.operator!r}")
            if not 0 <= v.depot < n:
                raise ValueError(f"{where}: depot index {v.depot} outside the matrix (size {n})")
            if not np.isfinite([v.shift_start_s, v.shift_end_s]).all():
                raise ValueError(f"{where}: shift_start_s and shift_end_s must be finite")
            if not v.shift_end_s > v.shift_start_s:
                raise ValueError(f"{where}: shift_end_s {v.shift_end_s} is not after shift_start_s {v.shift_start_s}")
            if v.wheelchair_places < 0 or v.seats < 0:
                raise ValueError(f"{where}: negative capacity")
            if v.has_break and not (v.shift_start_s <= v.break_earliest_s <= v.break_latest_s
                                    and v.break_latest_s + v.break_s <= v.shift_end_s):
                raise ValueError(f"{where}: break window [{v.break_earliest_s}, {v.break_latest_s}] + {v.break_s} s "
                                 "does not fit inside the shift")

    def _validate_requests(self, n: int) -> None:
        seen: set[str] = set()
        for r in self.requests:
            if r.id in seen:
                raise ValueError(f"request {r.id!r}: duplicate id")
            seen.add(r.id)
            validate_request(r, n, self.operators)

    def direct_s(self, request: TripRequest) -> float:
        """Direct travel time from the request's pickup to its drop-off."""
        return float(self.duration_s[request.pickup, request.dropoff])

    def max_ride(self, request: TripRequest) -> float:
        """Maximum ride time of ``request`` in seconds."""
        if request.max_ride_s is not None:
            return request.max_ride_s
        return self.max_ride_factor * self.direct_s(request) + self.max_ride_slack_s

    def request_index(self) -> dict[str, TripRequest]:
        """Requests by id (do not modify: it is cached)."""
        return self._request_index

    def vehicle_index(self) -> dict[str, Vehicle]:
        """Vehicles by id (do not modify: it is cached)."""
        return self._vehicle_index

    @cached_property
    def _request_index(self) -> dict[str, TripRequest]:
        return {r.id: r for r in self.requests}

    @cached_property
    def _vehicle_index(self) -> dict[str, Vehicle]:
        return {v.id: v for v in self.vehicles}


def validate_request(request: TripRequest, n_points: int, operators: frozenset[str]) -> None:
    """Raise ``ValueError`` naming the request and the field if ``request`` is structurally broken.

    Parameters
    ----------
    request
        The request.
    n_points
        Size of the matrices its indices point into.
    operators
        Known operators.
    """
    r, n, where = request, n_points, f"request {request.id!r}"
    for name in ("pickup", "dropoff"):
        if not 0 <= getattr(r, name) < n:
            raise ValueError(f"{where}: {name} index {getattr(r, name)} outside the matrix (size {n})")
    if not np.isfinite([r.earliest_pickup_s, r.latest_pickup_s]).all():
        raise ValueError(f"{where}: pickup window must be finite")
    if r.latest_pickup_s < r.earliest_pickup_s:
        raise ValueError(f"{where}: latest_pickup_s {r.latest_pickup_s} is before earliest_pickup_s {r.earliest_pickup_s} (inverted window)")
    if r.latest_dropoff_s is not None and r.earliest_dropoff_s is not None and r.latest_dropoff_s < r.earliest_dropoff_s:
        raise ValueError(f"{where}: latest_dropoff_s {r.latest_dropoff_s} is before earliest_dropoff_s "
                         f"{r.earliest_dropoff_s} (inverted window)")
    if any(t is not None and np.isnan(t) for t in (r.earliest_dropoff_s, r.latest_dropoff_s)):
        raise ValueError(f"{where}: drop-off window is NaN (use None for no bound)")
    if r.latest_dropoff_s is not None and r.latest_dropoff_s <= r.earliest_pickup_s:
        raise ValueError(f"{where}: latest_dropoff_s {r.latest_dropoff_s} is not after earliest_pickup_s (drop-off before pickup)")
    if r.companions < 0:
        raise ValueError(f"{where}: companions {r.companions} is negative")
    for name in ("service_pickup_s", "service_dropoff_s"):
        if not 0 <= getattr(r, name) < np.inf:
            raise ValueError(f"{where}: {name} {getattr(r, name)} must be finite and non-negative")
    if r.max_ride_s is not None and not r.max_ride_s >= 0:
        raise ValueError(f"{where}: max_ride_s {r.max_ride_s} must be non-negative")
    if r.operator is not None and r.operator not in operators:
        raise ValueError(f"{where}: unknown operator {r.operator!r}")


def _frozen(matrix: np.ndarray) -> np.ndarray:
    """A read-only float array (the input itself when it already is one, else a copy)."""
    if isinstance(matrix, np.ndarray) and matrix.dtype == np.float64 and not matrix.flags.writeable:
        return matrix
    frozen = np.array(matrix, dtype=np.float64)
    frozen.setflags(write=False)
    return frozen


def fits(vehicle: Vehicle, request: TripRequest) -> bool:
    """Whether the vehicle could carry the request at all (capacity and operator)."""
    return (
        vehicle.wheelchair_places >= request.wheelchair_load
        and vehicle.seats >= request.seat_load
        and (request.operator is None or request.operator == vehicle.operator)
    )


def unservable_reasons(data: ProblemData, now_s: float | None = None) -> dict[str, str]:
    """Requests that no plan can serve, by id, with the reason (see :func:`unservable_reason`)."""
    reasons = {r.id: unservable_reason(data, r, now_s) for r in data.requests}
    return {k: v for k, v in reasons.items() if v is not None}


def unservable_reason(data: ProblemData, request: TripRequest, now_s: float | None = None) -> str | None:
    """Why no plan can serve ``request`` (None: some plan might).

    Parameters
    ----------
    data
        The problem (matrices, fleet, maximum ride times); ``request`` need
        not be one of its requests.
    request
        The request.
    now_s
        Current time in seconds; a pickup window that closed before it is in the past.
    """
    r = request
    direct = data.direct_s(r)
    if now_s is not None and r.latest_pickup_s < now_s:
        return "pickup window is in the past"
    if not np.isfinite(direct):
        return "drop-off cannot be reached from the pickup on the network"
    if not any(fits(v, r) for v in data.vehicles):
        return (f"needs {r.wheelchair_load} wheelchair place(s) and {r.seat_load} seat(s)"
                f"{' with ' + r.operator if r.operator else ''}: more than any vehicle holds")
    if r.latest_dropoff_s is not None and r.earliest_pickup_s + r.service_pickup_s + direct > r.latest_dropoff_s:
        return "even a direct ride misses the latest drop-off"
    if direct > data.max_ride(r):
        return "the direct ride is longer than the maximum ride time"
    if not any(fits(v, r) and _shift_admits(data, v, r, direct) for v in data.vehicles):
        return "no vehicle shift covers the trip (depot to pickup to drop-off to depot)"
    return None


def _shift_admits(data: ProblemData, vehicle: Vehicle, request: TripRequest, direct: float) -> bool:
    """Whether the vehicle could serve the request alone (depot, pickup, drop-off, depot) in its shift.

    Necessary conditions only: earliest possible times against the windows
    and the shift, and the shortest possible tour against the route duration.
    """
    to_pickup = data.duration_s[vehicle.depot, request.pickup]
    back = data.duration_s[request.dropoff, vehicle.depot]
    start = max(vehicle.shift_start_s + to_pickup, request.earliest_pickup_s)
    earliest_drop, latest_drop = request.window("dropoff")
    drop = max(start + request.service_pickup_s + direct, earliest_drop)
    shortest = to_pickup + request.service_pickup_s + direct + request.service_dropoff_s + back
    return (start <= request.latest_pickup_s and drop <= latest_drop
            and drop + request.service_dropoff_s + back <= vehicle.shift_end_s
            and (data.max_route_duration_s is None or shortest <= data.max_route_duration_s))
