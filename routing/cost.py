"""What a plan costs: the tenge cost model of the invataxi service, and the literature objectives.

One objective for batch planning (``routing.solver``), ruin and recreate
(``routing.improve``) and live insertion (``routing.live``): :class:`Pricing`.
Its default, ``cost="tenge"``, prices a route exactly as

    vehicle-day (if used) + driver hours x rate + km x rate + passengers' excess ride hours x rate

where driver hours run from leaving the depot to returning, less a break taken
inside the route (unpaid), and a passenger's excess ride is the ride time over
the direct drive time. ``cost="distance"`` and ``cost="duration"`` are the arc
sums of the dial-a-ride literature (metres or seconds, plus an optional fixed
cost per vehicle): the benchmark instances keep their published objectives.

OR-Tools and the insertion's screening use the arc part of the model (km and
driving hours, :meth:`Pricing.arc`); exact route costs, with waiting time, the
break and excess ride time, decide between plans (:meth:`Pricing.route`).

Calibration: :data:`TENGE` is set so that the city's 170 vehicles, each
working a full day (``PAID_HOURS_PER_DAY`` paid hours, ``KM_PER_DAY`` km) on
``VEHICLE_DAYS_PER_YEAR`` weekday-equivalents, cost the 1.6 bn tg a year the
city spends on the service (:func:`yearly_cost`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from data.fleet import BREAK_S, MAX_ROUTE_S, OPERATORS
from routing.problem import ProblemData, TripRequest, Vehicle
from routing.solution import Route, route_points

CostName = Literal["tenge", "distance", "duration"]

# ------------------------------------------------------------------ cost model assumptions (tenge, 2025 prices)
BUDGET_TG_YEAR: float = 1.6e9  # the city's yearly spending on the invataxi service (city report, 2025)
DRIVER_HOUR_TG: float = 2_600.0  # transport-sector mean wage ~380 000 tg/month (stat.gov.kz 2024) + ~12 % employer
# social tax and contributions, over ~165 working hours a month
KM_TG: float = 45.0  # fuel 12 l/100 km x ~215 tg/l (AI-92, 2025) = 26 tg + tyres and maintenance ~19 tg
EXCESS_RIDE_HOUR_TG: float = 1_300.0  # passengers' value of time: half the wage rate (the usual convention for
# non-work trips, e.g. HEATCO / UK TAG), on ride time beyond the direct drive
VEHICLE_DAYS_PER_YEAR: float = 250 + 115 * 0.37  # 250 working days + 115 weekend/holiday days at Seoul's 0.37
PAID_HOURS_PER_DAY: float = (MAX_ROUTE_S - BREAK_S) / 3600  # a full 8-hour working day
KM_PER_DAY: float = 150.0  # a busy urban paratransit vehicle-day (about 10 trips with deadhead)
VEHICLES: int = sum(OPERATORS.values())
ARC_CACHE_SIZE: int = 4  # tenge arc matrices kept (a live plan grows its matrices: a new one per growth)


@dataclass(frozen=True)
class CostModel:
    """Tenge rates of the service.

    Attributes
    ----------
    vehicle_day_tg
        Per vehicle used on a day: depreciation, insurance, dispatch and overhead (tenge).
    driver_hour_tg
        Per paid driver hour (tenge).
    km_tg
        Per km driven (tenge).
    excess_ride_hour_tg
        Per passenger-hour of ride time beyond the direct drive (tenge).
    """

    vehicle_day_tg: float
    driver_hour_tg: float = DRIVER_HOUR_TG
    km_tg: float = KM_TG
    excess_ride_hour_tg: float = EXCESS_RIDE_HOUR_TG

    def vehicle_year_tg(self) -> float:
        """Yearly operating cost of one fully used vehicle (tenge): the calibration unit."""
        return VEHICLE_DAYS_PER_YEAR * (self.vehicle_day_tg + PAID_HOURS_PER_DAY * self.driver_hour_tg
                                        + KM_PER_DAY * self.km_tg)


def calibrated_vehicle_day_tg() -> float:
    """The vehicle-day rate that makes 170 fully used vehicles cost ``BUDGET_TG_YEAR`` (the remainder after wages and km)."""
    return BUDGET_TG_YEAR / VEHICLES / VEHICLE_DAYS_PER_YEAR - PAID_HOURS_PER_DAY * DRIVER_HOUR_TG - KM_PER_DAY * KM_TG


TENGE = CostModel(vehicle_day_tg=round(calibrated_vehicle_day_tg()))


def yearly_cost(vehicles: int, model: CostModel = TENGE) -> float:
    """Yearly cost in tenge of ``vehicles`` fully used vehicles (170 gives the city's budget)."""
    return vehicles * model.vehicle_year_tg()


@dataclass(frozen=True)
class RouteCost:
    """The parts of a route's tenge cost.

    Attributes
    ----------
    vehicle_tg, driver_tg, km_tg, excess_ride_tg
        The four terms (tenge).
    paid_hours
        Driver hours paid (depot to depot, less a break inside the route).
    km
        Distance driven.
    excess_ride_hours
        Passenger-hours of ride beyond the direct drive.
    """

    vehicle_tg: float = 0.0
    driver_tg: float = 0.0
    km_tg: float = 0.0
    excess_ride_tg: float = 0.0
    paid_hours: float = 0.0
    km: float = 0.0
    excess_ride_hours: float = 0.0

    @property
    def operating_tg(self) -> float:
        """What the city pays: vehicle, driver and km (tenge)."""
        return self.vehicle_tg + self.driver_tg + self.km_tg

    @property
    def total_tg(self) -> float:
        """The objective: operating cost plus the passengers' excess ride time (tenge)."""
        return self.operating_tg + self.excess_ride_tg


def paid_seconds(vehicle: Vehicle, route: Route) -> float:
    """Paid driver time of a route in seconds: depot to depot, less a break taken between two stops."""
    if not route.stops:
        return 0.0
    inside = route.break_start_s is not None and 0 < route.break_after < len(route.stops)
    return route.end_s - route.start_s - (vehicle.break_s if inside else 0.0)


def excess_ride_seconds(data: ProblemData, requests: Mapping[str, TripRequest], route: Route) -> float:
    """Passenger seconds of ride time beyond the direct drive on a route (ride: drop-off start - pickup end)."""
    picked: dict[str, float] = {}
    excess = 0.0
    for stop in route.stops:
        request = requests[stop.request_id]
        if stop.kind == "pickup":
            picked[stop.request_id] = stop.time_s + request.service_pickup_s
        elif stop.request_id in picked:
            excess += max(0.0, stop.time_s - picked[stop.request_id] - data.direct_s(request))
    return excess


def tenge_route_cost(data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route,
                     model: CostModel = TENGE) -> RouteCost:
    """The tenge cost of one timed route, term by term (all zero for an idle vehicle)."""
    if not route.stops:
        return RouteCost()
    points = route_points(requests, vehicle, route.stops)
    km = float(data.distance_m[points[:-1], points[1:]].sum()) / 1000
    hours = paid_seconds(vehicle, route) / 3600
    excess = excess_ride_seconds(data, requests, route) / 3600
    return RouteCost(model.vehicle_day_tg, hours * model.driver_hour_tg, km * model.km_tg,
                     excess * model.excess_ride_hour_tg, hours, km, excess)


_ARCS: OrderedDict[tuple[int, int, CostModel], tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()


@dataclass(frozen=True)
class Pricing:
    """How plans are priced (see the module docstring).

    Attributes
    ----------
    cost
        "tenge" (the service's cost model), "distance" (metres) or "duration" (seconds).
    model
        Tenge rates (used with ``cost="tenge"``).
    vehicle_fixed_cost
        Extra cost per used vehicle, in the cost's unit (the literature's vehicle cost).
    """

    cost: CostName = "tenge"
    model: CostModel = TENGE
    vehicle_fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        if self.cost not in ("tenge", "distance", "duration"):
            raise ValueError(f"unknown cost {self.cost!r}: use tenge, distance or duration")

    @property
    def fixed(self) -> float:
        """Cost of using a vehicle at all (cost units)."""
        return self.vehicle_fixed_cost + (self.model.vehicle_day_tg if self.cost == "tenge" else 0.0)

    def arc_of(self, distance_m: np.ndarray, duration_s: np.ndarray) -> np.ndarray:
        """Arc costs of legs given by their metres and seconds (any shape; a new array)."""
        if self.cost == "distance":
            return np.array(distance_m, dtype=float)
        if self.cost == "duration":
            return np.array(duration_s, dtype=float)
        return distance_m * (self.model.km_tg / 1000) + duration_s * (self.model.driver_hour_tg / 3600)

    def arc(self, data: ProblemData) -> np.ndarray:
        """Arc costs: metres, seconds, or tenge for the km and the driving hours of each leg (cached, read-only)."""
        if self.cost == "distance":
            return data.distance_m
        if self.cost == "duration":
            return data.duration_s
        key = (id(data.distance_m), id(data.duration_s), self.model)
        if key not in _ARCS:
            arc = self.arc_of(data.distance_m, data.duration_s)
            arc.setflags(write=False)
            _ARCS[key] = (data.distance_m, data.duration_s, arc)  # the sources are kept so that their ids stay theirs
            while len(_ARCS) > ARC_CACHE_SIZE:
                _ARCS.popitem(last=False)
        _ARCS.move_to_end(key)
        return _ARCS[key][2]

    def timed_terms(self, data: ProblemData) -> tuple[np.ndarray, float, float]:
        """The route cost less the fixed cost as ``arc sum + paid_rate x paid seconds + excess_rate x excess ride seconds``.

        Returns the arc matrix (tenge: the km only; else :meth:`arc`) and the two
        rates (tenge per second; 0 for the literature objectives, which price arcs
        alone). Paid and excess ride seconds as :func:`paid_seconds` and
        :func:`excess_ride_seconds`: the compiled search prices routes with it.
        """
        if self.cost != "tenge":
            return self.arc(data), 0.0, 0.0
        return (data.distance_m * (self.model.km_tg / 1000), self.model.driver_hour_tg / 3600,
                self.model.excess_ride_hour_tg / 3600)

    def route(self, data: ProblemData, requests: Mapping[str, TripRequest], vehicle: Vehicle, route: Route) -> float:
        """Exact cost of a timed route (0 for an idle vehicle)."""
        if not route.stops:
            return 0.0
        if self.cost == "tenge":
            return tenge_route_cost(data, requests, vehicle, route, self.model).total_tg + self.vehicle_fixed_cost
        points = route_points(requests, vehicle, route.stops)
        return float(self.arc(data)[points[:-1], points[1:]].sum()) + self.vehicle_fixed_cost
