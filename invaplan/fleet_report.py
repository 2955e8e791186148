"""Fleet sizing: how many vehicles, under which operator policy, for which demand.

Every (policy, fleet size, day) is one independent solve, run through the
shared scenario runner (``invaplan.scenarios.run_scenarios``: a dask
``LocalCluster`` by default, or an existing cluster). Each day's requests are
generated once (``data.dataset.day_trips``: weekdays after the dataset's
date, standing orders recurring) and its travel matrix cached on disk before
the scenarios start, so workers only read them. Fleets of other sizes keep
the operators' contract shares (``data.fleet.build_fleet``). Solves are work
limited (``FLEET_PARAMS``: exact insertion, then a fixed number of ruin and
recreate iterations with a seed), so a curve is reproducible.

Outputs in ``out``: ``fleet_runs.csv`` (one row per solve), ``fleet.csv``
(mean over days per policy and size), ``fleet.png`` (served share, cost per
trip and p95 ride-time ratio against vehicles, one line per policy) and
``fleet.json`` (the smallest fleet serving ``TARGET_SERVED_SHARE`` per policy).

Demand scenario: ``extra_users`` (household ids, e.g. the households the
adaptation plan leaves with a structural wheelchair gap) become eligible users
on top of the registered ones; trips grow with the users (``data.demand``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from data.dataset import day_trips, load_fleet
from data.fleet import build_fleet, depots
from data.trips import read_trips
from routing.almaty import build_problem, check_policy
from routing.checker import check_solution
from routing.kpi import service_kpis
from routing.solver import SolveParams, solve

TARGET_SERVED_SHARE: float = 0.995  # a fleet "suffices" when it serves this share of requests on average
FLEET_PARAMS = SolveParams(time_limit_s=900.0, construction="insertion", solution_limit=0, iterations=100, seed=0)
CURVE_COLUMNS: tuple[str, ...] = ("served_share", "cost_per_trip_tg", "ride_ratio_p95")


@dataclass(frozen=True)
class FleetScenario:
    """One solve of a fleet curve.

    Attributes
    ----------
    policy
        Operator policy (``routing.almaty.POLICIES``).
    vehicles
        Fleet size.
    date
        Service day.
    trips_csv
        The day's requests (written by :func:`prepare_days`).
    cache_dir
        Travel-matrix cache (filled by :func:`prepare_days`).
    depots
        The operators' depots (``data.fleet.depots``).
    params
        Solver parameters (work limited: reproducible).
    """

    policy: str
    vehicles: int
    date: dt.date
    trips_csv: str
    cache_dir: str
    depots: gpd.GeoDataFrame
    params: SolveParams


def parse_range(text: str) -> list[int]:
    """Fleet sizes from ``START:STOP:STEP`` (STOP included) or a comma list; ValueError if empty or not positive."""
    try:
        if ":" in text:
            start, stop, step = (int(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError(f"fleet range {text!r}: step must be positive")
            sizes = list(range(start, stop + 1, step))
        else:
            sizes = [int(x) for x in text.split(",")]
    except ValueError as error:
        if "fleet range" in str(error):
            raise
        raise ValueError(f"fleet range {text!r} is not START:STOP:STEP or a list of sizes") from None
    if not sizes:
        raise ValueError(f"fleet range {text!r} is empty")
    if min(sizes) < 1:
        raise ValueError(f"fleet range {text!r}: sizes must be positive")
    return sizes


def service_days(start: dt.date, days: int) -> list[dt.date]:
    """``days`` weekdays from ``start`` on (the busy days a fleet is sized for)."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    out, day = [], start
    while len(out) < days:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def prepare_days(data_dir: Path, out: Path, days: list[dt.date], extra_users: pd.Series | None = None) -> list[Path]:
    """Generate and write each day's requests, and cache its travel matrix; returns the trips CSVs."""
    fleet = load_fleet(data_dir)
    paths = []
    for day in days:
        path = out / "days" / f"trips-{day.isoformat()}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        day_trips(day, data_dir, extra_users).to_csv(path, index=False)
        build_problem(read_trips(path), fleet, day, cache_dir=out / "cache")
        paths.append(path)
    return paths


def solve_scenario(scenario: FleetScenario) -> dict:
    """Solve one scenario; its KPIs in one row (picklable, for the scenario runner)."""
    fleet = build_fleet(scenario.vehicles, scenario.depots)
    problem = build_problem(read_trips(scenario.trips_csv), fleet, scenario.date, cache_dir=Path(scenario.cache_dir),
                            policy=scenario.policy)
    result = solve(problem.data, scenario.params)
    kpis = service_kpis(problem.data, result.solution, problem.off_network, scenario.params.tenge)["total"]
    return {"policy": scenario.policy, "vehicles": scenario.vehicles, "date": scenario.date.isoformat(),
            **{k: v for k, v in kpis.items() if k != "unserved_reasons"},
            "solve_seconds": round(result.runtime_s, 1), "violations": len(check_solution(problem.data, result.solution))}


def fleet_curve(data_dir: Path, out: Path, sizes: list[int], dates: list[dt.date], policies: list[str],
                params: SolveParams = FLEET_PARAMS, scheduler: str | None = None, workers: int | None = None,
                extra_users: pd.Series | None = None, on_step: Callable[[str], None] | None = None,
                on_done: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Solve every (policy, size, day), write the outputs (module docstring) and return the mean curve.

    Parameters
    ----------
    data_dir
        The generated dataset.
    out
        Output folder.
    sizes
        Fleet sizes (vehicles).
    dates
        The days solved per size (``service_days``).
    policies
        Operator policies compared.
    params
        Solver parameters of every solve.
    scheduler, workers
        Dask scheduler address (None: a local cluster) and local worker count.
    extra_users
        Household ids made eligible on top of the registered users (demand scenario).
    on_step, on_done
        Progress: a label before each preparation step; (finished, total) after each solve.
    """
    from invaplan.scenarios import run_scenarios

    policies = [check_policy(p) for p in policies]
    step = on_step or (lambda label: None)
    out.mkdir(parents=True, exist_ok=True)
    step(f"generating {len(dates)} day(s) of requests and their travel matrices")
    csvs = prepare_days(data_dir, out, dates, extra_users)
    depot_table = depots()
    scenarios = [FleetScenario(policy, size, day, str(csv), str(out / "cache"), depot_table, params)
                 for policy in policies for size in sizes for day, csv in zip(dates, csvs)]
    step(f"solving {len(scenarios)} scenarios")
    runs = pd.DataFrame(run_scenarios(solve_scenario, scenarios, scheduler, workers, on_done))
    runs.to_csv(out / "fleet_runs.csv", index=False)
    curve = runs.groupby(["policy", "vehicles"], sort=False).mean(numeric_only=True).reset_index()
    curve.to_csv(out / "fleet.csv", index=False)
    plot_curve(curve, out / "fleet.png")
    enough = {p: _smallest(curve[curve["policy"] == p]) for p in policies}
    (out / "fleet.json").write_text(json.dumps({"target_served_share": TARGET_SERVED_SHARE, "smallest_fleet": enough,
                                                "days": [d.isoformat() for d in dates],
                                                "requests_per_day": runs.groupby("date")["requests"].first().to_dict()},
                                               ensure_ascii=False, indent=2))
    return curve


def _smallest(curve: pd.DataFrame) -> int | None:
    enough = curve[curve["served_share"] >= TARGET_SERVED_SHARE]
    return int(enough["vehicles"].min()) if len(enough) else None


def plot_curve(curve: pd.DataFrame, path: Path) -> None:
    """PNG with served share, cost per trip (tenge) and p95 ride-time ratio against vehicles, a line per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"served_share": "served share", "cost_per_trip_tg": "cost per trip (tenge)",
              "ride_ratio_p95": "ride time / direct time, p95"}
    figure, axes = plt.subplots(1, len(CURVE_COLUMNS), figsize=(15, 4.2))
    for axis, column in zip(axes, CURVE_COLUMNS):
        for policy, rows in curve.groupby("policy", sort=False):
            axis.plot(rows["vehicles"], rows[column], marker="o", label=policy)
        if column == "served_share":
            axis.axhline(TARGET_SERVED_SHARE, color="grey", linestyle="--", linewidth=0.8)
        axis.set_xlabel("vehicles")
        axis.set_title(titles[column])
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def with_seed(params: SolveParams, seed: int, iterations: int) -> SolveParams:
    """``params`` with another seed and work limit."""
    return replace(params, seed=seed, iterations=iterations)
