"""Run the gap analysis on the default dataset and write its outputs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.gaps import GapAnalysis, compute_gaps, hex_polygons, public_households, summarise
from geo.passport import SERVICES
from data.dataset import load_households, load_objects

OUTPUT_FILES: tuple[str, ...] = ("gaps.parquet", "gaps_by_district.csv", "gaps_by_hex.parquet")


def write_gap_outputs(analysis: GapAnalysis, out: Path) -> dict[str, Path]:
    """Write ``gaps.parquet`` (per household), ``gaps_by_district.csv`` and ``gaps_by_hex.parquet``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    public_households(analysis).to_parquet(paths["gaps.parquet"], compression="zstd")
    summarise(analysis, "district").to_csv(paths["gaps_by_district.csv"], index=False, float_format="%.4f")
    hex_polygons(summarise(analysis, "h3")).to_parquet(paths["gaps_by_hex.parquet"], compression="zstd")
    return paths


def run_gaps(data_dir: Path | None, out: Path, profile: str | None, max_snap_m: float, console: Console) -> GapAnalysis:
    """Load the dataset, compute gaps with a progress bar, write the outputs, print a table."""
    households, objects = load_households(data_dir), load_objects(data_dir)
    passes = len(SERVICES) * households["group"].nunique()
    with Progress(TextColumn("gaps {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("snapping", total=passes)
        analysis = compute_gaps(households, objects, profile=profile, max_snap_m=max_snap_m,
                                on_pass=lambda label: progress.update(task, description=label, advance=1))
    write_gap_outputs(analysis, out)
    by_district = summarise(analysis, "district")
    table = Table(title=f"Share of households with a gap ({profile or 'profile by group'})")
    table.add_column("district")
    table.add_column("households", justify="right")
    for service in analysis.services:
        table.add_column(f"{service} ≤{analysis.thresholds_s[service] / 60:.0f}′", justify="right")
    for _, row in by_district.iterrows():
        table.add_row(row["district"], f"{row['households']:,}", *[f"{row[f'share_gap_{s}']:.0%}" for s in analysis.services])
    console.print(table)
    flagged = int(analysis.households["snap_too_far"].sum())
    console.print(f"{flagged:,} households and {int(analysis.objects['snap_too_far'].sum()):,} service objects lie farther "
                  f"than {max_snap_m:.0f} m from the network: flagged, not counted. Outputs in [bold]{out}[/bold]")
    return analysis
