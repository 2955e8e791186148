"""The ``invaplan`` command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.programme_policy import DEFAULT_BUDGET_TG, DEFAULT_COMPLIANCE_RATE, DEFAULT_ORDER_CAPACITY
from geo.validate import SchemaError

app = typer.Typer(help="Accessibility gaps, adaptation planning and invataxi dispatch for Almaty.", no_args_is_help=True)
data_app = typer.Typer(help="Build and inspect the Almaty dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")
keys_app = typer.Typer(help="API keys of the dispatcher service (admin).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()

DEMO_BUDGET_CURVE: str = "1.4e9:4.2e9:2"  # half and 1.5x the default 2.8 bn tg: with the default, a 3-point curve
DEMO_CURVE_TIME_LIMIT_S: float = 120.0  # per point: two points share the 2 cores, so each LP bound takes ~2x as long
# (at 60 s neither point had its LP bound: both ended at the greedy, and 4.2 bn tg scored below 2.8 bn tg)
DataDirOption = typer.Option(None, "--data-dir", help="Generated data directory (default: $INVAPLAN_DATA_DIR or data/generated).")


@contextmanager
def steps(total: int) -> Iterator:
    """A rich progress bar advanced by calling the yielded function with a step label."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def advance(label: str) -> None:
            nonlocal started
            progress.update(task, description=label, advance=1 if started else 0)
            started = True

        yield advance
        progress.update(task, description="done", completed=total)


@data_app.command("build")
def data_build(
    data_dir: Path = DataDirOption,
    seed: int = typer.Option(2025, help="Random seed; the same seed writes the same data."),
    date: str = typer.Option(None, help="Service day of the generated trip requests (YYYY-MM-DD; default: "
                                        "data.dataset.DEFAULT_DATE, a Monday)."),
) -> None:
    """Write the default dataset (registry, households, fleet, trips) deterministically."""
    from data.dataset import DEFAULT_DATE, build_dataset

    day = _parse_date(date) if date else DEFAULT_DATE
    with steps(4) as advance:
        out = build_dataset(data_dir, seed=seed, date=day, on_step=advance)
    console.print(f"dataset written to [bold]{out}[/bold]")


@data_app.command("info")
def data_info(data_dir: Path = DataDirOption, as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Counts per category, district and operator; households and people."""
    from data.dataset import dataset_info

    info = dataset_info(data_dir)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    for title, key in (("Objects by category", "objects_by_category"), ("Objects by district", "objects_by_district"),
                       ("Vehicles by operator", "vehicles_by_operator"), ("Households by district", "households_by_district"),
                       ("People by disability group", "people_by_group")):
        table = Table(title=title)
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, count in info[key].items():
            table.add_row(str(name), f"{count:,}")
        console.print(table)
    console.print(f"objects {info['objects']:,} · vehicles {info['vehicles']} · households {info['households']:,} "
                  f"· people {info['people']:,} · invataxi users {info['invataxi_users']:,} · trips {info['trips']:,}")


@data_app.command("import-osm")
def data_import_osm(
    source: Path = typer.Option(..., help="Folder with the raw Almaty OSM extracts (see data/SOURCES.md)."),
    out: Path = typer.Option(Path("data"), help="Shipped data folder to write."),
) -> None:
    """Developer step: rebuild the shipped network and POI files from the raw OSM extracts."""
    from data.osm_import import import_osm

    with console.status("reading and merging the OSM extracts"):
        counts = import_osm(source, out)
    console.print(counts)


@app.command()
def gaps(
    profile: str = typer.Option("auto", help="Travel profile for every household (manual_wheelchair, powered_wheelchair, "
                                "walker, walk, drive) or 'auto' (by group; wheelchair users manual or powered)."),
    out: Path = typer.Option(Path("out/gaps"), help="Output folder."),
    max_snap_m: float = typer.Option(500.0, help="Flag points farther than this from the network (metres)."),
    flat: bool = typer.Option(False, "--flat", help="Ignore the terrain (no grades): the flat-city analysis."),
    untagged_kerbs: str = typer.Option("lowered", help="Kerb of crossings with no kerb tag: 'lowered' (passable, default: "
                                       "crossings are mapped only in the centre) or 'raised' (the worst case)."),
    data_dir: Path = DataDirOption,
) -> None:
    """Accessibility gaps: who cannot reach an accessible essential service in time (terrain- and barrier-aware)."""
    from invaplan.gap_report import run_gaps

    run_gaps(data_dir, out, None if profile == "auto" else profile, max_snap_m, console, terrain=not flat,
             untagged_kerb=untagged_kerbs)


@app.command()
def plan(
    start: int = typer.Option(2026, help="First plan year."),
    end: int = typer.Option(2030, help="Last plan year."),
    budget: float = typer.Option(DEFAULT_BUDGET_TG, help="City budget per year in tenge (not with --budget-file)."),
    budget_file: Path = typer.Option(None, help="CSV with year,budget_tg[,order_capacity][,min_objects]."),
    count_target: list[str] = typer.Option(None, help="Social objects to adapt in a year, YEAR:N (repeatable; "
                                                      "default 2026:1800; not with --budget-file)."),
    order_capacity: int = typer.Option(DEFAULT_ORDER_CAPACITY, help="Compliance orders the city can issue a year "
                                                                    "(not with --budget-file)."),
    compliance_rate: float = typer.Option(DEFAULT_COMPLIANCE_RATE, help="Expected share of ordered private owners who "
                                                                        "comply (0-1]."),
    targets_file: Path = typer.Option(None, help="CSV of targets kind,year,category,district,value (replaces the defaults)."),
    weights_file: Path = typer.Option(None, help="CSV of value weights term,weight (gap, home_entrance, choice, footfall)."),
    budget_curve: str = typer.Option(None, help="Also solve for annual budgets LOW:HIGH:POINTS (tenge), e.g. 0.5e9:6e9:8."),
    curve_time_limit: float = typer.Option(None, help="Solver time limit per budget-curve point (default: --time-limit)."),
    scheduler: str = typer.Option(None, help="Dask scheduler address for the budget curve (default: a local cluster)."),
    time_limit: float = typer.Option(60.0, help="Solver time limit in seconds."),
    street_barriers: bool = typer.Option(True, "--street-barriers/--no-street-barriers",
                                         help="Street-barrier fixes (kerb ramps, ramps and lifts at steps) as city-budget "
                                              "candidates, chosen against adapting objects (default: on)."),
    untagged_kerbs: str = typer.Option("lowered", help="Kerb of crossings with no kerb tag: 'lowered' (passable, "
                                       "default) or 'raised' (the worst case: many more kerb ramps to choose from)."),
    out: Path = typer.Option(Path("out/plan"), help="Output folder."),
    data_dir: Path = DataDirOption,
) -> None:
    """Five-year accessibility programme: city budget, compliance orders and new service points, year by year."""
    from geo.plan_curve import parse_curve
    from geo.programme_policy import read_targets, read_weights
    from invaplan.plan_report import make_policy, read_budget_file, run_plan

    if end < start:
        raise typer.BadParameter(f"--end {end} is before --start {start}")
    if budget_file and count_target:
        raise ValueError("--count-target cannot be combined with --budget-file: put the targets in its min_objects column")
    years = range(start, end + 1)
    if budget_file:
        budgets, capacity, counts = read_budget_file(budget_file)
    else:
        budgets, capacity = dict.fromkeys(years, budget), dict.fromkeys(years, order_capacity)
        counts = {y: n for y, n in (_year_count(t) for t in count_target)} if count_target else None
    if counts is not None:
        outside = sorted(set(counts) - set(years))
        if outside:
            raise ValueError(f"count target for year(s) {outside} outside the plan {start}-{end}")
    policy = make_policy(years, budgets, capacity, counts or None,
                         read_targets(targets_file) if targets_file else None, compliance_rate,
                         read_weights(weights_file) if weights_file else None)
    curve = parse_curve(budget_curve) if budget_curve else None
    run_plan(data_dir, out, years, budgets, counts, time_limit, console, policy=policy, curve_budgets=curve,
             curve_time_limit_s=curve_time_limit, scheduler=scheduler, street_barriers=street_barriers,
             untagged_kerb=untagged_kerbs)


PolicyOption = typer.Option("pooled", help="Operator policy: pooled (any vehicle), operator (the user's registered "
                                            "operator only) or zones (the operator covering the user's district).")
SeedOption = typer.Option(0, help="Random seed of the solver's ruin and recreate.")
IterationsOption = typer.Option(None, help="Work limit: ruin-and-recreate iterations. With --solutions, the same "
                                           "--seed gives the same plan on any machine (the time limit is then a cap).")
SolutionsOption = typer.Option(None, help="Work limit: OR-Tools solutions per search (0: skip OR-Tools).")


@app.command()
def dispatch(
    requests: Path = typer.Option(None, "--requests", help="Trips CSV (default: the dataset's generated busy day)."),
    date: str = typer.Option(None, help="Service day (YYYY-MM-DD); only its trips are planned (default: the "
                                        "dataset's day, from its manifest)."),
    time_limit: float = typer.Option(60.0, help="Solver time limit in seconds."),
    policy: str = PolicyOption,
    seed: int = SeedOption,
    iterations: int = IterationsOption,
    solutions: int = SolutionsOption,
    out: Path = typer.Option(Path("out/dispatch"), help="Output folder."),
    data_dir: Path = DataDirOption,
) -> None:
    """Assign the invataxi fleet to a day's trip requests and order each vehicle's stops (objective: tenge)."""
    from data.dataset import FILES, dataset_date, ensure_dataset
    from invaplan.dispatch_report import run_dispatch
    from routing.almaty import check_policy
    from routing.solver import SolveParams

    check_policy(policy)
    for name, value in (("--iterations", iterations), ("--solutions", solutions), ("--time-limit", time_limit)):
        if value is not None and value < 0:
            raise typer.BadParameter(f"{name} {value} is negative")
    directory = ensure_dataset(data_dir)
    day = _parse_date(date) if date else dataset_date(directory)
    params = SolveParams(time_limit_s=time_limit, seed=seed, iterations=iterations, solution_limit=solutions)
    run_dispatch(requests or directory / FILES["trips"], day, time_limit, out, directory, console, policy, params)


@app.command()
def fleet(
    vehicles: str = typer.Option("80:220:20", help="Fleet sizes: START:STOP:STEP (STOP included) or a list 80,120,170."),
    days: int = typer.Option(3, help="Generated weekdays solved per fleet size (from the dataset's day on)."),
    policy: str = typer.Option("pooled,operator", help="Policies compared, comma-separated (pooled, operator, zones)."),
    iterations: int = typer.Option(100, help="Ruin-and-recreate iterations per solve (a work limit: reproducible)."),
    seed: int = SeedOption,
    extra_users: Path = typer.Option(None, help="Demand scenario: CSV with a household_id column of households made "
                                                "eligible on top of the registered users (e.g. the plan's structural "
                                                "wheelchair gaps)."),
    scheduler: str = typer.Option(None, help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
    workers: int = typer.Option(None, help="Worker processes of the local cluster (default: one per core)."),
    out: Path = typer.Option(Path("out/fleet"), help="Output folder."),
    data_dir: Path = DataDirOption,
) -> None:
    """Fleet sizing: served share, cost per trip and ride times against the number of vehicles, per policy."""
    import pandas as pd

    from data.dataset import dataset_date, ensure_dataset
    from invaplan.fleet_report import FLEET_PARAMS, fleet_curve, parse_range, service_days, with_seed
    from routing.almaty import check_policy

    sizes = parse_range(vehicles)
    policies = [check_policy(p.strip()) for p in policy.split(",") if p.strip()]
    if not policies:
        raise ValueError("--policy names no policy")
    if iterations < 0:
        raise ValueError(f"--iterations {iterations} is negative")
    extra = None
    if extra_users is not None:
        if not extra_users.exists():
            raise FileNotFoundError(f"{extra_users} does not exist")
        table = pd.read_csv(extra_users, dtype={"household_id": str})
        if "household_id" not in table.columns:
            raise ValueError(f"{extra_users}: no household_id column")
        extra = table["household_id"]
    directory = ensure_dataset(data_dir)
    dates = service_days(dataset_date(directory), days)
    total = len(sizes) * days * len(policies)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("preparing", total=total)
        curve = fleet_curve(directory, out, sizes, dates, policies, with_seed(FLEET_PARAMS, seed, iterations), scheduler,
                            workers, extra, lambda label: progress.update(task, description=label),
                            lambda done, _: progress.update(task, completed=done))
    table = Table(title="Fleet sizing (mean over days)")
    for column in ("policy", "vehicles", "served_share", "cost_per_trip_tg", "ride_ratio_p95", "trips_per_revenue_hour"):
        table.add_column(column, justify="right")
    for row in curve.itertuples():
        table.add_row(row.policy, str(row.vehicles), f"{row.served_share:.4f}", f"{row.cost_per_trip_tg:,.0f}",
                      f"{row.ride_ratio_p95:.2f}", f"{row.trips_per_revenue_hour:.2f}")
    console.print(table)
    console.print(f"outputs in [bold]{out}[/bold] (fleet.csv, fleet_runs.csv, fleet.png, fleet.json)")


@app.command()
def maps(
    out: Path = typer.Option(Path("out"), help="Results folder: reads gaps/, plan/, dispatch/ there (computing what is "
                                               "missing) and writes maps/."),
    requests: Path = typer.Option(None, "--requests", help="Trips CSV of the dispatched day (default: the dataset's "
                                                           "generated busy day)."),
    time_limit: float = typer.Option(10.0, help="Solver time limit in seconds for the plan and the dispatch, when "
                                                "they must be computed."),
    data_dir: Path = DataDirOption,
) -> None:
    """Planner maps (objects, gaps, plan, dispatch) as standalone offline HTML in OUT/maps."""
    from invaplan.maps_report import run_maps

    run_maps(out, data_dir, requests, time_limit, console)


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., help="admin, planner or dispatcher."),
    operator: str = typer.Option(None, help="The operator a dispatcher key is bound to."),
    label: str = typer.Option(None, help="A note on who holds the key."),
) -> None:
    """Create an API key in the service's database and print it (shown once)."""
    from api.db import make_engine, migrate, session_factory
    from api.settings import Settings
    from api.storage import create_key
    from data.fleet import OPERATORS

    engine = make_engine(Settings().resolved_database_url())
    migrate(engine)
    with session_factory(engine)() as session:
        row, raw = create_key(session, role, operator, label, set(OPERATORS))
    typer.echo(raw)
    typer.echo(f"key #{row.id} ({role}{' / ' + operator if operator else ''}) created; store it now, it is not shown again", err=True)


@app.command()
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Run the dispatcher API (loads the Almaty data and network once; SQLite by default)."""
    import uvicorn

    from api.main import create_app

    uvicorn.run(create_app(), host=host, port=port)


def _year_count(text: str) -> tuple[int, int]:
    try:
        year, count = text.split(":")
        return int(year), int(count)
    except ValueError:
        raise typer.BadParameter(f"count target {text!r} is not YEAR:N") from None


@app.command()
def demo(out: Path = typer.Option(Path("out"), help="Output folder."), data_dir: Path = DataDirOption) -> None:
    """Run everything end to end on the shipped Almaty data and write the outputs to OUT.

    The dispatch day runs in a second process while the gaps and the
    programme run here: both are single-threaded until the budget curve, so on
    2 cores this saves the dispatch's minute or so. Its report is printed
    after the programme's.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from data.dataset import dataset_info, ensure_dataset

    out.mkdir(parents=True, exist_ok=True)
    with steps(4) as advance:
        directory = ensure_dataset(data_dir, on_step=advance)
    info = dataset_info(directory)
    (out / "data_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2))
    console.print(f"dataset: {info['objects']:,} objects, {info['vehicles']} vehicles, "
                  f"{info['households']:,} households ({info['people']:,} people)")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as background:
        dispatch = background.submit(_demo_dispatch, directory, out / "dispatch", console.width)
        console.print("dispatch: solving the day in the background (its report follows the programme's)")
        from geo.gaps import MAX_SNAP_M
        from invaplan.gap_report import run_gaps

        analysis = run_gaps(directory, out / "gaps", None, MAX_SNAP_M, console)
        from geo.plan_curve import parse_curve
        from invaplan.plan_report import PLAN_YEARS, run_plan

        run_plan(directory, out / "plan", PLAN_YEARS, dict.fromkeys(PLAN_YEARS, DEFAULT_BUDGET_TG), None, 60.0, console,
                 curve_budgets=parse_curve(DEMO_BUDGET_CURVE), curve_time_limit_s=DEMO_CURVE_TIME_LIMIT_S,
                 analysis=analysis)  # the gaps step's analysis: the same data and settings
        with console.status("dispatch: waiting for the background solve"):
            console.print(dispatch.result(), end="", markup=False, highlight=False, emoji=False)
    from invaplan.maps_report import run_maps

    run_maps(out, directory, None, 60.0, console)
    console.print(f"outputs written to [bold]{out}[/bold]")


def _demo_dispatch(directory: Path, out: Path, width: int) -> str:
    """The demo's dispatch day (60 s solve) in a worker process; its console output as text."""
    import io

    from data.dataset import FILES, dataset_date
    from invaplan.dispatch_report import run_dispatch

    captured = Console(file=io.StringIO(), width=width, record=True)
    run_dispatch(directory / FILES["trips"], dataset_date(directory), 60.0, out, directory, captured)
    return captured.export_text()


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main() -> None:
    """Entry point that turns input errors into a one-line message and exit code 2."""
    try:
        app()
    except (SchemaError, FileNotFoundError, ValueError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", emoji=False)  # the message verbatim: no markup, no emoji
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
