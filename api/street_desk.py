"""The dispatch desk in operation: vehicle events, positions, trip states, manifests and booking offers.

:class:`StreetDesk` extends ``api.dispatch_desk.DispatchDesk`` (one live plan
per service day, one lock per day) with what the street reports. Its plans
are ``routing.operations.OperatingPlan``: this module only turns places into
matrix points and travel times (a reported position is snapped to the drive
graph and one Dijkstra run from its node gives the travel time to every stop,
about 2 ms on Almaty's drive graph) and trip ids into plan requests (a
passenger moved off a broken-down vehicle rides the transfer leg
``<trip id>~transfer``).

Offers (:meth:`StreetDesk.offers`): the requested pickup window is cut into
slots of ``OFFER_SLOT_S`` every ``OFFER_STEP_S``; each slot is priced by the
exact cheapest feasible insertion of the trip with its window narrowed to the
slot, nothing committed; the up to ``MAX_OFFERS`` cheapest slots with
distinct pickup times are offered. The API stores each offer (table
``offers``), so another worker or a restarted server books it: an offer is
bookable for ``OFFER_TTL_S`` seconds of the server's clock, and answered with
fresh offers for ``OFFER_KEEP_S`` after that (then forgotten). Booking
(:meth:`StreetDesk.book`) re-checks the slot under the day's lock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.shortest_paths import snap
from api.dispatch_desk import DispatchDesk, LonLat, Placement, PlanChange, Prepared, StoredTrip, _request
from routing.operations import TRANSFER_SUFFIX, EventError, OperatingPlan, Outcome

OFFER_SLOT_S: float = 900.0  # an offer promises a 15-minute pickup window (the service's usual promise to riders)
OFFER_STEP_S: float = 600.0  # candidate slots start every 10 minutes across the requested window
OFFER_TTL_S: float = 600.0  # a rider has 10 minutes (server clock) to take an offer: a phone call and a think; later,
# the plan has moved on (bookings, events) and the rider gets fresh offers instead of a time promised on an old plan
OFFER_KEEP_S: float = 86400.0  # an expired offer still answers fresh offers for a day (the rider who calls back), then 404
MAX_OFFERS: int = 3


@dataclass(frozen=True)
class Applied:
    """One applied vehicle event: the plan change (version, changed routes) and what moved or left the plan."""

    change: PlanChange
    outcome: Outcome


@dataclass(frozen=True)
class Slot:
    """A priced, uncommitted pickup slot: the pickup window it promises and the ETAs (s after midnight), the added cost (tenge)."""

    window_s: tuple[float, float, float | None]
    pickup_eta_s: float
    dropoff_eta_s: float
    cost: float


class StreetDesk(DispatchDesk):
    """A :class:`~api.dispatch_desk.DispatchDesk` that applies vehicle events and makes offers (see the module docstring)."""

    def __init__(self, fleet, workers: int = 0) -> None:  # noqa: ANN001 - GeoDataFrame as the base class
        super().__init__(fleet, workers)
        self._positions: dict[tuple[dt.date, str], tuple[float, float, float]] = {}
        self._last_at: dict[tuple[dt.date, str], float] = {}
        self._stored_transfers: dict[dt.date, dict[str, list[list[str]]]] = {}  # day -> stored routes holding transfer legs
        self.shift_of = {v.id: (v.shift_start_s, v.shift_end_s) for v in self._vehicles}

    def plan(self, day: dt.date) -> OperatingPlan:  # the base class makes OperatingPlans
        """The operating plan of ``day``."""
        return super().plan(day)  # type: ignore[return-value]

    # ----------------------------------------------------------------- places
    def lonlat(self, day: dt.date, point: int) -> LonLat:
        """WGS 84 coordinates of a matrix point of ``day``'s plan (its drive-graph node)."""
        x, y = self.graph.xy[self._nodes[day][point]]
        lon, lat = self._to_wgs84.transform(x, y)
        return round(float(lon), 6), round(float(lat), 6)

    def _node(self, lonlat: LonLat) -> int:
        x, y = self._to_utm.transform(np.array([lonlat[0]]), np.array([lonlat[1]]))
        nodes, _ = snap(self.graph, np.asarray(x), np.asarray(y))
        return int(nodes[0])

    def _travel_from(self, day: dt.date, lonlat: LonLat) -> Callable[[int], float]:
        """Seconds from the drive-graph node nearest ``lonlat`` to each point of the plan (one Dijkstra run)."""
        seconds = dijkstra(self.graph.forward, indices=self._node(lonlat))
        nodes = self._nodes[day]
        return lambda point: float(seconds[nodes[point]]) if np.isfinite(seconds[nodes[point]]) else 0.0

    def _points(self, day: dt.date, nodes: list[int], prepared: Prepared | None = None) -> list[int]:
        """Plan points on ``nodes``: existing ones reused, new ones added (travel rows from ``prepared`` or computed)."""
        known = self._nodes[day]
        new = [n for n in dict.fromkeys(nodes) if n not in known]
        if new:
            fresh = prepared is not None and prepared.rows is not None and prepared.nodes == new
            rows = prepared.rows if fresh else self.rows.rows(new)
            self.plan(day).add_points(*rows.for_plan(known, new))
            known.extend(new)
        return [known.index(n) for n in nodes]

    # ----------------------------------------------------------------- events
    def request_id(self, day: dt.date, vehicle_id: str, trip_id: str) -> str:
        """The plan request of ``trip_id`` on the vehicle: its transfer leg when that is pending there."""
        plan, leg = self.plan(day), trip_id + TRANSFER_SUFFIX
        done = len(plan.performed(vehicle_id))
        return leg if any(s.request_id == leg for s in plan.route(vehicle_id).stops[done:]) else trip_id

    def last_event_s(self, day: dt.date, vehicle_id: str) -> float | None:
        """Time (s after midnight) of the vehicle's last applied event on ``day``."""
        return self._last_at.get((day, vehicle_id))

    def position(self, day: dt.date, vehicle_id: str) -> tuple[float, float, float] | None:
        """The vehicle's last reported (lon, lat, s after midnight) on ``day``."""
        return self._positions.get((day, vehicle_id))

    def apply_event(self, day: dt.date, vehicle_id: str, kind: str, at_s: float, lonlat: LonLat | None,
                    trip_id: str | None, release: Iterable[str] = ()) -> Applied:
        """Apply one vehicle event to ``day``'s plan (call under the day's lock).

        Raises
        ------
        routing.operations.EventError
            An impossible transition; nothing changed.
        """
        with self.lock(day):
            plan = self.plan(day)
            request = self.request_id(day, vehicle_id, trip_id) if trip_id else None
            if kind == "position":
                outcome = plan.position(vehicle_id, at_s, self._travel_from(day, lonlat))
            elif kind == "arrived":
                outcome = plan.arrived(vehicle_id, request, "dropoff" if request in plan.on_board(vehicle_id) else "pickup", at_s)
            elif kind in ("picked_up", "dropped_off"):
                outcome = plan.perform(vehicle_id, request, "pickup" if kind == "picked_up" else "dropoff", at_s)
            elif kind == "no_show":
                outcome = plan.no_show(vehicle_id, request, at_s, release)
            elif kind == "break_started":
                outcome = plan.break_started(vehicle_id, at_s)
            elif kind == "break_ended":
                outcome = plan.break_ended(vehicle_id, at_s)
            elif kind == "out_of_service":
                where = lonlat or (self._positions[(day, vehicle_id)][:2] if (day, vehicle_id) in self._positions else None)
                rescue = self._points(day, [self._node(where)])[0] if where is not None and plan.on_board(vehicle_id) else None
                outcome = plan.out_of_service(vehicle_id, at_s, rescue)
            else:
                raise EventError(f"type: unknown event type {kind!r}")
            if lonlat is None and request is not None:  # at a stop: the vehicle stands there
                lonlat = self.lonlat(day, plan.requests()[request].point(
                    "dropoff" if kind == "dropped_off" or (kind == "arrived" and request in plan.on_board(vehicle_id)) else "pickup"))
            if lonlat is not None:
                self._positions[(day, vehicle_id)] = (lonlat[0], lonlat[1], at_s)
            self._last_at[(day, vehicle_id)] = max(at_s, self._last_at.get((day, vehicle_id), at_s))
            return Applied(self.changed(day, list(outcome.vehicles)), outcome)

    def restore(self, day: dt.date, trips: Sequence[StoredTrip], routes: dict[str, list[list[str]]], version: int) -> PlanChange:
        """:meth:`DispatchDesk.restore`, keeping aside the stored routes that hold transfer legs: the restored plan
        cannot hold them before the replayed breakdown makes their requests (:meth:`replaying`). The change it
        returns leaves those routes out: storage keeps them as they are until the replay has put the legs back."""
        held = {v: stops for v, stops in routes.items() if any(r.endswith(TRANSFER_SUFFIX) for r, _ in stops)}
        self._stored_transfers[day] = held
        change = super().restore(day, trips, routes, version)
        return PlanChange(change.version, {v: stops for v, stops in change.routes.items() if v not in held})

    @contextmanager
    def replaying(self, day: dt.date) -> Iterator[list[str]]:
        """Re-apply ``day``'s stored events (under its lock, ``OperatingPlan.replaying``): facts only, a breakdown's
        transfer legs back where the stored routes had them. Yields the vehicles whose stored routes held such legs
        (the caller stores their routes afterwards)."""
        held = self._stored_transfers.pop(day, {})
        with self.lock(day), self.plan(day).replaying(held):
            yield list(held)

    def settle(self, day: dt.date) -> dict[str, Applied]:
        """After a replay of ``day``'s events: reschedule each vehicle that reported from its last report
        (``OperatingPlan.settle``); vehicle -> what changed."""
        with self.lock(day):
            plan, out = self.plan(day), {}
            for (when, vehicle_id), at_s in sorted(self._last_at.items()):
                if when != day:
                    continue
                position = self._positions.get((day, vehicle_id))
                outcome = plan.settle(vehicle_id, at_s, None if position is None else self._travel_from(day, position[:2]))
                out[vehicle_id] = Applied(self.changed(day, list(outcome.vehicles)), outcome)
            return out

    # ------------------------------------------------------------------ reads
    def version(self, day: dt.date) -> int:
        """The day's plan version (it grows with every change)."""
        return self._versions.get(day, 0)

    def live_vehicle(self, day: dt.date, vehicle_id: str) -> dict:
        """Position, status, next three stops and the path ahead (position, then pending stops) of a vehicle."""
        plan = self.plan(day)
        pending = self.stops(day, vehicle_id, pending_only=True)
        position = self._positions.get((day, vehicle_id))
        done = plan.performed(vehicle_id)
        here = [list(position[:2])] if position else [list(self.lonlat(day, plan.requests()[
            done[-1].request_id].point(done[-1].kind)))] if done else []
        return {"position": None if position is None else {"lon": position[0], "lat": position[1], "at_s": position[2]},
                "status": plan.vehicle_status(vehicle_id), "next_stops": pending[:3],
                "path": here + [[s["lon"], s["lat"]] for s in pending]}

    def trip_state(self, trip_id: str) -> tuple[str | None, bool]:
        """(vehicle now carrying or about to carry the trip, whether that vehicle is en route to its pickup)."""
        where = self._where.get(trip_id)
        if where is None:
            return None, False
        plan = self.plan(where[0])
        for route in plan.solution().routes:
            pending = route.stops[len(plan.performed(route.vehicle_id)):]
            for index, stop in enumerate(pending):
                if stop.request_id in (trip_id, trip_id + TRANSFER_SUFFIX):
                    moving = (where[0], route.vehicle_id) in self._last_at or bool(plan.performed(route.vehicle_id))
                    return route.vehicle_id, index == 0 and stop.kind == "pickup" and moving
        return None, False

    def en_route_trips(self, day: dt.date) -> set[str]:
        """Trips whose vehicle has reported today and drives to their pickup next."""
        if day not in self._plans:
            return set()
        plan, out = self.plan(day), set()
        for route in plan.solution().routes:
            done = len(plan.performed(route.vehicle_id))
            moving = done or (day, route.vehicle_id) in self._last_at
            if moving and len(route.stops) > done and route.stops[done].kind == "pickup":
                out.add(route.stops[done].request_id.removesuffix(TRANSFER_SUFFIX))
        return out

    def stops(self, day: dt.date, vehicle_id: str, pending_only: bool = False) -> list[dict]:
        """The vehicle's stops in driving order: trip (its id), kind, ETA s, place, load, done or not."""
        plan = self.plan(day)
        requests = plan.requests()
        done = len(plan.performed(vehicle_id))
        out = []
        for seq, stop in enumerate(plan.route(vehicle_id).stops, start=1):
            if pending_only and seq <= done:
                continue
            request = requests[stop.request_id]
            lon, lat = self.lonlat(day, request.point(stop.kind))
            out.append({"seq": seq, "request_id": stop.request_id, "trip_id": stop.request_id.removesuffix(TRANSFER_SUFFIX),
                        "transfer": stop.request_id.endswith(TRANSFER_SUFFIX), "kind": stop.kind, "eta_s": stop.time_s,
                        "lon": lon, "lat": lat, "passengers": 1 + request.companions, "companions": request.companions,
                        "wheelchair": request.wheelchair, "done": seq <= done})
        return out

    def break_of(self, day: dt.date, vehicle_id: str) -> dict | None:
        """The driver's break: taken (actual start, end) or planned (start, length, after which stop), seconds."""
        plan = self.plan(day)
        taken = plan.break_taken(vehicle_id)
        if taken is not None:
            return {"start_s": taken[0], "end_s": taken[1], "taken": True, "after_stop": None}
        route, vehicle = plan.route(vehicle_id), plan.vehicle(vehicle_id)
        if route.break_start_s is None or not vehicle.has_break:
            return None
        return {"start_s": route.break_start_s, "end_s": route.break_start_s + vehicle.break_s, "taken": False,
                "after_stop": route.break_after}

    # ----------------------------------------------------------------- offers
    def offers(self, day: dt.date, prepared: Prepared, window_s: tuple[float, float, float | None], wheelchair: bool,
               companions: int, operator: str | None, now_s: float) -> list[Slot]:
        """Up to ``MAX_OFFERS`` feasible pickup slots in the window, cheapest first; nothing committed."""
        if prepared.rows is None:
            return []
        earliest, latest, latest_dropoff = window_s
        starts = np.arange(max(earliest, now_s), max(latest - OFFER_SLOT_S, earliest) + 1.0, OFFER_STEP_S)
        with self.lock(day):
            plan = self.plan(day)
            pick, drop = self._points(day, prepared.nodes, prepared)
            priced = []
            for start in starts if len(starts) else [earliest]:
                slot = (float(start), float(min(start + OFFER_SLOT_S, latest)), latest_dropoff)
                request = _request(f"OFR-{uuid.uuid4().hex[:16]}", pick, drop, slot, wheelchair, companions, operator)
                quote = plan.quote(request, now_s)
                if quote is not None:
                    times = {s.kind: s.time_s for s in quote.route.stops if s.request_id == request.id}
                    priced.append(Slot(slot, times["pickup"], times["dropoff"], quote.added_cost))
        chosen: list[Slot] = []
        for slot in sorted(priced, key=lambda p: (p.cost, p.pickup_eta_s)):
            if all(abs(slot.pickup_eta_s - o.pickup_eta_s) >= OFFER_STEP_S / 2 for o in chosen):
                chosen.append(slot)
            if len(chosen) == MAX_OFFERS:
                break
        return chosen

    def book(self, day: dt.date, pickup: LonLat, dropoff: LonLat, window_s: tuple[float, float, float | None],
             wheelchair: bool, companions: int, operator: str | None, trip_id: str, now_s: float) -> Placement | None:
        """Insert an offered slot (``window_s``) as ``trip_id`` if it is still feasible (under the day's lock); None if not.

        The places were priced for the offer: in this process they are plan points already and need no travel
        rows; after a restart (or on another worker) their rows are computed here.
        """
        nodes, reason = self._snap(pickup, dropoff)
        if reason is not None:
            return None
        with self.lock(day):
            plan = self.plan(day)
            pick, drop = self._points(day, nodes)
            request = _request(trip_id, pick, drop, window_s, wheelchair, companions, operator)
            if plan.quote(request, now_s) is None:
                return None
            insertion = plan.insert(request, now_s)
            self._where[trip_id] = (day, pick, drop)
            if isinstance(insertion, str):  # cannot happen after a feasible quote under the same lock
                raise RuntimeError(f"trip {trip_id}: quoted feasible, then {insertion}")
            return self._placement(insertion, trip_id, self.changed(day, [r.vehicle_id for r in insertion.routes()]))
