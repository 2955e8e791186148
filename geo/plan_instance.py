"""The adaptation-planning problem: one explicit, validated, reduced instance.

A *gap element* is one household's gap for one service. Adapting a candidate
object closes every element it covers (``geo.gaps.coverage``). An element's
weight is the household's people times a priority for its welfare level and
disability group (``WELFARE_PRIORITY``, ``GROUP_PRIORITY``). Closing an
element in year ``t`` of a plan over years ``y_0..y_{T-1}`` earns its weight
once for every remaining year, ``weight * (T - t)``, so earlier is better.

Sound reductions (the optimum is unchanged):

* elements covered by exactly the same candidates are merged (weights added);
* an element covered by a single candidate is folded into that candidate's own
  weight (it closes exactly when the candidate is adapted);
* candidates that cover nothing matter only for count targets: of those that
  may start in a given year, only the cheapest that the remaining targets could
  use are kept (any other can be swapped for a cheaper unused one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Priority multipliers: worse-off households first (welfare level 1 = crisis).
WELFARE_PRIORITY: dict[int, float] = {1: 2.0, 2: 1.6, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.6}
GROUP_PRIORITY: dict[str, float] = {"wheelchair": 1.5, "mobility": 1.2, "vision": 1.2, "hearing": 1.0, "intellectual": 1.0}


@dataclass(frozen=True)
class PlanInstance:
    """A reduced, validated adaptation-planning instance.

    Attributes
    ----------
    years
        The plan's years, ascending and consecutive.
    budget_tg
        Budget per year in tenge.
    min_count
        Minimum number of objects to adapt per year (0 = no target).
    candidates
        ``object_id``, ``cost_tg`` (tenge), ``start_year``, ``mandatory`` and
        ``own_weight`` (weight of the elements only it covers), plus whatever
        descriptive columns were given (name, category, district ...).
    element_weight
        Weight of each merged element covered by two or more candidates.
    element_cover
        For each merged element, the candidate positions covering it.
    stats
        Sizes before and after the reductions.
    """

    years: tuple[int, ...]
    budget_tg: np.ndarray
    min_count: np.ndarray
    candidates: pd.DataFrame
    element_weight: np.ndarray
    element_cover: tuple[np.ndarray, ...]
    stats: dict[str, int] = field(default_factory=dict)

    def eligible(self, position: int, year_index: int) -> bool:
        """Whether candidate ``position`` may be adapted in year ``years[year_index]``."""
        return int(self.candidates["start_year"].iat[position]) <= self.years[year_index]


def element_weights(pairs: pd.DataFrame) -> np.ndarray:
    """Weight of each coverage pair's household: people x welfare and group priority."""
    welfare = pairs["welfare_level"].map(WELFARE_PRIORITY).to_numpy(dtype=float)
    group = pairs["group"].map(GROUP_PRIORITY).to_numpy(dtype=float)
    return pairs["people"].to_numpy(dtype=float) * welfare * group


def check_budgets(years: tuple[int, ...], budget_tg: Mapping[int, float], min_count: Mapping[int, int]) -> None:
    """Raise ValueError for budgets or count targets that are missing, negative, NaN or for unknown years."""
    for label, table in (("budget", budget_tg), ("count target", min_count)):
        unknown = sorted(set(table) - set(years))
        if unknown:
            raise ValueError(f"{label} given for year(s) {unknown} outside the plan {years[0]}-{years[-1]}")
    for year in years:
        if year not in budget_tg:
            raise ValueError(f"no budget for year {year}")
        value = budget_tg[year]
        if value is None or not np.isfinite(value) or value < 0:
            raise ValueError(f"budget for year {year} must be a non-negative number of tenge, got {value!r}")
        if min_count.get(year, 0) < 0:
            raise ValueError(f"count target for year {year} must be >= 0, got {min_count[year]}")


def _check_candidates(candidates: pd.DataFrame, mandatory: set[str]) -> None:
    if candidates.empty:
        raise ValueError("the candidate set is empty: no object lacks accessibility, nothing to plan")
    if not candidates["object_id"].is_unique:
        raise ValueError(f"duplicate candidate id {candidates.loc[candidates['object_id'].duplicated(), 'object_id'].iloc[0]!r}")
    cost = pd.to_numeric(candidates["cost_tg"], errors="coerce")
    bad = ~np.isfinite(cost.to_numpy(dtype=float)) | (cost.to_numpy(dtype=float) < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"candidate {candidates['object_id'].iat[row]!r}: cost_tg must be a non-negative number, got {candidates['cost_tg'].iat[row]!r}")
    unknown = mandatory - set(candidates["object_id"])
    if unknown:
        raise ValueError(f"mandatory object(s) {sorted(unknown)[:5]} are not candidates")


def build_instance(
    candidates: pd.DataFrame,
    pairs: pd.DataFrame,
    years: Iterable[int],
    budget_tg: Mapping[int, float],
    min_count: Mapping[int, int] | None = None,
    mandatory: Iterable[str] = (),
) -> PlanInstance:
    """Validate and reduce an adaptation-planning instance.

    Parameters
    ----------
    candidates
        ``object_id``, ``cost_tg`` (tenge), ``start_year`` (+ descriptive columns).
    pairs
        Coverage pairs ``object_id``, ``household_id``, ``service``, ``people``,
        ``group``, ``welfare_level`` (one per candidate and household gap it closes).
    years
        Consecutive plan years, e.g. ``range(2026, 2031)``.
    budget_tg
        Budget in tenge for every plan year.
    min_count
        Optional minimum number of adapted objects per year.
    mandatory
        Object ids that must be adapted (in some year they are eligible for).

    Raises
    ------
    ValueError
        Missing, negative or NaN budgets, budgets for unknown years, NaN or
        negative costs, an empty candidate set, unknown mandatory ids.
    """
    years = tuple(sorted(int(y) for y in years))
    if not years or years != tuple(range(years[0], years[-1] + 1)):
        raise ValueError(f"plan years must be consecutive and non-empty, got {years}")
    min_count = dict(min_count or {})
    mandatory = set(mandatory)
    check_budgets(years, budget_tg, min_count)
    _check_candidates(candidates, mandatory)
    candidates = candidates[candidates["start_year"] <= years[-1]].reset_index(drop=True)
    pairs = pairs[pairs["object_id"].isin(candidates["object_id"])]
    weights = element_weights(pairs)
    position = pd.Series(np.arange(len(candidates)), index=candidates["object_id"])
    keys = pairs["household_id"].astype(str) + "|" + pairs["service"].astype(str)
    element_codes, element_keys = pd.factorize(keys)
    element_weight_raw = np.zeros(len(element_keys))
    np.maximum.at(element_weight_raw, element_codes, weights)  # the same household weight on every pair
    covers = pd.Series(position.loc[pairs["object_id"]].to_numpy()).groupby(element_codes).agg(lambda s: tuple(sorted(s)))
    merged = pd.DataFrame({"cover": covers.to_numpy(), "weight": element_weight_raw[covers.index.to_numpy()]})
    merged = merged.groupby("cover", sort=False)["weight"].sum()
    own_weight = np.zeros(len(candidates))
    multi_cover, multi_weight = [], []
    for cover, weight in merged.items():
        if len(cover) == 1:
            own_weight[cover[0]] += weight
        else:
            multi_cover.append(np.array(cover, dtype=np.int64))
            multi_weight.append(weight)
    candidates = candidates.assign(own_weight=own_weight, mandatory=candidates["object_id"].isin(mandatory))
    covered = np.zeros(len(candidates), dtype=bool)
    covered[own_weight > 0] = True
    for cover in multi_cover:
        covered[cover] = True
    keep = _drop_idle_candidates(candidates, covered, years, min_count)
    remap = -np.ones(len(candidates), dtype=np.int64)
    remap[keep] = np.arange(keep.sum())
    stats = {"households_with_gaps_covered": int(pairs["household_id"].nunique()), "gap_elements": len(element_keys),
             "merged_elements": len(merged), "shared_elements": len(multi_cover),
             "candidates": len(candidates), "candidates_kept": int(keep.sum())}
    return PlanInstance(
        years=years,
        budget_tg=np.array([float(budget_tg[y]) for y in years]),
        min_count=np.array([int(min_count.get(y, 0)) for y in years]),
        candidates=candidates[keep].reset_index(drop=True),
        element_weight=np.array(multi_weight, dtype=float),
        element_cover=tuple(remap[c] for c in multi_cover),
        stats=stats,
    )


def _drop_idle_candidates(candidates: pd.DataFrame, covered: np.ndarray, years: tuple[int, ...], min_count: dict[int, int]) -> np.ndarray:
    """Keep covering and mandatory candidates, and the cheapest idle ones count targets could use."""
    keep = covered | candidates["mandatory"].to_numpy()
    idle = candidates[~keep]
    for start, group in idle.groupby("start_year"):
        usable_targets = sum(n for y, n in min_count.items() if y >= start)
        cheapest = group.sort_values(["cost_tg", "object_id"]).index[:usable_targets]
        keep[cheapest] = True
    return keep


def plan_value(instance: PlanInstance, year_index: np.ndarray) -> float:
    """Objective of a plan: ``year_index[c]`` is the year position of candidate c, or -1.

    Independent of any solver: each element earns ``weight * (T - t)`` for the
    earliest year position ``t`` at which a covering candidate is adapted.
    """
    horizon = len(instance.years)
    chosen = year_index >= 0
    remaining = np.where(chosen, horizon - year_index, 0)
    value = float(instance.candidates["own_weight"].to_numpy() @ remaining)
    for weight, cover in zip(instance.element_weight, instance.element_cover):
        value += weight * remaining[cover].max(initial=0)
    return value


def plan_violations(instance: PlanInstance, year_index: np.ndarray) -> list[str]:
    """Broken constraints of a plan (empty when feasible): budgets, counts, start years, mandatory."""
    problems = []
    cost = instance.candidates["cost_tg"].to_numpy()
    for t, year in enumerate(instance.years):
        mine = year_index == t
        spent = float(cost[mine].sum())
        if spent > instance.budget_tg[t] + 1e-6:
            problems.append(f"{year}: spends {spent:,.0f} tg over the budget {instance.budget_tg[t]:,.0f} tg")
        if mine.sum() < instance.min_count[t]:
            problems.append(f"{year}: adapts {int(mine.sum())} objects, target {int(instance.min_count[t])}")
    starts = instance.candidates["start_year"].to_numpy()
    chosen = year_index >= 0
    early = chosen & (np.array(instance.years)[np.maximum(year_index, 0)] < starts)
    problems += [f"{instance.candidates['object_id'].iat[c]} adapted before its start year" for c in np.flatnonzero(early)]
    missing = instance.candidates["mandatory"].to_numpy() & ~chosen
    problems += [f"mandatory {instance.candidates['object_id'].iat[c]} not adapted" for c in np.flatnonzero(missing)]
    return problems
