"""Service KPIs of a plan, as paratransit agencies report them, per operator and in total.

Definitions (US National Transit Database practice for demand response):
a vehicle's *paid hours* run from leaving its depot to returning, less a break
taken inside the route; its *revenue hours* are the paid hours less the
pull-out (depot to first stop) and pull-in (last stop to depot) drives;
*deadhead* is distance driven with nobody on board; a trip's *ride ratio* is
its ride time (drop-off start - pickup end) over its direct drive time.
Costs are the tenge cost model's operating part (``routing.cost``: what the
city pays; the passengers' excess-ride term is reported apart).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from routing.cost import TENGE, CostModel, tenge_route_cost
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, Solution, route_points


def _route_figures(data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route,
                   model: CostModel) -> dict:
    """Figures of one used route: trips, hours, km, deadhead km, cost and ride ratios."""
    cost = tenge_route_cost(data, requests, vehicle, route, model)
    points = route_points(requests, vehicle, route.stops)
    metres = data.distance_m[points[:-1], points[1:]]
    load, empty_m, picked, ratios = 0, 0.0, {}, []
    for k, stop in enumerate(route.stops):
        if load == 0:
            empty_m += metres[k]
        request = requests[stop.request_id]
        if stop.kind == "pickup":
            load += 1
            picked[stop.request_id] = stop.time_s + request.service_pickup_s
        else:
            load -= 1
            direct = data.direct_s(request)
            if direct > 0:
                ratios.append((stop.time_s - picked[stop.request_id]) / direct)
    empty_m += metres[-1]
    pull = data.duration_s[points[0], points[1]] + data.duration_s[points[-2], points[-1]]
    return {"trips": len(picked), "paid_hours": cost.paid_hours, "revenue_hours": max(0.0, cost.paid_hours - pull / 3600),
            "km": cost.km, "deadhead_km": empty_m / 1000, "operating_tg": cost.operating_tg,
            "excess_ride_tg": cost.excess_ride_tg, "ratios": ratios}


def _summary(figures: list[dict]) -> dict:
    trips = sum(f["trips"] for f in figures)
    revenue = sum(f["revenue_hours"] for f in figures)
    km = sum(f["km"] for f in figures)
    operating = sum(f["operating_tg"] for f in figures)
    ratios = np.array([r for f in figures for r in f["ratios"]]) if figures else np.zeros(0)
    return {
        "vehicles_used": len(figures), "trips": trips,
        "vehicle_hours": round(sum(f["paid_hours"] for f in figures), 1), "revenue_hours": round(revenue, 1),
        "km": round(km, 1), "deadhead_share": round(sum(f["deadhead_km"] for f in figures) / km, 4) if km else None,
        "trips_per_revenue_hour": round(trips / revenue, 3) if revenue else None,
        "operating_tg": round(operating), "cost_per_trip_tg": round(operating / trips) if trips else None,
        "excess_ride_tg": round(sum(f["excess_ride_tg"] for f in figures)),
        "ride_ratio_p50": round(float(np.percentile(ratios, 50)), 3) if len(ratios) else None,
        "ride_ratio_p95": round(float(np.percentile(ratios, 95)), 3) if len(ratios) else None,
    }


def service_kpis(data: ProblemData, solution: Solution, not_planned: Mapping[str, str] | None = None,
                 model: CostModel = TENGE) -> dict:
    """KPIs of a plan in total (``total``) and per operator (``operators``).

    Parameters
    ----------
    data
        The problem the plan solves.
    solution
        The plan.
    not_planned
        Requests kept out of the problem, with their reason (e.g. off the network): counted unserved.
    model
        Tenge rates.

    Returns
    -------
    dict
        ``total`` and ``operators[name]`` each with ``vehicles_used``, ``trips``,
        ``vehicle_hours`` (paid), ``revenue_hours``, ``km``, ``deadhead_share``,
        ``trips_per_revenue_hour``, ``operating_tg``, ``cost_per_trip_tg``,
        ``excess_ride_tg``, ``ride_ratio_p50``, ``ride_ratio_p95``; ``total`` also
        ``requests``, ``served_share`` and ``unserved_reasons`` (reason -> count).
    """
    requests, vehicles = data.request_index(), data.vehicle_index()
    by_operator: dict[str, list[dict]] = {operator: [] for operator in sorted(data.operators)}
    for route in solution.routes:
        if route.stops:
            vehicle = vehicles[route.vehicle_id]
            by_operator[vehicle.operator].append(_route_figures(data, requests, vehicle, route, model))
    not_planned = dict(not_planned or {})
    total = _summary([f for figures in by_operator.values() for f in figures])
    n_requests = len(data.requests) + len(not_planned)
    reasons = Counter({**solution.unserved, **not_planned}.values())
    total.update(requests=n_requests, served_share=round(total["trips"] / n_requests, 4) if n_requests else None,
                 unserved_reasons=dict(reasons.most_common()))
    return {"total": total, "operators": {k: _summary(v) for k, v in by_operator.items()}}
