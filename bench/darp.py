"""Benchmark the dial-a-ride engine: Cordeau DARP, Li & Lim PDPTW vs VROOM, and an Almaty day.

1. Cordeau (2006) instances in ``--instances`` (default ``../shared/bench/darp-cordeau``,
   any directory of Cordeau-format files with a ``bks.csv`` beside them):
   each solved with ``--time-limit`` seconds, checked by the independent
   checker, cost (Euclidean distance) and gap to the best known solution.
2. Li & Lim PDPTW instances (``--lilim``, default ``../shared/bench/pdptw-lilim``;
   ``--lilim-count`` of them): ours and pyvroom (VROOM) with the same time
   limit, vehicles first then distance; our distance / VROOM's.
3. The synthetic Almaty day: 1 500 requests, 170 vehicles; the booked ones
   solved with ``--time-limit``, the ``--live-share`` others inserted live as
   they arrive, an hour ahead of their pickup (timed, p50/p95), the final
   plan checked.

Writes ``--json`` (default ``bench/results/darp.json``) with ``instances``,
``all_feasible``, ``cordeau_mean_gap``, ``vs_vroom`` (our total Li & Lim cost, vehicles x
10 000 + distance, over VROOM's), ``almaty_served_share``,
``almaty_solve_seconds``, ``insert_p95_ms``.

Usage: ``python bench/darp.py [--instances DIR] [--json PATH] [--time-limit 60]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from routing.checker import check_solution
from routing.evaluate import simulate_day
from routing.literature import read_bks, read_cordeau, read_lilim
from routing.solution import solution_cost
from routing.solver import SolveParams, solve

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = REPO.parent / "shared" / "bench"
LILIM_DEFAULT = ("lc101", "lc105", "lc201", "lr101", "lr105", "lr201", "lrc101", "lrc201")
BENCH_SCALE: float = 1000.0  # integer units per distance unit
VEHICLE_COST: float = 10_000.0  # Li & Lim: vehicles first, then distance


def cordeau(directory: Path, time_limit_s: float) -> list[dict]:
    """Solve every instance of ``directory`` listed in its bks.csv."""
    bks = read_bks(directory / "bks.csv")
    rows = []
    for name in bks.index:
        path = directory / f"{name}.txt"
        if not path.exists():
            continue
        data = read_cordeau(path)
        result = solve(data, SolveParams(time_limit_s=time_limit_s, cost="distance", scale=BENCH_SCALE))
        problems = check_solution(data, result.solution)
        cost = solution_cost(data, result.solution)["distance"]
        complete = not result.solution.unserved
        gap = cost / float(bks.loc[name, "cost"]) - 1 if complete else None
        rows.append({"instance": name, "cost": round(cost, 3), "bks": float(bks.loc[name, "cost"]), "gap": gap,
                     "unserved": len(result.solution.unserved), "feasible": not problems, "seconds": round(result.runtime_s, 1),
                     "verified_bks": str(bks.loc[name].get("verified", "")) == "yes"})
        print(f"  {name:8s} cost {cost:9.2f}  bks {float(bks.loc[name, 'cost']):9.2f}  "
              f"gap {'-' if gap is None else f'{gap:+.2%}'}  unserved {len(result.solution.unserved)}  "
              f"checker {'ok' if not problems else problems[0]}", flush=True)
    return rows


def vroom_solve(data, time_limit_s: float) -> tuple[float, int]:  # noqa: ANN001 - ProblemData
    """VROOM on a Li & Lim instance: (total distance, vehicles used)."""
    import vroom

    problem = vroom.Input()
    matrix = np.round(data.distance_m * 100).astype(np.int64)
    problem.set_durations_matrix("car", matrix)
    for k, v in enumerate(data.vehicles):
        problem.add_vehicle(vroom.Vehicle(k, start=v.depot, end=v.depot, capacity=[v.seats],
                                          time_window=vroom.TimeWindow(int(v.shift_start_s * 100), int(v.shift_end_s * 100)),
                                          costs=vroom.VehicleCosts(fixed=int(VEHICLE_COST * 100))))
    for k, r in enumerate(data.requests):
        window = lambda low, high: [vroom.TimeWindow(int(np.ceil(low * 100)), int(np.floor(high * 100)))]  # noqa: E731
        problem.add_shipment(
            vroom.ShipmentStep(2 * k, r.pickup, default_service=int(round(r.service_pickup_s * 100)),
                               time_windows=window(r.earliest_pickup_s, r.latest_pickup_s)),
            vroom.ShipmentStep(2 * k + 1, r.dropoff, default_service=int(round(r.service_dropoff_s * 100)),
                               time_windows=window(r.earliest_dropoff_s, r.latest_dropoff_s)),
            amount=vroom.Amount([r.seat_load]))
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s))
    routes = solution.routes
    distance = 0.0
    used = 0
    for _, steps in routes.groupby("vehicle_id"):
        points = steps["location_index"].tolist()
        distance += sum(data.distance_m[a, b] for a, b in zip(points[:-1], points[1:]))
        used += 1
    unassigned = len(solution.unassigned) if hasattr(solution, "unassigned") else 0
    if unassigned:
        print(f"    VROOM left {unassigned} tasks unassigned")
    return distance, used


def vroom_ratios(rows: list[dict]) -> dict:
    """Ours / VROOM over the Li & Lim rows: total cost (the objective both minimise: vehicles x
    ``VEHICLE_COST`` + distance), mean distance ratio, vehicles used (None without VROOM)."""
    rows = [r for r in rows if r["ratio"]]
    if not rows:
        return {"vs_vroom": None, "vs_vroom_distance_mean": None, "vehicles_ours": None, "vehicles_vroom": None}
    ours = sum(VEHICLE_COST * r["vehicles"] + r["distance"] for r in rows)
    theirs = sum(VEHICLE_COST * r["vroom_vehicles"] + r["vroom_distance"] for r in rows)
    return {"vs_vroom": round(ours / theirs, 4), "vs_vroom_distance_mean": round(float(np.mean([r["ratio"] for r in rows])), 4),
            "vehicles_ours": sum(r["vehicles"] for r in rows), "vehicles_vroom": sum(r["vroom_vehicles"] for r in rows)}


def lilim(directory: Path, names: list[str], time_limit_s: float) -> list[dict]:
    """Ours vs VROOM on Li & Lim instances."""
    rows = []
    for name in names:
        data = read_lilim(directory / f"{name}.txt")
        result = solve(data, SolveParams(time_limit_s=time_limit_s, cost="distance", scale=BENCH_SCALE,
                                         vehicle_fixed_cost=VEHICLE_COST, construction="ortools"))
        cost = solution_cost(data, result.solution)
        problems = check_solution(data, result.solution)
        try:
            vroom_distance, vroom_vehicles = vroom_solve(data, time_limit_s)
        except ImportError:
            print("pyvroom is not installed (pip install pyvroom): skipping the VROOM peer")
            vroom_distance, vroom_vehicles = float("nan"), 0
        rows.append({"instance": name, "distance": round(cost["distance"], 2), "vehicles": int(cost["vehicles_used"]),
                     "unserved": len(result.solution.unserved), "feasible": not problems,
                     "vroom_distance": round(vroom_distance, 2), "vroom_vehicles": vroom_vehicles,
                     "ratio": cost["distance"] / vroom_distance if vroom_distance else None})
        print(f"  {name:7s} ours {cost['distance']:8.1f} ({int(cost['vehicles_used'])} veh, {len(result.solution.unserved)} unserved, "
              f"checker {'ok' if not problems else problems[0]})  VROOM {vroom_distance:8.1f} ({vroom_vehicles} veh)", flush=True)
    return rows


def almaty(live_share: float, time_limit_s: float) -> dict:
    """The synthetic Almaty day: solve the booked requests, insert the rest live as they arrive (``routing.evaluate``)."""
    from data.dataset import dataset_date, ensure_dataset, load_fleet, load_trips
    from routing.almaty import build_problem

    directory = ensure_dataset()
    started = time.perf_counter()
    problem = build_problem(load_trips(directory), load_fleet(directory), dataset_date(directory))  # no cache: timed
    matrix_s = time.perf_counter() - started
    points = len(problem.data.duration_s)
    print(f"  Almaty matrix: {points} points (depots, pickups, drop-offs), times and distances in {matrix_s:.1f} s "
          "(uncached)", flush=True)
    report = simulate_day(problem.data, SolveParams(time_limit_s=time_limit_s), live_share=live_share)  # tenge
    print(f"  Almaty day: {report.requests} requests ({report.live_requests} arriving live), "
          f"{len(problem.data.vehicles)} vehicles -> served {report.served_share:.2%}; booked part solved in "
          f"{report.solve_seconds:.1f} s; live insertion p50 {report.insert_ms_p50:.1f} ms, "
          f"p95 {report.insert_ms_p95:.1f} ms, max {report.insert_ms_max:.1f} ms; checker "
          f"{'ok' if not report.violations else f'{report.violations} violations'}", flush=True)
    return {"almaty_matrix_points": points, "almaty_matrix_seconds": round(matrix_s, 1),
            "almaty_requests": report.requests, "almaty_served_share": round(report.served_share, 4),
            "almaty_solve_seconds": round(report.solve_seconds, 1), "almaty_live_requests": report.live_requests,
            "almaty_live_inserted": report.live_inserted, "almaty_feasible": report.violations == 0,
            "insert_p50_ms": round(report.insert_ms_p50, 1), "insert_p95_ms": round(report.insert_ms_p95, 1),
            "insert_max_ms": round(report.insert_ms_max, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=Path, default=SHARED_BENCH / "darp-cordeau")
    parser.add_argument("--lilim", type=Path, default=SHARED_BENCH / "pdptw-lilim")
    parser.add_argument("--lilim-count", type=int, default=len(LILIM_DEFAULT))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "darp.json")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--live-share", type=float, default=0.1, help="share of the Almaty day's requests inserted live")
    parser.add_argument("--skip-almaty", action="store_true")
    args = parser.parse_args()
    if not (args.instances / "bks.csv").exists():
        print(f"no Cordeau instances with a bks.csv in {args.instances}: the shared benchmarks are missing "
              "(expected ../shared/bench beside the repository, or pass --instances DIR)")
        sys.exit(0)
    print(f"Cordeau instances in {args.instances}, {args.time_limit:.0f} s each:")
    rows = cordeau(args.instances, args.time_limit)
    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    result: dict = {"instances": len(rows), "cordeau": rows,
                    "cordeau_mean_gap": round(float(np.mean(gaps)), 5) if gaps else None,
                    "cordeau_complete": sum(r["unserved"] == 0 for r in rows)}
    print(f"Cordeau mean gap {result['cordeau_mean_gap']:.2%} over {len(gaps)} complete solutions of {len(rows)}")
    feasible = all(r["feasible"] for r in rows)
    if (args.lilim / "bks.csv").exists():
        names = [n for n in LILIM_DEFAULT if (args.lilim / f"{n}.txt").exists()][: args.lilim_count]
        print(f"Li & Lim vs VROOM, {args.time_limit:.0f} s each:")
        li = lilim(args.lilim, names, args.time_limit)
        result.update(lilim=li, **vroom_ratios(li))
        print(f"ours / VROOM: total cost (vehicles x {VEHICLE_COST:.0f} + distance) {result['vs_vroom']}, "
              f"distance: mean ratio {result['vs_vroom_distance_mean']}, vehicles {result['vehicles_ours']} vs "
              f"{result['vehicles_vroom']}")
    if not args.skip_almaty:
        print("Almaty synthetic day:")
        almaty_result = almaty(args.live_share, args.time_limit)
        feasible &= almaty_result.pop("almaty_feasible")
        result.update(almaty_result)
    result["all_feasible"] = feasible
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
