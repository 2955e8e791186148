"""Independent solution checker: verifies every constraint without OR-Tools.

Used by all tests and benchmarks. It does not compute schedules; it checks
the times a solution states.
"""

from __future__ import annotations

from routing.problem import ProblemData, fits
from routing.solution import Solution, stop_points

TOLERANCE: float = 1e-6  # seconds (or benchmark units) of slack for float round-off


def check_solution(data: ProblemData, solution: Solution) -> list[str]:
    """Every broken constraint of ``solution`` (empty list: feasible).

    Checks: known vehicles, each used at most once; each request served at
    most once, pickup before drop-off on the same vehicle, or listed unserved;
    operator restrictions; capacities (wheelchair places, seats) after every
    stop; time windows on service start; travel and service times between
    consecutive stops; shift start and end; maximum ride time; route duration.
    """
    tol = TOLERANCE
    problems: list[str] = []
    vehicles, requests = data.vehicle_index(), data.request_index()
    seen_vehicles: set[str] = set()
    picked: dict[str, tuple[str, float]] = {}
    dropped: dict[str, tuple[str, float]] = {}
    for route in solution.routes:
        where = f"vehicle {route.vehicle_id}"
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            problems.append(f"{where}: unknown vehicle")
            continue
        if route.vehicle_id in seen_vehicles:
            problems.append(f"{where}: used by two routes")
        seen_vehicles.add(route.vehicle_id)
        if not route.stops:
            continue
        if any(s.request_id not in requests for s in route.stops):
            problems.append(f"{where}: unknown request in route")
            continue
        points = stop_points(data, route)
        if route.start_s < vehicle.shift_start_s - tol:
            problems.append(f"{where}: leaves the depot at {route.start_s:.1f} before its shift starts {vehicle.shift_start_s:.1f}")
        if route.end_s > vehicle.shift_end_s + tol:
            problems.append(f"{where}: returns at {route.end_s:.1f} after its shift ends {vehicle.shift_end_s:.1f}")
        if data.max_route_duration_s is not None and route.end_s - route.start_s > data.max_route_duration_s + tol:
            problems.append(f"{where}: route lasts {route.end_s - route.start_s:.1f}, over {data.max_route_duration_s:.1f}")
        ready, wheelchairs, seats = route.start_s, 0, 0
        for k, stop in enumerate(route.stops):
            request = requests[stop.request_id]
            arrival = ready + data.duration_s[points[k], points[k + 1]]
            if stop.time_s < arrival - tol:
                problems.append(f"{where}: {stop.kind} of {stop.request_id} at {stop.time_s:.1f} before it can arrive ({arrival:.1f})")
            if stop.kind == "pickup":
                if stop.request_id in picked:
                    problems.append(f"request {stop.request_id}: picked up twice")
                picked[stop.request_id] = (route.vehicle_id, stop.time_s)
                if not fits(vehicle, request):
                    problems.append(f"request {stop.request_id}: vehicle {vehicle.id} cannot carry it (capacity or operator)")
                earliest, latest = request.earliest_pickup_s, request.latest_pickup_s
                wheelchairs += request.wheelchair_load
                seats += request.seat_load
                service = request.service_pickup_s
            else:
                if stop.request_id in dropped:
                    problems.append(f"request {stop.request_id}: dropped off twice")
                dropped[stop.request_id] = (route.vehicle_id, stop.time_s)
                pick = picked.get(stop.request_id)
                if pick is None or pick[0] != route.vehicle_id:
                    problems.append(f"request {stop.request_id}: dropped off before (or without) its pickup on this vehicle")
                else:
                    ride = stop.time_s - (pick[1] + request.service_pickup_s)
                    if ride > data.max_ride(request) + tol:
                        problems.append(f"request {stop.request_id}: ride {ride:.1f} exceeds the maximum {data.max_ride(request):.1f}")
                earliest = request.earliest_dropoff_s if request.earliest_dropoff_s is not None else -float("inf")
                latest = request.latest_dropoff_s if request.latest_dropoff_s is not None else float("inf")
                wheelchairs -= request.wheelchair_load
                seats -= request.seat_load
                service = request.service_dropoff_s
            if not earliest - tol <= stop.time_s <= latest + tol:
                problems.append(f"request {stop.request_id}: {stop.kind} at {stop.time_s:.1f} outside its window [{earliest:.1f}, {latest:.1f}]")
            if wheelchairs > vehicle.wheelchair_places or seats > vehicle.seats:
                problems.append(f"{where}: over capacity after {stop.kind} of {stop.request_id} "
                                f"({wheelchairs}/{vehicle.wheelchair_places} wheelchair, {seats}/{vehicle.seats} seats)")
            ready = stop.time_s + service
        back = ready + data.duration_s[points[-2], points[-1]]
        if route.end_s < back - tol:
            problems.append(f"{where}: returns at {route.end_s:.1f} before it can ({back:.1f})")
    for request_id in picked.keys() - dropped.keys():
        problems.append(f"request {request_id}: picked up but never dropped off")
    for request in data.requests:
        served = request.id in picked
        if served and request.id in solution.unserved:
            problems.append(f"request {request.id}: both served and listed unserved")
        if not served and request.id not in solution.unserved:
            problems.append(f"request {request.id}: neither served nor listed unserved")
    return problems
