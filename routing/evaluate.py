"""Measure a day of live dispatch on any problem: plan the booked trips, insert the rest as they come in.

Part of the requests (``live_share``, drawn at random) is held back; the
rest is solved ahead of the day. The held-back requests then arrive one by
one, each ``booking_lead_s`` before its earliest pickup, and are inserted
into the running plan at that moment (stops under way are locked). The
report gives the share served, the solve time and the insertion latencies;
the final plan is verified with the independent checker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from routing.checker import check_solution
from routing.live import LivePlan
from routing.problem import ProblemData
from routing.solver import SolveParams, solve

DEFAULT_LIVE_SHARE: float = 0.1
DEFAULT_BOOKING_LEAD_S: float = 3600.0


@dataclass(frozen=True)
class DayReport:
    """What a simulated day gave.

    Attributes
    ----------
    requests, served
        All requests of the day and those served in the final plan.
    served_share
        ``served / requests``.
    solve_seconds
        Wall time of the solve of the booked requests (seconds).
    live_requests, live_inserted
        Requests arriving during the day and those the insertion placed.
    insert_ms_p50, insert_ms_p95, insert_ms_max
        Insertion latency percentiles in milliseconds.
    violations
        Constraint violations of the final plan (``routing.checker``; 0 expected).
    """

    requests: int
    served: int
    served_share: float
    solve_seconds: float
    live_requests: int
    live_inserted: int
    insert_ms_p50: float
    insert_ms_p95: float
    insert_ms_max: float
    violations: int


def simulate_day(data: ProblemData, params: SolveParams | None = None, live_share: float = DEFAULT_LIVE_SHARE,
                 booking_lead_s: float = DEFAULT_BOOKING_LEAD_S, seed: int = 0) -> DayReport:
    """Solve the booked requests of ``data``, then insert the live ones as they arrive; see the module docstring.

    Parameters
    ----------
    data
        The day's problem (all requests).
    params
        Solver parameters for the booked requests (and the insertion cost).
    live_share
        Share of requests arriving during the day (0 to 1).
    booking_lead_s
        How long before its earliest pickup a live request arrives (seconds).
    seed
        Seed of the random choice of live requests.
    """
    params = params or SolveParams()
    rng = np.random.default_rng(seed)
    live_ids = set(rng.choice([r.id for r in data.requests], size=round(live_share * len(data.requests)),
                              replace=False).tolist()) if data.requests else set()
    booked = replace(data, requests=tuple(r for r in data.requests if r.id not in live_ids))
    result = solve(booked, params)
    plan = LivePlan(booked, result.solution, params)
    latencies, inserted = [], 0
    for request in sorted((r for r in data.requests if r.id in live_ids), key=lambda r: r.earliest_pickup_s):
        started = time.perf_counter()
        outcome = plan.insert(request, request.earliest_pickup_s - booking_lead_s)
        latencies.append(1000.0 * (time.perf_counter() - started))
        inserted += not isinstance(outcome, str)
    final = plan.solution()
    served = len(final.served_ids())
    ms = np.array(latencies) if latencies else np.zeros(1)
    return DayReport(len(data.requests), served, served / max(1, len(data.requests)), result.runtime_s,
                     len(live_ids), inserted, float(np.percentile(ms, 50)), float(np.percentile(ms, 95)),
                     float(ms.max()), len(check_solution(plan.problem(), final)))
