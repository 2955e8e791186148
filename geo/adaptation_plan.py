"""The five-year accessibility programme: from a gap analysis to what the city does each year.

``prepare_inputs`` builds everything that does not depend on budgets (the
candidates of every kind with their value terms and coverage, the structural
gaps, the recommended sites); ``solve_programme`` builds the reduced instance
(``geo.plan_instance``), solves it (``geo.plan_solver``) next to the greedy
baseline, and describes the result per object, year, instrument, district and
target, with the reason whenever a year spends less than its budget.

Street-barrier fixes (``geo.programme_barriers``) are candidates by default
(``street_barriers=False`` leaves them out): a fix closes a gap alone, or only
together with adapting the object behind it (pairs with ``requires``).
Further candidates that are not passport objects enter ``prepare_inputs``
through ``extra_candidates`` and ``extra_pairs`` in the generic tables
``geo.plan_instance.CANDIDATE_COLUMNS`` (+ ``name``, ``extra_value``,
``geometry``) and ``PAIR_COLUMNS`` (+ optional ``requires``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.adaptation import candidates as adaptation_candidates
from geo.crs import UTM43N, WGS84
from geo.gaps import GapAnalysis, coverage
from geo.plan_instance import PAIR_COLUMNS, REQUIRES, PlanInstance, build_instance, plan_violations
from geo.plan_solver import PlanSolution, carried, greedy, marginal_gains, solve
from geo.programme_policy import (  # noqa: F401  (DEFAULT_BUDGET_TG: re-exported for the maps command)
    COMPLIANCE_ORDER,
    DEFAULT_BUDGET_TG,
    DEFAULT_TARGETS,
    INSTRUMENT_LABEL,
    STATE_SOCIAL_CATEGORIES,
    Policy,
)
from geo.programme_barriers import BARRIER_FIX_KIND, barrier_fixes
from geo.programme_sites import site_candidates
from geo.programme_value import add_value_terms

DEFAULT_COUNT_TARGET: dict[int, int] = {t.year: int(t.value) for t in DEFAULT_TARGETS if t.kind == "count" and t.category == "social"}
IDLE_SHARE: float = 0.95  # a year spending less than this share of its budget must say why


@dataclass(frozen=True)
class ProgrammeInputs:
    """What the programme chooses from, independent of budgets.

    Attributes
    ----------
    candidates
        Every candidate (objects, new sites, barrier fixes, extra kinds) in the
        generic table, with ``extra_value`` and the value terms, ``geometry`` (UTM 43N).
    pairs
        Their coverage pairs (``PAIR_COLUMNS`` + ``requires``: the second
        candidate a gap also needs, else None).
    structural
        Structural gaps (``geo.programme_sites.structural_gaps``).
    recommendations
        Recommended sites for services the city does not run.
    households
        ``household_id``, ``district`` and ``open_gaps`` (household-service gaps) per household.
    weights
        The value weights the extra values were computed with.
    state_social_objects
        State social objects in the registry (accessible or not).
    """

    candidates: gpd.GeoDataFrame
    pairs: pd.DataFrame
    structural: pd.DataFrame
    recommendations: gpd.GeoDataFrame
    households: pd.DataFrame
    weights: dict[str, float]
    state_social_objects: int


def coverage_pairs(analysis: GapAnalysis, candidates: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the candidates that serve an analysed service, with each household's welfare level."""
    usable = analysis.objects.loc[~analysis.objects["snap_too_far"] & analysis.objects["service"].isin(analysis.services), "object_id"]
    pairs = coverage(analysis, candidates.loc[candidates["object_id"].isin(usable), "object_id"])
    welfare = analysis.households.set_index("household_id")["welfare_level"]
    return pairs.assign(welfare_level=welfare.loc[pairs["household_id"]].to_numpy())


def prepare_inputs(analysis: GapAnalysis, objects: gpd.GeoDataFrame, weights: dict[str, float],
                   extra_candidates: pd.DataFrame | None = None, extra_pairs: pd.DataFrame | None = None,
                   street_barriers: bool = True) -> ProgrammeInputs:
    """Candidates of every kind with their value and coverage, structural gaps and recommended sites.

    Parameters
    ----------
    analysis
        The baseline gap analysis.
    objects
        The passport registry.
    weights
        Value weights (``geo.programme_policy.VALUE_WEIGHTS`` keys).
    extra_candidates, extra_pairs
        Further candidates (generic table, ``extra_value`` per remaining year,
        geometry in UTM 43N) and the gaps they close.
    street_barriers
        Street-barrier fixes as candidates (``geo.programme_barriers``).
    """
    objects_c = add_value_terms(analysis, gpd.GeoDataFrame(adaptation_candidates(objects), geometry="geometry", crs=objects.crs),
                                objects, weights)
    pairs = coverage_pairs(analysis, objects_c)
    frames, pair_frames = [objects_c], [pairs]
    if street_barriers:
        fixes = barrier_fixes(analysis, objects_c["object_id"], pairs)
        frames.append(fixes.candidates)
        pair_frames.append(fixes.pairs)
    sites = site_candidates(analysis, pd.concat(pair_frames, ignore_index=True))  # gaps no candidate closes: structural
    frames.append(sites.candidates.assign(extra_value=0.0))
    pair_frames.append(sites.pairs)
    if extra_candidates is not None:
        frames.append(extra_candidates)
        pair_frames.append(extra_pairs if extra_pairs is not None else pd.DataFrame(columns=list(PAIR_COLUMNS)))
    candidates = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=UTM43N)
    value_columns = ["home_households", "home_people", "home_value", "choice_value", "footfall_value", "extra_value"]
    candidates[value_columns] = candidates[value_columns].fillna(0.0)
    table = analysis.households
    open_gaps = sum(table[f"gap_{s}"].fillna(False).astype(int) for s in analysis.services)
    households = pd.DataFrame({"household_id": table["household_id"], "district": table["district"], "open_gaps": open_gaps})
    all_pairs = pd.concat([p.reindex(columns=[*PAIR_COLUMNS, REQUIRES]) for p in pair_frames], ignore_index=True)
    state_social = int(objects["category"].isin(STATE_SOCIAL_CATEGORIES).sum())
    return ProgrammeInputs(candidates, all_pairs, sites.structural, sites.recommendations, households, dict(weights), state_social)


@dataclass(frozen=True)
class Programme:
    """A solved programme with its baseline and descriptions.

    Attributes
    ----------
    inputs, policy, instance
        What was solved.
    solution, baseline
        The MIP programme and the greedy one.
    plan
        One row per action: ``object_id``, ``kind``, ``name``, ``category``,
        ``instrument``, ``district``, ``year``, ``cost_tg``, ``city_cost_tg``,
        ``owner_cost_tg``, ``households_covered``, ``people_covered`` (gaps it
        is the first to close), ``home_people``, ``fix`` (barrier fixes: ``kerb_ramp``,
        ``ramp``, ``lift``; else empty), ``lon``, ``lat``.
    summary
        Per year and district: ``spend_tg`` (city), ``owner_cost_tg``, ``objects``,
        ``barrier_fixes``, ``orders``, ``new_sites``, ``open_gaps_before``, ``open_gaps_after``, ``people_covered``.
    years
        Per year: budget, city spend, orders and capacity, new sites, and ``reason``
        (why the year spends less than its budget, in words), ``idle``.
    targets
        Per target: ``target``, ``required``, ``achieved``, ``met``, ``shortfall``,
        ``shortfall_tg`` and ``left`` (ids of the objects still missing).
    """

    inputs: ProgrammeInputs
    policy: Policy
    instance: PlanInstance
    solution: PlanSolution
    baseline: PlanSolution
    plan: pd.DataFrame
    summary: pd.DataFrame
    years: pd.DataFrame
    targets: pd.DataFrame


def first_closers(pairs: pd.DataFrame, chosen_year: pd.Series) -> pd.DataFrame:
    """For each household gap the plan closes: the action that closes it first, and the year.

    A pair that requires a second action closes its gap in the later of the two
    years (never if the second is not in the plan) and is credited to its
    ``object_id`` (the barrier fix). Ties (several actions in the same year) go to the lower id.
    """
    adapted = pairs[pairs["object_id"].isin(chosen_year.index)]
    year = chosen_year.loc[adapted["object_id"]].to_numpy(dtype=float)
    if REQUIRES in adapted:
        needs = adapted[REQUIRES].notna().to_numpy()
        other = chosen_year.reindex(adapted[REQUIRES]).to_numpy(dtype=float)  # NaN: not in the plan
        year = np.where(needs, np.maximum(year, other), year)
    adapted = adapted.assign(year=year)[~np.isnan(year)]
    adapted = adapted.assign(year=adapted["year"].astype(int)).sort_values(["year", "object_id"])
    return adapted.drop_duplicates(["household_id", "service"], keep="first")


def _plan_table(instance: PlanInstance, solution: PlanSolution, inputs: ProgrammeInputs) -> pd.DataFrame:
    chosen = solution.year_index >= 0
    table = instance.candidates[chosen].copy()
    table["year"] = np.array(instance.years)[solution.year_index[chosen]]
    order = table["instrument"] == COMPLIANCE_ORDER
    table["city_cost_tg"] = np.where(order, 0.0, table["cost_tg"])
    table["owner_cost_tg"] = np.where(order, table["cost_tg"], 0.0)
    closers = first_closers(inputs.pairs, table.set_index("object_id")["year"])
    households = closers.drop_duplicates(["object_id", "household_id"])
    table["households_covered"] = table["object_id"].map(households.groupby("object_id").size()).fillna(0).astype(int)
    table["people_covered"] = table["object_id"].map(households.groupby("object_id")["people"].sum()).fillna(0).astype(int)
    shapes = inputs.candidates.set_index("object_id").geometry.loc[table["object_id"]]
    lonlat = gpd.GeoSeries(shapes.to_numpy(), crs=inputs.candidates.crs).representative_point().to_crs(WGS84)  # lines too
    table["lon"], table["lat"] = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    table["home_people"] = table["home_people"].fillna(0).astype(int)
    table["fix"] = table["fix"] if "fix" in table else None
    columns = ["object_id", "kind", "name", "category", "instrument", "district", "year", "cost_tg", "city_cost_tg",
               "owner_cost_tg", "households_covered", "people_covered", "home_people", "fix", "lon", "lat"]
    return table[columns].sort_values(["year", "district", "object_id"]).reset_index(drop=True)


def _summary(inputs: ProgrammeInputs, instance: PlanInstance, plan: pd.DataFrame) -> pd.DataFrame:
    households = inputs.households
    open_by_district = households.groupby("district")["open_gaps"].sum()
    closers = first_closers(inputs.pairs, plan.set_index("object_id")["year"])
    closers = closers.assign(district=households.set_index("household_id")["district"].loc[closers["household_id"]].to_numpy())
    rows = []
    for district in sorted(open_by_district.index):
        open_gaps = int(open_by_district[district])
        for year in instance.years:
            mine = plan[(plan["year"] == year) & (plan["district"] == district)]
            closed = closers[(closers["year"] == year) & (closers["district"] == district)]
            rows.append({"year": year, "district": district, "spend_tg": float(mine["city_cost_tg"].sum()),
                         "owner_cost_tg": float(mine["owner_cost_tg"].sum()), "objects": int((mine["kind"] == "object").sum()),
                         "barrier_fixes": int((mine["kind"] == BARRIER_FIX_KIND).sum()),
                         "orders": int((mine["instrument"] == COMPLIANCE_ORDER).sum()),
                         "new_sites": int((mine["kind"] == "new_site").sum()),
                         "open_gaps_before": open_gaps, "open_gaps_after": open_gaps - len(closed),
                         "people_covered": int(closed.drop_duplicates("household_id")["people"].sum())})
            open_gaps -= len(closed)
    return pd.DataFrame(rows)


def _money(amount: float) -> str:
    return f"{amount / 1e6:,.1f} M tg"


def _year_table(instance: PlanInstance, solution: PlanSolution) -> pd.DataFrame:
    """Per year: resources used, and why the city budget or the order capacity is not used up."""
    gains = marginal_gains(instance, solution.year_index)
    cost = instance.candidates["cost_tg"].to_numpy()
    order = instance.is_order
    starts = instance.candidates["start_year"].to_numpy()
    free = solution.year_index < 0
    rows = []
    for t, year in enumerate(instance.years):
        mine = solution.year_index == t
        spend, budget = float(cost[mine & ~order].sum()), float(instance.budget_tg[t])
        orders, capacity = int((mine & order).sum()), int(instance.order_capacity[t])
        left = budget - spend
        valuable = free & (gains > 0) & (starts <= year)
        city_left = valuable & ~order
        idle = False
        if budget <= 0 or spend >= IDLE_SHARE * budget:
            reason = "the budget binds"
        elif not city_left.any():
            reason = "every city-budget action with value that may start by this year is already in the programme"
        elif cost[city_left].min() > left:
            reason = (f"the {_money(left)} left is less than the cheapest remaining action of value "
                      f"({_money(float(cost[city_left].min()))})")
        else:
            idle = True
            reason = f"{int((city_left & (cost <= left)).sum())} actions of value still fit the {_money(left)} left"
        if orders >= capacity:
            order_reason = "the inspectors' capacity binds"
        elif not (valuable & order).any():
            order_reason = "no private object of value is left to order"
        else:
            order_reason = "orders kept for target years"
        rows.append({"year": year, "budget_tg": budget, "spend_tg": spend, "spend_share": spend / budget if budget else 1.0,
                     "orders": orders, "order_capacity": capacity,
                     "new_sites": int((mine & (instance.candidates["kind"] == "new_site").to_numpy()).sum()),
                     "reason": reason, "orders_reason": order_reason, "idle": idle})
    return pd.DataFrame(rows)


def _target_table(instance: PlanInstance, solution: PlanSolution) -> pd.DataFrame:
    cost = instance.candidates["cost_tg"].to_numpy()
    ids = instance.candidates["object_id"].to_numpy()
    rows = []
    for row in instance.targets:
        achieved = row.achieved(solution.year_index)
        shortfall = max(0, row.required - achieved)
        years = solution.year_index[row.members]
        done = (years == row.year_index) if row.target.kind == "count" else (years >= 0) & (years <= row.year_index)
        missing = row.members[~done]
        cheapest = missing[np.argsort(cost[missing], kind="stable")][:shortfall]
        rows.append({"target": row.label(), "required": row.required, "achieved": achieved, "met": shortfall == 0,
                     "shortfall": shortfall, "shortfall_tg": float(cost[cheapest].sum()),
                     "left": " ".join(ids[missing]) if row.target.kind != "count" and shortfall else ""})
    return pd.DataFrame(rows, columns=["target", "required", "achieved", "met", "shortfall", "shortfall_tg", "left"])


def solve_programme(inputs: ProgrammeInputs, years: Iterable[int], policy: Policy, time_limit_s: float = 60.0) -> Programme:
    """Build the instance, solve it (MIP and greedy) and describe the programme.

    Raises
    ------
    ValueError
        Bad budgets, capacities, targets or candidates (see ``build_instance``).
    RuntimeError
        If the solver returned a plan that breaks a budget or capacity (a bug).
    """
    instance = _instance(inputs, years, policy)
    baseline = greedy(instance)
    return _described(inputs, policy, instance, solve(instance, time_limit_s, hint=baseline), baseline)


def carry_programme(inputs: ProgrammeInputs, years: Iterable[int], policy: Policy, year_index: np.ndarray,
                    bound: float) -> Programme | None:
    """The programme that keeps ``year_index`` (a plan for other budgets, same inputs and years) and fills what this
    policy's budgets still allow (``geo.plan_solver.carried``, no MIP); ``bound``: this policy's own upper bound.

    None when that plan breaks this policy's budgets or order capacities.
    """
    instance = _instance(inputs, years, policy)
    solution = carried(instance, year_index, bound)
    return None if solution is None else _described(inputs, policy, instance, solution, greedy(instance))


def _instance(inputs: ProgrammeInputs, years: Iterable[int], policy: Policy) -> PlanInstance:
    if dict(policy.weights) != inputs.weights:
        raise ValueError("the policy's value weights differ from those the inputs were prepared with")
    return build_instance(inputs.candidates.drop(columns="geometry"), inputs.pairs, years, policy)


def _described(inputs: ProgrammeInputs, policy: Policy, instance: PlanInstance, solution: PlanSolution,
               baseline: PlanSolution) -> Programme:
    if plan_violations(instance, solution.year_index):
        raise RuntimeError(f"solver returned an infeasible plan: {plan_violations(instance, solution.year_index)[:3]}")
    plan = _plan_table(instance, solution, inputs)
    return Programme(inputs, policy, instance, solution, baseline, plan, _summary(inputs, instance, plan),
                     _year_table(instance, solution), _target_table(instance, solution))


def plan_programme(analysis: GapAnalysis, objects: gpd.GeoDataFrame, years: Iterable[int], policy: Policy,
                   time_limit_s: float = 60.0) -> Programme:
    """``prepare_inputs`` then ``solve_programme``: the programme for one policy."""
    return solve_programme(prepare_inputs(analysis, objects, dict(policy.weights)), years, policy, time_limit_s)


def instrument_label(instrument: str) -> str:
    """The instrument in words."""
    return INSTRUMENT_LABEL.get(instrument, instrument)
