"""The programme as one explicit, validated, reduced instance, and its objective.

Candidates enter through one generic table (``CANDIDATE_COLUMNS``): anything
the programme may do (adapt a passport object, open a new accessible service
point, fix a street barrier) is a row with an id, kind, instrument, cost
in tenge, earliest year, category and district, plus ``extra_value`` (value it
earns per remaining year by itself: home entrances, choice, footfall) and the
coverage pairs (household, service gaps it closes) in a second table
(``PAIR_COLUMNS``). A pair may name a second candidate in ``requires``:
the gap then closes only once both are done (a street-barrier fix and the
object behind it, ``geo.programme_barriers``); its credit comes in the later
of their two years, with the product of their rates.

A *gap element* is one household's gap for one service, weighing people x
welfare priority x group priority x the ``gap`` value weight. Closing it in
year position ``t`` of a plan of ``T`` years earns its weight for every
remaining year, ``(T - t)``. A compliance order closes it with the expected
compliance rate ``r``: an element's credit in a year is the sum of the rates of
the candidates adapted that year, capped so that its total credit is at most 1
(filled earliest year first). Every candidate's own value likewise earns
``r * extra * (T - t)``. Equivalently, an element earns its weight in every
year by which it is closed: ``min(1, sum of the rates of its single closers
done by then + sum of the rate products of its pairs both done by then)``;
elements with a pair (*joint* elements) are modelled in this cumulative form.

Targets (``geo.programme_policy.Target``) are soft: each unit of shortfall costs
``penalty``, more than the whole value the programme could earn, so the
optimum meets every target it can and reports the rest as shortfall.

Sound reductions (the optimum is unchanged):

* elements covered by exactly the same candidates (and pairs) are merged (weights added);
* a pair with a member that closes the element alone is dropped (the member
  closes it no later than the pair);
* an element covered by a single candidate is folded into that candidate's own
  weight (it closes exactly when the candidate is adapted);
* candidates with no value and in no target are dropped;
* compliance-order candidates whose value is all their own and that count for
  no target are interchangeable within one start year: only the most valuable that the
  order capacity could ever use are kept, and each may start no earlier than
  its rank allows (see ``_kept``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.programme_policy import (
    COMPLIANCE_ORDER,
    GROUP_PRIORITY,
    INSTRUMENT_LABEL,
    WELFARE_PRIORITY,
    Policy,
    Target,
    category_members,
)

CANDIDATE_COLUMNS: tuple[str, ...] = ("object_id", "kind", "instrument", "category", "district", "cost_tg", "start_year")
PAIR_COLUMNS: tuple[str, ...] = ("object_id", "household_id", "service", "people", "group", "welfare_level")
REQUIRES: str = "requires"  # optional pair column: the id of a second candidate the gap also needs (else empty)


@dataclass(frozen=True)
class TargetRow:
    """One target (a ``*`` district target expands into one per district) over the instance's candidates.

    Attributes
    ----------
    target
        The policy target.
    district
        The district it is about (None: the whole city).
    year_index
        Position of its year in the plan.
    members
        Candidate positions that count for it.
    required
        Objects it needs.
    """

    target: Target
    district: str | None
    year_index: int
    members: np.ndarray
    required: int

    def label(self) -> str:
        """The target in words, with its district."""
        text = self.target.label()
        return text.replace(" in each district", f" in {self.district}") if self.target.district == "*" else text

    def achieved(self, year_index: np.ndarray) -> int:
        """Objects of ``members`` the plan adapts in the target's year (count) or by it (all, share)."""
        years = year_index[self.members]
        if self.target.kind == "count":
            return int((years == self.year_index).sum())
        return int(((years >= 0) & (years <= self.year_index)).sum())


@dataclass(frozen=True)
class PlanInstance:
    """A reduced, validated programme instance.

    Attributes
    ----------
    years
        The plan's years, ascending and consecutive.
    budget_tg
        City budget per year, tenge.
    order_capacity
        Compliance orders per year.
    candidates
        ``CANDIDATE_COLUMNS`` plus ``own_weight`` (value per remaining year of
        what only it brings, before the rate), ``rate`` (1 for the city budget,
        the compliance rate for orders) and any descriptive columns given.
    element_weight
        Weight of each merged element covered by two or more candidates.
    element_cover
        For each merged element, the candidate positions covering it.
    targets
        The targets over candidate positions.
    penalty
        Objective cost of one object of target shortfall.
    stats
        Sizes before and after the reductions.
    joint_weight
        Weight of each joint element (one that a pair of candidates closes together).
    joint_single
        For each joint element, the candidate positions that close it alone.
    joint_pairs
        For each joint element, its pairs of candidate positions (m x 2) that close it together.
    """

    years: tuple[int, ...]
    budget_tg: np.ndarray
    order_capacity: np.ndarray
    candidates: pd.DataFrame
    element_weight: np.ndarray
    element_cover: tuple[np.ndarray, ...]
    targets: tuple[TargetRow, ...]
    penalty: float
    stats: dict[str, int] = field(default_factory=dict)
    joint_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    joint_single: tuple[np.ndarray, ...] = ()
    joint_pairs: tuple[np.ndarray, ...] = ()

    @property
    def is_order(self) -> np.ndarray:
        """Whether each candidate is a compliance order (else city budget)."""
        return (self.candidates["instrument"] == COMPLIANCE_ORDER).to_numpy()

    def eligible(self, position: int, year_index: int) -> bool:
        """Whether candidate ``position`` may be adapted in year ``years[year_index]``."""
        return int(self.candidates["start_year"].iat[position]) <= self.years[year_index]


def element_weights(pairs: pd.DataFrame, gap_weight: float = 1.0) -> np.ndarray:
    """Weight of each coverage pair's household: people x welfare and group priority x ``gap_weight``."""
    return gap_weight * household_weights(pairs)


def household_weights(households: pd.DataFrame) -> np.ndarray:
    """People x welfare priority x group priority of each row (``people``, ``welfare_level``, ``group``)."""
    welfare = households["welfare_level"].map(WELFARE_PRIORITY).to_numpy(dtype=float)
    group = households["group"].map(GROUP_PRIORITY).to_numpy(dtype=float)
    return households["people"].to_numpy(dtype=float) * welfare * group


def check_resources(years: tuple[int, ...], budget_tg: Mapping[int, float], order_capacity: Mapping[int, int]) -> None:
    """Raise ValueError for budgets or order capacities that are missing, negative, NaN or for unknown years."""
    for label, table in (("budget", budget_tg), ("order capacity", order_capacity)):
        unknown = sorted(set(table) - set(years))
        if unknown:
            raise ValueError(f"{label} given for year(s) {unknown} outside the plan {years[0]}-{years[-1]}")
        for year in years:
            if year not in table:
                raise ValueError(f"no {label} for year {year}")
            value = table[year]
            if value is None or not np.isfinite(value) or value < 0:
                unit = "a non-negative number of tenge" if label == "budget" else "a non-negative number of orders"
                raise ValueError(f"{label} for year {year} must be {unit}, got {value!r}")


def check_candidates(candidates: pd.DataFrame) -> None:
    """Raise ValueError for a candidate table that misses columns, repeats ids or has bad costs, years or instruments."""
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates]
    if missing:
        raise ValueError(f"candidates: missing column(s) {missing}")
    if candidates.empty:
        raise ValueError("the candidate set is empty: no object lacks accessibility, nothing to plan")
    if not candidates["object_id"].is_unique:
        raise ValueError(f"duplicate candidate id {candidates.loc[candidates['object_id'].duplicated(), 'object_id'].iloc[0]!r}")
    for column in ("cost_tg", "extra_value"):
        if column not in candidates:
            continue
        values = pd.to_numeric(candidates[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"candidate {candidates['object_id'].iat[row]!r}: {column} must be a non-negative number, "
                             f"got {candidates[column].iat[row]!r}")
    unknown = set(candidates["instrument"]) - set(INSTRUMENT_LABEL)
    if unknown:
        raise ValueError(f"candidates: unknown instrument(s) {sorted(unknown)}; expected {list(INSTRUMENT_LABEL)}")


def build_instance(candidates: pd.DataFrame, pairs: pd.DataFrame, years: Iterable[int], policy: Policy) -> PlanInstance:
    """Validate and reduce a programme instance.

    Parameters
    ----------
    candidates
        ``CANDIDATE_COLUMNS`` (cost in tenge), optionally ``extra_value``
        (value per remaining year of its own) and ``wheelchair_gap`` (not yet
        wheelchair-accessible: what ``all``/``share`` targets count), plus
        descriptive columns.
    pairs
        Coverage pairs ``PAIR_COLUMNS`` (one per candidate and household gap it closes).
    years
        Consecutive plan years, e.g. ``range(2026, 2031)``.
    policy
        Budgets, order capacity, compliance rate, targets and value weights.

    Raises
    ------
    ValueError
        Bad budgets or capacities, bad candidates, a target for a year outside
        the plan or larger than the candidates that could meet it.
    """
    years = tuple(sorted(int(y) for y in years))
    if not years or years != tuple(range(years[0], years[-1] + 1)):
        raise ValueError(f"plan years must be consecutive and non-empty, got {years}")
    check_resources(years, policy.budget_tg, policy.order_capacity)
    check_candidates(candidates)
    candidates = candidates[candidates["start_year"] <= years[-1]].reset_index(drop=True)
    if "extra_value" not in candidates:
        candidates = candidates.assign(extra_value=0.0)
    if "wheelchair_gap" not in candidates:
        candidates = candidates.assign(wheelchair_gap=False)
    pairs = pairs[pairs["object_id"].isin(candidates["object_id"])]
    if REQUIRES in pairs:
        pairs = pairs[pairs[REQUIRES].isna() | pairs[REQUIRES].isin(candidates["object_id"])]
    position = pd.Series(np.arange(len(candidates)), index=candidates["object_id"])
    keys = pairs["household_id"].astype(str) + "|" + pairs["service"].astype(str)
    element_codes, element_keys = pd.factorize(keys)
    raw_weight = np.zeros(len(element_keys))
    np.maximum.at(raw_weight, element_codes, element_weights(pairs, policy.weights["gap"]))
    first = position.loc[pairs["object_id"]].to_numpy()
    second = (position.reindex(pairs[REQUIRES]).fillna(-1).to_numpy(dtype=np.int64) if REQUIRES in pairs
              else np.full(len(pairs), -1, dtype=np.int64))
    singles, clauses = _element_covers(element_codes, first, second)
    plain = pd.DataFrame({"cover": singles.to_numpy(), "weight": raw_weight[singles.index.to_numpy()]})[
        ~singles.index.isin(clauses.index)]
    merged = plain.groupby("cover", sort=False)["weight"].sum()
    joint = pd.DataFrame({"single": singles.reindex(clauses.index).apply(lambda c: c if isinstance(c, tuple) else ()).to_numpy(),
                          "pairs": clauses.to_numpy(), "weight": raw_weight[clauses.index.to_numpy()]})
    joint = joint.groupby(["single", "pairs"], sort=False)["weight"].sum()
    own = candidates["extra_value"].to_numpy(dtype=float).copy()
    multi_cover, multi_weight = [], []
    for cover, weight in merged.items():
        if len(cover) == 1:
            own[cover[0]] += weight
        else:
            multi_cover.append(np.array(cover, dtype=np.int64))
            multi_weight.append(weight)
    is_order = (candidates["instrument"] == COMPLIANCE_ORDER).to_numpy()
    candidates = candidates.assign(own_weight=own, rate=np.where(is_order, policy.compliance_rate, 1.0))
    shared = np.zeros(len(candidates), dtype=bool)
    for cover in multi_cover:
        shared[cover] = True
    for single, pair in joint.index:
        shared[list(single)] = True
        shared[[c for p in pair for c in p]] = True
    targets = [t for t in policy.targets if years[0] <= t.year <= years[-1]]
    outside = [t for t in policy.targets if not years[0] <= t.year <= years[-1]]
    if outside:
        raise ValueError(f"target {outside[0].label()!r}: year {outside[0].year} is outside the plan {years[0]}-{years[-1]}")
    signature = _target_signature(candidates, targets)
    keep, earliest = _kept(candidates, shared, signature, years, policy)
    candidates = candidates.assign(start_year=earliest)
    remap = -np.ones(len(candidates), dtype=np.int64)
    remap[keep] = np.arange(keep.sum())
    kept = candidates[keep].reset_index(drop=True)
    rows = _target_rows(kept, targets, years)
    capacity = np.array([float(policy.order_capacity[y]) for y in years])
    total_value = float((kept["own_weight"] * kept["rate"]).sum() + sum(multi_weight) + joint.sum()) * len(years)
    stats = {"households_with_gaps_covered": int(pairs["household_id"].nunique()), "gap_elements": len(element_keys),
             "merged_elements": len(merged), "shared_elements": len(multi_cover),
             "joint_elements": len(joint), "candidates": len(candidates), "candidates_kept": int(keep.sum())}
    return PlanInstance(
        years=years,
        budget_tg=np.array([float(policy.budget_tg[y]) for y in years]),
        order_capacity=capacity,
        candidates=kept,
        element_weight=np.array(multi_weight, dtype=float),
        element_cover=tuple(remap[c] for c in multi_cover),
        targets=tuple(rows),
        penalty=max(1.0, 2.0 * total_value),
        stats=stats,
        joint_weight=joint.to_numpy(dtype=float),
        joint_single=tuple(remap[np.array(single, dtype=np.int64)] for single, _ in joint.index),
        joint_pairs=tuple(remap[np.array(pair, dtype=np.int64).reshape(-1, 2)] for _, pair in joint.index),
    )


def _element_covers(element: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Per element code: the sorted tuple of candidates that close it alone, and (joint elements only)
    the sorted tuple of its pairs ``(a, b)``, ``a < b``, with no member that closes it alone."""
    alone = second < 0
    singles = pd.Series(first[alone]).groupby(element[alone]).agg(lambda s: tuple(sorted(set(s))))
    low, high = np.minimum(first[~alone], second[~alone]), np.maximum(first[~alone], second[~alone])
    codes = element[~alone]
    closers = set(zip(element[alone].tolist(), first[alone].tolist()))
    useful = np.array([(e, a) not in closers and (e, b) not in closers for e, a, b in zip(codes.tolist(), low.tolist(),
                                                                                            high.tolist())], dtype=bool)
    frame = pd.DataFrame({"e": codes[useful], "pair": list(zip(low[useful].tolist(), high[useful].tolist()))})
    clauses = frame.groupby("e")["pair"].agg(lambda s: tuple(sorted(set(s)))) if len(frame) else pd.Series(dtype=object)
    return singles, clauses


def _in_target(candidates: pd.DataFrame, target: Target, district: str | None) -> np.ndarray:
    member = candidates["category"].isin(category_members(target.category)).to_numpy()
    if district is not None:
        member = member & (candidates["district"] == district).to_numpy()
    if target.kind != "count":
        member = member & candidates["wheelchair_gap"].fillna(False).to_numpy(dtype=bool)
    return member


def _districts(candidates: pd.DataFrame, target: Target) -> list[str | None]:
    if target.district == "*":
        return sorted(set(candidates.loc[_in_target(candidates, target, None), "district"]))
    return [target.district]


def _target_signature(candidates: pd.DataFrame, targets: list[Target]) -> np.ndarray:
    """Per candidate, the targets it counts for, as a string key."""
    key = np.full(len(candidates), "", dtype=object)
    for i, target in enumerate(targets):
        for district in _districts(candidates, target):
            key = np.where(_in_target(candidates, target, district), key + f"{i}:{district}|", key)
    return key


def _kept(candidates: pd.DataFrame, shared: np.ndarray, signature: np.ndarray, years: tuple[int, ...],
          policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates to keep, and the earliest year each may start.

    Valueless candidates outside every target are dropped. Own-value-only
    compliance orders outside every target with one start year are interchangeable:
    some optimal plan orders the most valuable ones first and never later than
    less valuable ones, so the one ranked ``r`` (from 0) cannot start before the
    year whose cumulative order capacity reaches ``r + 1``, and those ranked
    beyond the whole capacity are dropped.
    """
    own = candidates["own_weight"].to_numpy()
    starts = candidates["start_year"].to_numpy().copy()
    keep = (own > 0) | shared | (signature != "")
    orders = (candidates["instrument"] == COMPLIANCE_ORDER).to_numpy() & ~shared & keep & (signature == "")
    frame = pd.DataFrame({"start": starts, "own": own, "id": candidates["object_id"].to_numpy()})[orders]
    for start, group in frame.groupby("start"):
        usable = [y for y in years if y >= start]
        cumulative = np.cumsum([policy.order_capacity[y] for y in usable])
        ranked = group.sort_values(["own", "id"], ascending=[False, True]).index.to_numpy()
        first = np.searchsorted(cumulative, np.arange(1, len(ranked) + 1), side="left")
        keep[ranked[first >= len(usable)]] = False
        fits = first < len(usable)
        starts[ranked[fits]] = np.array(usable)[first[fits]]
    return keep, starts


def _target_rows(candidates: pd.DataFrame, targets: list[Target], years: tuple[int, ...]) -> list[TargetRow]:
    starts = candidates["start_year"].to_numpy()
    rows = []
    for target in targets:
        for district in _districts(candidates, target):
            members = np.flatnonzero(_in_target(candidates, target, district) & (starts <= target.year))
            if target.kind == "count":
                required = int(target.value)
                if required > len(members):
                    where = "" if district is None else f" in {district}"
                    raise ValueError(f"target {target.label()!r}: {required:,} objects needed{where} but only "
                                     f"{len(members):,} candidates of that category can start by {target.year}")
            elif target.kind == "all":
                required = len(members)
            else:
                required = int(math.ceil(target.value * len(members) - 1e-9))
            rows.append(TargetRow(target, district, years.index(target.year), members, required))
    return rows


@dataclass(frozen=True)
class Evaluation:
    """How good a plan is, independent of any solver.

    Attributes
    ----------
    value
        Weighted person-years the plan earns.
    shortfall
        Objects short of each target (instance order).
    objective
        ``value - penalty * sum(shortfall)``: what the solvers maximise.
    """

    value: float
    shortfall: np.ndarray
    objective: float


def element_credits(instance: PlanInstance, year_index: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Credit of one shared element per year position: rates of its adapters that year, capped at 1 in total."""
    credit = np.zeros(len(instance.years))
    rate = instance.candidates["rate"].to_numpy()
    years = year_index[cover]
    np.add.at(credit, years[years >= 0], rate[cover][years >= 0])
    cumulative = np.minimum(np.cumsum(credit), 1.0)
    return np.diff(cumulative, prepend=0.0)


def joint_closed(instance: PlanInstance, year_index: np.ndarray, e: int) -> np.ndarray:
    """How closed joint element ``e`` is by each year position (cumulative, at most 1): the rates of its
    single closers done by then plus the rate products of its pairs both done by then."""
    rate = instance.candidates["rate"].to_numpy()
    credit = np.zeros(len(instance.years))
    single = instance.joint_single[e]
    years = year_index[single]
    np.add.at(credit, years[years >= 0], rate[single][years >= 0])
    pairs = instance.joint_pairs[e]
    both = (year_index[pairs[:, 0]] >= 0) & (year_index[pairs[:, 1]] >= 0)
    np.add.at(credit, np.maximum(year_index[pairs[both, 0]], year_index[pairs[both, 1]]),
              rate[pairs[both, 0]] * rate[pairs[both, 1]])
    return np.minimum(np.cumsum(credit), 1.0)


def evaluate(instance: PlanInstance, year_index: np.ndarray) -> Evaluation:
    """Value, target shortfalls and objective of a plan (``year_index[c]``: year position of candidate c, or -1)."""
    horizon = len(instance.years)
    remaining = np.where(year_index >= 0, horizon - year_index, 0)
    candidates = instance.candidates
    value = float((candidates["own_weight"].to_numpy() * candidates["rate"].to_numpy()) @ remaining)
    factor = horizon - np.arange(horizon)
    for weight, cover in zip(instance.element_weight, instance.element_cover):
        if (year_index[cover] >= 0).any():
            value += weight * float(element_credits(instance, year_index, cover) @ factor)
    for e, weight in enumerate(instance.joint_weight):
        value += weight * float(joint_closed(instance, year_index, e).sum())
    shortfall = np.array([max(0, row.required - row.achieved(year_index)) for row in instance.targets], dtype=float)
    return Evaluation(value, shortfall, value - instance.penalty * float(shortfall.sum()))


def plan_violations(instance: PlanInstance, year_index: np.ndarray) -> list[str]:
    """Broken hard constraints of a plan (empty when feasible): budgets, order capacity, start years."""
    problems = []
    cost = instance.candidates["cost_tg"].to_numpy()
    order = instance.is_order
    for t, year in enumerate(instance.years):
        mine = year_index == t
        spent = float(cost[mine & ~order].sum())
        if spent > instance.budget_tg[t] + 1e-6:
            problems.append(f"{year}: spends {spent:,.0f} tg over the budget {instance.budget_tg[t]:,.0f} tg")
        orders = int((mine & order).sum())
        if orders > instance.order_capacity[t]:
            problems.append(f"{year}: {orders} compliance orders over the capacity {instance.order_capacity[t]:,.0f}")
    starts = instance.candidates["start_year"].to_numpy()
    chosen = year_index >= 0
    early = chosen & (np.array(instance.years)[np.maximum(year_index, 0)] < starts)
    problems += [f"{instance.candidates['object_id'].iat[c]} adapted before its start year" for c in np.flatnonzero(early)]
    return problems
