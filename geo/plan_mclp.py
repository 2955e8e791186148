"""spopt's Maximal Covering Location Problem on a plan instance's coverage (single-year baseline)."""

from __future__ import annotations

import time

import numpy as np

from geo.plan_instance import PlanInstance, evaluate
from geo.plan_solver import PlanSolution


def mclp_baseline(instance: PlanInstance, p_facilities: int, time_limit_s: float = 60.0) -> PlanSolution:
    """Choose ``p_facilities`` candidates with spopt's MCLP (PuLP/CBC), ignoring costs and years.

    Clients are the instance's shared elements plus, for every candidate with
    weight of its own, one private client; a client is covered by a candidate
    when the candidate closes it. The chosen candidates are scheduled in the
    first plan year, so the returned objective is comparable with a single-year
    plan of the same instance.
    """
    import pulp
    from spopt.locate import MCLP

    if len(instance.joint_weight):
        raise ValueError("the MCLP cannot express gaps that two candidates close together (joint elements)")
    own = (instance.candidates["own_weight"] * instance.candidates["rate"]).to_numpy()
    n = len(own)
    private = np.flatnonzero(own > 0)
    covers = [*instance.element_cover, *[np.array([c]) for c in private]]
    weights = np.concatenate([instance.element_weight, own[private]])
    useful = np.unique(np.concatenate(covers)) if covers else np.zeros(0, dtype=int)
    column = {c: j for j, c in enumerate(useful)}
    cost = np.full((len(covers), len(useful)), 2.0)
    for i, cover in enumerate(covers):
        cost[i, [column[c] for c in cover]] = 0.0
    started = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weights, service_radius=1.0, p_facilities=min(p_facilities, len(useful)))
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    chosen = [useful[j] for j, var in enumerate(model.fac_vars) if var.value() and var.value() > 0.5]
    year_index = -np.ones(n, dtype=np.int64)
    year_index[chosen] = 0
    value = evaluate(instance, year_index).objective
    return PlanSolution(year_index, value, value, "MCLP", time.perf_counter() - started)
