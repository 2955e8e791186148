"""Run the adaptation planner and write its tables, plot and HTML report."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from geo.adaptation_plan import AdaptationPlan, first_closers, plan_adaptation  # noqa: E402
from geo.gaps import compute_gaps  # noqa: E402
from geo.plan_instance import PlanInstance, check_budgets  # noqa: E402
from geo.plan_solver import PlanSolution  # noqa: E402
from data.dataset import load_households, load_objects  # noqa: E402

PLOT_FILE: str = "coverage_by_year.png"
PLAN_YEARS: range = range(2026, 2031)  # the city's five-year plan


def read_budget_file(path: Path) -> tuple[dict[int, float], dict[int, int]]:
    """Budgets (tenge) and optional count targets per year from a CSV.

    Columns: ``year``, ``budget_tg`` and optionally ``min_objects``. Years
    outside the plan, missing or negative budgets are rejected later by
    ``geo.plan_instance.build_instance``; here, unreadable rows are.
    """
    frame = pd.read_csv(path)
    missing = {"year", "budget_tg"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected year,budget_tg[,min_objects]")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        raise ValueError(f"{path} row {int(np.flatnonzero(years.isna() | (years % 1 != 0))[0])}: field 'year' is not a year")
    if years.duplicated().any():
        raise ValueError(f"{path}: year {int(years[years.duplicated()].iloc[0])} appears twice")
    budgets = pd.to_numeric(frame["budget_tg"], errors="coerce")
    budget = {int(y): float(b) for y, b in zip(years, budgets)}
    counts = {}
    if "min_objects" in frame:
        counts = {int(y): int(n) for y, n in zip(years, pd.to_numeric(frame["min_objects"], errors="coerce").fillna(0))}
    return budget, counts


def cumulative_closed(instance: PlanInstance, solution: PlanSolution, pairs: pd.DataFrame) -> np.ndarray:
    """Household-service gaps closed by the end of each plan year."""
    chosen = solution.year_index >= 0
    years = pd.Series(np.array(instance.years)[solution.year_index[chosen]], index=instance.candidates["object_id"][chosen].to_numpy())
    closers = first_closers(pairs, years)
    return np.array([(closers["year"] <= year).sum() for year in instance.years])


def _plot(result: AdaptationPlan, open_gaps: int, path: Path) -> None:
    years = list(result.instance.years)
    figure, axis = plt.subplots(figsize=(7, 4), dpi=110)
    for label, solution, style in (("optimised plan (MIP)", result.solution, "-o"), ("greedy baseline", result.baseline, "--s")):
        share = cumulative_closed(result.instance, solution, result.pairs) / max(open_gaps, 1) * 100
        axis.plot(years, share, style, label=label)
    axis.set_xticks(years)
    axis.set_xlabel("year")
    axis.set_ylabel("household gaps closed, % of all open gaps")
    axis.set_title("Accessibility gaps closed by the adaptation plan")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _html_report(result: AdaptationPlan, by_year: pd.DataFrame, maps_link: str) -> str:
    solution = result.solution
    top = result.plan.sort_values("people_covered", ascending=False).head(25)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Adaptation plan {result.instance.years[0]}–{result.instance.years[-1]}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f3f3f3}}td:first-child{{text-align:left}}</style></head><body>
<h1>Adaptation plan {result.instance.years[0]}–{result.instance.years[-1]}</h1>
<p>Objective (weighted household-years of closed gaps): <b>{solution.objective:,.0f}</b>; solver bound {solution.bound:,.0f};
optimality gap <b>{solution.gap:.3%}</b> ({solution.status}, {solution.seconds:.1f} s). Greedy baseline: {result.baseline.objective:,.0f}
({solution.objective / max(result.baseline.objective, 1e-9):.4f}× ours/greedy).</p>
<h2>Per year</h2>{by_year.to_html(index=False, float_format=lambda v: f"{v:,.0f}")}
<img src="{PLOT_FILE}" alt="coverage by year" width="700">
<h2>Objects closing the most gaps</h2>{top.to_html(index=False, float_format=lambda v: f"{v:,.0f}", escape=True)}
<p>Full tables: <a href="plan.csv">plan.csv</a>, <a href="plan_summary.csv">plan_summary.csv</a>. Maps: <a href="{html.escape(maps_link)}">plan map</a>.</p>
<p>Reductions: {html.escape(str(result.instance.stats))}</p></body></html>"""


def write_plan_outputs(result: AdaptationPlan, open_gaps: int, out: Path, maps_link: str = "../maps/plan.html") -> pd.DataFrame:
    """Write plan.csv/.parquet, plan_summary.csv, the PNG plot and report.html; return the per-year table."""
    out.mkdir(parents=True, exist_ok=True)
    result.plan.to_csv(out / "plan.csv", index=False)
    result.plan.to_parquet(out / "plan.parquet")
    result.summary.to_csv(out / "plan_summary.csv", index=False)
    by_year = result.summary.groupby("year").agg(spend_tg=("spend_tg", "sum"), objects=("objects", "sum"),
                                                 open_gaps_before=("open_gaps_before", "sum"),
                                                 open_gaps_after=("open_gaps_after", "sum"),
                                                 people_covered=("people_covered", "sum")).reset_index()
    _plot(result, open_gaps, out / PLOT_FILE)
    (out / "report.html").write_text(_html_report(result, by_year, maps_link), encoding="utf-8")
    return by_year


def run_plan(
    data_dir: Path | None,
    out: Path,
    years: range,
    budget_tg: dict[int, float],
    min_count: dict[int, int],
    time_limit_s: float,
    console: Console,
) -> AdaptationPlan:
    """Gap analysis, then the plan with progress messages; write the outputs and print a table."""
    check_budgets(tuple(years), budget_tg, min_count)  # fail fast, before the network work
    with console.status("gap analysis on the Almaty network"):
        households, objects = load_households(data_dir), load_objects(data_dir)
        analysis = compute_gaps(households, objects)
    with console.status(f"coverage, reduction and MIP (time limit {time_limit_s:.0f} s)"):
        result = plan_adaptation(analysis, objects, years, budget_tg, min_count, time_limit_s=time_limit_s)
    open_gaps = int(sum(analysis.households[f"gap_{s}"].fillna(False).sum() for s in analysis.services))
    by_year = write_plan_outputs(result, open_gaps, out)
    table = Table(title=f"Adaptation plan {years[0]}–{years[-1]}")
    for column in by_year.columns:
        table.add_column(column, justify="right")
    for _, row in by_year.iterrows():
        table.add_row(str(int(row["year"])), *[f"{v:,.0f}" for v in row.drop("year")])
    console.print(table)
    solution, baseline = result.solution, result.baseline
    console.print(f"objective {solution.objective:,.0f} · bound {solution.bound:,.0f} · gap {solution.gap:.3%} ({solution.status}, "
                  f"{solution.seconds:.1f} s) · greedy {baseline.objective:,.0f} ({solution.objective / max(baseline.objective, 1e-9):.4f}×)")
    console.print(f"outputs in [bold]{out}[/bold] (plan.csv, plan.parquet, plan_summary.csv, {PLOT_FILE}, report.html)")
    return result
