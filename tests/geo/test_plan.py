"""Adaptation planning: optimal on brute-forceable instances, budgets respected, bad input rejected."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from geo.adaptation import adaptation_cost_tg, candidates
from geo.passport import PASSPORT_FIELDS
from geo.plan_instance import build_instance, plan_value, plan_violations
from geo.plan_solver import greedy, solve

YEARS = (2026, 2027)


def random_problem(seed: int, n_candidates: int = 6, n_households: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cands = pd.DataFrame({
        "object_id": [f"O{i}" for i in range(n_candidates)],
        "cost_tg": rng.integers(1, 6, n_candidates) * 1e6,
        "start_year": rng.choice(YEARS, n_candidates, p=[0.7, 0.3]),
    })
    rows = []
    for h in range(n_households):
        for service in ("pharmacy", "medical"):
            covering = rng.choice(n_candidates, size=rng.integers(0, 4), replace=False)
            people, group, welfare = int(rng.integers(1, 3)), rng.choice(["wheelchair", "vision"]), int(rng.integers(1, 7))
            rows += [{"object_id": f"O{c}", "household_id": f"H{h}", "service": service, "people": people,
                      "group": group, "welfare_level": welfare} for c in covering]
    return cands, pd.DataFrame(rows)


def raw_value(cands: pd.DataFrame, pairs: pd.DataFrame, year_of: dict[str, int]) -> float:
    """The objective straight from the unreduced pairs: weight x remaining years of the first closer."""
    from geo.plan_instance import element_weights

    pairs = pairs.assign(weight=element_weights(pairs))
    value = 0.0
    for _, element in pairs.groupby(["household_id", "service"]):
        years = [year_of[o] for o in element["object_id"] if o in year_of]
        if years:
            value += element["weight"].iloc[0] * (YEARS[-1] - min(years) + 1)
    return value


def brute_force(cands: pd.DataFrame, pairs: pd.DataFrame, budget: dict[int, float], min_count: dict[int, int], mandatory: set[str]):
    best, best_plan = -1.0, None
    for choice in itertools.product([None, *YEARS], repeat=len(cands)):
        plan = {o: y for o, y in zip(cands["object_id"], choice) if y is not None}
        if any(y < s for o, y, s in zip(cands["object_id"], choice, cands["start_year"]) if y is not None):
            continue
        if not mandatory <= set(plan):
            continue
        spend = {y: sum(c for o, c in zip(cands["object_id"], cands["cost_tg"]) if plan.get(o) == y) for y in YEARS}
        count = {y: sum(1 for v in plan.values() if v == y) for y in YEARS}
        if any(spend[y] > budget[y] for y in YEARS) or any(count[y] < min_count.get(y, 0) for y in YEARS):
            continue
        value = raw_value(cands, pairs, plan)
        if value > best:
            best, best_plan = value, plan
    return best, best_plan


@pytest.mark.parametrize("seed", range(6))
def test_plan_is_optimal_on_brute_forceable_instances(seed: int) -> None:
    cands, pairs = random_problem(seed)
    budget = {2026: 5e6, 2027: 4e6}
    min_count = {2026: 1} if seed % 2 else {}
    mandatory = {"O0"} if seed % 3 == 0 and cands["cost_tg"].iloc[0] <= 4e6 else set()
    expected, _ = brute_force(cands, pairs, budget, min_count, mandatory)
    instance = build_instance(cands, pairs, YEARS, budget, min_count, mandatory)
    solution = solve(instance, time_limit_s=10)
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert plan_violations(instance, solution.year_index) == []
    assert solution.gap <= 1e-4
    chosen = instance.candidates["object_id"][solution.year_index >= 0]
    assert chosen.is_unique  # never adapted twice
    # the reduced objective is the raw objective
    year_of = {o: instance.years[t] for o, t in zip(instance.candidates["object_id"], solution.year_index) if t >= 0}
    assert plan_value(instance, solution.year_index) == pytest.approx(raw_value(cands, pairs, year_of))
    baseline = greedy(instance)
    assert plan_violations(instance, baseline.year_index) == []
    assert baseline.objective <= solution.objective + 1e-9


def test_reductions_merge_identical_covers_and_drop_idle_candidates() -> None:
    cands = pd.DataFrame({"object_id": ["A", "B", "C", "D", "E"], "cost_tg": [1e6, 2e6, 3e6, 1e6, 5e5],
                          "start_year": [2026] * 5})
    base = {"service": "pharmacy", "people": 1, "group": "vision", "welfare_level": 4}
    pairs = pd.DataFrame([{**base, "object_id": o, "household_id": h} for h in ("H1", "H2") for o in ("A", "B")]
                         + [{**base, "object_id": "C", "household_id": "H3"}])
    instance = build_instance(cands, pairs, YEARS, {2026: 1e7, 2027: 1e7}, {2026: 1})
    assert instance.stats["merged_elements"] == 2  # H1 and H2 share the cover {A, B}
    assert len(instance.element_weight) == 1 and instance.element_weight[0] == pytest.approx(2 * 1.2)
    kept = set(instance.candidates["object_id"])
    assert kept == {"A", "B", "C", "E"}  # D covers nothing and is not the cheapest idle one
    assert instance.candidates.set_index("object_id").loc["C", "own_weight"] == pytest.approx(1.2)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({2026: -1.0, 2027: 1e6}, "non-negative"),
        ({2026: float("nan"), 2027: 1e6}, "non-negative"),
        ({2026: 1e6}, "no budget for year 2027"),
        ({2026: 1e6, 2027: 1e6, 2031: 1e6}, r"outside the plan"),
    ],
)
def test_bad_budgets_are_clear_errors(budget: dict, message: str) -> None:
    cands, pairs = random_problem(0)
    with pytest.raises(ValueError, match=message):
        build_instance(cands, pairs, YEARS, budget)


def test_nan_costs_empty_candidates_and_infeasible_mandates() -> None:
    cands, pairs = random_problem(1)
    broken = cands.assign(cost_tg=[np.nan] + list(cands["cost_tg"][1:]))
    with pytest.raises(ValueError, match="candidate 'O0': cost_tg must be a non-negative number"):
        build_instance(broken, pairs, YEARS, {2026: 1e6, 2027: 1e6})
    with pytest.raises(ValueError, match="candidate set is empty"):
        build_instance(cands.iloc[0:0], pairs.iloc[0:0], YEARS, {2026: 1e6, 2027: 1e6})
    expensive = cands.assign(cost_tg=9e6)
    instance = build_instance(expensive, pairs, YEARS, {2026: 1e6, 2027: 1e6}, mandatory=["O1"])
    with pytest.raises(ValueError, match="no feasible adaptation plan"):
        solve(instance, time_limit_s=5)


def test_costs_come_from_missing_passport_elements() -> None:
    objects = pd.DataFrame([{name: True for name in PASSPORT_FIELDS}] * 3).astype("boolean")
    objects.loc[0, ["ramp", "step_free"]] = False  # entrance missing: a ramp
    objects.loc[1, "ramp"] = False  # step-free entrance already: no ramp needed
    objects.loc[2, "accessible_toilet"] = pd.NA  # not applicable: free
    objects["category"] = ["trade", "trade", "stop"]
    assert adaptation_cost_tg(objects).tolist() == [650_000.0, 0.0, 0.0]
    objects = objects.assign(object_id=["a", "b", "c"], name="x", ownership=["private", "private", "state"],
                             service=None, district="Almaly", status_wheelchair=["not_accessible", "accessible", "accessible"],
                             status_mobility="accessible", status_vision="accessible", status_hearing="accessible",
                             status_intellectual="accessible")
    table = candidates(objects)
    assert table["object_id"].tolist() == ["a"] and table["start_year"].tolist() == [2027]
