"""Run the gap analysis on the default dataset and write its outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from data.dataset import load_households, load_objects
from geo.barriers import barrier_candidates, barrier_edges, steep_edges
from geo.districts import load_districts
from geo.gaps import GapAnalysis, compute_gaps, flat_vs_terrain, hex_polygons, public_households, summarise
from geo.profiles import UNTAGGED_KERB_DEFAULT
from maps.gaps_map import gaps_map
from maps.render import save_map

OUTPUT_FILES: tuple[str, ...] = ("gaps.parquet", "gaps_by_district.csv", "gaps_by_hex.parquet", "gaps_by_profile.csv")
TERRAIN_FILES: tuple[str, ...] = ("wheelchair_flat_vs_terrain.csv", "barrier_candidates.parquet",
                                  "barrier_coverage.parquet", "street_barriers.html")


def write_gap_outputs(analysis: GapAnalysis, out: Path) -> dict[str, Path]:
    """Write ``gaps.parquet`` (per household), ``gaps_by_district.csv``, ``gaps_by_hex.parquet`` and ``gaps_by_profile.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    public_households(analysis).to_parquet(paths["gaps.parquet"], compression="zstd")
    summarise(analysis, "district").to_csv(paths["gaps_by_district.csv"], index=False, float_format="%.4f")
    hex_polygons(summarise(analysis, "h3")).to_parquet(paths["gaps_by_hex.parquet"], compression="zstd")
    summarise(analysis, "profile").to_csv(paths["gaps_by_profile.csv"], index=False, float_format="%.4f")
    return paths


def run_gaps(data_dir: Path | None, out: Path, profile: str | None, max_snap_m: float, console: Console,
             terrain: bool = True, untagged_kerb: str = UNTAGGED_KERB_DEFAULT) -> GapAnalysis:
    """Load the dataset, compute gaps with a progress bar, write the outputs, print tables.

    With ``terrain`` the flat analysis runs too (for ``wheelchair_flat_vs_terrain.csv``),
    and the barrier candidates, their coverage and the street-barrier map are written.
    """
    households, objects = load_households(data_dir), load_objects(data_dir)
    with Progress(TextColumn("gaps {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("snapping", total=None)
        analysis = compute_gaps(households, objects, profile=profile, max_snap_m=max_snap_m, terrain=terrain,
                                untagged_kerb=untagged_kerb,
                                on_pass=lambda label: progress.update(task, description=label, advance=1))
    write_gap_outputs(analysis, out)
    _print_shares(console, summarise(analysis, "profile"), "profile", analysis,
                  f"Share of households with a gap by profile ({'terrain-aware' if terrain else 'flat'})")
    _print_shares(console, summarise(analysis, "district"), "district", analysis,
                  f"Share of households with a gap ({profile or 'profile by household'})")
    if terrain and profile is None:
        _terrain_outputs(analysis, households, objects, out, max_snap_m, console)
    flagged = int(analysis.households["snap_too_far"].sum())
    console.print(f"{flagged:,} households and {int(analysis.objects['snap_too_far'].sum()):,} service objects lie farther "
                  f"than {max_snap_m:.0f} m from the network: flagged, not counted. Outputs in [bold]{out}[/bold]")
    return analysis


def _terrain_outputs(analysis: GapAnalysis, households, objects, out: Path, max_snap_m: float, console: Console) -> None:
    """Flat-vs-terrain table, barrier candidates with coverage, and the street-barrier map."""
    with console.status("flat analysis for the comparison"):
        flat = compute_gaps(households, objects, max_snap_m=max_snap_m, terrain=False, untagged_kerb=analysis.untagged_kerb)
    comparison = flat_vs_terrain(flat, analysis)
    comparison.to_csv(out / TERRAIN_FILES[0], index=False, float_format="%.4f")
    table = Table(title="Wheelchair households with at least one gap: flat city against terrain-aware")
    for column in ("district", "households", "flat", "terrain", "change"):
        table.add_column(column, justify="left" if column == "district" else "right")
    for _, row in comparison.iterrows():
        table.add_row(row["district"], f"{row['households']:,}", f"{row['share_any_gap_flat']:.1%}",
                      f"{row['share_any_gap_terrain']:.1%}", f"{row['change_any_gap'] * 100:+.1f} pt")
    console.print(table)
    with console.status("barrier candidates and their exact coverage"):
        barriers = barrier_candidates(analysis)
    barriers.candidates.to_parquet(out / TERRAIN_FILES[1], compression="zstd")
    barriers.coverage.to_parquet(out / TERRAIN_FILES[2], compression="zstd")
    with console.status("street-barrier map"):
        fmap = gaps_map(summarise(analysis, "h3"), summarise(analysis, "district"), load_districts(),
                        streets=(steep_edges(), barrier_edges(analysis.untagged_kerb), barriers.candidates))
        save_map(fmap, out / TERRAIN_FILES[3])
    useful = barriers.candidates[barriers.candidates["pairs_closed"] > 0]
    kinds = ", ".join(f"{n:,} {kind.replace('_', ' ')}s" for kind, n in barriers.candidates["kind"].value_counts().items())
    console.print(f"{len(barriers.candidates):,} barrier candidates ({kinds}); "
                  f"{len(useful):,} close at least one gap, {int(useful['households_closed'].sum()):,} household gaps "
                  f"in all, for {useful['cost_tg'].sum() / 1e6:,.1f} M tg")


def _print_shares(console: Console, summary: pd.DataFrame, by: str, analysis: GapAnalysis, title: str) -> None:
    table = Table(title=title)
    table.add_column(by)
    table.add_column("households", justify="right")
    for service in analysis.services:
        table.add_column(f"{service} ≤{analysis.thresholds_s[service] / 60:.0f}′", justify="right")
    for _, row in summary.iterrows():
        table.add_row(row[by], f"{row['households']:,}", *[f"{row[f'share_gap_{s}']:.0%}" for s in analysis.services])
    console.print(table)
