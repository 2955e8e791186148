"""Run the day's dispatch and write routes (CSV, GeoJSON of the driven path), unserved requests, a summary and KPIs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from geo.crs import UTM43N, WGS84
from geo.shortest_paths import profile_graph
from data.dataset import load_fleet
from routing.almaty import AlmatyProblem, build_problem
from routing.checker import check_solution
from routing.kpi import service_kpis
from routing.problem import ProblemData
from routing.solution import Solution, route_points, solution_cost
from routing.solver import SolveParams, SolveResult, solve
from data.trips import read_trips


def clock(seconds: float, date: dt.date) -> str:
    """ISO local date-time of ``seconds`` after midnight of ``date``."""
    return (pd.Timestamp(date) + pd.Timedelta(seconds=round(seconds))).isoformat()


def driven_paths(problem: AlmatyProblem, solution: Solution) -> dict[str, tuple[list[tuple[float, float]], float]]:
    """Per vehicle: the driven path on the drive network (UTM 43N vertices) and its length in metres."""
    graph = profile_graph("drive")
    nodes = problem.points["node"].to_numpy()
    requests = problem.data.request_index()
    legs: dict[str, list[tuple[int, int]]] = {}
    for route in solution.routes:
        if not route.stops:
            continue
        pts = route_points(requests, problem.data.vehicle_index()[route.vehicle_id], route.stops)
        legs[route.vehicle_id] = [(int(nodes[a]), int(nodes[b])) for a, b in zip(pts[:-1], pts[1:])]
    sources = sorted({a for leg in legs.values() for a, _ in leg})
    if not sources:
        return {}
    _, predecessors = dijkstra(graph.forward, directed=True, indices=sources, return_predecessors=True)
    row = {s: k for k, s in enumerate(sources)}
    length = graph.length.tocsr()
    paths = {}
    for vehicle_id, vehicle_legs in legs.items():
        vertices: list[tuple[float, float]] = []
        metres = 0.0
        for a, b in vehicle_legs:
            chain = [b]
            while chain[-1] != a and chain[-1] >= 0:
                chain.append(int(predecessors[row[a], chain[-1]]))
            chain.reverse()
            metres += float(sum(length[u, v] for u, v in zip(chain[:-1], chain[1:])))
            vertices += [tuple(graph.xy[n]) for n in chain]
        paths[vehicle_id] = (vertices, metres)
    return paths


def route_table(problem: AlmatyProblem, solution: Solution, operator_of: dict[str, str]) -> pd.DataFrame:
    """One row per stop: vehicle, operator, order, request, kind, time, coordinates."""
    points = problem.points.set_index(["kind", "ref"])
    rows = []
    for route in solution.routes:
        for order, stop in enumerate(route.stops, start=1):
            where = points.loc[(stop.kind, stop.request_id)]
            rows.append({"vehicle_id": route.vehicle_id, "operator": operator_of[route.vehicle_id], "stop": order,
                         "request_id": stop.request_id, "kind": stop.kind, "time": clock(stop.time_s, problem.date),
                         "lon": round(float(where["lon"]), 6), "lat": round(float(where["lat"]), 6)})
    return pd.DataFrame(rows, columns=["vehicle_id", "operator", "stop", "request_id", "kind", "time", "lon", "lat"])


def write_dispatch_outputs(problem: AlmatyProblem, result: SolveResult, out: Path, result_params: SolveParams,
                           policy: str = "pooled") -> dict:
    """Write routes.csv, routes.geojson (driven paths and stops), unserved.csv and summary.json (with the KPIs of
    ``routing.kpi``); return the summary. ``result_params`` are the parameters ``result`` was solved with."""
    out.mkdir(parents=True, exist_ok=True)
    data: ProblemData = problem.data
    solution = result.solution
    operator_of = {v.id: v.operator for v in data.vehicles}
    stops = route_table(problem, solution, operator_of)
    stops.to_csv(out / "routes.csv", index=False)
    paths = driven_paths(problem, solution)
    features = []
    for route in solution.routes:
        if route.vehicle_id in paths:
            vertices, metres = paths[route.vehicle_id]
            features.append({"vehicle_id": route.vehicle_id, "operator": operator_of[route.vehicle_id], "kind": "path",
                             "stops": len(route.stops), "km": round(metres / 1000, 2), "start": clock(route.start_s, problem.date),
                             "end": clock(route.end_s, problem.date), "geometry": LineString(vertices) if len(vertices) > 1 else Point(vertices[0])})
    layer = gpd.GeoDataFrame(features, geometry="geometry", crs=UTM43N).to_crs(WGS84) if features else gpd.GeoDataFrame(geometry=[], crs=WGS84)
    stop_points = gpd.GeoDataFrame(stops, geometry=gpd.points_from_xy(stops["lon"], stops["lat"]), crs=WGS84)
    pd.concat([layer, stop_points], ignore_index=True).to_file(out / "routes.geojson", driver="GeoJSON")
    unserved = {**problem.off_network, **solution.unserved}
    pd.DataFrame({"request_id": list(unserved), "reason": list(unserved.values())}).to_csv(out / "unserved.csv", index=False)
    cost = solution_cost(data, solution)
    total = len(data.requests) + len(problem.off_network)
    served_by_operator = stops[stops["kind"] == "pickup"].groupby("operator").size()
    kpis = service_kpis(data, solution, problem.off_network, result_params.tenge)
    summary = {
        "date": problem.date.isoformat(), "policy": policy, "requests": total, "served": int(cost["served"]),
        "unserved": total - int(cost["served"]), "served_share": round(cost["served"] / total, 4),
        "vehicles_used": int(cost["vehicles_used"]), "total_km": round(sum(m for _, m in paths.values()) / 1000, 1),
        "vehicle_hours": kpis["total"]["vehicle_hours"],  # paid: depot to depot less breaks taken inside a route
        "driving_hours": round(cost["driving_time"] / 3600, 1),
        "operating_tg": kpis["total"]["operating_tg"], "cost_per_trip_tg": kpis["total"]["cost_per_trip_tg"],
        "trips_per_revenue_hour": kpis["total"]["trips_per_revenue_hour"],
        "objective": int(result.objective), "objective_unit": result_params.cost,
        "solve_seconds": round(result.runtime_s, 1), "status": result.status,
        "served_by_operator": {k: int(v) for k, v in served_by_operator.items()},
        "checker_violations": len(check_solution(data, solution)), "kpis": kpis,
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    return summary


def run_dispatch(requests_csv: Path, date: dt.date, time_limit_s: float, out: Path, data_dir: Path | None,
                 console: Console, policy: str = "pooled", params: SolveParams | None = None) -> dict:
    """Read the trips, build the Almaty problem under ``policy``, solve, write the outputs and print a summary.

    ``params`` are the solver parameters (default: the tenge objective with ``time_limit_s`` seconds).
    """
    params = params or SolveParams(time_limit_s=time_limit_s)
    trips = read_trips(requests_csv)
    with console.status("travel-time matrix on the Almaty drive network"):
        problem = build_problem(trips, load_fleet(data_dir), date, cache_dir=out / "cache", policy=policy)
    limit = (f"work limit {params.solution_limit} solutions + {params.iterations} iterations, seed {params.seed}"
             if params.work_limited else f"time limit {params.time_limit_s:.0f} s")
    with console.status(f"assigning {len(problem.data.requests):,} requests to {len(problem.data.vehicles)} vehicles "
                        f"({policy}, {limit})"):
        result = solve(problem.data, params)
    summary = write_dispatch_outputs(problem, result, out, params, policy)
    table = Table(title=f"Dispatch {summary['date']} ({policy})")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("requests", "served", "unserved", "served_share", "vehicles_used", "total_km", "vehicle_hours",
                "operating_tg", "cost_per_trip_tg", "trips_per_revenue_hour", "solve_seconds"):
        table.add_row(key, f"{summary[key]:,}" if isinstance(summary[key], int) else str(summary[key]))
    console.print(table)
    console.print(f"outputs in [bold]{out}[/bold] (routes.csv, routes.geojson, unserved.csv, summary.json)")
    return summary

