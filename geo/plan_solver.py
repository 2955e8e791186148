"""Solve the programme: a MIP (SCIP through OR-Tools), and the greedy baseline.

MIP over a :class:`~geo.plan_instance.PlanInstance`:

* ``x[c, t]`` = candidate c adapted in year position t (only from its start
  year); ``sum_t x[c, t] <= 1``;
* per year: ``sum_{city c} cost_c x[c, t] <= budget_t`` and
  ``sum_{order c} x[c, t] <= capacity_t``;
* ``z[e, t]`` = credit of shared element e in year t: ``z[e, t] <= sum_{c covers e} r_c x[c, t]``,
  ``sum_t z[e, t] <= 1``;
* joint element j (closed by single candidates or by pairs of candidates
  together), cumulative: ``X[c, t] = sum_{s <= t} x[c, s]``,
  ``q[p, t] <= r_a X[a, t]``, ``q[p, t] <= r_b X[b, t]``, ``q[p, t] <= r_a r_b`` per
  pair p = (a, b), and ``y[j, t] <= min(1, sum_{single c} r_c X[c, t] + sum_{p} q[p, t])``;
* per target k: ``sum_{c in k} x[c, year_k] (count) or sum_{t <= year_k} x[c, t] (all, share) + s_k >= required_k``;
* maximise ``sum_{c,t} r_c own_c (T - t) x[c, t] + sum_{e,t} w_e (T - t) z[e, t] + sum_{j,t} w_j y[j, t]
  - penalty * sum_k s_k``.

``z``, ``q``, ``y`` and ``s`` are continuous: for integral ``x`` their best values are the
plan's credits (``plan_instance.element_credits``) and shortfalls. The greedy
plan is the warm start; after solving, any budget or capacity the solver left
while a candidate of positive value still fits is filled (the value can only
grow), and chosen objects that add nothing are dropped.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from geo.plan_instance import PlanInstance, element_credits, evaluate, joint_closed, plan_violations

GAP_TOLERANCE: float = 1e-3  # relative gap (0.1 %) at which the search stops: ten times tighter than the 1 % goal


@dataclass(frozen=True)
class PlanSolution:
    """A plan and how good it is.

    Attributes
    ----------
    year_index
        Year position per candidate (-1 = not adapted).
    objective
        ``evaluate(...).objective`` of the plan (weighted person-years minus target penalties).
    bound
        Upper bound on the optimum objective (equal to ``objective`` for greedy: no bound).
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
        """Relative optimality gap ``(bound - objective) / |bound|`` (0 when proven optimal, 1 without a bound)."""
        if not np.isfinite(self.bound):
            return 1.0
        if abs(self.bound) <= 1e-9:
            return 0.0
        return max(0.0, (self.bound - self.objective) / abs(self.bound))


def covers_of(instance: PlanInstance) -> list[list[int]]:
    """For each candidate position, the shared elements it covers."""
    out: list[list[int]] = [[] for _ in range(len(instance.candidates))]
    for e, cover in enumerate(instance.element_cover):
        for c in cover:
            out[int(c)].append(e)
    return out


def joint_of(instance: PlanInstance) -> list[list[int]]:
    """For each candidate position, the joint elements it takes part in (alone or in a pair)."""
    out: list[list[int]] = [[] for _ in range(len(instance.candidates))]
    for e, (single, pairs) in enumerate(zip(instance.joint_single, instance.joint_pairs)):
        for c in sorted(set(single.tolist()) | set(pairs.ravel().tolist())):
            out[c].append(e)
    return out


class _Filler:
    """Marginal value of candidates given the plan so far, and adding them year by year within the resources."""

    def __init__(self, instance: PlanInstance, year_index: np.ndarray) -> None:
        self.instance = instance
        self.year_index = year_index
        self.covers = covers_of(instance)
        self.own = instance.candidates["own_weight"].to_numpy(dtype=float)
        self.rate = instance.candidates["rate"].to_numpy(dtype=float)
        self.cost = instance.candidates["cost_tg"].to_numpy(dtype=float)
        self.order = instance.is_order
        self.starts = instance.candidates["start_year"].to_numpy()
        self.used = np.zeros(len(instance.element_weight))
        for e, cover in enumerate(instance.element_cover):
            self.used[e] = min(1.0, float(self.rate[cover][year_index[cover] >= 0].sum()))
        self.spent = np.array([self.cost[(year_index == t) & ~self.order].sum() for t in range(len(instance.years))])
        self.orders = np.array([int(((year_index == t) & self.order).sum()) for t in range(len(instance.years))])
        self.joints = joint_of(instance)
        self.closed = np.array([joint_closed(instance, np.where(year_index >= 0, 0, -1), e)[0]
                                for e in range(len(instance.joint_weight))])

    def _joint_delta(self, c: int, e: int) -> float:
        """How much more joint element ``e`` closes if ``c`` is added to the plan so far."""
        pairs = self.instance.joint_pairs[e]
        mine = (pairs[:, 0] == c) | (pairs[:, 1] == c)
        partner = np.where(pairs[mine, 0] == c, pairs[mine, 1], pairs[mine, 0])
        done = partner[self.year_index[partner] >= 0]
        alone = self.rate[c] if c in self.instance.joint_single[e] else 0.0
        return alone + self.rate[c] * float(self.rate[done].sum())

    def gain(self, c: int) -> float:
        """Value per remaining year that adapting ``c`` adds (credits counted as if earned now)."""
        weight = self.instance.element_weight
        value = self.own[c] * self.rate[c] + sum(weight[e] * min(self.rate[c], 1.0 - self.used[e]) for e in self.covers[c])
        joint = self.instance.joint_weight
        return value + sum(joint[e] * (min(1.0, self.closed[e] + self._joint_delta(c, e)) - self.closed[e])
                           for e in self.joints[c])

    def fits(self, c: int, t: int) -> bool:
        """Whether ``c`` may start in year position ``t`` and the year's budget or capacity still has room."""
        if self.starts[c] > self.instance.years[t] or self.year_index[c] >= 0:
            return False
        if self.order[c]:
            return self.orders[t] + 1 <= self.instance.order_capacity[t]
        return self.spent[t] + self.cost[c] <= self.instance.budget_tg[t] + 1e-6

    def take(self, c: int, t: int) -> None:
        """Adapt ``c`` in year position ``t``."""
        for e in self.joints[c]:
            self.closed[e] = min(1.0, self.closed[e] + self._joint_delta(c, e))
        self.year_index[c] = t
        for e in self.covers[c]:
            self.used[e] = min(1.0, self.used[e] + self.rate[c])
        if self.order[c]:
            self.orders[t] += 1
        else:
            self.spent[t] += self.cost[c]

    def fill_targets(self, t: int) -> None:
        """Take target members in year ``t`` until each target due now (count) or later (all, share) is met."""
        rows = sorted(self.instance.targets, key=lambda r: (r.target.kind != "count", r.year_index))
        for row in rows:
            if (row.target.kind == "count" and row.year_index != t) or row.year_index < t:
                continue
            need = row.required - row.achieved(self.year_index)
            members = [int(c) for c in row.members if self.year_index[c] < 0]
            members.sort(key=lambda c: (not self.order[c], -self.gain(c) if self.order[c] else self.cost[c]))
            for c in members:
                if need <= 0:
                    break
                if self.fits(c, t):
                    self.take(c, t)
                    need -= 1

    def fill_value(self, t: int) -> None:
        """Best value per tenge (city budget) or per order (orders) first, while anything of positive value fits."""
        horizon = len(self.instance.years) - t
        for orders in (True, False):
            pool = [int(c) for c in np.flatnonzero((self.order == orders) & (self.year_index < 0)) if self.fits(int(c), t)]
            scale = (lambda c: 1.0) if orders else (lambda c: max(self.cost[c], 1.0))
            heap = [(-self.gain(c) * horizon / scale(c), c) for c in pool]
            heapq.heapify(heap)
            while heap:
                key, c = heapq.heappop(heap)
                fresh = -self.gain(c) * horizon / scale(c)
                if fresh >= 0:
                    continue
                if heap and fresh > heap[0][0] + 1e-12:
                    heapq.heappush(heap, (fresh, c))  # stale key: re-queue with the true gain
                    continue
                if self.fits(c, t):
                    self.take(c, t)


def greedy(instance: PlanInstance) -> PlanSolution:
    """Year by year: targets first (orders by value, city objects cheapest first), then best value per tenge or order."""
    started = time.perf_counter()
    filler = _Filler(instance, -np.ones(len(instance.candidates), dtype=np.int64))
    for t in range(len(instance.years)):
        filler.fill_targets(t)
        filler.fill_value(t)
    objective = evaluate(instance, filler.year_index).objective
    return PlanSolution(filler.year_index, objective, objective, "GREEDY", time.perf_counter() - started)


def fill_idle(instance: PlanInstance, year_index: np.ndarray) -> np.ndarray:
    """Add, year by year, candidates of positive value that still fit the year's budget or order capacity."""
    filler = _Filler(instance, year_index.copy())
    for t in range(len(instance.years)):
        filler.fill_value(t)
    return filler.year_index


def carried(instance: PlanInstance, year_index: np.ndarray, bound: float) -> PlanSolution | None:
    """Another budget's plan, kept and filled (``fill_idle``) with what this instance's resources still allow; no MIP.

    A plan for lower annual budgets fits higher ones unchanged (budgets and
    capacities are upper limits), so a budget curve can carry a lower point's
    plan up where that point's own solve ended worse. ``bound``: this
    instance's own upper bound (weighted person-years), which stays valid.
    None when the plan breaks this instance's budgets or capacities.
    """
    started = time.perf_counter()
    if plan_violations(instance, year_index):
        return None
    filled = fill_idle(instance, year_index)
    objective = evaluate(instance, filled).objective
    return PlanSolution(filled, objective, max(bound, objective), "CARRIED", time.perf_counter() - started)


def drop_idle(instance: PlanInstance, year_index: np.ndarray) -> np.ndarray:
    """Un-adapt chosen objects that add no value and that no target needs (the objective is unchanged)."""
    year_index = year_index.copy()
    own = instance.candidates["own_weight"].to_numpy()
    covers, joints = covers_of(instance), joint_of(instance)
    factor = len(instance.years) - np.arange(len(instance.years))
    member_of: list[list[int]] = [[] for _ in range(len(own))]
    for k, row in enumerate(instance.targets):
        for c in row.members:
            member_of[int(c)].append(k)
    for c in np.argsort(-instance.candidates["cost_tg"].to_numpy(), kind="stable"):
        if year_index[c] < 0 or own[c] > 0:
            continue
        trial = year_index.copy()
        trial[c] = -1
        if any(instance.targets[k].achieved(trial) < min(instance.targets[k].required, instance.targets[k].achieved(year_index))
               for k in member_of[c]):
            continue
        weight = instance.element_weight
        before = sum(weight[e] * element_credits(instance, year_index, instance.element_cover[e]) @ factor for e in covers[c])
        after = sum(weight[e] * element_credits(instance, trial, instance.element_cover[e]) @ factor for e in covers[c])
        before += sum(instance.joint_weight[e] * joint_closed(instance, year_index, e).sum() for e in joints[c])
        after += sum(instance.joint_weight[e] * joint_closed(instance, trial, e).sum() for e in joints[c])
        if after >= before - 1e-9:
            year_index = trial
    return year_index


def _model(instance: PlanInstance, backend: str) -> tuple[pywraplp.Solver, dict[tuple[int, int], pywraplp.Variable]]:
    """The programme model (module docstring) on an OR-Tools ``linear_solver`` backend (SCIP, or GLOP for the LP)."""
    horizon = len(instance.years)
    cost = instance.candidates["cost_tg"].to_numpy(dtype=float)
    value = (instance.candidates["own_weight"] * instance.candidates["rate"]).to_numpy(dtype=float)
    rate = instance.candidates["rate"].to_numpy(dtype=float)
    order = instance.is_order
    starts = instance.candidates["start_year"].to_numpy()
    solver = pywraplp.Solver.CreateSolver(backend)
    objective = solver.Objective()
    budget = [solver.Constraint(0.0, float(b), f"budget{t}") for t, b in enumerate(instance.budget_tg)]
    capacity = [solver.Constraint(0.0, float(k), f"orders{t}") for t, k in enumerate(instance.order_capacity)]
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    for c in range(len(cost)):
        chosen = []
        for t, year in enumerate(instance.years):
            if year < starts[c]:
                continue
            var = x[(c, t)] = solver.BoolVar(f"x{c}_{t}")
            chosen.append(var)
            objective.SetCoefficient(var, value[c] * (horizon - t))
            if order[c]:
                capacity[t].SetCoefficient(var, 1.0)
            else:
                budget[t].SetCoefficient(var, cost[c])
        if len(chosen) > 1:
            once = solver.Constraint(0.0, 1.0, f"once{c}")
            for var in chosen:
                once.SetCoefficient(var, 1.0)
    for e, (weight, cover) in enumerate(zip(instance.element_weight, instance.element_cover)):
        total = solver.Constraint(0.0, 1.0, f"credit{e}")
        for t in range(horizon):
            adapters = [(int(c), x[(int(c), t)]) for c in cover if (int(c), t) in x]
            if not adapters:
                continue
            z = solver.NumVar(0.0, 1.0, f"z{e}_{t}")
            _at_most(solver, z, [(rate[c], var) for c, var in adapters], f"link{e}_{t}")
            objective.SetCoefficient(z, weight * (horizon - t))
            total.SetCoefficient(z, 1.0)
    _joint_model(instance, solver, x)
    for k, row in enumerate(instance.targets):
        slack = solver.NumVar(0.0, float(row.required), f"short{k}")
        objective.SetCoefficient(slack, -instance.penalty)
        meet = solver.Constraint(float(row.required), solver.infinity(), f"target{k}")
        meet.SetCoefficient(slack, 1.0)
        years = [row.year_index] if row.target.kind == "count" else range(row.year_index + 1)
        for c in row.members:
            for t in years:
                if (int(c), t) in x:
                    meet.SetCoefficient(x[(int(c), t)], 1.0)
    objective.SetMaximization()
    return solver, x


def _joint_model(instance: PlanInstance, solver: pywraplp.Solver, x: dict[tuple[int, int], pywraplp.Variable]) -> None:
    """Add the joint elements in cumulative form (module docstring): ``q`` per pair and year, ``y`` per element and year."""
    rate = instance.candidates["rate"].to_numpy(dtype=float)
    objective = solver.Objective()
    clause: dict[tuple[int, int, int], pywraplp.Variable | None] = {}

    def done_by(c: int, t: int) -> list[pywraplp.Variable]:
        return [x[(c, s)] for s in range(t + 1) if (c, s) in x]

    for e, (weight, single, pairs) in enumerate(zip(instance.joint_weight, instance.joint_single, instance.joint_pairs)):
        for t in range(len(instance.years)):
            terms = [(rate[c], var) for c in single.tolist() for var in done_by(c, t)]
            for a, b in pairs.tolist():
                if (a, b, t) not in clause:
                    both = done_by(a, t), done_by(b, t)
                    q = solver.NumVar(0.0, rate[a] * rate[b], f"q{a}_{b}_{t}") if all(both) else None
                    for member, variables in zip((a, b), both):
                        if q is not None:
                            _at_most(solver, q, [(rate[member], var) for var in variables], f"q{a}_{b}_{t}_{member}")
                    clause[(a, b, t)] = q
                if clause[(a, b, t)] is not None:
                    terms.append((1.0, clause[(a, b, t)]))
            if not terms:
                continue
            y = solver.NumVar(0.0, 1.0, f"y{e}_{t}")
            _at_most(solver, y, terms, f"joint{e}_{t}")
            objective.SetCoefficient(y, weight)


def _at_most(solver: pywraplp.Solver, var: pywraplp.Variable, terms: list[tuple[float, pywraplp.Variable]], name: str) -> None:
    """Constrain ``var <= sum(coefficient * term)``."""
    link = solver.Constraint(-solver.infinity(), 0.0, name)
    link.SetCoefficient(var, 1.0)
    for coefficient, term in terms:
        link.SetCoefficient(term, link.GetCoefficient(term) - coefficient)


def _polished(instance: PlanInstance, x: dict[tuple[int, int], pywraplp.Variable], level: float) -> tuple[np.ndarray, float]:
    """The solver's plan (``x > level``), with idle resources filled and useless objects dropped, and its objective.

    ``level`` is 0.5 for a MIP solution; just under 1 rounds an LP solution down (always feasible).
    """
    year_index = -np.ones(len(instance.candidates), dtype=np.int64)
    for (c, t), var in x.items():
        if var.solution_value() > level and year_index[c] < 0:
            year_index[c] = t
    year_index = drop_idle(instance, fill_idle(instance, year_index))
    if plan_violations(instance, year_index):
        return year_index, -np.inf
    return year_index, evaluate(instance, year_index).objective


def _time_left_ms(started: float, time_limit_s: float) -> int:
    return int(max(1.0, time_limit_s - (time.perf_counter() - started)) * 1000)


def solve(instance: PlanInstance, time_limit_s: float = 60.0, hint: PlanSolution | None = None,
          gap_tolerance: float = GAP_TOLERANCE) -> PlanSolution:
    """Solve the programme exactly within ``time_limit_s`` seconds, with a proven bound.

    1. The LP relaxation (GLOP) gives an upper bound on the optimum, a rounded
       plan and reduced costs.
    2. Reduced-cost fixing: a variable whose reduced cost exceeds the gap
       between the LP bound and the best plan so far cannot change in any
       better plan, so it is fixed (exact).
    3. Unless the gap is already within ``gap_tolerance`` (relative), SCIP
       solves the fixed MIP to that gap or for the time left, warm-started from
       the best plan; its dual bound (or its proof that no better plan exists)
       tightens the bound.

    ``hint`` (by default the greedy plan) is never beaten by the answer.
    """
    started = time.perf_counter()
    hint = hint if hint is not None else greedy(instance)
    best, best_value = hint.year_index, hint.objective
    if plan_violations(instance, best):
        best_value = -np.inf
    lp, lp_x = _model(instance, "GLOP")
    lp.SetTimeLimit(_time_left_ms(started, time_limit_s))
    bound, fixes = np.inf, {}
    if lp.Solve() == pywraplp.Solver.OPTIMAL:
        bound = lp.Objective().Value()
        rounded, value = _polished(instance, lp_x, 1.0 - 1e-6)
        if value > best_value:
            best, best_value = rounded, value
        margin = bound - best_value + 1e-6 * abs(bound)
        for key, var in lp_x.items():
            if abs(var.reduced_cost()) > margin:
                fixes[key] = 1.0 if var.solution_value() > 0.5 else 0.0
    if best_value >= bound - gap_tolerance * abs(bound):
        return PlanSolution(best, best_value, bound, "OPTIMAL" if best_value >= bound - 1e-6 * abs(bound) else "FEASIBLE",
                            time.perf_counter() - started)
    mip, x = _model(instance, "SCIP")
    for key, level in fixes.items():
        x[key].SetBounds(level, level)
    mip.SetHint(list(x.values()), [float(best[c] == t) for (c, t) in x])
    mip.SetTimeLimit(_time_left_ms(started, time_limit_s))
    parameters = pywraplp.MPSolverParameters()
    parameters.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, gap_tolerance)
    status = mip.Solve(parameters)
    if status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        found, value = _polished(instance, x, 0.5)
        if value > best_value:
            best, best_value = found, value
        bound = min(bound, max(best_value, mip.Objective().BestBound()))
    elif status == pywraplp.Solver.INFEASIBLE and fixes:
        bound = best_value  # no plan better than the best one respects the fixings: it is optimal
    if not np.isfinite(best_value):
        raise ValueError(f"no feasible programme: {'; '.join(plan_violations(instance, best)[:3])}")
    bound = max(bound, best_value)
    if not np.isfinite(bound):
        name = "NO_BOUND"  # the LP relaxation did not finish in time
    else:
        name = "OPTIMAL" if bound - best_value <= 1e-6 * max(1.0, abs(bound)) else "FEASIBLE"
    return PlanSolution(best, best_value, bound, name, time.perf_counter() - started)


def marginal_gains(instance: PlanInstance, year_index: np.ndarray) -> np.ndarray:
    """Value per remaining year each unchosen candidate would add to the plan (0 for chosen ones)."""
    filler = _Filler(instance, year_index.copy())
    return np.array([0.0 if year_index[c] >= 0 else filler.gain(c) for c in range(len(year_index))])
