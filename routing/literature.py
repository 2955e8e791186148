"""Parsers for the routing benchmarks of the literature (formats in ``shared/bench/FORMATS.md``).

* Cordeau (2006) dial-a-ride "a"/"b" instances: ``K n T Q L`` header, then
  2n+2 node lines ``id x y s q e l`` (pickup i pairs with drop-off i+n).
* Cordeau & Laporte (2003) instances pr01-pr20: the same node lines, but the
  header is ``K 2n T Q L`` (it counts nodes) and there is no destination-depot
  line; the depot's window [0, 1440] is the day, T limits each route's duration.
  Their 2003 tabu-search solutions (``.res``: cost, then one route per line
  with node ids each followed by ``(…)``) are read by :func:`read_cordeau_solution`.
* Li & Lim (2001) PDPTW instances: ``K Q speed`` header, then node lines
  ``id x y demand e l s p d`` (pairs given by the p / d fields), and the
  SINTEF best-known route files (``Route k : n1 n2 ...``).

Both become :class:`routing.problem.ProblemData` with Euclidean matrices
(speed 1: time units equal distance units).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from routing.problem import ProblemData, StopKind, TripRequest, Vehicle
from routing.schedule import schedule
from routing.solution import Solution

BENCH_OPERATOR: str = "bench"
NO_WINDOW: float = 1440.0  # Cordeau's "no constraint" upper bound


def _euclidean(xy: np.ndarray) -> np.ndarray:
    return np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])


def _numbers(path: Path) -> list[list[float]]:
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    try:
        return [[float(v) for v in row] for row in rows]
    except ValueError as error:
        raise ValueError(f"{path}: not a numeric benchmark file ({error})") from None


def read_cordeau(path: str | Path) -> ProblemData:
    """A Cordeau DARP instance, a/b (2006) or pr (2003) format (told apart by the node count).

    K vehicles of capacity Q (seats); each route lasts at most T and runs inside
    the depot's window; each ride lasts at most L (minutes, Euclidean distance
    at speed 1).
    """
    rows = _numbers(Path(path))
    k, size, max_duration, capacity, max_ride = rows[0][:5]
    k, size = int(k), int(size)
    nodes = np.array(rows[1:], dtype=float)
    n = size // 2 if len(nodes) == size + 1 else size  # pr header counts nodes; a/b counts requests
    if len(nodes) == 2 * n + 1:  # pr files, and some a/b copies, have no destination-depot line
        nodes = np.vstack([nodes, nodes[0]])
    if len(nodes) != 2 * n + 2:
        raise ValueError(f"{path}: expected {2 * n + 2} node lines, found {len(nodes)}")
    day_end = min(nodes[0, 6], NO_WINDOW)
    matrix = _euclidean(nodes[:, 1:3])
    requests = []
    for i in range(1, n + 1):
        pick, drop = nodes[i], nodes[i + n]
        requests.append(TripRequest(
            id=str(i), pickup=i, dropoff=i + n,
            earliest_pickup_s=pick[5], latest_pickup_s=min(pick[6], day_end),
            earliest_dropoff_s=drop[5], latest_dropoff_s=min(drop[6], day_end) if drop[6] < NO_WINDOW else None,
            companions=int(pick[4]) - 1, service_pickup_s=pick[3], service_dropoff_s=drop[3], max_ride_s=max_ride,
        ))
    vehicles = [Vehicle(f"v{j}", BENCH_OPERATOR, 0, nodes[0, 5], day_end, 0, int(capacity)) for j in range(k)]
    return ProblemData(tuple(vehicles), tuple(requests), matrix, matrix, max_route_duration_s=max_duration)


def read_cordeau_solution(path: str | Path, data: ProblemData) -> tuple[Solution, float]:
    """A Cordeau & Laporte ``.res`` solution for ``data``, timed exactly, and the cost it states.

    Raises
    ------
    ValueError
        A route cannot be timed feasibly, or there are more routes than vehicles.
    """
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    node_routes = [nodes for nodes in ([int(v) for v in re.findall(r"(?<![\d.])(\d+)\s*\(", line)] for line in lines[1:])
                   if nodes]  # route lines: node ids each followed by "(…)"; the totals below them have none
    if not node_routes:
        raise ValueError(f"{path}: no route lines")
    depot = 0
    routes = [[v for v in r if v != depot] for r in node_routes]
    return timed_solution(data, routes, source=str(path)), float(lines[0].split()[0])


def read_lilim(path: str | Path) -> ProblemData:
    """A Li & Lim PDPTW instance: up to K vehicles of capacity Q; no ride-time limit."""
    rows = _numbers(Path(path))
    k, capacity = int(rows[0][0]), int(rows[0][1])
    nodes = np.array(rows[1:], dtype=float)
    matrix = _euclidean(nodes[:, 1:3])
    horizon = nodes[0, 5]
    requests = []
    for row in nodes[1:]:
        if row[7] == 0 and row[8] > 0:  # a pickup: p field 0, d field its delivery
            drop = nodes[int(row[8])]
            requests.append(TripRequest(
                id=str(int(row[0])), pickup=int(row[0]), dropoff=int(row[8]),
                earliest_pickup_s=row[4], latest_pickup_s=row[5],
                earliest_dropoff_s=drop[4], latest_dropoff_s=drop[5],
                companions=int(row[3]) - 1, service_pickup_s=row[6], service_dropoff_s=drop[6], max_ride_s=horizon,
            ))
    vehicles = [Vehicle(f"v{j}", BENCH_OPERATOR, 0, float(nodes[0, 4]), horizon, 0, capacity) for j in range(k)]
    return ProblemData(tuple(vehicles), tuple(requests), matrix, matrix)


def read_sintef_solution(path: str | Path, data: ProblemData) -> Solution:
    """A SINTEF route file (node ids per route, depot omitted) for a Li & Lim ``data``, timed exactly.

    Raises
    ------
    ValueError
        A route cannot be timed feasibly, or there are more routes than vehicles.
    """
    node_routes = [[int(v) for v in line.split(":", 1)[1].split()]
                   for line in Path(path).read_text().splitlines() if line.strip().lower().startswith("route")]
    return timed_solution(data, node_routes, source=str(path))


def timed_solution(data: ProblemData, node_routes: list[list[int]], source: str = "routes") -> Solution:
    """Routes given as matrix indices of stops (depot omitted) on ``data``'s vehicles in order, timed exactly.

    For solutions from elsewhere (published files, other solvers): each route gets
    the earliest feasible times of :func:`routing.schedule.schedule`; requests in
    no route are unserved.

    Raises
    ------
    ValueError
        A route cannot be timed feasibly (named with ``source``), or there are more
        routes than vehicles.
    """
    stop_of: dict[int, tuple[TripRequest, StopKind]] = {}
    for request in data.requests:
        stop_of[request.pickup], stop_of[request.dropoff] = (request, "pickup"), (request, "dropoff")
    if len(node_routes) > len(data.vehicles):
        raise ValueError(f"{source}: {len(node_routes)} routes for {len(data.vehicles)} vehicles")
    routes = []
    for vehicle, nodes in zip(data.vehicles, node_routes):
        route = schedule(data, vehicle, [stop_of[n] for n in nodes])
        if route is None:
            raise ValueError(f"{source}: route {nodes} cannot be timed feasibly")
        routes.append(route)
    served = {s.request_id for r in routes for s in r.stops}
    return Solution(tuple(routes), {r.id: "not in the route file" for r in data.requests if r.id not in served})


def read_bks(path: str | Path) -> pd.DataFrame:
    """A best-known-solutions table (``bks.csv``) indexed by instance name (first column).

    Needs a ``cost`` column (the best known cost); ``verified`` (yes/no) and
    ``ts2003_cost`` are optional.
    """
    table = pd.read_csv(path)
    table.columns = [c.strip().lower() for c in table.columns]
    if "cost" not in table.columns:
        raise ValueError(f"{path}: no 'cost' column (the best known cost per instance); columns: {list(table.columns)}")
    return table.set_index(table.columns[0])
