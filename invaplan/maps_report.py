"""Write the four planner maps from the outputs in a results folder, computing the outputs that are missing.

Layout of the results folder ``out`` (as ``invaplan demo`` writes it and the
API serves it): ``gaps/`` (``invaplan gaps``), ``plan/`` (``invaplan plan``),
``dispatch/`` (``invaplan dispatch``) and ``maps/{objects,gaps,plan,dispatch}.html``.

The gaps map carries the street layers (hidden until ticked): edges too steep
for a manual wheelchair with their uphill direction, street barriers (raised
kerbs, steps ...) and, when ``gaps/barrier_candidates.parquet`` is there, the
barrier fixes with their coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table

from geo.adaptation_plan import DEFAULT_BUDGET_TG, DEFAULT_COUNT_TARGET
from geo.barriers import barrier_edges, steep_edges
from geo.districts import load_districts
from geo.gaps import MAX_SNAP_M
from geo.profiles import UNTAGGED_KERB_DEFAULT
from data.dataset import FILES, dataset_date, ensure_dataset, load_objects
from invaplan.dispatch_report import run_dispatch
from invaplan.gap_report import run_gaps
from invaplan.plan_report import PLAN_YEARS, run_plan
from maps.dispatch_map import dispatch_map
from maps.gaps_map import gaps_map
from maps.objects_map import objects_map
from maps.plan_map import plan_map
from maps.render import save_map
from data.trips import read_trips

MAP_NAMES: tuple[str, ...] = ("objects", "gaps", "plan", "dispatch")
GAP_FILES: tuple[str, ...] = ("gaps_by_hex.parquet", "gaps_by_district.csv")
PLAN_FILES: tuple[str, ...] = ("plan.parquet", "plan_summary.csv")
DISPATCH_FILES: tuple[str, ...] = ("routes.geojson", "unserved.csv")


def has_outputs(folder: Path, files: tuple[str, ...]) -> bool:
    """Whether every one of ``files`` exists in ``folder``."""
    return all((folder / name).exists() for name in files)


def read_plan(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan (``plan.parquet``) and its per-year-and-district summary (``plan_summary.csv``)."""
    return pd.read_parquet(folder / "plan.parquet"), pd.read_csv(folder / "plan_summary.csv")


def street_layers_of(folder: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Steep edges, street barriers (default untagged-kerb assumption) and the barrier fixes in ``folder``, if written."""
    fixes = folder / "barrier_candidates.parquet"
    return (steep_edges(), barrier_edges(UNTAGGED_KERB_DEFAULT), gpd.read_parquet(fixes) if fixes.exists() else None)


def read_dispatch(folder: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The routes (``routes.geojson``: driven paths and stops) and the unserved requests (``unserved.csv``)."""
    return gpd.read_file(folder / "routes.geojson"), pd.read_csv(folder / "unserved.csv", dtype={"request_id": str})


def ensure_outputs(out: Path, data_dir: Path, requests_csv: Path, time_limit_s: float, console: Console) -> None:
    """Run the gap analysis, the plan (2026–2030, default budget) and the day's dispatch where their outputs are missing.

    ``time_limit_s`` (seconds) bounds the plan's and the dispatch's solver.
    """
    if not has_outputs(out / "gaps", GAP_FILES):
        run_gaps(data_dir, out / "gaps", None, MAX_SNAP_M, console)
    if not has_outputs(out / "plan", PLAN_FILES):
        run_plan(data_dir, out / "plan", PLAN_YEARS, dict.fromkeys(PLAN_YEARS, DEFAULT_BUDGET_TG), DEFAULT_COUNT_TARGET,
                 time_limit_s, console)
    if not has_outputs(out / "dispatch", DISPATCH_FILES):
        run_dispatch(requests_csv, dataset_date(data_dir), time_limit_s, out / "dispatch", data_dir, console)


def run_maps(out: Path, data_dir: Path | None, requests_csv: Path | None, time_limit_s: float,
             console: Console) -> dict[str, Path]:
    """Write ``out/maps/{objects,gaps,plan,dispatch}.html``, computing missing inputs first; print their sizes.

    Parameters
    ----------
    out
        The results folder (see the module docstring).
    data_dir
        Generated data directory (built if missing).
    requests_csv
        The day's trip requests (default: the dataset's generated day): dispatched
        if ``out/dispatch`` is missing, and where unserved requests are located.
    time_limit_s
        Solver time limit in seconds for the plan and the dispatch, when computed.
    console
        Where progress and the table of written maps go.

    Returns
    -------
    dict
        Map name -> path of its HTML file.
    """
    directory = ensure_dataset(data_dir)
    requests_csv = requests_csv or directory / FILES["trips"]
    ensure_outputs(out, directory, requests_csv, time_limit_s, console)
    districts, objects = load_districts(), load_objects(directory)
    builders: dict[str, Callable[[], folium.Map]] = {
        "objects": lambda: objects_map(objects, districts),
        "gaps": lambda: gaps_map(pd.read_parquet(out / "gaps" / "gaps_by_hex.parquet"),
                                 pd.read_csv(out / "gaps" / "gaps_by_district.csv"), districts,
                                 streets=street_layers_of(out / "gaps")),
        "plan": lambda: plan_map(*read_plan(out / "plan"), objects, districts),
        "dispatch": lambda: dispatch_map(*read_dispatch(out / "dispatch"), read_trips(requests_csv), districts),
    }
    paths = {}
    for name in MAP_NAMES:
        with console.status(f"{name} map"):
            paths[name] = save_map(builders[name](), out / "maps" / f"{name}.html")
    table = Table(title="Planner maps")
    table.add_column("map")
    table.add_column("file")
    table.add_column("MB", justify="right")
    for name, path in paths.items():
        table.add_row(name, path.name, f"{path.stat().st_size / 1e6:.1f}")
    console.print(table)
    console.print(f"maps written to [bold]{out / 'maps'}[/bold] (open them in a browser; no network needed)")
    return paths
