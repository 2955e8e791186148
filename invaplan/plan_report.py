"""Run the accessibility programme and write its tables, charts and the planners' HTML report."""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from data.dataset import load_households, load_objects  # noqa: E402
from geo.adaptation_plan import Programme, ProgrammeInputs, first_closers, instrument_label, prepare_inputs, solve_programme  # noqa: E402
from geo.gaps import MIN_HOUSEHOLDS_PER_CELL, GapAnalysis, compute_gaps  # noqa: E402
from geo.plan_curve import CurveScenario, carry_up, curve_point, curve_table, point  # noqa: E402
from geo.plan_instance import check_resources, evaluate  # noqa: E402
from geo.profiles import UNTAGGED_KERB_DEFAULT  # noqa: E402
from geo.programme_barriers import BARRIER_FIX_KIND, FIX_LABEL  # noqa: E402
from geo.programme_policy import (  # noqa: E402
    DEFAULT_ORDER_CAPACITY,
    DEFAULT_TARGETS,
    GROUP_PRIORITY,
    WELFARE_PRIORITY,
    Policy,
    Target,
)
from invaplan.scenarios import run_scenarios  # noqa: E402

PLOT_FILE: str = "coverage_by_year.png"
CURVE_FILE: str = "budget_curve"  # .csv and .png
PLAN_YEARS: range = range(2026, 2031)  # the city's five-year plan
WEIGHT_MEANING: dict[str, str] = {
    "gap": "closing a household's gap for a service (no accessible option in reach before), per person-year",
    "home_entrance": "adapting the entrance of the housing block of a wheelchair or mobility household, per person-year",
    "choice": "a further accessible option for people who already have one in reach, per person-year",
    "footfall": "a mass-visit object (shops, culture, cafés …) accessible to the people living nearby, per person-year",
}


def _number(raw: object, where: str, integer: bool = False) -> float:
    value = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
    if pd.isna(value) or not np.isfinite(value) or value < 0 or (integer and value % 1):
        kind = "a whole number >= 0" if integer else "a non-negative number"
        raise ValueError(f"{where}: {raw!r} is not {kind}")
    return float(value)


def read_budget_file(path: Path) -> tuple[dict[int, float], dict[int, int], dict[int, int]]:
    """Budgets (tenge), order capacities and social-object count targets per year from a CSV.

    Columns: ``year``, ``budget_tg`` and optionally ``order_capacity`` (orders a
    year, default ``DEFAULT_ORDER_CAPACITY``) and ``min_objects`` (social objects
    to adapt that year). Every bad field is a ValueError naming the row and field.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"year", "budget_tg"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected year,budget_tg[,order_capacity][,min_objects]")
    budgets, capacity, counts = {}, {}, {}
    for row, record in enumerate(frame.to_dict("records"), start=2):
        year = int(_number(record["year"], f"{path} row {row}, field 'year'", integer=True))
        if year in budgets:
            raise ValueError(f"{path} row {row}, field 'year': {year} appears twice")
        budgets[year] = _number(record["budget_tg"], f"{path} row {row}, field 'budget_tg'")
        capacity[year] = int(_number(record.get("order_capacity") or DEFAULT_ORDER_CAPACITY,
                                     f"{path} row {row}, field 'order_capacity'", integer=True))
        if str(record.get("min_objects", "")).strip():
            counts[year] = int(_number(record["min_objects"], f"{path} row {row}, field 'min_objects'", integer=True))
    return budgets, capacity, counts


def make_policy(years: range, budget_tg: Mapping[int, float], order_capacity: Mapping[int, int] | None = None,
                count_targets: Mapping[int, int] | None = None, targets: tuple[Target, ...] | None = None,
                compliance_rate: float = 1.0, weights: Mapping[str, float] | None = None) -> Policy:
    """A policy over ``years``: ``targets`` (default ``DEFAULT_TARGETS``), their social count targets replaced
    by ``count_targets`` when given; targets outside the years are left out."""
    chosen = tuple(DEFAULT_TARGETS if targets is None else targets)
    if count_targets is not None:
        chosen = tuple(t for t in chosen if not (t.kind == "count" and t.category == "social"))
        chosen += tuple(Target("count", y, "social", None, n) for y, n in sorted(count_targets.items()) if n > 0)
    chosen = tuple(t for t in chosen if years[0] <= t.year <= years[-1])
    capacity = dict(order_capacity) if order_capacity is not None else dict.fromkeys(years, DEFAULT_ORDER_CAPACITY)
    return Policy(dict(budget_tg), capacity, compliance_rate, chosen, dict(weights or {}))


# ----- formatting ----------------------------------------------------------------------------------

def _tg(amount: float) -> str:
    if amount == 0:
        return "0 tg"
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn tg"
    return f"{amount / 1e6:,.1f} M tg"


def _html_table(frame: pd.DataFrame, columns: Mapping[str, tuple[str, Callable[[object], str]]]) -> str:
    """An HTML table of ``frame``: column -> (header, formatter); every cell escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in columns.values())
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(row[c]))}</td>" for c, (_, fmt) in columns.items()) + "</tr>"
                   for _, row in frame.iterrows())
    return f"<table><tr>{head}</tr>{body}</table>"


def _int(v: object) -> str:
    return f"{int(v):,}"


def _text(v: object) -> str:
    return str(v)


def _money(v: object) -> str:
    return _tg(float(v))


def _year(v: object) -> str:
    return str(int(v))


def _share(v: object) -> str:
    return f"{float(v):.0%}"


def _label(category: object) -> str:
    return str(category).replace("_", " ").capitalize()


# ----- tables --------------------------------------------------------------------------------------

def by_year_instrument(programme: Programme) -> pd.DataFrame:
    """Per year: budget and city spend (state objects, housing entrances, barrier fixes, new sites), orders, owners' cost, reasons."""
    plan, years = programme.plan, programme.years
    city = plan[plan["instrument"] != "compliance_order"]
    closers = first_closers(programme.inputs.pairs, plan.set_index("object_id")["year"])
    people = closers.drop_duplicates(["year", "household_id"]).groupby("year")["people"].sum()
    table = years.assign(
        state_objects=years["year"].map(city[(city["kind"] == "object") & (city["category"] != "housing")].groupby("year").size()),
        housing_entrances=years["year"].map(city[city["category"] == "housing"].groupby("year").size()),
        barrier_fixes=years["year"].map(city[city["kind"] == BARRIER_FIX_KIND].groupby("year").size()),
        owner_cost_tg=years["year"].map(plan.groupby("year")["owner_cost_tg"].sum()),
        people_covered=years["year"].map(people),
        home_people=years["year"].map(plan.groupby("year")["home_people"].sum()))
    return table.fillna(0)


def by_category(programme: Programme) -> pd.DataFrame:
    """Per category and instrument: actions, city cost, owners' cost, people newly covered."""
    plan = programme.plan
    table = plan.groupby(["category", "instrument"]).agg(actions=("object_id", "size"), city_cost_tg=("city_cost_tg", "sum"),
                                                          owner_cost_tg=("owner_cost_tg", "sum"),
                                                          people_covered=("people_covered", "sum"),
                                                          home_people=("home_people", "sum")).reset_index()
    return table.sort_values(["instrument", "actions"], ascending=[True, False])


def by_district(programme: Programme) -> pd.DataFrame:
    """Per district over the whole programme: city spend, orders, new sites, gaps before and after."""
    summary = programme.summary
    first = summary["year"] == summary["year"].min()
    last = summary["year"] == summary["year"].max()
    table = summary.groupby("district").agg(spend_tg=("spend_tg", "sum"), owner_cost_tg=("owner_cost_tg", "sum"),
                                            objects=("objects", "sum"), orders=("orders", "sum"),
                                            new_sites=("new_sites", "sum"), people_covered=("people_covered", "sum"))
    table["open_gaps_before"] = summary[first].set_index("district")["open_gaps_before"]
    table["open_gaps_after"] = summary[last].set_index("district")["open_gaps_after"]
    return table.reset_index()


def barrier_fixes_by_year_district(programme: Programme) -> pd.DataFrame:
    """Per year and district: street-barrier fixes by kind, their city cost (tenge), households and people newly covered."""
    fixes = programme.plan[programme.plan["kind"] == BARRIER_FIX_KIND]
    kinds = {f"{kind}s": (kind, "fix") for kind in FIX_LABEL}
    table = fixes.groupby(["year", "district"]).agg(
        fixes=("object_id", "size"), **{name: (column, lambda s, k=kind: int((s == k).sum())) for name, (kind, column) in kinds.items()},
        cost_tg=("city_cost_tg", "sum"), households_covered=("households_covered", "sum"),
        people_covered=("people_covered", "sum"))
    columns = ["year", "district", "fixes", *kinds, "cost_tg", "households_covered", "people_covered"]
    return table.reset_index().reindex(columns=columns)


def _barrier_html(programme: Programme) -> str:
    candidates = programme.inputs.candidates
    offered = candidates[candidates["kind"] == BARRIER_FIX_KIND]
    if offered.empty:
        return ("<p>No street-barrier fix closes a gap in this run (or they were left out with "
                "<code>--no-street-barriers</code>).</p>")
    table = barrier_fixes_by_year_district(programme)
    labels = {f"{kind}s": (f"{FIX_LABEL[kind].lower()}s", _int) for kind in FIX_LABEL}
    return (f"<p>A kerb ramp at a raised-kerb crossing, or a ramp or platform lift at steps, on the city budget "
            f"({len(offered):,} fixes close at least one gap, alone or with the object behind it adapted; "
            f"the programme chooses {int(table['fixes'].sum()):,} for {_tg(float(table['cost_tg'].sum()))}). A fix "
            f"counts for a gap only from the year the way and the service at its end are both accessible; gaps "
            f"that need two or more fixes are not counted. Households and people: gaps each fix is the first to close.</p>"
            + _html_table(table, {"year": ("year", _year), "district": ("district", _text), "fixes": ("fixes", _int),
                                  **labels, "cost_tg": ("city cost", _money),
                                  "households_covered": ("households newly covered", _int),
                                  "people_covered": ("people newly covered", _int)}))


def structural_by_district(programme: Programme) -> pd.DataFrame:
    """People with a structural gap per district and service (columns: services)."""
    structural = programme.inputs.structural
    table = structural.pivot_table(index="district", columns="service", values="people", aggfunc="sum", fill_value=0)
    table["all services"] = structural.drop_duplicates("household_id").groupby("district")["people"].sum()
    return table.reset_index()


def structural_by_cell(programme: Programme, top: int = 15) -> pd.DataFrame:
    """The H3 cells with the most people with structural gaps (cells with >= 5 households only)."""
    structural = programme.inputs.structural
    cells = structural.groupby("h3").agg(households=("household_id", "nunique"), people=("people", "sum"),
                                         district=("district", lambda s: s.mode().iloc[0]),
                                         services=("service", lambda s: ", ".join(sorted(set(s))).replace("_", " ")))
    cells = cells[cells["households"] >= MIN_HOUSEHOLDS_PER_CELL]
    return cells.sort_values("people", ascending=False).head(top).reset_index()


def proposed_sites(programme: Programme) -> pd.DataFrame:
    """The new accessible service points the programme opens, with the structural gaps each closes."""
    sites = programme.plan[programme.plan["kind"] == "new_site"]
    info = programme.inputs.candidates.set_index("object_id")
    return sites.assign(service=info.loc[sites["object_id"], "service"].to_numpy(),
                        structural_people=info.loc[sites["object_id"], "structural_people"].to_numpy(),
                        h3=info.loc[sites["object_id"], "h3"].to_numpy())


# ----- charts --------------------------------------------------------------------------------------

def cumulative_closed(programme: Programme, year_index: np.ndarray) -> np.ndarray:
    """Household-service gaps closed by the end of each plan year by the plan ``year_index``."""
    instance = programme.instance
    chosen = year_index >= 0
    years = pd.Series(np.array(instance.years)[year_index[chosen]], index=instance.candidates["object_id"][chosen].to_numpy())
    closers = first_closers(programme.inputs.pairs, years)
    return np.array([(closers["year"] <= year).sum() for year in instance.years])


def _plot_years(programme: Programme, path: Path) -> None:
    years = list(programme.instance.years)
    open_gaps = max(int(programme.inputs.households["open_gaps"].sum()), 1)
    figure, axis = plt.subplots(figsize=(7, 4), dpi=110)
    for label, solution, style in (("optimised programme (exact)", programme.solution, "-o"),
                                   ("greedy baseline", programme.baseline, "--s")):
        axis.plot(years, cumulative_closed(programme, solution.year_index) / open_gaps * 100, style, label=label)
    axis.set_xticks(years)
    axis.set_ylim(0, 100)
    axis.set_xlabel("year")
    axis.set_ylabel("household gaps closed, % of all open gaps")
    axis.set_title("Accessibility gaps closed by the programme")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_curve(curve: pd.DataFrame, path: Path) -> None:
    """The budget curve: four panels against the annual budget (bn tg), every axis from 0."""
    budget = curve["budget_tg"] / 1e9
    panels = (("value", "weighted value (person-years)", 1.0), ("gaps_closed_share", "gaps closed by the end, %", 100.0),
              ("state_social_accessible_share", "state social objects accessible, %", 100.0),
              ("marginal_value_per_100m", "marginal value per +100 M tg a year", 1.0))
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=110)
    for axis, (column, label, scale) in zip(axes.ravel(), panels):
        shown = slice(1, None) if column == "marginal_value_per_100m" else slice(None)  # a gain needs a lower budget
        axis.plot(budget[shown], curve[column][shown] * scale, "-o")
        axis.set_xlim(0, budget.max() * 1.05)
        axis.set_ylim(0, max(float((curve[column] * scale).max()) * 1.1, 1e-9))
        axis.set_xlabel("annual city budget, bn tg")
        axis.set_title(label)
        axis.grid(alpha=0.3)
    figure.suptitle("Budget sensitivity of the programme")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# ----- report --------------------------------------------------------------------------------------

def _weights_html(programme: Programme) -> str:
    weights = pd.DataFrame([{"term": t, "weight": w, "meaning": WEIGHT_MEANING[t]} for t, w in programme.policy.weights.items()])
    welfare = ", ".join(f"level {k}: {v}" for k, v in WELFARE_PRIORITY.items())
    groups = ", ".join(f"{k}: {v}" for k, v in GROUP_PRIORITY.items())
    return (_html_table(weights, {"term": ("value term", _text), "weight": ("weight", lambda v: f"{float(v):g}"),
                                  "meaning": ("what it values", _text)})
            + f"<p>A household's weight is its people × welfare priority ({welfare}) × group priority ({groups}); "
              f"each term is earned for every remaining programme year, so earlier is better. Compliance orders earn "
              f"their value × the compliance rate ({programme.policy.compliance_rate:g}).</p>")


def _targets_html(programme: Programme) -> str:
    targets = programme.targets
    names = programme.inputs.candidates.set_index("object_id")["name"]
    rows = targets.assign(status=np.where(targets["met"], "met", "shortfall"))
    text = _html_table(rows, {"target": ("target", _text), "required": ("required", _int), "achieved": ("achieved", _int),
                              "status": ("status", _text), "shortfall": ("shortfall (objects)", _int),
                              "shortfall_tg": ("cost of the shortfall", _money)})
    for _, row in targets[targets["left"] != ""].iterrows():
        left = row["left"].split()
        listed = ", ".join(html.escape(str(names.get(o, o))) for o in left[:40])
        text += (f"<p><b>{html.escape(row['target'])}</b>: the budget cannot pay for it; {len(left):,} objects are left "
                 f"(first ones: {listed}{' …' if len(left) > 40 else ''}); full list in targets.csv.</p>")
    return text


def _curve_html(curve: pd.DataFrame | None) -> str:
    if curve is None:
        return "<p>Not computed in this run (<code>invaplan plan --budget-curve 0.5e9:6e9:8</code>).</p>"
    return (f'<img src="{CURVE_FILE}.png" alt="budget curve" width="900">'
            + _html_table(curve, {"budget_tg": ("annual budget", _money), "value": ("weighted value", _int),
                                  "gaps_closed_share": ("gaps closed", _share),
                                  "state_social_accessible_share": ("state social accessible", _share),
                                  "people_covered": ("people newly covered", _int),
                                  "target_shortfall": ("target shortfall (objects)", _int),
                                  "marginal_value_per_100m": ("marginal value per +100 M tg", _int),
                                  "gap": ("optimality gap", lambda v: f"{float(v):.3%}")})
            + "".join(f"<p>At {_money(row['budget_tg'])} a year the solve stopped at its time limit below the plan for "
                      f"{_money(row['carried_from_tg'])}, which fits this budget too: the row shows that plan, filled with "
                      f"what the larger budget adds; its optimality gap is against this budget's own bound.</p>"
                      for _, row in curve.iterrows() if pd.notna(row.get("carried_from_tg"))))


def html_report(programme: Programme, curve: pd.DataFrame | None, maps_link: str) -> str:
    """The planners' report: targets, per year and instrument, category, district, structural gaps, sites, curve, weights."""
    solution, baseline, policy = programme.solution, programme.baseline, programme.policy
    years = programme.instance.years
    value = evaluate(programme.instance, solution.year_index).value
    per_year = by_year_instrument(programme)
    year_columns = {"year": ("year", _year), "budget_tg": ("city budget", _money), "spend_tg": ("city spend", _money),
                    "spend_share": ("used", _share), "state_objects": ("state objects & stops", _int),
                    "housing_entrances": ("housing entrances", _int), "barrier_fixes": ("street-barrier fixes", _int),
                    "new_sites": ("new service points", _int),
                    "orders": ("compliance orders", _int), "order_capacity": ("order capacity", _int),
                    "owner_cost_tg": ("owners' estimated cost", _money), "people_covered": ("people newly covered", _int),
                    "home_people": ("people given a way out of home", _int), "reason": ("why the budget is not all used", _text),
                    "orders_reason": ("orders", _text)}
    categories = by_category(programme).assign(category=lambda f: f["category"].map(_label),
                                               instrument=lambda f: f["instrument"].map(instrument_label))
    sites = proposed_sites(programme)
    recommended = programme.inputs.recommendations
    structural_people = int(programme.inputs.structural.drop_duplicates("household_id")["people"].sum())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Accessibility programme {years[0]}–{years[-1]}</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}}th{{background:#f3f3f3}}td:first-child{{text-align:left}}</style></head><body>
<h1>Accessibility programme {years[0]}–{years[-1]}</h1>
<p>City budget {_tg(float(np.mean(programme.instance.budget_tg)))} a year on average; compliance orders up to
{int(np.mean(programme.instance.order_capacity)):,} a year (owners pay; compliance rate {policy.compliance_rate:g}).
The programme earns <b>{value:,.0f}</b> weighted person-years; it is proven within <b>{solution.gap:.3%}</b> of the best
possible ({solution.seconds:.0f} s). A simple rule (targets first, then the best value per tenge) would earn
{evaluate(programme.instance, baseline.year_index).value:,.0f}: this programme earns {solution.objective / max(baseline.objective, 1e-9):.3f}× as much.</p>
<h2>Targets</h2>{_targets_html(programme)}
<h2>Per year and instrument</h2>{_html_table(per_year, year_columns)}
<img src="{PLOT_FILE}" alt="gaps closed by year" width="700">
<h2>Per category</h2>{_html_table(categories, {"category": ("category", _text), "instrument": ("paid by", _text),
                                              "actions": ("objects", _int), "city_cost_tg": ("city cost", _money),
                                              "owner_cost_tg": ("owners' cost", _money),
                                              "people_covered": ("people newly covered", _int),
                                              "home_people": ("people given a way out of home", _int)})}
<h2>Per district</h2>{_html_table(by_district(programme), {"district": ("district", _text), "spend_tg": ("city spend", _money),
                                                         "owner_cost_tg": ("owners' cost", _money), "objects": ("objects", _int),
                                                         "orders": ("orders", _int), "new_sites": ("new service points", _int),
                                                         "open_gaps_before": ("open gaps before", _int),
                                                         "open_gaps_after": ("open gaps after", _int)})}
<h2>Street-barrier fixes</h2>{_barrier_html(programme)}
<h2>Gaps no adaptation can close</h2>
<p>{structural_people:,} people have at least one gap that no existing object could close (no object of the service in
reach). People per district and service:</p>
{_html_table(structural_by_district(programme), {c: (_label(c), _text if c == "district" else _int)
                                                 for c in structural_by_district(programme).columns})}
<p>The H3 cells (about 0.7 km²) with the most such people (cells with fewer than {MIN_HOUSEHOLDS_PER_CELL} households are not shown):</p>
{_html_table(structural_by_cell(programme), {"h3": ("H3 cell", _text), "district": ("district", _text),
                                             "households": ("households", _int), "people": ("people", _int),
                                             "services": ("services missing", _text)})}
<h3>New accessible service points in the programme (city budget)</h3>
{_html_table(sites, {"name": ("point", _text), "district": ("district", _text), "h3": ("H3 cell", _text), "year": ("year", _year),
                     "cost_tg": ("cost", _money), "structural_people": ("people with no other option", _int),
                     "people_covered": ("people newly covered", _int)})}
<h3>Recommended sites for services the city does not run</h3>
{_html_table(recommended, {"service": ("service", _label), "rank": ("rank", _int), "district": ("district", _text),
                           "h3": ("H3 cell", _text), "structural_people": ("people it would serve", _int)})}
<h2>Budget sensitivity</h2>{_curve_html(curve)}
<h2>Value weights used</h2><p>The weights are policy: change them with <code>--weights-file</code>.</p>{_weights_html(programme)}
<p>Full tables: <a href="plan.csv">plan.csv</a>, <a href="plan_summary.csv">plan_summary.csv</a>,
<a href="plan_years.csv">plan_years.csv</a>, <a href="targets.csv">targets.csv</a>, <a href="sites.csv">sites.csv</a>,
<a href="barrier_fixes.csv">barrier_fixes.csv</a>.
Map: <a href="{html.escape(maps_link)}">programme map</a>.</p></body></html>"""


def write_plan_outputs(programme: Programme, out: Path, curve: pd.DataFrame | None = None,
                       maps_link: str = "../maps/plan.html") -> pd.DataFrame:
    """Write plan.csv/.parquet, plan_summary.csv, plan_years.csv, targets.csv, sites.csv, barrier_fixes.csv,
    the plots and report.html; return the per-year table."""
    out.mkdir(parents=True, exist_ok=True)
    programme.plan.to_csv(out / "plan.csv", index=False)
    programme.plan.to_parquet(out / "plan.parquet")
    programme.summary.to_csv(out / "plan_summary.csv", index=False)
    per_year = by_year_instrument(programme)
    per_year.to_csv(out / "plan_years.csv", index=False)
    programme.targets.to_csv(out / "targets.csv", index=False)
    recommended = pd.DataFrame(programme.inputs.recommendations.drop(columns="geometry")).assign(status="recommended")
    proposed = proposed_sites(programme)[["service", "district", "h3", "year", "cost_tg", "structural_people"]].assign(status="in programme")
    pd.concat([proposed, recommended], ignore_index=True).to_csv(out / "sites.csv", index=False)
    barrier_fixes_by_year_district(programme).to_csv(out / "barrier_fixes.csv", index=False)
    _plot_years(programme, out / PLOT_FILE)
    if curve is not None:
        curve.to_csv(out / f"{CURVE_FILE}.csv", index=False)
        plot_curve(curve, out / f"{CURVE_FILE}.png")
    (out / "report.html").write_text(html_report(programme, curve, maps_link), encoding="utf-8")
    return per_year


def budget_curve(inputs: ProgrammeInputs, years: range, policy: Policy, budgets: np.ndarray, time_limit_s: float,
                 console: Console, scheduler: str | None = None, solved: Programme | None = None) -> pd.DataFrame:
    """Solve the programme at each annual budget through ``invaplan.scenarios.run_scenarios``, with progress.

    ``solved``, a programme already solved with one budget every year, joins the curve as a point of its own.
    A point that ended below a lower budget's plan takes that plan (``geo.plan_curve.carry_up``).
    """
    scenarios = [CurveScenario(inputs, tuple(years), policy, float(b), time_limit_s) for b in budgets]
    with warnings.catch_warnings(), Progress(TextColumn("budget curve"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        warnings.filterwarnings("ignore", message="Sending large graph")  # the shared inputs go once per point, as intended
        task = bar.add_task("curve", total=len(scenarios))
        points = run_scenarios(curve_point, scenarios, scheduler=scheduler,
                               on_done=lambda done, total: bar.update(task, completed=done))
    if solved is not None and len(set(solved.policy.budget_tg.values())) == 1:
        budget = float(next(iter(solved.policy.budget_tg.values())))
        if not np.isclose(budgets, budget).any():
            points.append(point(budget, solved))
    return curve_table(carry_up(points, scenarios[0]))


def _console_summary(programme: Programme, per_year: pd.DataFrame, console: Console) -> None:
    years = programme.instance.years
    table = Table(title=f"Accessibility programme {years[0]}–{years[-1]}")
    for header in ("year", "city spend", "of budget", "objects", "housing", "barrier fixes", "new sites", "orders", "owners' cost",
                   "people covered", "why not all spent"):
        table.add_column(header, justify="left" if header.startswith("why") else "right")
    for _, row in per_year.iterrows():
        table.add_row(str(int(row["year"])), _tg(row["spend_tg"]), f"{row['spend_share']:.0%}", f"{int(row['state_objects']):,}",
                      f"{int(row['housing_entrances']):,}", f"{int(row['barrier_fixes']):,}", f"{int(row['new_sites']):,}",
                      f"{int(row['orders']):,}/{int(row['order_capacity']):,}", _tg(row["owner_cost_tg"]),
                      f"{int(row['people_covered']):,}", "" if row["spend_share"] >= 0.95 else row["reason"])
    console.print(table)
    for _, row in programme.targets.iterrows():
        status = "[green]met[/green]" if row["met"] else f"[red]short by {row['shortfall']:,} ({_tg(row['shortfall_tg'])})[/red]"
        console.print(f"target: {row['target']}: {row['achieved']:,}/{row['required']:,} {status}")
    solution, baseline = programme.solution, programme.baseline
    console.print(f"objective {solution.objective:,.0f} · bound {solution.bound:,.0f} · gap {solution.gap:.3%} "
                  f"({solution.status}, {solution.seconds:.1f} s) · greedy {baseline.objective:,.0f} "
                  f"({solution.objective / max(baseline.objective, 1e-9):.4f}×)")


def run_plan(
    data_dir: Path | None,
    out: Path,
    years: range,
    budget_tg: dict[int, float],
    min_count: dict[int, int] | None,
    time_limit_s: float,
    console: Console,
    policy: Policy | None = None,
    curve_budgets: np.ndarray | None = None,
    curve_time_limit_s: float | None = None,
    scheduler: str | None = None,
    street_barriers: bool = True,
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT,
    analysis: GapAnalysis | None = None,
) -> Programme:
    """Gap analysis, then the programme (and the budget curve) with progress; write the outputs and print a summary.

    ``policy`` overrides ``budget_tg`` / ``min_count`` (social objects per year;
    None keeps the default targets). ``street_barriers``: barrier fixes as candidates; ``untagged_kerb``:
    the kerb assumed at crossings with no kerb tag (``geo.profiles.UNTAGGED_KERB_ASSUMPTIONS``).
    ``analysis``: the default gap analysis of the same data (``invaplan.gap_report.run_gaps``), if already computed.
    """
    policy = policy or make_policy(years, budget_tg, count_targets=min_count)
    check_resources(tuple(years), policy.budget_tg, policy.order_capacity)  # fail fast, before the network work
    if analysis is not None and (not analysis.terrain or analysis.untagged_kerb != untagged_kerb):
        raise ValueError("the gap analysis given to run_plan must be terrain-aware with the same untagged kerbs")
    with console.status("gap analysis on the Almaty network"):
        objects = load_objects(data_dir)
        analysis = analysis or compute_gaps(load_households(data_dir), objects, untagged_kerb=untagged_kerb)
    with console.status("candidates, value terms, coverage, street-barrier fixes and new service sites"):
        inputs = prepare_inputs(analysis, objects, dict(policy.weights), street_barriers=street_barriers)
    with console.status(f"programme: reduction, LP bound and MIP (time limit {time_limit_s:.0f} s)"):
        programme = solve_programme(inputs, years, policy, time_limit_s)
    curve = None
    if curve_budgets is not None:
        curve = budget_curve(inputs, years, policy, curve_budgets, curve_time_limit_s or time_limit_s, console, scheduler,
                             solved=programme)
    per_year = write_plan_outputs(programme, out, curve)
    _console_summary(programme, per_year, console)
    extra = f", {CURVE_FILE}.csv/.png" if curve is not None else ""
    console.print(f"outputs in [bold]{out}[/bold] (plan.csv, plan.parquet, plan_summary.csv, plan_years.csv, targets.csv, "
                  f"sites.csv, barrier_fixes.csv, {PLOT_FILE}{extra}, report.html)")
    return programme

