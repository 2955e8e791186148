"""The accessibility programme: exact on brute-forceable instances, instruments, targets, value terms, sites, no idle year."""

from __future__ import annotations

import dataclasses
import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.adaptation import adaptation_cost_tg, candidates
from geo.adaptation_plan import ProgrammeInputs, first_closers, solve_programme
from geo.crs import UTM43N
from geo.passport import PASSPORT_FIELDS
from geo.plan_curve import CurveScenario, carry_up, curve_point, curve_table
from geo.plan_instance import build_instance, evaluate, plan_violations
from geo.plan_solver import greedy, solve
from geo.programme_policy import (
    CITY_BUDGET,
    COMPLIANCE_ORDER,
    GROUP_PRIORITY,
    HOME_LINK_MAX_M,
    VALUE_WEIGHTS,
    WELFARE_PRIORITY,
    Policy,
    Target,
    parse_target,
    read_targets,
    read_weights,
)
from geo.programme_value import home_entrance_value, home_links
from invaplan.plan_report import barrier_fixes_by_year_district

YEARS = (2026, 2027)


def random_problem(seed: int, n_candidates: int = 6, n_households: int = 10,
                   joint: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates of both instruments and kinds (objects and new sites), own values and shared coverage;
    ``joint``: also gaps that two candidates close only together (a barrier fix and the object behind it)."""
    rng = np.random.default_rng(seed)
    cands = pd.DataFrame({
        "object_id": [f"O{i}" for i in range(n_candidates)],
        "kind": rng.choice(["object", "object", "new_site"], n_candidates),
        "instrument": rng.choice([CITY_BUDGET, COMPLIANCE_ORDER], n_candidates),
        "category": rng.choice(["state_health", "pharmacy", "trade"], n_candidates),
        "district": rng.choice(["Almaly", "Bostandyk"], n_candidates),
        "cost_tg": rng.integers(1, 6, n_candidates) * 1e6,
        "start_year": rng.choice(YEARS, n_candidates, p=[0.7, 0.3]),
        "extra_value": rng.choice([0.0, 0.0, 0.5, 2.0], n_candidates),
        "wheelchair_gap": rng.random(n_candidates) < 0.7,
    })
    rows = []
    for h in range(n_households):
        for service in ("pharmacy", "medical"):
            covering = rng.choice(n_candidates, size=rng.integers(0, 4), replace=False)
            people, group, welfare = int(rng.integers(1, 3)), rng.choice(["wheelchair", "vision"]), int(rng.integers(1, 7))
            rows += [{"object_id": f"O{c}", "household_id": f"H{h}", "service": service, "people": people,
                      "group": group, "welfare_level": welfare, "requires": None} for c in covering]
            if joint and rng.random() < 0.6:
                a, b = rng.choice(n_candidates, size=2, replace=False)
                rows.append({"object_id": f"O{a}", "household_id": f"H{h}", "service": service, "people": people,
                             "group": group, "welfare_level": welfare, "requires": f"O{b}"})
    return cands, pd.DataFrame(rows)


def policy(budget: float = 5e6, capacity: int = 1, rate: float = 1.0, targets: tuple[Target, ...] = ()) -> Policy:
    return Policy(dict.fromkeys(YEARS, budget), dict.fromkeys(YEARS, capacity), rate, targets)


def raw_objective(cands: pd.DataFrame, pairs: pd.DataFrame, year_of: dict[str, int], pol: Policy) -> float:
    """The objective straight from the definitions, on the unreduced tables."""
    rate = {o: pol.compliance_rate if i == COMPLIANCE_ORDER else 1.0 for o, i in zip(cands["object_id"], cands["instrument"])}
    value = sum(v * rate[o] * (YEARS[-1] - year_of[o] + 1) for o, v in zip(cands["object_id"], cands["extra_value"]) if o in year_of)
    pairs = pairs if "requires" in pairs else pairs.assign(requires=None)
    for _, element in pairs.groupby(["household_id", "service"]):
        first = element.iloc[0]
        weight = first["people"] * WELFARE_PRIORITY[first["welfare_level"]] * GROUP_PRIORITY[first["group"]]
        for year in YEARS:  # closed by each year: rates of the closers done by then (pairs: both done), capped at 1
            done = [rate[o] * (rate[r] if isinstance(r, str) else 1.0) for o, r in zip(element["object_id"], element["requires"])
                    if year_of.get(o, 9999) <= year and (not isinstance(r, str) or year_of.get(r, 9999) <= year)]
            value += weight * min(1.0, sum(done))
    shortfall = 0
    for target in pol.targets:
        members = cands[cands["category"].isin({"social": {"state_health", "pharmacy"}}.get(target.category, {target.category}))]
        if target.kind == "count":
            achieved = sum(year_of.get(o) == target.year for o in members["object_id"])
            required = int(target.value)
        else:
            members = members[members["wheelchair_gap"]]
            achieved = sum(year_of.get(o, 9999) <= target.year for o in members["object_id"])
            required = len(members) if target.kind == "all" else math.ceil(target.value * len(members))
        shortfall += max(0, required - achieved)
    return value, shortfall


def brute_force(cands: pd.DataFrame, pairs: pd.DataFrame, pol: Policy) -> tuple[float, int]:
    """Best (value, shortfall) lexicographically: least shortfall first, then most value."""
    best = (-1.0, 10**9)
    for choice in itertools.product([None, *YEARS], repeat=len(cands)):
        plan = {o: y for o, y in zip(cands["object_id"], choice) if y is not None}
        if any(plan[o] < s for o, s in zip(cands["object_id"], cands["start_year"]) if o in plan):
            continue
        city = cands["instrument"] == CITY_BUDGET
        spend = {y: sum(c for o, c in zip(cands.loc[city, "object_id"], cands.loc[city, "cost_tg"]) if plan.get(o) == y) for y in YEARS}
        orders = {y: sum(1 for o in cands.loc[~city, "object_id"] if plan.get(o) == y) for y in YEARS}
        if any(spend[y] > pol.budget_tg[y] or orders[y] > pol.order_capacity[y] for y in YEARS):
            continue
        value, shortfall = raw_objective(cands, pairs, plan, pol)
        if (shortfall, -value) < (best[1], -best[0]):
            best = (value, shortfall)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_programme_is_optimal_on_brute_forceable_instances(seed: int) -> None:
    """Seeds 8-11 add gaps that two candidates close only together (a barrier fix and the object behind it)."""
    cands, pairs = random_problem(seed if seed < 8 else 10 * seed, joint=seed >= 8)
    targets = [(), (Target("count", 2026, "social", None, 2),), (Target("all", 2027, "state_health"),),
               (Target("share", 2027, "pharmacy", None, 0.5),)][seed % 4]
    pol = policy(budget=[4e6, 6e6][seed % 2], capacity=1 + seed % 2, rate=[1.0, 0.6][seed % 3 == 2], targets=targets)
    value, shortfall = brute_force(cands, pairs, pol)
    instance = build_instance(cands, pairs, YEARS, pol)
    solution = solve(instance, time_limit_s=10)
    assert plan_violations(instance, solution.year_index) == []
    assert solution.gap <= 1e-6
    year_of = {o: instance.years[t] for o, t in zip(instance.candidates["object_id"], solution.year_index) if t >= 0}
    got_value, got_shortfall = raw_objective(cands, pairs, year_of, pol)
    assert (got_shortfall, got_value) == (shortfall, pytest.approx(value, rel=1e-9, abs=1e-9))
    evaluation = evaluate(instance, solution.year_index)  # the reduced objective is the raw objective
    assert evaluation.value == pytest.approx(got_value) and evaluation.shortfall.sum() == got_shortfall
    baseline = greedy(instance)
    assert plan_violations(instance, baseline.year_index) == []
    assert baseline.objective <= solution.objective + 1e-9


def test_order_capacity_binds_and_orders_never_spend_the_city_budget() -> None:
    cands = pd.DataFrame({"object_id": [f"P{i}" for i in range(5)], "kind": "object", "instrument": COMPLIANCE_ORDER,
                          "category": "trade", "district": "Almaly", "cost_tg": 9e9, "start_year": 2026,
                          "extra_value": [5.0, 4.0, 3.0, 2.0, 1.0]})
    pairs = pd.DataFrame(columns=["object_id", "household_id", "service", "people", "group", "welfare_level"])
    instance = build_instance(cands, pairs, YEARS, policy(budget=0.0, capacity=2))
    solution = solve(instance, time_limit_s=10)
    year = dict(zip(instance.candidates["object_id"], solution.year_index))
    # the owners pay (a zero city budget does not stop them); two orders a year, the most valuable first
    assert [year.get(o, -1) for o in ("P0", "P1", "P2", "P3", "P4")] == [0, 0, 1, 1, -1]
    # own-value-only orders beyond what the capacity could ever use are reduced away, soundly
    assert instance.stats["candidates_kept"] == 4


def test_private_objects_are_never_on_the_city_budget() -> None:
    objects = pd.DataFrame([{name: False for name in PASSPORT_FIELDS}] * 4).astype("boolean")
    objects = objects.assign(object_id=["s", "p", "h", "b"], name="x", category=["state_health", "pharmacy", "housing", "stop"],
                             ownership=["state", "private", "private", "state"], service=None, district="Almaly",
                             **{f"status_{g}": "not_accessible" for g in GROUP_PRIORITY})
    table = candidates(objects).set_index("object_id")
    assert table.loc["p", "instrument"] == COMPLIANCE_ORDER
    assert (table.loc[["s", "h", "b"], "instrument"] == CITY_BUDGET).all()  # housing: the entrance, paid by the city
    assert table.loc["h", "cost_tg"] == 650_000 + 300_000  # only the entrance: ramp and door


@pytest.mark.parametrize("budget", [3e6, 20e6])
def test_targets_are_met_when_feasible_and_the_shortfall_is_reported_when_not(budget: float) -> None:
    cands = pd.DataFrame({"object_id": ["A", "B", "C", "D"], "kind": "object", "instrument": CITY_BUDGET,
                          "category": "state_health", "district": "Almaly", "cost_tg": [2e6, 2e6, 3e6, 1e6],
                          "start_year": 2026, "wheelchair_gap": [True, True, True, False], "extra_value": 0.0,
                          "name": list("ABCD"), "home_households": 0, "home_people": 0, "home_value": 0.0,
                          "choice_value": 0.0, "footfall_value": 0.0, "service": "medical", "structural_people": 0, "h3": ""})
    inputs = _inputs(cands)
    pol = Policy(dict.fromkeys(YEARS, budget), dict.fromkeys(YEARS, 0), 1.0, (Target("all", 2027, "state_health"),))
    programme = solve_programme(inputs, YEARS, pol, time_limit_s=10)
    target = programme.targets.iloc[0]
    assert target["required"] == 3  # D is wheelchair-accessible already
    if budget >= 7e6:
        assert target["met"] and target["shortfall"] == 0
    else:  # 3 M tg a year pays for two of the three (one in each year): one is left, and its cost is the shortfall
        assert not target["met"] and target["shortfall"] == 1
        (left,) = target["left"].split()
        assert target["shortfall_tg"] == cands.set_index("object_id").loc[left, "cost_tg"]


def _inputs(cands: pd.DataFrame, pairs: pd.DataFrame | None = None) -> ProgrammeInputs:
    geometry = [Point(650_000 + 10 * i, 4_790_000) for i in range(len(cands))]
    pairs = pairs if pairs is not None else pd.DataFrame(columns=["object_id", "household_id", "service", "people", "group",
                                                                  "welfare_level"])
    empty = gpd.GeoDataFrame({"service": [], "rank": [], "h3": [], "district": [], "structural_households": [],
                              "structural_people": []}, geometry=[], crs=UTM43N)
    households = pd.DataFrame({"household_id": ["H0"], "district": ["Almaly"], "open_gaps": [0]})
    return ProgrammeInputs(gpd.GeoDataFrame(cands, geometry=geometry, crs=UTM43N), pairs, pd.DataFrame(), empty, households,
                           dict(VALUE_WEIGHTS), 4)


def _housing(n: int, seed: int) -> pd.DataFrame:
    """``n`` housing blocks on the city budget, each of its own value only (0.5-1.5 M tg each)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"object_id": [f"C{i:02d}" for i in range(n)], "kind": "object", "instrument": CITY_BUDGET,
                         "category": "housing", "district": "Almaly", "cost_tg": rng.integers(5, 15, n) * 1e5,
                         "start_year": 2026, "wheelchair_gap": True, "extra_value": rng.random(n) + 0.01,
                         "name": "block", "home_households": 1, "home_people": 1, "home_value": 1.0,
                         "choice_value": 0.0, "footfall_value": 0.0, "service": None, "structural_people": 0, "h3": ""})


def test_no_year_is_idle_while_valuable_candidates_fit() -> None:
    cands = _housing(40, seed=3)
    pol = Policy(dict.fromkeys(YEARS, 5e6), dict.fromkeys(YEARS, 0), 1.0, ())
    programme = solve_programme(_inputs(cands), YEARS, pol, time_limit_s=10)
    years = programme.years
    assert not years["idle"].any()
    spent = programme.plan.groupby("year")["city_cost_tg"].sum()
    cheapest_left = cands.loc[~cands["object_id"].isin(programme.plan["object_id"]), "cost_tg"].min()
    for year in YEARS:  # nothing valuable that is left would still fit
        assert spent[year] + cheapest_left > 5e6
    assert (years["reason"] == "the budget binds").all() or years["reason"].str.contains("cheapest").any()


def test_new_site_opens_when_it_is_the_only_way_to_close_gaps() -> None:
    cands = pd.DataFrame({"object_id": ["SITE-social_services-x", "O1"], "kind": ["new_site", "object"],
                          "instrument": CITY_BUDGET, "category": ["new_site", "state_culture"], "district": "Almaly",
                          "cost_tg": [60e6, 1e6], "start_year": [2027, 2026], "wheelchair_gap": [False, True],
                          "extra_value": [0.0, 0.1]})
    pairs = pd.DataFrame({"object_id": "SITE-social_services-x", "household_id": [f"H{i}" for i in range(6)],
                          "service": "social_services", "people": 1, "group": "wheelchair", "welfare_level": 2})
    instance = build_instance(cands, pairs, YEARS, policy(budget=61e6, capacity=0))
    solution = solve(instance, time_limit_s=10)
    year = dict(zip(instance.candidates["object_id"], solution.year_index))
    assert year["SITE-social_services-x"] == 1  # opens in its first year (2027) ...
    assert year["O1"] == 0  # ... and the small object takes 2026's budget: no idle year


def test_home_entrance_links_wheelchair_and_mobility_households_to_their_block() -> None:
    blocks = gpd.GeoDataFrame({"object_id": ["B1", "B2", "S1"], "category": ["housing", "housing", "stop"]},
                              geometry=[Point(0, 0), Point(1000, 0), Point(5, 0)], crs=UTM43N)
    households = gpd.GeoDataFrame({"household_id": ["H1", "H2", "H3", "H4"], "people": [2, 1, 1, 1],
                                   "group": ["wheelchair", "mobility", "vision", "wheelchair"], "welfare_level": [1, 4, 1, 4]},
                                  geometry=[Point(20, 0), Point(990, 0), Point(10, 0), Point(500, 0)], crs=UTM43N)
    links = home_links(households, blocks)
    assert dict(zip(links["household_id"], links["object_id"])) == {"H1": "B1", "H2": "B2"}  # H3: vision; H4: too far
    assert 500 - 0 > HOME_LINK_MAX_M
    value = home_entrance_value(links, 1.5)
    assert value.loc["B1", "home_value"] == pytest.approx(2 * 2.0 * 1.5 * 1.5)
    assert value.loc["B2", "home_value"] == pytest.approx(1 * 1.0 * 1.2 * 1.5)


def test_costs_come_from_missing_passport_elements() -> None:
    objects = pd.DataFrame([{name: True for name in PASSPORT_FIELDS}] * 3).astype("boolean")
    objects.loc[0, ["ramp", "step_free"]] = False  # entrance missing: a ramp
    objects.loc[1, "ramp"] = False  # step-free entrance already: no ramp needed
    objects.loc[2, "accessible_toilet"] = pd.NA  # not applicable: free
    objects["category"] = ["trade", "trade", "stop"]
    assert adaptation_cost_tg(objects).tolist() == [650_000.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("budget", "capacity", "message"),
    [
        ({2026: -1.0, 2027: 1e6}, {2026: 1, 2027: 1}, "budget for year 2026 must be a non-negative"),
        ({2026: float("nan"), 2027: 1e6}, {2026: 1, 2027: 1}, "non-negative"),
        ({2026: 1e6}, {2026: 1, 2027: 1}, "no budget for year 2027"),
        ({2026: 1e6, 2027: 1e6}, {2026: -5, 2027: 1}, "order capacity for year 2026 must be a non-negative number"),
    ],
)
def test_bad_budgets_and_capacities_are_clear_errors(budget: dict, capacity: dict, message: str) -> None:
    cands, pairs = random_problem(0)
    with pytest.raises(ValueError, match=message):
        build_instance(cands, pairs, YEARS, Policy(budget, capacity))


def test_a_target_larger_than_its_candidates_is_an_error() -> None:
    cands, pairs = random_problem(1)
    available = int((cands["category"].isin({"state_health", "pharmacy"}) & (cands["start_year"] == 2026)).sum())
    with pytest.raises(ValueError, match=f"only {available} candidates"):
        build_instance(cands, pairs, YEARS, policy(targets=(Target("count", 2026, "social", None, available + 1),)))


def test_bad_target_and_weight_files_name_the_row_and_field(tmp_path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("kind,year,category,district,value\ncount,2026,social,,1800\ncount,2027,cafes,,10\n")
    with pytest.raises(ValueError, match=r"targets.csv row 3, field 'category': unknown category 'cafes'"):
        read_targets(path)
    path.write_text("kind,year,category,district,value\nshare,2030,state_social,*,1.5\n")
    with pytest.raises(ValueError, match=r"row 2, field 'value': '1.5' is not a fraction"):
        read_targets(path)
    assert parse_target({"kind": "all", "year": 2030, "category": "state_social", "district": "*", "value": ""}).district == "*"
    weights = tmp_path / "weights.csv"
    for bad in ("-1", "nan", "abc"):
        weights.write_text(f"term,weight\ngap,1\nchoice,{bad}\n")
        with pytest.raises(ValueError, match=r"weights.csv row 3, field 'weight': weight of 'choice' must be a non-negative"):
            read_weights(weights)
    weights.write_text("term,weight\nbeauty,1\n")
    with pytest.raises(ValueError, match="unknown value term 'beauty'"):
        read_weights(weights)


def _barrier_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A kerb ramp (0.5 M tg) that opens the way from three wheelchair households to a pharmacy that is
    not accessible yet (2 M tg to adapt): their gaps close only with both. A shop (1.5 M tg) closes a fourth
    household's gap alone. 2 M tg a year."""
    cands = pd.DataFrame({"object_id": ["kerb-1", "pharmacy", "shop"], "kind": ["barrier_fix", "object", "object"],
                          "instrument": CITY_BUDGET, "category": ["street_barrier", "pharmacy", "trade"],
                          "district": "Almaly", "cost_tg": [0.5e6, 2e6, 1.5e6], "start_year": 2026, "extra_value": 0.0,
                          "wheelchair_gap": [False, True, True], "name": ["Kerb ramp at a crossing (kerb-1)", "P", "S"],
                          "fix": ["kerb_ramp", None, None], "home_households": 0, "home_people": 0, "home_value": 0.0,
                          "choice_value": 0.0, "footfall_value": 0.0, "service": [None, "pharmacy", "grocery"],
                          "structural_people": 0, "h3": ""})
    rows = [{"object_id": "kerb-1", "requires": "pharmacy", "household_id": f"H{h}", "service": "pharmacy"} for h in range(3)]
    rows.append({"object_id": "shop", "requires": None, "household_id": "H3", "service": "grocery"})
    pairs = pd.DataFrame(rows).assign(people=1, group="wheelchair", welfare_level=1)
    return cands, pairs


def test_a_barrier_fix_counts_only_together_with_the_object_behind_it() -> None:
    """Best (brute force): the ramp and the shop in 2026, the pharmacy in 2027 (3 gaps x 1 year + 1 gap x 2 years)
    beats the pharmacy first (3 x 1 + 1 x 1) and the shop alone; the gaps behind the kerb close in 2027, with both."""
    cands, pairs = _barrier_case()
    pol = Policy(dict.fromkeys(YEARS, 2e6), dict.fromkeys(YEARS, 0), 1.0, ())
    value, _ = brute_force(cands, pairs, pol)
    weight = WELFARE_PRIORITY[1] * GROUP_PRIORITY["wheelchair"]
    assert value == pytest.approx(5 * weight)
    households = pd.DataFrame({"household_id": [f"H{h}" for h in range(4)], "district": "Almaly", "open_gaps": 1})
    programme = solve_programme(dataclasses.replace(_inputs(cands, pairs), households=households), YEARS, pol, time_limit_s=10)
    assert programme.solution.objective == pytest.approx(value)
    assert dict(zip(programme.plan["object_id"], programme.plan["year"])) == {"kerb-1": 2026, "shop": 2026, "pharmacy": 2027}
    # greedy counts what each action closes given the plan so far: the ramp alone closes nothing, so it never takes it
    assert programme.baseline.objective == pytest.approx(2 * weight)
    # the outputs: the fix is in the plan, closes the three gaps (in 2027, with the pharmacy) and is counted per year
    fix = programme.plan.set_index("object_id").loc["kerb-1"]
    assert (fix["households_covered"], fix["fix"], fix["city_cost_tg"]) == (3, "kerb_ramp", 0.5e6)
    summary = programme.summary.groupby("year")[["barrier_fixes", "objects"]].sum()
    assert summary.loc[2026].tolist() == [1, 1] and summary.loc[2027].tolist() == [0, 1]
    closers = first_closers(programme.inputs.pairs, programme.plan.set_index("object_id")["year"])
    assert sorted(closers.loc[closers["object_id"] == "kerb-1", "year"]) == [2027] * 3
    # without the pharmacy in the plan the ramp closes nothing
    assert first_closers(pairs, pd.Series({"kerb-1": 2026})).empty
    table = barrier_fixes_by_year_district(programme)  # the report's table of fixes per year and district
    assert table[["year", "district", "fixes", "kerb_ramps", "cost_tg", "households_covered"]].values.tolist() == [
        [2026, "Almaly", 1, 1, 0.5e6, 3]]


def test_a_budget_curve_point_below_a_lower_budget_takes_that_plan_filled_with_its_own_budget() -> None:
    n = 40
    cands = _housing(n, seed=5)
    template = CurveScenario(_inputs(cands), YEARS, Policy(dict.fromkeys(YEARS, 0.0), dict.fromkeys(YEARS, 0), 1.0, ()),
                             0.0, 10.0)
    low, high, higher = (curve_point(dataclasses.replace(template, budget_tg=b)) for b in (3e6, 5e6, 7e6))
    assert low["objective"] < high["objective"] < higher["objective"]
    stopped = high | {"objective": 0.0, "value": 0.0, "year_index": -np.ones(n, dtype=np.int64)}  # a solve that found nothing
    curve = carry_up([higher, stopped, low], template)
    assert [p["budget_tg"] for p in curve] == [3e6, 5e6, 7e6]
    assert curve[0] is low and curve[2] is higher  # points above the budget below them stay as solved
    carried = curve[1]
    assert carried["carried_from_tg"] == 3e6 and carried["bound"] == high["bound"]
    kept = low["year_index"] >= 0
    assert (carried["year_index"][kept] == low["year_index"][kept]).all()  # the lower plan, unchanged
    assert carried["objective"] > low["objective"]  # and filled with what the higher budget adds
    instance = build_instance(cands, template.inputs.pairs, YEARS, Policy(dict.fromkeys(YEARS, 5e6), dict.fromkeys(YEARS, 0), 1.0, ()))
    assert not plan_violations(instance, carried["year_index"])
    assert math.isclose(evaluate(instance, carried["year_index"]).objective, carried["objective"])
    assert curve_table(curve)["value"].is_monotonic_increasing
