"""Benchmark: the Almaty adaptation plan against greedy and spopt's MCLP, in one run.

1. Five-year plan 2026-2030 on the Almaty data, 1.0e9 tg per year (a budget
   that binds for three years) and at least 1 800 objects in 2026: our MIP
   (SCIP via OR-Tools, 60 s) vs the cost-effectiveness greedy; optimality gap.
2. The shared single-year instance: the same coverage, every candidate
   eligible in 2026, unit costs and a budget of ``--p`` objects, i.e. a maximal
   covering location problem: ours vs greedy vs spopt's MCLP (PuLP/CBC, 60 s).

Writes ``bench/results/plan.json`` with ``gap`` (five-year optimality gap,
fraction), ``vs_greedy`` (our objective / greedy's, five-year) and
``vs_spopt`` (our objective / MCLP's, single-year).

Usage: ``python bench/plan.py [--time-limit 60] [--p 300] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from geo.adaptation import candidates as adaptation_candidates
from geo.adaptation_plan import coverage_pairs, mandatory_clinics
from geo.gaps import compute_gaps
from geo.plan_instance import build_instance, plan_violations
from geo.plan_solver import greedy, solve
from data.dataset import ensure_dataset, load_households, load_objects

RESULTS = Path(__file__).resolve().parent / "results"
YEARS = tuple(range(2026, 2031))
BUDGET_TG: float = 1.0e9
COUNT_2026: int = 1_800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--p", type=int, default=300, help="objects in the single-year instance")
    parser.add_argument("--json", type=Path, default=RESULTS / "plan.json")
    args = parser.parse_args()
    directory = ensure_dataset()
    objects, households = load_objects(directory), load_households(directory)
    started = time.perf_counter()
    analysis = compute_gaps(households, objects)
    candidates = adaptation_candidates(objects)
    pairs = coverage_pairs(analysis, candidates)
    prepare_s = time.perf_counter() - started
    print(f"gap analysis + coverage of {len(candidates):,} candidates: {prepare_s:.1f} s, {len(pairs):,} pairs")

    five = build_instance(candidates, pairs, YEARS, {y: BUDGET_TG for y in YEARS}, {2026: COUNT_2026},
                          mandatory_clinics(analysis, candidates))
    print(f"five-year instance: {five.stats}")
    base5 = greedy(five)
    ours5 = solve(five, args.time_limit, hint=base5)
    assert not plan_violations(five, ours5.year_index) and not plan_violations(five, base5.year_index)
    print(f"five-year: ours {ours5.objective:,.1f} (bound {ours5.bound:,.1f}, gap {ours5.gap:.4%}, {ours5.status}, "
          f"{ours5.seconds:.1f} s) | greedy {base5.objective:,.1f} ({base5.seconds:.2f} s) -> {ours5.objective / base5.objective:.4f}x")

    unit = candidates.assign(cost_tg=1.0, start_year=YEARS[0])
    one = build_instance(unit, pairs, YEARS[:1], {YEARS[0]: float(args.p)})
    base1 = greedy(one)
    ours1 = solve(one, args.time_limit, hint=base1)
    print(f"single-year (p={args.p}): ours {ours1.objective:,.1f} (gap {ours1.gap:.4%}, {ours1.seconds:.1f} s) | "
          f"greedy {base1.objective:,.1f} -> {ours1.objective / base1.objective:.4f}x")
    result = {"gap": round(ours5.gap, 6), "vs_greedy": round(ours5.objective / base5.objective, 6),
              "objective": ours5.objective, "bound": ours5.bound, "solve_seconds": round(ours5.seconds, 2),
              "greedy_objective": base5.objective, "single_year_objective": ours1.objective,
              "single_year_gap": round(ours1.gap, 6), "single_year_vs_greedy": round(ours1.objective / base1.objective, 6),
              "budget_tg_per_year": BUDGET_TG, "instance": five.stats}
    try:
        from geo.plan_mclp import mclp_baseline

        mclp = mclp_baseline(one, args.p, args.time_limit)
    except ImportError:
        print("spopt is not installed (pip install spopt): skipping the MCLP peer")
    else:
        print(f"spopt MCLP (p={args.p}): {mclp.objective:,.1f} ({mclp.seconds:.1f} s) -> ours/MCLP {ours1.objective / mclp.objective:.4f}x")
        result.update(vs_spopt=round(ours1.objective / mclp.objective, 6), spopt_objective=mclp.objective,
                      spopt_seconds=round(mclp.seconds, 2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
