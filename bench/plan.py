"""Benchmark: the Almaty accessibility programme at default settings, its peers, and its budget curve, in one run.

1. The programme 2026-2030 with the defaults (2.8 bn tg a year, 1 500
   compliance orders a year, the default targets and value weights, street-barrier
   fixes as candidates): ours (LP bound + reduced-cost fixing + SCIP, 60 s) vs
   the greedy baseline on the same instance; optimality gap, idle years,
   targets, instruments, barrier fixes chosen and their cost.
2. The budget curve 0.5-6 bn tg a year (8 points) through the dask scenario
   runner, ``--curve-time-limit`` (150 s) each: two points share the cores.
3. The shared single-year instance: the passport objects and their gap
   coverage (no home, choice or footfall value, no new sites), all eligible
   in 2026 on unit costs and a budget of ``--p`` objects, i.e. a maximal
   covering location problem: ours (to proven optimality) vs spopt's MCLP
   (PuLP/CBC, same time limit for the solver; spopt builds its model first).
4. The programme with untagged crossings taken as raised kerbs (the worst
   case, ``invaplan plan --untagged-kerbs raised``): barrier fixes offered and
   chosen, their cost and the people whose gaps they are the first to close.

Writes ``bench/results/plan.json`` with ``gap``, ``vs_greedy``, ``vs_spopt``,
``idle_years``, ``social_objects_2026``, ``state_social_accessible_2030_share``,
``state_social_shortfall_tg``, ``private_on_city_budget_tg``,
``structural_gap_people``, ``new_sites``, ``barrier_fixes``, ``barrier_fix_cost_tg``,
``budget_curve_points``, ``worst_case_kerbs`` and details.

Usage: ``python bench/plan.py [--time-limit 60] [--p 300] [--curve 0.5e9:6e9:8] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console

from data.dataset import ensure_dataset, load_households, load_objects
from geo.adaptation_plan import prepare_inputs, solve_programme
from geo.gaps import compute_gaps
from geo.plan_curve import outcome, parse_curve
from geo.plan_instance import build_instance
from geo.plan_solver import greedy, solve
from geo.programme_barriers import BARRIER_FIX_KIND
from geo.programme_policy import CITY_BUDGET, CITY_PAID_PRIVATE_CATEGORIES, SOCIAL_CATEGORIES, Policy, default_policy
from invaplan.plan_report import budget_curve

RESULTS = Path(__file__).resolve().parent / "results"
YEARS = range(2026, 2031)


def write(path: Path, result: dict) -> None:
    """Write the results so far (each stage adds its keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


def barrier_keys(programme) -> dict:
    """Barrier fixes offered (candidates that close a gap) and chosen, their city cost and the people they reach first."""
    offered = programme.inputs.candidates["kind"] == BARRIER_FIX_KIND
    fixes = programme.plan[programme.plan["kind"] == BARRIER_FIX_KIND]
    return {"barrier_candidates": int(offered.sum()), "barrier_fixes": len(fixes),
            "barrier_fix_cost_tg": float(fixes["city_cost_tg"].sum()),
            "barrier_fix_people_covered": int(fixes["people_covered"].sum()),
            "barrier_joint_elements": int(programme.instance.stats["joint_elements"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--p", type=int, default=300, help="objects in the single-year instance")
    parser.add_argument("--curve", default="0.5e9:6e9:8", help="annual budgets LOW:HIGH:POINTS (tenge)")
    parser.add_argument("--curve-time-limit", type=float, default=150.0,
                        help="seconds per curve point: two points share the 2 cores, so each LP takes about twice as long")
    parser.add_argument("--json", type=Path, default=RESULTS / "plan.json")
    args = parser.parse_args()
    directory = ensure_dataset()
    objects, households = load_objects(directory), load_households(directory)
    policy = default_policy(YEARS)
    started = time.perf_counter()
    analysis = compute_gaps(households, objects)
    inputs = prepare_inputs(analysis, objects, dict(policy.weights))
    prepare_s = time.perf_counter() - started
    print(f"gap analysis, {len(inputs.candidates):,} candidates with value terms and coverage, sites: {prepare_s:.1f} s")

    programme = solve_programme(inputs, YEARS, policy, args.time_limit)
    ours, base = programme.solution, programme.baseline
    print(f"programme: {programme.instance.stats}")
    print(f"ours {ours.objective:,.1f} (bound {ours.bound:,.1f}, gap {ours.gap:.4%}, {ours.status}, {ours.seconds:.1f} s) | "
          f"greedy {base.objective:,.1f} ({base.seconds:.2f} s) -> {ours.objective / base.objective:.4f}x")
    plan, targets, years = programme.plan, programme.targets, programme.years
    ownership = inputs.candidates.set_index("object_id")["ownership"]
    city = plan[plan["instrument"] == CITY_BUDGET]
    private_city = city[ownership.loc[city["object_id"]].eq("private").to_numpy()
                        & ~city["category"].isin(CITY_PAID_PRIVATE_CATEGORIES).to_numpy()]
    state_target = targets[targets["target"].str.startswith("every state social")].iloc[0]
    social_target = targets[targets["target"].str.contains("social objects adapted in 2026")].iloc[0]
    result = {
        "gap": round(ours.gap, 6), "vs_greedy": round(ours.objective / base.objective, 6), "objective": ours.objective,
        "bound": ours.bound, "solve_seconds": round(ours.seconds, 2), "greedy_objective": base.objective,
        "idle_years": int(years["idle"].sum()),
        "social_objects_2026": int(((plan["year"] == 2026) & plan["category"].isin(SOCIAL_CATEGORIES)).sum()),
        "social_objects_2026_shortfall": int(social_target["shortfall"]),
        "state_social_accessible_2030_share": round(outcome(programme)["state_social_accessible_share"], 6),
        "state_social_target_met": bool(state_target["met"]),
        "state_social_shortfall_tg": float(state_target["shortfall_tg"]),
        "private_on_city_budget_tg": float(private_city["city_cost_tg"].sum()),
        "owner_cost_tg": float(plan["owner_cost_tg"].sum()),
        "city_spend_share": {str(r["year"]): round(r["spend_share"], 4) for _, r in years.iterrows()},
        "orders": {str(r["year"]): int(r["orders"]) for _, r in years.iterrows()},
        "structural_gap_people": int(inputs.structural.drop_duplicates("household_id")["people"].sum()),
        "new_sites": int((plan["kind"] == "new_site").sum()),
        "recommended_sites": len(inputs.recommendations),
        "housing_entrances": int((plan["category"] == "housing").sum()),
        "home_people": int(plan["home_people"].sum()),
        "people_covered": int(outcome(programme)["people_covered"]),
        "gaps_closed_share": round(outcome(programme)["gaps_closed_share"], 6),
        "budget_tg_per_year": policy.budget_tg[YEARS[0]], "prepare_seconds": round(prepare_s, 1),
        **barrier_keys(programme), "instance": programme.instance.stats,
    }
    print({k: v for k, v in result.items() if k not in ("instance",)})

    write(args.json, result)
    started = time.perf_counter()
    curve = budget_curve(inputs, YEARS, policy, parse_curve(args.curve), args.curve_time_limit, Console())
    result.update(budget_curve_points=len(curve), budget_curve_seconds=round(time.perf_counter() - started, 1),
                  budget_curve_max_gap=round(float(curve["gap"].max()), 6),
                  budget_curve=[{k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
                                for row in curve[["budget_tg", "value", "gaps_closed_share", "state_social_accessible_share",
                                                  "people_covered", "target_shortfall", "marginal_value_per_100m",
                                                  "gap"]].to_dict("records")])
    print(curve.to_string())
    write(args.json, result)

    # the classic maximal covering problem on the passport objects: gap coverage only (no home, choice or
    # footfall value, no new sites), unit costs
    objects_only = inputs.candidates[inputs.candidates["kind"] == "object"]
    unit = objects_only.drop(columns="geometry").assign(cost_tg=1.0, start_year=YEARS[0], instrument=CITY_BUDGET,
                                                        extra_value=0.0)
    single = Policy({YEARS[0]: float(args.p)}, {YEARS[0]: 0}, targets=())
    one = build_instance(unit, inputs.pairs, YEARS[:1], single)
    base1 = greedy(one)
    ours1 = solve(one, args.time_limit, hint=base1, gap_tolerance=0.0)  # to proven optimality, as the peer
    print(f"single-year (p={args.p}): ours {ours1.objective:,.1f} (gap {ours1.gap:.4%}, {ours1.seconds:.1f} s) | "
          f"greedy {base1.objective:,.1f} -> {ours1.objective / base1.objective:.4f}x")
    result.update(single_year_objective=ours1.objective, single_year_gap=round(ours1.gap, 6),
                  single_year_seconds=round(ours1.seconds, 2), single_year_vs_greedy=round(ours1.objective / base1.objective, 6))
    try:
        from geo.plan_mclp import mclp_baseline

        mclp = mclp_baseline(one, args.p, args.time_limit)
    except ImportError:
        print("spopt is not installed (pip install spopt): skipping the MCLP peer")
    else:
        print(f"spopt MCLP (p={args.p}): {mclp.objective:,.1f} ({mclp.seconds:.1f} s) -> ours/MCLP {ours1.objective / mclp.objective:.4f}x")
        result.update(vs_spopt=round(ours1.objective / mclp.objective, 6), spopt_objective=mclp.objective,
                      spopt_seconds=round(mclp.seconds, 2))

    write(args.json, result)

    worst = compute_gaps(households, objects, untagged_kerb="raised")
    raised = solve_programme(prepare_inputs(worst, objects, dict(policy.weights)), YEARS, policy, args.time_limit)
    result["worst_case_kerbs"] = {**barrier_keys(raised), "gap": round(raised.solution.gap, 6),
                                  "solve_seconds": round(raised.solution.seconds, 2), "status": raised.solution.status,
                                  "gaps_closed_share": round(outcome(raised)["gaps_closed_share"], 6)}
    print(f"untagged kerbs raised: {result['worst_case_kerbs']}")
    write(args.json, result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
