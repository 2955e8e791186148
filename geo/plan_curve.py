"""Budget sensitivity: the programme solved for a range of annual budgets, one independent solve each.

``curve_point`` is the per-budget task for a scenario runner (it is top-level
and its scenario picklable, so ``invaplan.scenarios.run_scenarios`` can send it
to dask workers); ``carry_up`` keeps the curve from falling where a point's solve
ended at its time limit below a lower budget's plan; ``curve_table`` adds the
marginal gain between budgets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geo.adaptation_plan import Programme, ProgrammeInputs, carry_programme, first_closers, solve_programme
from geo.plan_instance import evaluate
from geo.programme_policy import STATE_SOCIAL_CATEGORIES, Policy

MARGINAL_STEP_TG: float = 100e6  # the marginal gain is reported per 100 M tg of annual budget
CARRY_TOLERANCE: float = 1e-9  # relative: a point this far below the budget under it takes that plan (float noise only)


@dataclass(frozen=True)
class CurveScenario:
    """One point of the budget curve: the programme with ``budget_tg`` every year."""

    inputs: ProgrammeInputs
    years: tuple[int, ...]
    policy: Policy
    budget_tg: float
    time_limit_s: float


def outcome(programme: Programme) -> dict[str, float]:
    """The programme's headline outcomes by its last year.

    Returns
    -------
    dict
        ``value`` (weighted person-years), ``objective``, ``gap``, ``city_spend_tg``,
        ``owner_cost_tg``, ``gaps_closed`` and ``gaps_closed_share`` (household-service gaps),
        ``people_covered``, ``state_social_accessible`` (objects accessible for
        wheelchair users by the end) and its share, ``target_shortfall`` (objects).
    """
    inputs, solution = programme.inputs, programme.solution
    plan = programme.plan
    closers = first_closers(inputs.pairs, plan.set_index("object_id")["year"])
    lacking = inputs.candidates["category"].isin(STATE_SOCIAL_CATEGORIES) & inputs.candidates["wheelchair_gap"].astype(bool)
    left = int(lacking.sum()) - int(plan["object_id"].isin(inputs.candidates.loc[lacking, "object_id"]).sum())
    open_gaps = int(inputs.households["open_gaps"].sum())
    evaluation = evaluate(programme.instance, solution.year_index)
    return {"value": evaluation.value, "objective": solution.objective, "gap": solution.gap,
            "city_spend_tg": float(plan["city_cost_tg"].sum()), "owner_cost_tg": float(plan["owner_cost_tg"].sum()),
            "gaps_closed": len(closers), "gaps_closed_share": len(closers) / max(open_gaps, 1),
            "people_covered": int(closers.drop_duplicates("household_id")["people"].sum()),
            "state_social_accessible": inputs.state_social_objects - left,
            "state_social_accessible_share": (inputs.state_social_objects - left) / max(inputs.state_social_objects, 1),
            "target_shortfall": int(evaluation.shortfall.sum())}


def curve_point(scenario: CurveScenario) -> dict:
    """Solve the programme at one annual budget; its ``point``."""
    return point(scenario.budget_tg, solve_programme(scenario.inputs, scenario.years, _policy(scenario), scenario.time_limit_s))


def point(budget_tg: float, programme: Programme) -> dict:
    """``budget_tg`` (tenge a year), the programme's ``outcome``, its ``bound`` and its plan (``year_index``, for ``carry_up``)."""
    return {"budget_tg": budget_tg, **outcome(programme), "bound": programme.solution.bound,
            "year_index": programme.solution.year_index}


def carry_up(points: list[dict], template: CurveScenario) -> list[dict]:
    """The points by budget, each at least as good as every lower budget's: a point whose solve ended (at its time
    limit) with a lower objective than the budget below it takes that plan, filled with what its own budget still
    allows (``carry_programme``, no MIP), and records ``carried_from_tg``; its own bound stays.

    A plan for a lower annual budget fits a higher one, so a curve that falls as the budget grows only shows where
    a solve stopped early. ``template``: the curve's inputs, years and policy (its budget is replaced per point).
    """
    points = sorted(points, key=lambda p: p["budget_tg"])
    for k in range(1, len(points)):
        lower, own = points[k - 1], points[k]
        if own["objective"] >= lower["objective"] - CARRY_TOLERANCE * abs(lower["objective"]):
            continue
        scenario = replace(template, budget_tg=own["budget_tg"])
        programme = carry_programme(scenario.inputs, scenario.years, _policy(scenario), lower["year_index"], own["bound"])
        if programme is not None and programme.solution.objective > own["objective"]:
            points[k] = point(own["budget_tg"], programme) | {"carried_from_tg": lower["budget_tg"]}
    return points


def _policy(scenario: CurveScenario) -> Policy:
    return replace(scenario.policy, budget_tg=dict.fromkeys(scenario.years, scenario.budget_tg))


def parse_curve(text: str) -> np.ndarray:
    """Annual budgets from ``LOW:HIGH:POINTS`` (tenge), e.g. ``0.5e9:6e9:8``."""
    try:
        low, high, points = text.split(":")
        low_tg, high_tg, n = float(low), float(high), int(points)
    except ValueError:
        raise ValueError(f"--budget-curve {text!r} is not LOW:HIGH:POINTS (tenge, e.g. 0.5e9:6e9:8)") from None
    if not (np.isfinite(low_tg) and np.isfinite(high_tg) and 0 <= low_tg < high_tg and n >= 2):
        raise ValueError(f"--budget-curve {text!r}: need 0 <= LOW < HIGH and at least 2 points")
    return np.linspace(low_tg, high_tg, n)


def curve_table(points: list[dict]) -> pd.DataFrame:
    """The points by budget (without their plans), with ``marginal_value_per_100m`` (value gained per extra 100 M tg a year)."""
    table = pd.DataFrame([{k: v for k, v in p.items() if k != "year_index"} for p in points])
    table = table.sort_values("budget_tg").reset_index(drop=True)
    step = table["budget_tg"].diff() / MARGINAL_STEP_TG
    table["marginal_value_per_100m"] = (table["value"].diff() / step).fillna(0.0)
    return table
