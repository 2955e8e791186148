"""Benchmark the invataxi service model: demand calibration, operator policies at 170 vehicles, fleet sizing.

1. Demand: the generated day against its reference figures (Seoul's wheelchair
   call taxi and Almaty's report, ``data.demand.REFERENCE``): straight-line
   trip length quantiles, share of trips under 3 minutes of direct driving,
   trips by hour (peaks), trips per vehicle, the weekend factor; and the
   requests no plan can serve (``routing.problem.unservable_reasons`` plus
   those off the network): 0 by construction.
2. Policies: the default day solved under ``pooled``, ``operator`` and
   ``zones`` with the city's 170 vehicles (tenge objective, work limited:
   exact insertion then ``--iterations`` ruin-and-recreate iterations, seed 0),
   KPIs in total and per operator (``routing.kpi``); the pooled solve is run
   twice to check that a seed and a work limit give the same plan.
3. Fleet sizing: ``--vehicles`` sizes x ``--policies`` on the default day
   (``invaplan.fleet_report``), through the dask scenario runner.

The peer is the reference service: ours is printed beside Seoul's figures and
US paratransit practice (1.5-2.5 trips per revenue hour).

Writes ``--json`` (default ``bench/results/service.json``) with ``demand_p50_km``,
``demand_short_share``, ``impossible_requests``, ``served_share_pooled``,
``trips_per_revenue_hour``, ``cost_per_trip_tg``, ``policies``,
``fleet_curve_points`` (fewest points of any policy), ``reproducible`` and the
detail (``calibration``, ``fleet_curve``, ``smallest_fleet``, ``yearly_cost_tg``).

Usage: ``python bench/service.py [--iterations 100] [--vehicles 100:200:20]``
(about 10 minutes on 2 shared cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np

from data.dataset import dataset_date, day_trips, ensure_dataset, load_fleet, load_trips
from data.demand import REFERENCE
from geo.crs import UTM43N, WGS84
from invaplan.fleet_report import FLEET_PARAMS, fleet_curve, parse_range
from invaplan.scenarios import run_scenarios
from routing.almaty import POLICIES, build_problem
from routing.checker import check_solution
from routing.cost import VEHICLE_DAYS_PER_YEAR
from routing.kpi import service_kpis
from routing.problem import unservable_reasons
from routing.solver import SolveParams, solve

REPO = Path(__file__).resolve().parents[1]
SHORT_DIRECT_S: float = 180.0  # "short": under 3 minutes of direct driving


@dataclass(frozen=True)
class PolicyRun:
    """One solve of the default day with the full fleet."""

    policy: str
    data_dir: str
    cache_dir: str
    params: SolveParams


def run_policy(run: PolicyRun) -> dict:
    """KPIs of one policy on the default day, the plan's digest and the checker's verdict."""
    directory = Path(run.data_dir)
    problem = build_problem(load_trips(directory), load_fleet(directory), dataset_date(directory),
                            cache_dir=Path(run.cache_dir), policy=run.policy)
    result = solve(problem.data, run.params)
    plan = repr([(r.vehicle_id, r.start_s, r.end_s, r.stops, r.break_start_s, r.break_after) for r in result.routes])
    return {"policy": run.policy, "kpis": service_kpis(problem.data, result.solution, problem.off_network, run.params.tenge),
            "digest": hashlib.sha1(plan.encode()).hexdigest(), "violations": len(check_solution(problem.data, result.solution)),
            "solve_seconds": round(result.runtime_s, 1)}


def calibration(directory: Path, cache: Path) -> dict:
    """The generated day's figures beside the reference ones, and the requests no plan can serve."""
    trips = load_trips(directory)
    ends = [gpd.GeoSeries(gpd.points_from_xy(trips[f"{e}_lon"], trips[f"{e}_lat"]), crs=WGS84).to_crs(UTM43N)
            for e in ("pickup", "dropoff")]
    km = ends[0].distance(ends[1]).to_numpy() / 1000
    problem = build_problem(trips, load_fleet(directory), dataset_date(directory), cache_dir=cache)
    direct = np.array([problem.data.direct_s(r) for r in problem.data.requests])
    hours = trips["earliest_pickup"].dt.hour.value_counts(normalize=True).sort_index()
    am, pm = hours[hours.index < 12], hours[hours.index >= 12]
    saturday = dataset_date(directory) + dt.timedelta(days=(5 - dataset_date(directory).weekday()) % 7)
    ours = {f"p{q}_km": round(float(np.percentile(km, q)), 2) for q in (10, 25, 50, 75, 90)}
    ours.update(peak_am_h=int(am.idxmax()), peak_am_share=round(float(am.max()), 3), peak_pm_h=int(pm.idxmax()),
                peak_pm_share=round(float(pm.max()), 3), after_18h_share=round(float(hours[hours.index >= 18].sum()), 3),
                trips_weekday=len(trips), trips_per_vehicle=round(len(trips) / len(problem.data.vehicles), 2),
                weekend_factor=round(len(day_trips(saturday, directory)) / len(trips), 3),
                standing_share=round(float(trips["standing"].mean()), 3),
                short_share=round(float((direct < SHORT_DIRECT_S).mean()), 4),
                mean_direct_min=round(float(direct.mean()) / 60, 1))
    reference = {k.removeprefix("seoul_"): v for k, v in REFERENCE.items() if k.startswith("seoul_")}
    reference["trips_per_vehicle"] = round(REFERENCE["seoul_trips_weekday"] / REFERENCE["seoul_vehicles"], 2)
    impossible = len(unservable_reasons(problem.data)) + len(problem.off_network)
    return {"ours": ours, "reference": reference, "impossible_requests": impossible}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "service.json")
    parser.add_argument("--iterations", type=int, default=FLEET_PARAMS.iterations, help="ruin-and-recreate iterations per solve")
    parser.add_argument("--vehicles", default="100:200:20", help="fleet sizes of the curve (START:STOP:STEP)")
    parser.add_argument("--policies", default="pooled,operator", help="policies of the fleet curve")
    args = parser.parse_args()
    started = time.perf_counter()
    directory = ensure_dataset()
    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    cache = work / "cache"
    params = replace(FLEET_PARAMS, iterations=args.iterations)
    print("Demand calibration (ours vs reference):", flush=True)
    calib = calibration(directory, cache)
    for key, value in calib["ours"].items():
        print(f"  {key:18s} {value!s:>8}   reference {calib['reference'].get(key, '-')}")
    print(f"  requests no plan can serve: {calib['impossible_requests']}", flush=True)
    print(f"Policies at 170 vehicles ({args.iterations} iterations, seed {params.seed}; pooled twice):", flush=True)
    runs = [PolicyRun(p, str(directory), str(cache), params) for p in (*POLICIES, "pooled")]
    results = run_scenarios(run_policy, runs)
    policies = {}
    for run in results[: len(POLICIES)]:
        total = run["kpis"]["total"]
        policies[run["policy"]] = {**{k: v for k, v in total.items() if k != "unserved_reasons"},
                                   "unserved_reasons": total["unserved_reasons"], "violations": run["violations"],
                                   "operators": [{"operator": k, **v} for k, v in run["kpis"]["operators"].items()],
                                   "solve_seconds": run["solve_seconds"]}  # a list: operator names hold dots
        print(f"  {run['policy']:8s} served {total['served_share']:.2%}, {total['vehicles_used']} vehicles, "
              f"{total['vehicle_hours']:.0f} vehicle-h, {total['trips_per_revenue_hour']:.2f} trips/revenue h (US 1.5-2.5), "
              f"{total['cost_per_trip_tg']:,} tg/trip, ride ratio p50 {total['ride_ratio_p50']} p95 {total['ride_ratio_p95']}, "
              f"checker {run['violations']} violations, {run['solve_seconds']} s", flush=True)
    reproducible = results[0]["digest"] == results[-1]["digest"]
    print(f"  pooled solved twice with the same seed and work limit: {'same plan' if reproducible else 'DIFFERENT plans'}")
    sizes = parse_range(args.vehicles)
    curve_policies = [p.strip() for p in args.policies.split(",")]
    print(f"Fleet sizing: {sizes} x {curve_policies} on {dataset_date(directory)}:", flush=True)
    curve = fleet_curve(directory, work / "fleet", sizes, [dataset_date(directory)], curve_policies, params,
                        on_done=lambda done, total: print(f"  {done}/{total} solved", flush=True))
    points = curve.groupby("policy").size()
    smallest = json.loads((work / "fleet" / "fleet.json").read_text())["smallest_fleet"]
    for row in curve.itertuples():
        print(f"  {row.policy:8s} {row.vehicles:4d} vehicles: served {row.served_share:.2%}, "
              f"{row.cost_per_trip_tg:,.0f} tg/trip, ride ratio p95 {row.ride_ratio_p95:.2f}")
    pooled = policies["pooled"]
    result = {
        "demand_p50_km": calib["ours"]["p50_km"], "demand_short_share": calib["ours"]["short_share"],
        "impossible_requests": calib["impossible_requests"], "served_share_pooled": pooled["served_share"],
        "trips_per_revenue_hour": pooled["trips_per_revenue_hour"], "cost_per_trip_tg": pooled["cost_per_trip_tg"],
        "vehicle_hours_pooled": pooled["vehicle_hours"], "operating_tg_day_pooled": pooled["operating_tg"],
        "yearly_cost_tg": round(pooled["operating_tg"] * VEHICLE_DAYS_PER_YEAR),
        "policies": policies, "fleet_curve_points": int(points.min()), "smallest_fleet": smallest,
        "fleet_curve": curve[["policy", "vehicles", "served_share", "cost_per_trip_tg", "ride_ratio_p95",
                              "trips_per_revenue_hour", "vehicle_hours", "vehicles_used"]].round(4).to_dict("records"),
        "reproducible": reproducible, "calibration": calib["ours"], "reference": calib["reference"],
        "iterations": args.iterations, "all_feasible": all(r["violations"] == 0 for r in results),
        "seconds": round(time.perf_counter() - started),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"wrote {args.json} in {result['seconds']} s")


if __name__ == "__main__":
    main()
