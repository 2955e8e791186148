"""The five-year adaptation plan: from a gap analysis to a chosen object per year.

``plan_adaptation`` builds the candidates (``geo.adaptation``), their coverage
(``geo.gaps.coverage``), the reduced instance (``geo.plan_instance``), solves
it (``geo.plan_solver``) next to the greedy baseline, and describes the plan
per object and per year and district.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.adaptation import candidates as adaptation_candidates
from geo.gaps import GapAnalysis, coverage
from geo.plan_instance import PlanInstance, build_instance, plan_violations
from geo.plan_solver import PlanSolution, greedy, solve

DEFAULT_BUDGET_TG: float = 2.8e9  # per year, tenge
DEFAULT_COUNT_TARGET: dict[int, int] = {2026: 1_800}  # social objects to adapt in 2026 (city plan)


@dataclass(frozen=True)
class AdaptationPlan:
    """A solved plan with its baseline and descriptions.

    Attributes
    ----------
    instance
        The reduced instance that was solved.
    solution, baseline
        The MIP plan and the greedy plan.
    plan
        One row per adapted object: ``object_id``, ``name``, ``category``,
        ``district``, ``year``, ``cost_tg``, ``households_covered``,
        ``people_covered`` (gaps it is the first to close).
    summary
        Per year and district: ``spend_tg``, ``objects``, ``open_gaps_before``,
        ``open_gaps_after`` (household-service gaps), ``people_covered``.
    pairs
        The coverage pairs used (object, household, service, people, group, welfare_level).
    """

    instance: PlanInstance
    solution: PlanSolution
    baseline: PlanSolution
    plan: pd.DataFrame
    summary: pd.DataFrame
    pairs: pd.DataFrame


def mandatory_clinics(analysis: GapAnalysis, candidates: pd.DataFrame) -> list[str]:
    """The cheapest state clinic to adapt in each district that has no wheelchair-accessible medical object."""
    objects = analysis.objects
    medical = objects[objects["service"] == "medical"]
    served = set(medical.loc[medical["status_wheelchair"] == "accessible", "district"])
    clinics = candidates[(candidates["category"] == "state_health") & ~candidates["district"].isin(served)]
    cheapest = clinics.sort_values(["cost_tg", "object_id"]).groupby("district").head(1)
    return cheapest["object_id"].tolist()


def coverage_pairs(analysis: GapAnalysis, candidates: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the candidates that serve an analysed service, with each household's welfare level."""
    usable = analysis.objects.loc[~analysis.objects["snap_too_far"] & analysis.objects["service"].isin(analysis.services), "object_id"]
    pairs = coverage(analysis, candidates.loc[candidates["object_id"].isin(usable), "object_id"])
    welfare = analysis.households.set_index("household_id")["welfare_level"]
    return pairs.assign(welfare_level=welfare.loc[pairs["household_id"]].to_numpy())


def first_closers(pairs: pd.DataFrame, chosen_year: pd.Series) -> pd.DataFrame:
    """For each household gap the plan closes: the adapted object that closes it first, and the year.

    Ties (several objects in the same year) go to the lower object id.
    """
    adapted = pairs[pairs["object_id"].isin(chosen_year.index)].assign(year=lambda p: chosen_year.loc[p["object_id"]].to_numpy())
    adapted = adapted.sort_values(["year", "object_id"])
    return adapted.drop_duplicates(["household_id", "service"], keep="first")


def _plan_table(instance: PlanInstance, solution: PlanSolution, pairs: pd.DataFrame) -> pd.DataFrame:
    chosen = solution.year_index >= 0
    table = instance.candidates[chosen].copy()
    table["year"] = np.array(instance.years)[solution.year_index[chosen]]
    closers = first_closers(pairs, table.set_index("object_id")["year"])
    households = closers.drop_duplicates(["object_id", "household_id"])
    table["households_covered"] = table["object_id"].map(households.groupby("object_id").size()).fillna(0).astype(int)
    table["people_covered"] = table["object_id"].map(households.groupby("object_id")["people"].sum()).fillna(0).astype(int)
    columns = ["object_id", "name", "category", "district", "year", "cost_tg", "households_covered", "people_covered"]
    return table[[c for c in columns if c in table]].sort_values(["year", "district", "object_id"]).reset_index(drop=True)


def _summary(analysis: GapAnalysis, instance: PlanInstance, plan: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    table = analysis.households
    open_by_district = sum(table[f"gap_{s}"].fillna(False).astype(int) for s in analysis.services).groupby(table["district"]).sum()
    closers = first_closers(pairs, plan.set_index("object_id")["year"])
    closers = closers.assign(district=table.set_index("household_id")["district"].loc[closers["household_id"]].to_numpy())
    rows = []
    for district in sorted(open_by_district.index):
        open_gaps = int(open_by_district[district])
        for year in instance.years:
            mine = plan[(plan["year"] == year) & (plan["district"] == district)]
            closed = closers[(closers["year"] == year) & (closers["district"] == district)]
            rows.append({"year": year, "district": district, "spend_tg": float(mine["cost_tg"].sum()), "objects": len(mine),
                         "open_gaps_before": open_gaps, "open_gaps_after": open_gaps - len(closed),
                         "people_covered": int(closed.drop_duplicates("household_id")["people"].sum())})
            open_gaps -= len(closed)
    return pd.DataFrame(rows)


def plan_adaptation(
    analysis: GapAnalysis,
    objects: pd.DataFrame,
    years: Iterable[int],
    budget_tg: Mapping[int, float],
    min_count: Mapping[int, int] | None = None,
    mandatory: Iterable[str] | None = None,
    time_limit_s: float = 60.0,
) -> AdaptationPlan:
    """Choose which objects to adapt in which year.

    Parameters
    ----------
    analysis
        The baseline gap analysis.
    objects
        The passport registry.
    years
        Consecutive plan years (e.g. ``range(2026, 2031)``).
    budget_tg
        Budget per year in tenge.
    min_count
        Minimum number of objects to adapt per year.
    mandatory
        Objects forced in; default: ``mandatory_clinics``.
    time_limit_s
        Solver time limit in seconds.
    """
    candidates = adaptation_candidates(objects)
    pairs = coverage_pairs(analysis, candidates)
    forced = mandatory_clinics(analysis, candidates) if mandatory is None else list(mandatory)
    instance = build_instance(candidates, pairs, years, budget_tg, min_count, forced)
    baseline = greedy(instance)
    solution = solve(instance, time_limit_s, hint=baseline)
    if plan_violations(instance, solution.year_index):
        raise RuntimeError(f"solver returned an infeasible plan: {plan_violations(instance, solution.year_index)[:3]}")
    plan = _plan_table(instance, solution, pairs)
    return AdaptationPlan(instance, solution, baseline, plan, _summary(analysis, instance, plan, pairs), pairs)
