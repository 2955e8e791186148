"""Solve the adaptation plan: a MIP (SCIP through OR-Tools), and the greedy baseline.

MIP over a :class:`~geo.plan_instance.PlanInstance`:

* ``x[c, t]`` = candidate c adapted in year position t (only from its start
  year); ``sum_t x[c, t] <= 1`` (``== 1`` when mandatory);
* per year: ``sum_c cost_c x[c, t] <= budget_t`` and ``sum_c x[c, t] >= min_count_t``;
* ``z[e, t]`` = shared element e credited in year t: ``z[e, t] <= sum_{c covers e} x[c, t]``,
  ``sum_t z[e, t] <= 1``;
* maximise ``sum_{c,t} own_c (T - t) x[c, t] + sum_{e,t} w_e (T - t) z[e, t]``.

``z`` may be continuous: for integral ``x`` the best ``z`` is integral (each
element is credited in the first year a covering candidate is adapted). The
greedy solution is the warm start.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from geo.plan_instance import PlanInstance, plan_value, plan_violations

@dataclass(frozen=True)
class PlanSolution:
    """A plan and how good it is.

    Attributes
    ----------
    year_index
        Year position per candidate (-1 = not adapted).
    objective
        ``plan_value`` of the plan (weighted household-years of closed gaps).
    bound
        Upper bound on the optimum (equal to ``objective`` for greedy: no bound).
    status
        Solver status ("OPTIMAL", "FEASIBLE", "GREEDY", ...).
    seconds
        Wall time in seconds.
    """

    year_index: np.ndarray
    objective: float
    bound: float
    status: str
    seconds: float

    @property
    def gap(self) -> float:
        """Relative optimality gap ``(bound - objective) / bound`` (0 when proven optimal)."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.objective) / self.bound)


def _eligible_years(instance: PlanInstance) -> list[list[int]]:
    starts = instance.candidates["start_year"].to_numpy()
    return [[t for t, y in enumerate(instance.years) if y >= s] for s in starts]


def greedy(instance: PlanInstance) -> PlanSolution:
    """Cost-effectiveness greedy: year by year, best marginal weight per tenge first.

    Mandatory candidates go first in their first eligible year; budget is
    reserved so that the year's count target can still be met with the
    cheapest remaining candidates.
    """
    started = time.perf_counter()
    horizon = len(instance.years)
    cost = instance.candidates["cost_tg"].to_numpy(dtype=float)
    own = instance.candidates["own_weight"].to_numpy(dtype=float)
    starts = instance.candidates["start_year"].to_numpy()
    mandatory = instance.candidates["mandatory"].to_numpy()
    covers_of: list[list[int]] = [[] for _ in range(len(cost))]
    for e, cover in enumerate(instance.element_cover):
        for c in cover:
            covers_of[c].append(e)
    open_element = np.ones(len(instance.element_weight), dtype=bool)
    year_index = -np.ones(len(cost), dtype=np.int64)

    def gain(c: int) -> float:
        return own[c] + sum(instance.element_weight[e] for e in covers_of[c] if open_element[e])

    def take(c: int, t: int) -> None:
        year_index[c] = t
        for e in covers_of[c]:
            open_element[e] = False

    for t, year in enumerate(instance.years):
        budget = instance.budget_tg[t]
        eligible = np.flatnonzero((starts <= year) & (year_index < 0))
        for c in eligible[mandatory[eligible]]:
            take(int(c), t)
            budget -= cost[c]
        count = int((year_index == t).sum())
        by_cost = sorted((cost[c], int(c)) for c in eligible if year_index[c] < 0)
        heap = [(-(gain(int(c)) * (horizon - t)) / max(cost[c], 1.0), int(c)) for c in eligible if year_index[c] < 0]
        heapq.heapify(heap)
        while heap:
            _, c = heapq.heappop(heap)
            if year_index[c] >= 0:
                continue
            fresh = -(gain(c) * (horizon - t)) / max(cost[c], 1.0)
            if heap and fresh > heap[0][0] + 1e-12:
                heapq.heappush(heap, (fresh, c))  # stale key: re-queue with the true gain
                continue
            if fresh == 0:
                break
            needed = max(0, int(instance.min_count[t]) - count - 1)
            if cost[c] + _cheapest_sum(by_cost, year_index, needed, c) <= budget + 1e-6:
                take(c, t)
                budget -= cost[c]
                count += 1
        for value, c in by_cost:  # fill the count target with the cheapest remaining
            if count >= instance.min_count[t]:
                break
            if year_index[c] < 0 and value <= budget + 1e-6:
                take(c, t)
                budget -= value
                count += 1
    value = plan_value(instance, year_index)
    return PlanSolution(year_index, value, value, "GREEDY", time.perf_counter() - started)


def _cheapest_sum(by_cost: list[tuple[float, int]], year_index: np.ndarray, k: int, exclude: int) -> float:
    """Sum of the ``k`` cheapest unchosen costs in ``by_cost`` other than ``exclude``."""
    total, taken = 0.0, 0
    for value, c in by_cost:
        if taken >= k:
            break
        if year_index[c] < 0 and c != exclude:
            total += value
            taken += 1
    return total


def drop_idle(instance: PlanInstance, year_index: np.ndarray) -> np.ndarray:
    """Un-adapt chosen objects that close no gap first and that no count target or mandate needs.

    The objective is unchanged; the plan stops spending on objects that the
    solver picked only because they cost nothing in the objective.
    """
    year_index = year_index.copy()
    own = instance.candidates["own_weight"].to_numpy()
    mandatory = instance.candidates["mandatory"].to_numpy()
    covers_of: list[list[int]] = [[] for _ in range(len(own))]
    for e, cover in enumerate(instance.element_cover):
        for c in cover:
            covers_of[c].append(e)
    counts = np.bincount(year_index[year_index >= 0], minlength=len(instance.years))
    for c in np.argsort(-instance.candidates["cost_tg"].to_numpy(), kind="stable"):
        t = year_index[c]
        if t < 0 or own[c] > 0 or mandatory[c] or counts[t] <= instance.min_count[t]:
            continue
        needed = any(
            not any(year_index[o] >= 0 and year_index[o] <= t and o != c for o in instance.element_cover[e]) for e in covers_of[c]
        )
        if not needed:
            year_index[c] = -1
            counts[t] -= 1
    return year_index


def solve(instance: PlanInstance, time_limit_s: float = 60.0, hint: PlanSolution | None = None) -> PlanSolution:
    """Solve the plan as a MIP with SCIP (OR-Tools ``linear_solver``) within ``time_limit_s`` seconds.

    ``hint`` (by default the greedy plan) warm-starts the search; the answer is
    never worse than the hint, and the bound is SCIP's dual bound.

    Raises
    ------
    ValueError
        When the constraints cannot all be met (e.g. mandatory objects or count
        targets exceed a year's budget), with the reason.
    """
    started = time.perf_counter()
    hint = hint if hint is not None else greedy(instance)
    horizon = len(instance.years)
    cost = instance.candidates["cost_tg"].to_numpy(dtype=float)
    own = instance.candidates["own_weight"].to_numpy(dtype=float)
    mandatory = instance.candidates["mandatory"].to_numpy()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    objective = solver.Objective()
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    for c, years in enumerate(_eligible_years(instance)):
        chosen = [x.setdefault((c, t), solver.BoolVar(f"x{c}_{t}")) for t in years]
        if mandatory[c] and not chosen:
            raise ValueError(f"mandatory {instance.candidates['object_id'].iat[c]} cannot start within the plan")
        if mandatory[c]:
            solver.Add(sum(chosen) == 1)
        elif len(chosen) > 1:
            solver.Add(sum(chosen) <= 1)
        for t, var in zip(years, chosen):
            objective.SetCoefficient(var, own[c] * (horizon - t))
    for t in range(horizon):
        budget = solver.Constraint(0.0, float(instance.budget_tg[t]), f"budget{t}")
        count = solver.Constraint(float(instance.min_count[t]), solver.infinity(), f"count{t}")
        for (c, tt), var in x.items():
            if tt == t:
                budget.SetCoefficient(var, cost[c])
                count.SetCoefficient(var, 1.0)
    for e, (weight, cover) in enumerate(zip(instance.element_weight, instance.element_cover)):
        credits = []
        for t in range(horizon):
            adapters = [x[(int(c), t)] for c in cover if (int(c), t) in x]
            if adapters:
                z = solver.NumVar(0.0, 1.0, f"z{e}_{t}")  # integral at the optimum once x is
                solver.Add(z <= sum(adapters))
                objective.SetCoefficient(z, weight * (horizon - t))
                credits.append(z)
        if len(credits) > 1:
            solver.Add(sum(credits) <= 1)
    objective.SetMaximization()
    solver.SetHint(list(x.values()), [float(hint.year_index[c] == t) for (c, t) in x])
    solver.SetTimeLimit(int(max(1.0, time_limit_s - (time.perf_counter() - started)) * 1000))
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        reason = "; ".join(plan_violations(instance, hint.year_index)) or "no feasible plan found in time"
        raise ValueError(f"no feasible adaptation plan: {reason}")
    year_index = -np.ones(len(cost), dtype=np.int64)
    for (c, t), var in x.items():
        if var.solution_value() > 0.5:
            year_index[c] = t
    year_index = drop_idle(instance, year_index)
    value = plan_value(instance, year_index)
    if value < hint.objective and not plan_violations(instance, hint.year_index):
        year_index, value = hint.year_index, hint.objective
    name = "OPTIMAL" if status == pywraplp.Solver.OPTIMAL else "FEASIBLE"
    return PlanSolution(year_index, value, max(value, objective.BestBound()), name, time.perf_counter() - started)
