"""How often the exact-check cap of ``routing.insertion`` (``MAX_EXACT_CHECKS``) misses a feasible insertion.

``best_insertion`` tries the screened candidates cheapest first with the exact
scheduler and gives up after ``MAX_EXACT_CHECKS`` failures. A capped answer,
when there is one, is therefore the exact cheapest; the cap can only miss by
answering "no room" when a feasible (and then the cheapest feasible) place
lies beyond it. This benchmark replays the sequential cheapest-insertion
construction (``routing.solver.construct``) of the Almaty day and of every
Cordeau a-instance, and for each request where the capped search gives up
re-runs it without the cap.

Writes ``--json`` (default ``bench/results/insertion_cap.json``) with, per
problem and in total: insertions, those that gave up at the cap, and those
where the uncapped search then found a feasible place (``misses``).

Usage: ``python bench/insertion_cap.py [--instances DIR] [--skip-almaty]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import routing.insertion as insertion
from routing.cost import Pricing
from routing.insertion import ProfileCache, best_insertion
from routing.literature import read_bks, read_cordeau
from routing.problem import ProblemData
from routing.solution import Route

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = REPO.parent / "shared" / "bench"


def replay(data: ProblemData, pricing: Pricing) -> dict:
    """Sequential cheapest insertion by earliest pickup, each give-up at the cap re-checked without it."""
    index = data.request_index()
    routes: dict[str, Route] = {}
    cache = ProfileCache()
    calls = gave_up = misses = 0
    for request in sorted(data.requests, key=lambda r: (r.earliest_pickup_s, r.id)):
        checks = _count_checks()
        found = best_insertion(data, index, routes, request, None, pricing, cache)
        used = checks()
        calls += 1
        if found is None and used >= insertion.MAX_EXACT_CHECKS:
            gave_up += 1
            capped, insertion.MAX_EXACT_CHECKS = insertion.MAX_EXACT_CHECKS, 10**9
            try:
                found = best_insertion(data, index, routes, request, None, pricing, cache)
            finally:
                insertion.MAX_EXACT_CHECKS = capped
            misses += found is not None
        if found is not None:
            routes[found.vehicle_id] = found.route
    return {"insertions": calls, "gave_up_at_cap": gave_up, "misses": misses}


def _count_checks():  # noqa: ANN202 - returns a counter reader
    """Count the exact schedule checks of the next ``best_insertion`` call (wraps ``insertion.schedule``)."""
    original = insertion.schedule
    count = [0]

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        count[0] += 1
        return original(*args, **kwargs)

    insertion.schedule = counted

    def read() -> int:
        insertion.schedule = original
        return count[0]

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=Path, default=SHARED_BENCH / "darp-cordeau")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "insertion_cap.json")
    parser.add_argument("--skip-almaty", action="store_true")
    args = parser.parse_args()
    rows = {}
    if (args.instances / "bks.csv").exists():
        for name in read_bks(args.instances / "bks.csv").index:
            if (args.instances / f"{name}.txt").exists():
                rows[name] = replay(read_cordeau(args.instances / f"{name}.txt"), Pricing("distance"))
                print(f"  {name:8s} {rows[name]}", flush=True)
    if not args.skip_almaty:
        from data.dataset import dataset_date, ensure_dataset, load_fleet, load_trips
        from routing.almaty import build_problem

        directory = ensure_dataset()
        problem = build_problem(load_trips(directory), load_fleet(directory), dataset_date(directory))
        rows["almaty"] = replay(problem.data, Pricing())  # the service's tenge objective
        print(f"  almaty   {rows['almaty']}", flush=True)
    total = {key: sum(r[key] for r in rows.values()) for key in ("insertions", "gave_up_at_cap", "misses")}
    result = {"max_exact_checks": insertion.MAX_EXACT_CHECKS, **{f"cap_{k}": v for k, v in total.items()},
              "cap_miss_share": round(total["misses"] / max(1, total["insertions"]), 6), "rows": rows}
    print(f"cap {insertion.MAX_EXACT_CHECKS}: {total['misses']} misses in {total['insertions']} insertions "
          f"({total['gave_up_at_cap']} gave up at the cap)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
