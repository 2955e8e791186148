"""Measure a day of live dispatch on any problem: plan the booked trips, insert the rest as they come in.

Part of the requests (``live_share``, drawn at random) is held back; the
rest is solved ahead of the day. The held-back requests then arrive one by
one, each ``booking_lead_s`` before its earliest pickup, and are inserted
into the running plan at that moment (stops under way are locked). The live
part runs twice from the same solved plan: with the repair of a request that
fits nowhere as the plan stands (``routing.repair``: booked trips not yet
started move to make room) and without it (plain insertion only). The report
gives, for each, the share served and the insertion latencies (the calls that
ran the repair also apart); each final plan is verified with the independent
checker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from routing.checker import check_solution
from routing.live import NO_POSITION_REASON, LivePlan
from routing.problem import ProblemData, TripRequest
from routing.repair import REPAIR_BUDGET_S
from routing.solution import Solution
from routing.solver import SolveParams, solve

DEFAULT_LIVE_SHARE: float = 0.1
DEFAULT_BOOKING_LEAD_S: float = 3600.0


@dataclass(frozen=True)
class Latency:
    """Percentiles of call times in milliseconds (all 0 for no call)."""

    calls: int
    p50_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, ms: list[float]) -> Latency:
        """The percentiles of ``ms``."""
        if not ms:
            return cls(0, 0.0, 0.0, 0.0)
        return cls(len(ms), float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(max(ms)))


@dataclass(frozen=True)
class LiveRun:
    """The live part of a day, with or without the repair.

    Attributes
    ----------
    served, served_share
        Requests of the day served in the final plan, and their share.
    inserted, repaired
        Live requests placed, and those of them placed by the repair (booked trips moved).
    insert
        Latency of every live insertion call.
    repair
        Latency of the calls that ran the repair (placed by it or rejected after it).
    violations
        Constraint violations of the final plan (``routing.checker``; 0 expected).
    """

    served: int
    served_share: float
    inserted: int
    repaired: int
    insert: Latency
    repair: Latency
    violations: int


@dataclass(frozen=True)
class DayReport:
    """What a simulated day gave.

    Attributes
    ----------
    requests
        All requests of the day.
    solve_seconds
        Wall time of the solve of the booked requests (seconds).
    live_requests
        Requests arriving during the day.
    live, plain
        The live part with the repair (``repair_budget_s``) and without it.
    """

    requests: int
    solve_seconds: float
    live_requests: int
    live: LiveRun
    plain: LiveRun


def simulate_day(data: ProblemData, params: SolveParams | None = None, live_share: float = DEFAULT_LIVE_SHARE,
                 booking_lead_s: float = DEFAULT_BOOKING_LEAD_S, seed: int = 0,
                 repair_budget_s: float = REPAIR_BUDGET_S) -> DayReport:
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
    repair_budget_s
        Wall-time limit of one repair (seconds) in the run with the repair.
    """
    params = params or SolveParams()
    rng = np.random.default_rng(seed)
    live_ids = set(rng.choice([r.id for r in data.requests], size=round(live_share * len(data.requests)),
                              replace=False).tolist()) if data.requests else set()
    booked = replace(data, requests=tuple(r for r in data.requests if r.id not in live_ids))
    result = solve(booked, params)
    live = sorted((r for r in data.requests if r.id in live_ids), key=lambda r: r.earliest_pickup_s)
    runs = [_live_run(booked, result.solution, params, live, booking_lead_s, budget, len(data.requests))
            for budget in (repair_budget_s, 0.0)]
    return DayReport(len(data.requests), result.runtime_s, len(live_ids), *runs)


def _live_run(booked: ProblemData, solution: Solution, params: SolveParams, live: list[TripRequest],
              booking_lead_s: float, repair_budget_s: float, requests: int) -> LiveRun:
    """Insert ``live`` in order into a live plan of ``solution`` (repair budget ``repair_budget_s``; 0: none)."""
    plan = LivePlan(booked, solution, params, repair_budget_s)
    latencies, repairs, inserted, repaired = [], [], 0, 0
    for request in live:
        started = time.perf_counter()
        outcome = plan.insert(request, request.earliest_pickup_s - booking_lead_s)
        latencies.append(1000.0 * (time.perf_counter() - started))
        moved = not isinstance(outcome, str) and bool(outcome.moved_requests)
        inserted += not isinstance(outcome, str)
        repaired += moved
        if moved or (outcome == NO_POSITION_REASON and repair_budget_s > 0):
            repairs.append(latencies[-1])
    final = plan.solution()
    served = len(final.served_ids())
    return LiveRun(served, served / max(1, requests), inserted, repaired, Latency.of(latencies), Latency.of(repairs),
                   len(check_solution(plan.problem(), final)))
