"""Independent solution checker: verifies every constraint without OR-Tools.

Used by all tests and benchmarks. It does not compute schedules; it checks
the times a solution states, walking each route once from the depot.
"""

from __future__ import annotations

from routing.problem import ProblemData, TripRequest, Vehicle, fits
from routing.solution import Route, Solution, stop_points

TOLERANCE_S: float = 1e-6  # seconds (or benchmark units) of slack for float round-off


def check_solution(data: ProblemData, solution: Solution) -> list[str]:
    """Every broken constraint of ``solution`` (empty list: feasible).

    Checks: known vehicles, each used by one route at most; each request
    served at most once (picked up then dropped off by the same vehicle) or
    listed unserved, never both; operator restrictions; capacities
    (wheelchair places, seats) after every stop; time windows on the start of
    service; travel and service times between consecutive stops (arrival >=
    departure + travel); shift start and end; maximum ride time; route duration;
    the driver's break (``_check_break``).
    """
    problems: list[str] = []
    vehicles, requests = data.vehicle_index(), data.request_index()
    seen_vehicles: set[str] = set()
    picked: dict[str, tuple[str, float]] = {}
    dropped: set[str] = set()
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            problems.append(f"vehicle {route.vehicle_id}: unknown vehicle")
            continue
        if route.vehicle_id in seen_vehicles:
            problems.append(f"vehicle {route.vehicle_id}: used by two routes")
        seen_vehicles.add(route.vehicle_id)
        unknown = sorted({s.request_id for s in route.stops} - requests.keys())
        if unknown:
            problems.append(f"vehicle {route.vehicle_id}: unknown request(s) {unknown} in route")
        elif route.stops:
            problems += _check_route(data, vehicle, route, requests, picked, dropped)
    for request_id in sorted(picked.keys() - dropped):
        problems.append(f"request {request_id}: picked up but never dropped off")
    for request_id in sorted(solution.unserved.keys() - requests.keys()):
        problems.append(f"request {request_id}: listed unserved but unknown")
    for request in data.requests:
        served = request.id in picked
        if served and request.id in solution.unserved:
            problems.append(f"request {request.id}: both served and listed unserved")
        if not served and request.id not in solution.unserved:
            problems.append(f"request {request.id}: neither served nor listed unserved")
    return problems


def _check_route(data: ProblemData, vehicle: Vehicle, route: Route, requests: dict[str, TripRequest],
                 picked: dict[str, tuple[str, float]], dropped: set[str]) -> list[str]:
    """Problems of one non-empty route; records its pickups and drop-offs in ``picked`` / ``dropped``."""
    tol = TOLERANCE_S
    where = f"vehicle {vehicle.id}"
    problems: list[str] = []
    if route.start_s < vehicle.shift_start_s - tol:
        problems.append(f"{where}: leaves the depot at {route.start_s:.1f} before its shift starts {vehicle.shift_start_s:.1f}")
    if route.end_s > vehicle.shift_end_s + tol:
        problems.append(f"{where}: returns at {route.end_s:.1f} after its shift ends {vehicle.shift_end_s:.1f}")
    if data.max_route_duration_s is not None and route.end_s - route.start_s > data.max_route_duration_s + tol:
        problems.append(f"{where}: route lasts {route.end_s - route.start_s:.1f}, over {data.max_route_duration_s:.1f}")
    points = stop_points(data, route)
    ready, wheelchairs, seats = route.start_s, 0, 0
    for k, stop in enumerate(route.stops):
        request = requests[stop.request_id]
        what = f"request {stop.request_id}: {stop.kind}"
        arrival = ready + data.duration_s[points[k], points[k + 1]]
        if not stop.time_s >= arrival - tol:
            problems.append(f"{where}: {stop.kind} of {stop.request_id} at {stop.time_s:.1f} before it can arrive ({arrival:.1f})")
        earliest, latest = request.window(stop.kind)
        if not earliest - tol <= stop.time_s <= latest + tol:
            problems.append(f"{what} at {stop.time_s:.1f} outside its window [{earliest:.1f}, {latest:.1f}]")
        if stop.kind == "pickup":
            if stop.request_id in picked:
                problems.append(f"request {stop.request_id}: picked up twice")
            picked[stop.request_id] = (vehicle.id, stop.time_s)
            if not fits(vehicle, request):
                problems.append(f"request {stop.request_id}: vehicle {vehicle.id} cannot carry it (capacity or operator)")
            wheelchairs += request.wheelchair_load
            seats += request.seat_load
        else:
            if stop.request_id in dropped:
                problems.append(f"request {stop.request_id}: dropped off twice")
            dropped.add(stop.request_id)
            pick = picked.get(stop.request_id)
            if pick is None or pick[0] != vehicle.id:
                problems.append(f"request {stop.request_id}: dropped off before (or without) its pickup on this vehicle")
            else:
                ride = stop.time_s - (pick[1] + request.service_pickup_s)
                if ride > data.max_ride(request) + tol:
                    problems.append(f"request {stop.request_id}: ride {ride:.1f} exceeds the maximum {data.max_ride(request):.1f}")
            wheelchairs -= request.wheelchair_load
            seats -= request.seat_load
        if wheelchairs > vehicle.wheelchair_places or seats > vehicle.seats:
            problems.append(f"{where}: over capacity after {stop.kind} of {stop.request_id} "
                            f"({wheelchairs}/{vehicle.wheelchair_places} wheelchair, {seats}/{vehicle.seats} seats)")
        ready = stop.time_s + request.service_s(stop.kind)
    back = ready + data.duration_s[points[-2], points[-1]]
    if not route.end_s >= back - tol:
        problems.append(f"{where}: returns at {route.end_s:.1f} before it can ({back:.1f})")
    return problems + _check_break(data, vehicle, route, requests, points)


def _check_break(data: ProblemData, vehicle: Vehicle, route: Route, requests: dict[str, TripRequest],
                 points: list[int]) -> list[str]:
    """Problems with the break of a used route: present, starting in its window, taken at the depot before
    leaving or after returning, or at a stop after its service with nobody on board and before driving on."""
    where, tol = f"vehicle {vehicle.id}", TOLERANCE_S
    if not vehicle.has_break:
        return []
    start, p, m, length = route.break_start_s, route.break_after, len(route.stops), vehicle.break_s
    if start is None:
        return [f"{where}: no break (needs {length:.0f} s starting in [{vehicle.break_earliest_s:.0f}, "
                f"{vehicle.break_latest_s:.0f}])"]
    problems = []
    if not vehicle.break_earliest_s - tol <= start <= vehicle.break_latest_s + tol:
        problems.append(f"{where}: break starts at {start:.1f} outside its window "
                        f"[{vehicle.break_earliest_s:.1f}, {vehicle.break_latest_s:.1f}]")
    if not 0 <= p <= m:
        return problems + [f"{where}: break after stop {p} of {m}"]
    if p == 0:
        free_from, until = vehicle.shift_start_s, route.start_s
    elif p == m:
        free_from, until = route.end_s, vehicle.shift_end_s
    else:
        before = route.stops[p - 1]
        free_from = before.time_s + requests[before.request_id].service_s(before.kind)
        until = route.stops[p].time_s - data.duration_s[points[p], points[p + 1]]
        picked = {s.request_id for s in route.stops[:p] if s.kind == "pickup"}
        dropped = {s.request_id for s in route.stops[:p] if s.kind == "dropoff"}
        if picked - dropped:
            problems.append(f"{where}: break after stop {p} with passengers on board {sorted(picked - dropped)}")
    if start < free_from - tol or start + length > until + tol:
        problems.append(f"{where}: break [{start:.1f}, {start + length:.1f}] does not fit between {free_from:.1f} "
                        f"and {until:.1f}")
    return problems
