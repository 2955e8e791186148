"""Benchmark the dial-a-ride engine: Cordeau DARP (a and pr sets), Li & Lim PDPTW vs VROOM, and an Almaty day.

1. Cordeau-format instances: ``--instances`` (default ``../shared/bench/darp-cordeau``, the
   2006 a-set) and ``--pr`` (default ``../shared/bench/darp-cordeau-pr``, the 2003 pr01-pr20),
   or any directory of Cordeau-format files (a/b or pr) with a ``bks.csv`` beside them. Each
   instance is solved with ``--time-limit`` seconds, checked by the independent checker, and
   its cost (Euclidean distance) compared with the best known (``cost``; the table's
   ``verified`` column says which are proven) and, where given, the 2003 tabu search's
   verified cost (``ts2003_cost``). Passing ``--instances`` alone runs only that directory.
2. Li & Lim PDPTW instances (``--lilim``): the eight named in ``LILIM_DEFAULT`` always, more
   with ``--lilim-count``; ours and pyvroom (VROOM) with the same time limit, the same
   objective (vehicles x 10 000 + distance; an unserved request priced as a vehicle), VROOM's
   run time recorded and its routes timed exactly and passed through our checker.
3. The synthetic Almaty day (tenge objective, driver breaks: the compiled search, which models
   both; the ``search`` key says which improver each part ran),
   each solve with ``--almaty-time-limit`` (default 60 s): the booked requests solved and the
   ``--live-share`` others inserted live as they arrive, an hour ahead of their pickup (timed,
   p50/p95), the final plan checked; the live part runs with the repair of a booking that fits
   nowhere as the plan stands (``routing.repair``: ``almaty_live_repaired`` bookings placed by
   moving booked trips, ``insert_repair_*_ms`` the calls that ran it) and again from the same
   solved plan without it (``almaty_served_share_no_repair``, ``insert_no_repair_*_ms``);
   then the whole day solved at once, with ``ALMATY_DAY_SEEDS`` seeds, against a run
   ``--reference-factor`` (default 10) times longer (``almaty_km_vs_long_run``: the mean over
   the seeds; ``almaty_km_vs_long_run_best``), and a doubled
   day (twice the requests, from the demand generator, same users, fleet and date:
   ``almaty2x_served_share``, ``almaty2x_km_vs_1x``, ``almaty2x_vehicle_hours_vs_1x``; its run
   in ``almaty_runs`` also says whether its unserved requests fit the final plan and how busy the
   vehicles on shift are hour by hour: ``saturation``), and the doubled day with the fleet doubled
   too (every vehicle twice, same depot and shift: ``almaty2x_fleet2x_served_share``), which tells
   the search's limit from the fleet's.
   ``--almaty-only`` runs just this part and merges its keys into an existing ``--json``;
   ``--skip-almaty`` keeps the Almaty keys an existing ``--json`` has.

Seeds: ``--seeds N`` solves every benchmark instance with seeds 0..N-1; each instance row has
the mean (``cost``, ``gap``), the best (``cost_best``, ``gap_best``) and each seed's cost, and
the summary keys are means over instances of the per-instance means (``*_mean_gap_best``: of
the bests). VROOM is deterministic and runs once per instance.

Solves run in ``--workers`` processes (default: one per core), one (instance, seed) per task,
each single-threaded (OR-Tools routing and our searches are single-threaded; VROOM gets
``nb_threads=1``); the CPU, cores, workers and ``threads_per_solve`` are written into the
results. The compiled search's numba compilation is done once before the timed solves
(``numba_warm_up_s``: seconds it took, near zero when numba's on-disk cache is warm). A full
run takes about (24 + 20 + 8) instances x seeds x ``--time-limit`` / workers, plus VROOM's
seconds, plus the Almaty part (about ``--reference-factor`` + 3 times ``--almaty-time-limit``
and the matrices, with two workers).

Writes ``--json`` (default ``bench/results/darp.json``) with ``cordeau_mean_gap``,
``cordeau_max_gap``, ``cordeau_mean_gap_verified``, ``cordeau_mean_gap_unverified``,
``pr_mean_gap``, ``pr_beats_ts2003``, ``vs_vroom``, ``almaty_served_share``,
``insert_p95_ms``, ``almaty_km_vs_long_run``, ``almaty2x_served_share``, ``all_feasible``
and the per-instance rows.

Usage: ``python bench/darp.py [--instances DIR] [--pr DIR] [--json PATH] [--time-limit 60]
[--seeds 3] [--workers 2] [--lilim-count 8] [--skip-almaty | --almaty-only]
[--almaty-time-limit 60] [--reference-factor 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from routing.alns import handles as alns_handles, warm_up
from routing.checker import check_solution
from routing.darp_kernel import Arrays
from routing.evaluate import simulate_day
from routing.repair import REPAIR_BUDGET_S
from routing.literature import read_bks, read_cordeau, read_lilim, timed_solution
from routing.solution import solution_cost
from routing.solver import SolveParams, solve

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = REPO.parent / "shared" / "bench"
LILIM_DEFAULT = ("lc101", "lc105", "lc201", "lr101", "lr105", "lr201", "lrc101", "lrc201")
BENCH_SCALE: float = 1000.0  # integer units per distance unit
VEHICLE_COST: float = 10_000.0  # Li & Lim: vehicles first, then distance
UNSERVED_COST: float = VEHICLE_COST  # an unserved request costs as much as one more vehicle (ours and VROOM's alike)
BKS_ROUNDING: float = 0.01  # the tables give distances to 2-4 decimals; ours are rounded to 2
NEAR_OPTIMAL: float = 0.0005  # "within 0.05 %" of the best known


def _solve_cordeau(task: tuple[Path, float, int]) -> dict:
    """One Cordeau-format instance solved with one seed and checked (a process-pool task)."""
    path, time_limit_s, seed = task
    data = read_cordeau(path)
    params = SolveParams(time_limit_s=time_limit_s, cost="distance", scale=BENCH_SCALE, seed=seed)
    result = solve(data, params)
    problems = check_solution(data, result.solution)
    return {"instance": path.stem, "seed": seed, "search": search_used(data, params),
            "cost": round(solution_cost(data, result.solution)["distance"], 3),
            "unserved": len(result.solution.unserved), "feasible": not problems,
            "first_problem": problems[0] if problems else None, "seconds": round(result.runtime_s, 1),
            "iterations": result.search_iterations}


def _parallel(function: Callable, tasks: list, workers: int) -> Iterable:
    if workers <= 1:
        yield from map(function, tasks)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(function, tasks)


def _by_instance(runs: Iterable[dict], seeds: int) -> Iterable[list[dict]]:
    """Group the runs of one instance (``seeds`` consecutive results of the pool) together."""
    group: list[dict] = []
    for run in runs:
        group.append(run)
        if len(group) == seeds:
            yield group
            group = []


def _over_seeds(runs: list[dict], key: str) -> dict:
    """Mean and best (lowest) of ``key`` over the seeds' runs, and each seed's value."""
    values = [r[key] for r in runs]
    return {key: round(float(np.mean(values)), 3), f"{key}_best": min(values), f"{key}_by_seed": values}


def cordeau(directory: Path, time_limit_s: float, workers: int, seeds: int = 1) -> list[dict]:
    """Solve every instance of ``directory`` listed in its bks.csv with ``seeds`` seeds.

    Per instance: the cost's mean over seeds (``cost``, with ``gap`` to the best
    known ``bks``) and its best (``cost_best``, ``gap_best``); gaps are None
    unless every seed served every request. Against the 2003 tabu search
    (``ts2003_cost``) the mean cost is compared. ``iterations``: the compiled
    search's mean steps per solve (the machine's speed, for comparing runs).
    """
    bks = read_bks(directory / "bks.csv")
    names = [name for name in bks.index if (directory / f"{name}.txt").exists()]
    tasks = [(directory / f"{n}.txt", time_limit_s, seed) for n in names for seed in range(seeds)]
    bks = pd.read_csv(directory / "bks.csv", index_col=0) if (directory / "bks.csv").exists() else pd.DataFrame()
    rows = []
    for runs in _by_instance(_parallel(_solve_cordeau, tasks, workers), seeds):
        known = bks.loc[runs[0]["instance"]]
        complete = all(r["unserved"] == 0 for r in runs)
        problems = [r["first_problem"] for r in runs if r["first_problem"]]
        row = {"instance": runs[0]["instance"], "seeds": seeds, "search": runs[0]["search"], **_over_seeds(runs, "cost"),
               "unserved": max(r["unserved"] for r in runs), "feasible": all(r["feasible"] for r in runs),
               "first_problem": problems[0] if problems else None, "seconds": max(r["seconds"] for r in runs),
               "iterations": round(float(np.mean([r["iterations"] for r in runs])))}
        row.update(bks=float(known["cost"]), verified_bks=str(known.get("verified", "")).strip() == "yes",
                   gap=round(row["cost"] / float(known["cost"]) - 1, 5) if complete else None,
                   gap_best=round(row["cost_best"] / float(known["cost"]) - 1, 5) if complete else None)
        if pd.notna(known.get("ts2003_cost")):
            row.update(ts2003_cost=float(known["ts2003_cost"]),
                       beats_ts2003=complete and round(row["cost"], 2) <= float(known["ts2003_cost"]))
        rows.append(row)
        gap = "-" if row["gap"] is None else f"{row['gap']:+.2%} (best {row['gap_best']:+.2%})"
        print(f"  {row['instance']:8s} cost {row['cost']:9.2f} (best {row['cost_best']:9.2f})  bks {row['bks']:9.2f}  "
              f"gap {gap}  unserved {row['unserved']}  checker {row['first_problem'] or 'ok'}", flush=True)
    return rows


def set_summary(prefix: str, rows: list[dict]) -> dict:
    """Mean and max gap (fraction) over complete solutions, split by verified and unverified best knowns."""
    def mean(values: list[float]) -> float | None:
        return round(float(np.mean(values)), 5) if values else None

    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    summary = {
        f"{prefix}_instances": len(rows),
        f"{prefix}_complete": len(gaps),
        f"{prefix}_mean_gap": mean(gaps),
        f"{prefix}_max_gap": round(max(gaps), 5) if gaps else None,
        f"{prefix}_mean_gap_best": mean([r["gap_best"] for r in rows if r["gap_best"] is not None]),
        f"{prefix}_mean_gap_verified": mean([r["gap"] for r in rows if r["gap"] is not None and r["verified_bks"]]),
        f"{prefix}_mean_gap_unverified": mean([r["gap"] for r in rows if r["gap"] is not None and not r["verified_bks"]]),
        f"{prefix}_verified_instances": sum(r["verified_bks"] for r in rows),
        f"{prefix}_within_0_05pct": sum(g <= NEAR_OPTIMAL for g in gaps),
    }
    if any("ts2003_cost" in r for r in rows):
        summary[f"{prefix}_beats_ts2003"] = sum(bool(r.get("beats_ts2003")) for r in rows)
        summary[f"{prefix}_mean_gap_ts2003"] = mean([r["cost"] / r["ts2003_cost"] - 1 for r in rows
                                                         if r["gap"] is not None and "ts2003_cost" in r])
    return summary


def vroom_solve(data, time_limit_s: float) -> dict:  # noqa: ANN001 - ProblemData
    """VROOM on a Li & Lim instance (one thread, ``time_limit_s``), its routes timed and checked by ours.

    Returns distance, vehicles used, unassigned requests, run time (s) and whether
    our checker accepts its routes.
    """
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
    started = time.perf_counter()
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s))
    seconds = time.perf_counter() - started
    steps = solution.routes
    steps = steps[steps["type"].isin(["pickup", "delivery"])]
    node_routes = [group["location_index"].astype(int).tolist() for _, group in steps.groupby("vehicle_id", sort=True)]
    try:
        ours = timed_solution(data, node_routes, source="VROOM")
        problems = check_solution(data, ours)
        cost = solution_cost(data, ours)
        distance, used, unserved = cost["distance"], int(cost["vehicles_used"]), len(ours.unserved)
    except ValueError as error:  # a route our exact scheduler cannot time: infeasible for our checker
        problems = [str(error)]
        distance, used, unserved = float("nan"), len(node_routes), len(data.requests) - len(steps) // 2
    return {"vroom_distance": round(distance, 2), "vroom_vehicles": used, "vroom_unserved": unserved,
            "vroom_seconds": round(seconds, 1), "vroom_feasible": not problems}


def total_cost(vehicles: int, distance: float, unserved: int) -> float:
    """The Li & Lim objective both solvers get: vehicles first, then distance; unserved priced as vehicles."""
    return VEHICLE_COST * vehicles + distance + UNSERVED_COST * unserved


def vroom_ratios(rows: list[dict]) -> dict:
    """Ours / VROOM over the Li & Lim rows where VROOM ran: total cost, mean distance ratio, vehicles used."""
    rows = [r for r in rows if "vroom_distance" in r and not np.isnan(r["vroom_distance"])]
    if not rows:
        return {"vs_vroom": None, "vs_vroom_distance_mean": None, "vehicles_ours": None, "vehicles_vroom": None}
    ours = sum(total_cost(r["vehicles"], r["distance"], r["unserved"]) for r in rows)
    theirs = sum(total_cost(r["vroom_vehicles"], r["vroom_distance"], r["vroom_unserved"]) for r in rows)
    known = [r for r in rows if "bks_vehicles" in r]
    floor = {} if len(known) < len(rows) else {  # the ratio a solver at the best known on every instance would get
        "vs_vroom_at_bks": round(sum(total_cost(r["bks_vehicles"], r["bks_distance"], 0) for r in rows) / theirs, 4),
        "lilim_at_bks": sum(r["at_bks"] for r in rows)}
    return {**floor, "vs_vroom": round(ours / theirs, 4),
            "vs_vroom_best": round(sum(r.get("total_best", total_cost(r["vehicles"], r["distance"], r["unserved"]))
                                       for r in rows) / theirs, 4),
            "vs_vroom_distance_mean": round(float(np.mean([r["distance"] / r["vroom_distance"] for r in rows])), 4),
            "vehicles_ours": round(sum(r["vehicles"] for r in rows), 2),
            "vehicles_vroom": sum(r["vroom_vehicles"] for r in rows),
            "unserved_ours": round(sum(r["unserved"] for r in rows), 2), "unserved_vroom": sum(r["vroom_unserved"] for r in rows),
            "vroom_all_feasible": all(r["vroom_feasible"] for r in rows),
            "vroom_seconds_mean": round(float(np.mean([r["vroom_seconds"] for r in rows])), 1)}


def _solve_lilim(task: tuple[Path, float, int]) -> dict:
    """One Li & Lim instance with one seed; VROOM with the same limit on the seed-0 task (a process-pool task)."""
    path, time_limit_s, seed = task
    data = read_lilim(path)
    params = SolveParams(time_limit_s=time_limit_s, cost="distance", scale=BENCH_SCALE,
                         vehicle_fixed_cost=VEHICLE_COST, construction="ortools", seed=seed)
    result = solve(data, params)
    cost = solution_cost(data, result.solution)
    problems = check_solution(data, result.solution)
    row = {"instance": path.stem, "search": search_used(data, params), "distance": round(cost["distance"], 2), "vehicles": int(cost["vehicles_used"]),
           "unserved": len(result.solution.unserved), "feasible": not problems, "seconds": round(result.runtime_s, 1)}
    if seed == 0:
        try:
            row.update(vroom_solve(data, time_limit_s))
        except ImportError:
            print("pyvroom is not installed (pip install pyvroom): skipping the VROOM peer")
    return row


def lilim(directory: Path, names: list[str], time_limit_s: float, workers: int, seeds: int = 1) -> list[dict]:
    """Ours (``seeds`` seeds) vs VROOM (deterministic: run once) on Li & Lim instances.

    Per instance: vehicles, distance and unserved are means over the seeds
    (``total`` their total cost); ``total_best`` is the best seed's total
    cost, with its ``vehicles_best`` and ``distance_best``.
    """
    tasks = [(directory / f"{n}.txt", time_limit_s, seed) for n in names for seed in range(seeds)]
    bks = pd.read_csv(directory / "bks.csv", index_col=0) if (directory / "bks.csv").exists() else pd.DataFrame()
    rows = []
    for runs in _by_instance(_parallel(_solve_lilim, tasks, workers), seeds):
        totals = [total_cost(r["vehicles"], r["distance"], r["unserved"]) for r in runs]
        best = runs[int(np.argmin(totals))]
        row = {"instance": runs[0]["instance"], "seeds": seeds, "search": runs[0]["search"],
               **{k: round(float(np.mean([r[k] for r in runs])), 2) for k in ("distance", "vehicles", "unserved")},
               "total": round(float(np.mean(totals)), 2), "total_best": round(min(totals), 2),
               "vehicles_best": best["vehicles"], "distance_best": best["distance"],
               "feasible": all(r["feasible"] for r in runs), "seconds": max(r["seconds"] for r in runs),
               **{k: v for k, v in runs[0].items() if k.startswith("vroom_")}}
        if row["instance"] in bks.index:  # the best known (vehicles first, then distance; SINTEF's table)
            known = bks.loc[row["instance"]]
            row |= {"bks_vehicles": int(known["vehicles"]), "bks_distance": round(float(known["distance"]), 2),
                    "at_bks": bool(total_cost(row["vehicles"], row["distance"], row["unserved"])
                                   <= total_cost(int(known["vehicles"]), float(known["distance"]), 0) + BKS_ROUNDING)}
        rows.append(row)
        print(f"  {row['instance']:7s} ours {row['distance']:8.1f} ({row['vehicles']} veh, {row['unserved']} unserved, "
              f"checker {'ok' if row['feasible'] else 'REJECTED'}; best seed {row['distance_best']:8.1f}, "
              f"{row['vehicles_best']} veh)  VROOM {row.get('vroom_distance', float('nan')):8.1f} "
              f"({row.get('vroom_vehicles')} veh, {row.get('vroom_unserved')} unassigned, "
              f"{row.get('vroom_seconds')} s, checker {'ok' if row.get('vroom_feasible') else 'REJECTED'})", flush=True)
    return rows


def lilim_names(directory: Path, count: int) -> list[str]:
    """The eight named instances first (all of them whenever ``count`` > 0), then more in name order up to ``count``."""
    if count <= 0:
        return []
    named = [n for n in LILIM_DEFAULT if (directory / f"{n}.txt").exists()]
    others = sorted(p.stem for p in directory.glob("*.txt") if p.stem not in LILIM_DEFAULT and p.stem != "bks")
    return named + others[: max(0, count - len(named))]


def machine() -> dict:
    """The CPU model, its cores, and the Python that ran the benchmark."""
    cpu = platform.processor() or ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def almaty(live_share: float, time_limit_s: float) -> dict:
    """The synthetic Almaty day: solve the booked requests, insert the rest live as they arrive (``routing.evaluate``)."""
    from data.dataset import dataset_date, ensure_dataset, load_fleet, load_trips
    from routing.almaty import build_problem

    directory = ensure_dataset()
    started = time.perf_counter()
    problem = build_problem(load_trips(directory), load_fleet(directory), dataset_date(directory))  # no cache: timed
    matrix_s = time.perf_counter() - started
    points = len(problem.data.duration_s)
    pricing = SolveParams().pricing
    places = len(Arrays.of(problem.data, pricing.arc(problem.data), pricing).duration)  # the kernels' matrix rows
    print(f"  Almaty matrix: {points} points (depots, pickups, drop-offs; {places} places), times and distances in "
          f"{matrix_s:.1f} s (uncached)", flush=True)
    report = simulate_day(problem.data, SolveParams(time_limit_s=time_limit_s), live_share=live_share)  # tenge
    live, plain = report.live, report.plain
    print(f"  Almaty day: {report.requests} requests ({report.live_requests} arriving live), "
          f"{len(problem.data.vehicles)} vehicles -> served {live.served_share:.2%} ({live.repaired} live bookings "
          f"placed by moving booked trips; {plain.served_share:.2%} without that repair); booked part solved in "
          f"{report.solve_seconds:.1f} s; live insertion p50 {live.insert.p50_ms:.1f} ms, p95 {live.insert.p95_ms:.1f} ms, "
          f"max {live.insert.max_ms:.1f} ms ({plain.insert.p95_ms:.1f} ms p95 without the repair); the "
          f"{live.repair.calls} calls that ran the repair p50 {live.repair.p50_ms:.1f} ms, p95 {live.repair.p95_ms:.1f} ms, "
          f"max {live.repair.max_ms:.1f} ms; checker "
          f"{'ok' if not live.violations + plain.violations else f'{live.violations + plain.violations} violations'}",
          flush=True)
    return {"almaty_search": search_used(problem.data, SolveParams()),
            "almaty_matrix_points": points, "almaty_matrix_places": places, "almaty_matrix_seconds": round(matrix_s, 1),
            "almaty_requests": report.requests, "almaty_served_share": round(live.served_share, 4),
            "almaty_solve_seconds": round(report.solve_seconds, 1), "almaty_live_requests": report.live_requests,
            "almaty_live_inserted": live.inserted, "almaty_live_repaired": live.repaired,
            "almaty_feasible": live.violations == 0 and plain.violations == 0,
            "insert_p50_ms": round(live.insert.p50_ms, 1), "insert_p95_ms": round(live.insert.p95_ms, 1),
            "insert_max_ms": round(live.insert.max_ms, 1), "almaty_repair_calls": live.repair.calls,
            "insert_repair_p50_ms": round(live.repair.p50_ms, 1), "insert_repair_p95_ms": round(live.repair.p95_ms, 1),
            "insert_repair_max_ms": round(live.repair.max_ms, 1), "almaty_repair_budget_s": REPAIR_BUDGET_S,
            "almaty_served_share_no_repair": round(plain.served_share, 4),
            "almaty_live_inserted_no_repair": plain.inserted,
            "insert_no_repair_p50_ms": round(plain.insert.p50_ms, 1),
            "insert_no_repair_p95_ms": round(plain.insert.p95_ms, 1),
            "insert_no_repair_max_ms": round(plain.insert.max_ms, 1)}


ALMATY_RUNS: tuple[str, ...] = ("day", "reference", "double", "double_fleet")  # the scale runs, as process-pool tasks
ALMATY_DAY_SEEDS: int = 4  # the 60 s day with seeds 0-3: one run's km moved by +-1.5 % between runs of the same code.
# They cost no wall time: while one worker runs the 600 s reference, the other runs them and the two doubled days


def _almaty_run(task: tuple[str, float, int]) -> dict:
    """One whole-day solve (all requests booked, tenge objective, seed ``task[2]``): the day, or the doubled day;
    checked, with KPIs."""
    from data.dataset import dataset_date, day_trips, ensure_dataset, load_fleet, load_trips
    from routing.almaty import build_problem
    from routing.kpi import service_kpis

    which, time_limit_s, seed = task
    directory = ensure_dataset()
    date = dataset_date(directory)
    trips = load_trips(directory)
    if which.startswith("double"):
        trips = day_trips(date, directory, n_trips=2 * len(trips))
    fleet = load_fleet(directory)
    if which == "double_fleet":  # every vehicle twice: same operator, depot, shift and places
        fleet = pd.concat([fleet, fleet.assign(vehicle_id=fleet["vehicle_id"] + "-2")], ignore_index=True)
    problem = build_problem(trips, fleet, date)  # no shared cache: the runs build at once
    params = SolveParams(time_limit_s=time_limit_s, seed=seed)
    result = solve(problem.data, params)
    total = service_kpis(problem.data, result.solution, problem.off_network)["total"]
    run = {"run": which, "seed": seed, "time_limit_s": time_limit_s, "requests": total["requests"],
           "served_share": total["served_share"], "km": total["km"], "vehicle_hours": total["vehicle_hours"],
           "vehicles_used": total["vehicles_used"], "operating_tg": total["operating_tg"],
           "objective_tg": round(result.objective), "feasible": not check_solution(problem.data, result.solution),
           "seconds": round(result.runtime_s, 1), "search": search_used(problem.data, params),
           "iterations": result.search_iterations}
    return run | (saturation(problem.data, result.solution, params) if which == "double" else {})


SATURATION_HOURS: range = range(6, 22)  # the service day's clock hours (shifts run 07:00-21:00)


def saturation(data, solution, params: SolveParams) -> dict:  # noqa: ANN001 - ProblemData, Solution
    """Whether a plan's unserved requests are the fleet's limit: do they fit its routes, and how busy are the vehicles.

    ``unserved_fit``: unserved requests that the exact cheapest insertion
    (``routing.darp_kernel``, no cap) places in some route of the final plan.
    Per clock hour (``SATURATION_HOURS``): requests by earliest pickup,
    those unserved, vehicle-hours on shift, and the share of them spent
    driving or boarding (the rest waiting, on a break, or at the depot).
    """
    from routing.alns import _State
    from routing.darp_kernel import _best_insertion, workspace
    from routing.improve import Costs
    from routing.solution import route_points
    from routing.solver import _penalty

    state = _State.of(data, solution, Costs(params.pricing, _penalty(data, params)), "unserved")
    index = {r.id: k for k, r in enumerate(data.requests)}
    unserved = [index[k] for k in solution.unserved if k in index]
    work = workspace(int(state.lengths.max()), state.routes.shape[1], len(data.vehicles))
    seen = np.zeros(len(data.vehicles), dtype=np.bool_)
    fit = sum(_best_insertion(r, False, seen.copy(), state.routes, state.lengths, state.times, state.latest,
                              state.fixed, work, seen,
                              state.position, *state.arrays.kernel_args())[1] >= 0 for r in unserved)
    hours = np.array(SATURATION_HOURS, dtype=float) * 3600
    def overlap(a: float, b: float) -> np.ndarray:  # noqa: E306 - seconds of [a, b] inside each hour
        return np.clip(np.minimum(b, hours + 3600) - np.maximum(a, hours), 0.0, None)
    on_shift = sum((overlap(v.shift_start_s, v.shift_end_s) for v in data.vehicles), np.zeros(len(hours)))
    busy = np.zeros(len(hours))
    requests, vehicles = data.request_index(), data.vehicle_index()
    for route in solution.routes:
        points = route_points(requests, vehicles[route.vehicle_id], route.stops)
        ends = [s.time_s for s in route.stops] + [route.end_s] if route.stops else []
        for k, end in enumerate(ends):
            busy += overlap(end - data.duration_s[points[k], points[k + 1]], end)
            if k < len(route.stops):
                busy += overlap(end, end + requests[route.stops[k].request_id].service_s(route.stops[k].kind))
    pickup_hour = lambda k: int(data.requests[k].earliest_pickup_s // 3600)  # noqa: E731
    return {"unserved": len(unserved), "unserved_fit": int(fit),
            "hours": [{"hour": h, "requests": sum(1 for k in range(len(data.requests)) if pickup_hour(k) == h),
                       "unserved": sum(1 for k in unserved if pickup_hour(k) == h),
                       "vehicle_hours_on_shift": round(float(on_shift[i]) / 3600, 1),
                       "busy_share": round(float(busy[i] / on_shift[i]), 3) if on_shift[i] else None}
                      for i, h in enumerate(SATURATION_HOURS)]}


def almaty_scale(time_limit_s: float, reference_factor: float, workers: int) -> dict:
    """The Almaty day against a long run of the same search, and the doubled day, each solved whole.

    Solves in ``workers`` processes: the day with ``time_limit_s`` and
    seeds 0 to ``ALMATY_DAY_SEEDS`` - 1, the day with ``reference_factor``
    times that (the reference, seed 0), a day with twice the requests from
    the demand generator (same users, fleet and date) with ``time_limit_s``,
    and that day with the fleet doubled. Returns ``almaty_km_vs_long_run``
    (the day's mean km over the seeds over the reference's; ``_best``: the
    least; ``almaty_served_vs_long_run``: the seeds' least served share less
    the reference's), ``almaty2x_served_share`` and the doubled day's km and
    vehicle-hours over the day's mean, with each run's KPIs: ``almaty_runs``
    lists the day with seed 0, the reference, the doubled days, then the
    day's other seeds.
    """
    tasks = [("day", time_limit_s, 0), ("reference", reference_factor * time_limit_s, 0), ("double", time_limit_s, 0),
             ("double_fleet", time_limit_s, 0), *(("day", time_limit_s, seed) for seed in range(1, ALMATY_DAY_SEEDS))]
    runs = {}
    for run in _parallel(_almaty_run, sorted(tasks, key=lambda t: -t[1]), workers):  # the longest first
        runs[run["run"], run["seed"]] = run
        print(f"  {run['run']:9s} {run['requests']} requests, {run['time_limit_s']:.0f} s, seed {run['seed']} "
              f"({run['search']}): served {run['served_share']:.2%}, {run['km']:.0f} km, {run['vehicle_hours']:.0f} "
              f"vehicle-hours, {run['vehicles_used']} vehicles; checker {'ok' if run['feasible'] else 'REJECTED'}",
              flush=True)
    reference, double, double_fleet = (runs[k, 0] for k in ALMATY_RUNS[1:])
    days = [runs["day", seed] for seed in range(ALMATY_DAY_SEEDS)]
    km, hours = (float(np.mean([d[key] for d in days])) for key in ("km", "vehicle_hours"))
    return {"almaty_scale_time_limit_s": time_limit_s, "almaty_reference_factor": reference_factor,
            "almaty_day_seeds": ALMATY_DAY_SEEDS,
            "almaty_km_vs_long_run": round(km / reference["km"], 4),
            "almaty_km_vs_long_run_best": round(min(d["km"] for d in days) / reference["km"], 4),
            "almaty_objective_vs_long_run": round(float(np.mean([d["objective_tg"] for d in days]))
                                                  / reference["objective_tg"], 4),
            "almaty_served_vs_long_run": round(min(d["served_share"] for d in days) - reference["served_share"], 4),
            "almaty2x_requests": double["requests"], "almaty2x_served_share": double["served_share"],
            "almaty2x_km_vs_1x": round(double["km"] / km, 3),
            "almaty2x_vehicle_hours_vs_1x": round(double["vehicle_hours"] / hours, 3),
            "almaty2x_fleet2x_served_share": double_fleet["served_share"],
            "almaty2x_fleet2x_vehicles_used": double_fleet["vehicles_used"],
            "almaty_scale_feasible": all(r["feasible"] for r in runs.values()),
            "almaty_runs": [runs[k, 0] for k in ALMATY_RUNS] + days[1:]}


def search_used(data, params: SolveParams) -> str:  # noqa: ANN001 - ProblemData
    """The improver ``solve`` runs after its start on ``data``: the compiled search where it models the problem."""
    return "alns" if params.search == "alns" and alns_handles(data, params.pricing) else "ruin_and_recreate"


def is_almaty_key(key: str) -> bool:
    """Whether a results key belongs to the Almaty workload (kept across runs that skip it, replaced by --almaty-only)."""
    return key.startswith(("almaty", "insert_"))


def almaty_workload(args: argparse.Namespace) -> dict:
    """The Almaty day with live insertions, then its scale runs (``almaty_scale``); keys ``is_almaty_key``."""
    print(f"Almaty synthetic day, booked part solved in {args.almaty_time_limit:.0f} s, the rest inserted live:")
    result = almaty(args.live_share, args.almaty_time_limit)
    print(f"Almaty day solved whole in {args.almaty_time_limit:.0f} s vs {args.reference_factor:g}x that, and a "
          f"doubled day in {args.almaty_time_limit:.0f} s ({args.workers} single-threaded workers):")
    result.update(almaty_scale(args.almaty_time_limit, args.reference_factor, args.workers))
    result["almaty_all_feasible"] = result.pop("almaty_feasible") and result.pop("almaty_scale_feasible")
    print(f"Almaty km over the long run's {result['almaty_km_vs_long_run']}; doubled day served "
          f"{result['almaty2x_served_share']:.2%}, km x{result['almaty2x_km_vs_1x']}, vehicle-hours "
          f"x{result['almaty2x_vehicle_hours_vs_1x']}", flush=True)
    return result


def benchmark_sets(args: argparse.Namespace) -> dict | None:
    """The Cordeau-format directories and Li & Lim vs VROOM (None: no Cordeau directory with a bks.csv)."""
    pr_dir = args.pr or (SHARED_BENCH / "darp-cordeau-pr" if args.instances is None else None)
    instances = args.instances or SHARED_BENCH / "darp-cordeau"
    if not (instances / "bks.csv").exists():
        print(f"no Cordeau instances with a bks.csv in {instances}: the shared benchmarks are missing "
              "(expected ../shared/bench beside the repository, or pass --instances DIR)")
        return None
    result: dict = {"time_limit_s": args.time_limit, "seeds": args.seeds, "search": {}}
    print(f"Cordeau instances in {instances}, {args.time_limit:.0f} s each, {args.seeds} seed(s), "
          f"{args.workers} single-threaded workers:")
    rows = cordeau(instances, args.time_limit, args.workers, args.seeds)
    result.update(cordeau=rows, **set_summary("cordeau", rows))
    result["search"]["cordeau"] = "/".join(sorted({r["search"] for r in rows}))
    print(f"Cordeau mean gap {result['cordeau_mean_gap']:.2%} (verified optima {result['cordeau_mean_gap_verified']}, "
          f"unverified {result['cordeau_mean_gap_unverified']}), max {result['cordeau_max_gap']:.2%}; mean of the "
          f"best seeds {result['cordeau_mean_gap_best']:.2%}")
    feasible = all(r["feasible"] for r in rows)
    if pr_dir is not None and (pr_dir / "bks.csv").exists():
        print(f"Cordeau & Laporte (2003) pr instances in {pr_dir}:")
        pr_rows = cordeau(pr_dir, args.time_limit, args.workers, args.seeds)
        result.update(pr=pr_rows, **set_summary("pr", pr_rows))
        result["search"]["pr"] = "/".join(sorted({r["search"] for r in pr_rows}))
        feasible &= all(r["feasible"] for r in pr_rows)
        print(f"pr mean gap to the best known {result['pr_mean_gap']:.2%} (best seeds {result['pr_mean_gap_best']:.2%}); "
              f"at or below the 2003 tabu search on {result.get('pr_beats_ts2003')} of {len(pr_rows)}")
    names = lilim_names(args.lilim, args.lilim_count) if (args.lilim / "bks.csv").exists() else []
    if names:
        print(f"Li & Lim vs VROOM, {args.time_limit:.0f} s each:")
        li = lilim(args.lilim, names, args.time_limit, args.workers, args.seeds)
        result.update(lilim=li, **vroom_ratios(li))
        result["search"]["lilim"] = "/".join(sorted({r["search"] for r in li}))
        feasible &= all(r["feasible"] for r in li)
        print(f"ours / VROOM: total cost (vehicles x {VEHICLE_COST:.0f} + distance + {UNSERVED_COST:.0f} per unserved) "
              f"{result['vs_vroom']} (best seeds {result['vs_vroom_best']}), distance: mean ratio "
              f"{result['vs_vroom_distance_mean']}, vehicles {result['vehicles_ours']} vs {result['vehicles_vroom']}")
    result["sets_feasible"] = feasible
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=Path, default=None,
                        help="Cordeau-format directory with a bks.csv (default: the shared a-set, plus --pr)")
    parser.add_argument("--pr", type=Path, default=None,
                        help="a second Cordeau-format directory reported as pr_* (default: the shared pr set, "
                             "unless --instances is given)")
    parser.add_argument("--lilim", type=Path, default=SHARED_BENCH / "pdptw-lilim")
    parser.add_argument("--lilim-count", type=int, default=len(LILIM_DEFAULT),
                        help="Li & Lim instances: the eight named always, more up to this count; 0 skips them")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "darp.json")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per benchmark instance")
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds per instance (mean and best reported); each seed is one single-threaded solve")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="solver processes, each single-threaded (default: one per core)")
    parser.add_argument("--live-share", type=float, default=0.1, help="share of the Almaty day's requests inserted live")
    parser.add_argument("--almaty-time-limit", type=float, default=60.0,
                        help="seconds for the Almaty day and the doubled day (the dispatcher's overnight budget)")
    parser.add_argument("--reference-factor", type=float, default=10.0,
                        help="the Almaty long-run reference gets this many times --almaty-time-limit")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--skip-almaty", action="store_true",
                       help="skip the Almaty workload (an existing --json keeps its Almaty keys)")
    group.add_argument("--almaty-only", action="store_true",
                       help="run only the Almaty workload; its keys replace those of an existing --json")
    args = parser.parse_args()
    previous = json.loads(args.json.read_text()) if args.json.exists() else {}
    result: dict = {"workers": args.workers, "threads_per_solve": 1, **machine(),
                    "numba_warm_up_s": round(warm_up(), 1)}
    if args.almaty_only:
        result = {**{k: v for k, v in previous.items() if not is_almaty_key(k)}, **result}
    else:
        sets = benchmark_sets(args)
        if sets is None:
            sys.exit(0)
        result.update(sets)
    search = result.get("search") if isinstance(result.get("search"), dict) else {}  # (older files: one name)
    if args.skip_almaty:
        result.update({k: v for k, v in previous.items() if is_almaty_key(k)})
        if "almaty_search" in result:
            search["almaty"] = result["almaty_search"]
    else:
        result.update(almaty_workload(args))
        search["almaty"] = result["almaty_search"]
    result["search"] = search
    result["all_feasible"] = bool(result.get("sets_feasible", True) and result.get("almaty_all_feasible", True))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
