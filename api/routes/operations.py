"""Dispatch in operation: the server clock, vehicle events, manifests, plan versions, booking offers.

Offers are stored (``offers``) with their expiry: a restarted server or
another worker books them (the rules in ``api.street_desk``).

Vehicle events are stored (``vehicle_events``) in the same transaction as
their effect on the trips and the accepted plan, and committed before the
answer; a retried ``event_id`` of the same vehicle is answered with the
stored answer (``duplicate: true``) and changes nothing. Events of a vehicle
are applied in order: one older than the vehicle's last applied event is
refused (409). On start the events are replayed onto the restored plans
(:func:`replay_events`).

The no-show rule (:func:`linked_return`): a no-show releases the rider's
return trip, if there is one: the earliest trip of the same ``user_ref``
(never an empty one) on the same service day, still assigned or unserved,
whose pickup window opens after the no-show trip's and whose pickup lies
within ``LINKED_RETURN_M`` of the no-show trip's drop-off (the return starts
where the outbound trip was going).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.clock import AlmatyDateTime, clock, current_clock, current_time, now_seconds, seconds_after_midnight
from api.db import one_writer
from api.deps import Caller, booking_operator, get_session, require
from api.dispatch_desk import Placement
from api.live_feed import note_change
from api.models import BookingOffer, Trip, TripEvent, VehicleEvent
from api.routes.standing_orders import open_day
from api.routes.trips import _checked_day, trip_out
from api.schemas import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN, TripCreate
from api.storage import add_trip, get_trip, new_trip_id, placed_trip, save_routes, set_assignment
from api.street_desk import OFFER_KEEP_S, OFFER_TTL_S, Applied, StreetDesk
from routing.operations import NO_SHOW, RELEASED, EventError, Outcome

router = APIRouter(prefix="/v1", tags=["operations"])
log = logging.getLogger(__name__)
anyone = require("admin", "planner", "dispatcher", "device")
dispatcher = require("dispatcher", "admin")
reporter = require("dispatcher", "admin", "device")
FUTURE_TOLERANCE_S: float = 120.0  # device clocks run a little ahead; beyond two minutes an event time is refused
LINKED_RETURN_M: float = 300.0  # a return pickup this close to the outbound drop-off is the same place (a building's doors)
EventType = Literal["position", "arrived", "picked_up", "no_show", "dropped_off", "break_started", "break_ended",
                    "out_of_service"]
PASSENGER_EVENTS = ("arrived", "picked_up", "no_show", "dropped_off")
BATCH_MAX: int = 200


class VehicleEventIn(BaseModel):
    """One vehicle event. Times follow the API's time rule (Almaty time)."""

    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$",
                          description="the device's id of this event: a retry with the same id is a duplicate")
    type: EventType
    at: AlmatyDateTime
    lon: float | None = Field(None, ge=LON_MIN, le=LON_MAX, strict=True, description="longitude, degrees (Almaty)")
    lat: float | None = Field(None, ge=LAT_MIN, le=LAT_MAX, strict=True, description="latitude, degrees (Almaty)")
    trip_id: str | None = Field(None, max_length=40, description="required for arrived, picked_up, no_show, dropped_off")

    @model_validator(mode="after")
    def _fields(self) -> VehicleEventIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon, lat: give both or neither")
        if self.type == "position" and self.lon is None:
            raise ValueError("lon, lat: required for a position")
        if self.type in PASSENGER_EVENTS and self.trip_id is None:
            raise ValueError(f"trip_id: required for {self.type}")
        return self


class VehicleEventBatch(BaseModel):
    """Several events of one vehicle, applied in the order given."""

    model_config = ConfigDict(extra="forbid")
    events: list[VehicleEventIn] = Field(min_length=1, max_length=BATCH_MAX)


def _desk(request: Request) -> StreetDesk:
    return request.app.state.desk


def _vehicle_for(caller: Caller, desk: StreetDesk, vehicle_id: str) -> str:
    """The vehicle if the caller speaks for it; 404 otherwise (another operator's vehicle does not exist for them)."""
    operator = desk.operator_of.get(vehicle_id)
    allowed = operator is not None and (caller.role == "admin" or (caller.role == "dispatcher" and caller.operator == operator)
                                        or (caller.role == "device" and caller.vehicle_id == vehicle_id))
    if not allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"vehicle_id: no vehicle {vehicle_id!r} for this key")
    return vehicle_id


@router.get("/clock")
def server_clock(_: Caller = Depends(anyone)) -> dict:
    """The server's "now" (Almaty time) and its speed (1 = real time; a replayed day runs faster)."""
    return {"now": current_time().isoformat(timespec="seconds"), "speed": current_clock().speed}


@router.get("/plan-version")
def plan_version(request: Request, date: dt.date, _: Caller = Depends(reporter)) -> dict:
    """The day's plan version: it grows with every booking, cancellation, re-optimisation and vehicle event."""
    return {"version": _desk(request).version(date)}


def linked_return(session: Session, trip: Trip) -> Trip | None:
    """The return trip a no-show of ``trip`` releases (the rule in the module docstring), or None."""
    if not trip.user_ref:
        return None
    candidates = session.scalars(select(Trip).where(
        Trip.user_ref == trip.user_ref, Trip.service_date == trip.service_date, Trip.id != trip.id,
        Trip.status.in_(("assigned", "unserved")), Trip.earliest_pickup_s > trip.earliest_pickup_s)
        .order_by(Trip.earliest_pickup_s, Trip.id))
    return next((c for c in candidates if _metres(trip.dropoff_lon, trip.dropoff_lat, c.pickup_lon, c.pickup_lat)
                 <= LINKED_RETURN_M), None)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres (equirectangular: exact to centimetres at city scale)."""
    radius = 6_371_000.0
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return radius * math.hypot(x, math.radians(lat2 - lat1))


def _record_trips(session: Session, desk: StreetDesk, day: dt.date, body: VehicleEventIn, vehicle_id: str,
                  applied: Applied, at_s: float) -> None:
    """Trip statuses and history after an applied event; no commit."""
    if body.trip_id is not None:
        trip = get_trip(session, body.trip_id)
        history = {"picked_up": "on_board", "dropped_off": "completed", "no_show": "no_show"}
        if body.type in history:
            trip.status = history[body.type]
        if body.type == "picked_up":
            trip.pickup_eta_s = at_s  # the actual time from now on
        if body.type == "dropped_off":
            trip.dropoff_eta_s = at_s
        if body.type == "no_show":
            trip.vehicle_id, trip.reason = None, "no-show: the rider was not at the pickup"
        trip.updated_at = dt.datetime.now(dt.UTC)
        session.add(TripEvent(trip_id=trip.id, kind=body.type, vehicle_id=vehicle_id, detail={"at_s": at_s, "event_id": body.event_id}))
        note_change(session, day.isoformat(), trips=[(trip.id, trip.operator)])
    _record_outcome(session, desk, vehicle_id, applied.outcome, body.trip_id)


def _record_outcome(session: Session, desk: StreetDesk, vehicle_id: str, outcome: Outcome, cause: str | None) -> None:
    """Trips moved, kept late or taken out of the plan by an operation on ``vehicle_id`` (``cause``: its trip); no commit."""
    for request_id in outcome.moved:
        trip = get_trip(session, request_id.removesuffix("~transfer"))
        vehicle, _ = desk.trip_state(trip.id)
        set_assignment(session, trip, vehicle, desk.operator_of.get(vehicle, trip.operator), trip.pickup_eta_s,
                       trip.dropoff_eta_s, "reassigned")
    for request_id, minutes in outcome.late:  # the late rule (routing.operations): kept, at risk
        trip = get_trip(session, request_id.removesuffix("~transfer"))
        trip.reason = _late_note(vehicle_id, minutes)
        session.add(TripEvent(trip_id=trip.id, kind="late", vehicle_id=vehicle_id, detail={"late_min": minutes}))
    for request_id, why in outcome.unserved:
        trip = get_trip(session, request_id.removesuffix("~transfer"))
        if why == NO_SHOW or trip is None:
            continue
        if why == RELEASED:
            trip.status, trip.reason, trip.vehicle_id = "cancelled", "released: the outbound trip was a no-show", None
            session.add(TripEvent(trip_id=trip.id, kind="released", vehicle_id=None, detail={"no_show": cause}))
        elif request_id.endswith("~transfer"):
            trip.reason = why  # stranded on board: the dispatcher must act
            session.add(TripEvent(trip_id=trip.id, kind="stranded", vehicle_id=vehicle_id, detail={"reason": why}))
        else:
            trip.status, trip.reason = "unserved", why
            set_assignment(session, trip, None, trip.operator, None, None, "unserved")


def _late_note(vehicle_id: str, minutes: float) -> str:
    """The dispatcher's note on a trip kept on its delayed vehicle and served late."""
    return f"at risk: vehicle {vehicle_id} delayed, pickup expected {minutes:.0f} min after its window (served late)"


def _affected(desk: StreetDesk, day: dt.date, applied: Applied) -> list[dict]:
    """The trips whose vehicle, status or ETAs the event changed."""
    out: dict[str, dict] = {}
    plan = desk.plan(day)
    for vehicle_id in applied.change.routes:
        aboard = set(plan.on_board(vehicle_id))
        pending = desk.stops(day, vehicle_id, pending_only=True)
        for stop in pending:
            entry = out.setdefault(stop["trip_id"], {"trip_id": stop["trip_id"], "vehicle_id": vehicle_id, "reason": None,
                                                     "status": "on_board" if stop["request_id"] in aboard else "assigned",
                                                     "pickup_eta": None, "dropoff_eta": None})
            entry[f"{stop['kind']}_eta"] = clock(stop["eta_s"], day)
        if pending and pending[0]["kind"] == "pickup" and pending[0]["trip_id"] in out:
            out[pending[0]["trip_id"]]["status"] = "en_route"
    for request_id, minutes in applied.outcome.late:
        if request_id in out:
            out[request_id]["reason"] = _late_note(out[request_id]["vehicle_id"], minutes)
    for request_id, why in applied.outcome.unserved:
        trip_id = request_id.removesuffix("~transfer")
        status_now = {NO_SHOW: "no_show", RELEASED: "cancelled"}.get(why, "on_board" if request_id != trip_id else "unserved")
        out[trip_id] = {"trip_id": trip_id, "status": status_now, "vehicle_id": None, "pickup_eta": None,
                        "dropoff_eta": None, "reason": why}
    return list(out.values())


def handle_event(request: Request, session: Session, caller: Caller, vehicle_id: str, body: VehicleEventIn) -> JSONResponse:
    """Store, apply and answer one event (see the module docstring)."""
    desk = _desk(request)
    _vehicle_for(caller, desk, vehicle_id)
    stored = _stored_event(session, vehicle_id, body.event_id)
    if stored is not None:
        return JSONResponse({**stored.answer, "duplicate": True})
    now = current_time()
    if (body.at - now).total_seconds() > FUTURE_TOLERANCE_S:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"at: {body.at.isoformat()} is in the future (server time {now.isoformat(timespec='seconds')})")
    day = body.at.date()
    at_s = seconds_after_midnight(body.at, day)
    with desk.lock(day):
        stored = _stored_event(session, vehicle_id, body.event_id)
        if stored is not None:
            return JSONResponse({**stored.answer, "duplicate": True})
        last = desk.last_event_s(day, vehicle_id)
        if last is not None and at_s < last:
            raise HTTPException(status.HTTP_409_CONFLICT, f"at: {body.at.isoformat()} is before the vehicle's last event "
                                                          f"({clock(last, day).isoformat()}); events are applied in order")
        release = []
        if body.trip_id is not None:
            trip = get_trip(session, body.trip_id)
            if trip is None or trip.service_date != day.isoformat():
                raise HTTPException(status.HTTP_409_CONFLICT, f"trip_id: no trip {body.trip_id!r} on {day} on this vehicle")
            linked = linked_return(session, trip) if body.type == "no_show" else None
            release = [linked.id] if linked is not None else []
        try:
            applied = desk.apply_event(day, vehicle_id, body.type, at_s,
                                       None if body.lon is None else (body.lon, body.lat), body.trip_id, release)
        except EventError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        answer = jsonable_encoder({"event_id": body.event_id, "duplicate": False, "plan_version": applied.change.version,
                                   "affected": _affected(desk, day, applied)})
        with one_writer(session):
            _record_trips(session, desk, day, body, vehicle_id, applied, at_s)
            session.add(VehicleEvent(vehicle_id=vehicle_id, event_id=body.event_id, service_date=day.isoformat(),
                                     type=body.type, at=body.at, at_s=at_s, lon=body.lon, lat=body.lat,
                                     trip_id=body.trip_id, answer=answer, created_by=caller.key_id))
            save_routes(session, day.isoformat(), applied.change.routes, applied.change.version)
            session.commit()
    return JSONResponse(answer)


def _stored_event(session: Session, vehicle_id: str, event_id: str) -> VehicleEvent | None:
    return session.scalar(select(VehicleEvent).where(VehicleEvent.vehicle_id == vehicle_id, VehicleEvent.event_id == event_id))


VehicleId = Path(max_length=16, description="a vehicle id (e.g. INC-001)")


@router.post("/vehicles/{vehicle_id}/events")
def vehicle_event(body: VehicleEventIn, request: Request, vehicle_id: str = VehicleId, caller: Caller = Depends(reporter),
                  session: Session = Depends(get_session)) -> JSONResponse:
    """A vehicle reports a position, a stop event (with the trip), a break or a breakdown; the plan follows.

    Answers the new plan version and the trips it changed (status, vehicle,
    ETAs, reason). Stored before the answer; a retried ``event_id`` answers
    ``duplicate: true`` and changes nothing. 409: an impossible transition
    (drop-off before pick-up, a trip not on this vehicle, an event older than
    the vehicle's last one); 404: not a vehicle of this key; 422: a bad field.
    """
    return handle_event(request, session, caller, vehicle_id, body)


@router.post("/vehicles/{vehicle_id}/events:batch")
def vehicle_events(body: VehicleEventBatch, request: Request, vehicle_id: str = VehicleId,
                   caller: Caller = Depends(reporter), session: Session = Depends(get_session)) -> list[dict]:
    """Several events in order; each answered as by the single form (an error answers ``{"status", "detail"}``)."""
    answers = []
    for event in body.events:
        try:
            answers.append(handle_event(request, session, caller, vehicle_id, event).body)
        except HTTPException as error:
            session.rollback()
            answers.append({"event_id": event.event_id, "status": error.status_code, "detail": error.detail})
    return [a if isinstance(a, dict) else json.loads(a) for a in answers]


@router.get("/vehicles/{vehicle_id}/manifest")
def manifest(request: Request, date: dt.date, vehicle_id: str = VehicleId, caller: Caller = Depends(reporter),
             session: Session = Depends(get_session)) -> dict:
    """The driver's manifest: ordered stops with ETAs, passengers, wheelchair, the break, notes.

    Only what the driver needs: the rider's reference as given at booking
    (``user_ref``), never welfare data or household details.
    """
    desk = _desk(request)
    _vehicle_for(caller, desk, vehicle_id)
    stops = desk.stops(date, vehicle_id)
    refs = dict(session.execute(select(Trip.id, Trip.user_ref).where(Trip.id.in_({s["trip_id"] for s in stops}))).all())
    shift = desk.shift_of[vehicle_id]
    brk = desk.break_of(date, vehicle_id)
    return {"vehicle_id": vehicle_id, "operator": desk.operator_of[vehicle_id], "date": date.isoformat(),
            "shift": {"start": clock(shift[0], date), "end": clock(shift[1], date)},
            "break": None if brk is None else {"start": clock(brk["start_s"], date), "end": clock(brk["end_s"], date),
                                               "taken": brk["taken"], "after_stop": brk["after_stop"]},
            "stops": [{"seq": s["seq"], "trip_id": s["trip_id"], "kind": s["kind"], "eta": clock(s["eta_s"], date),
                       "lon": s["lon"], "lat": s["lat"], "passengers": s["passengers"], "wheelchair": s["wheelchair"],
                       "name_or_ref": refs.get(s["trip_id"]), "notes": _notes(s),
                       "status": "done" if s["done"] else "pending"} for s in stops]}


def _notes(stop: dict) -> str:
    """What the driver should know at a stop."""
    notes = []
    if stop["transfer"]:
        notes.append("transfer: passenger of a vehicle out of service, collected where it stands" if stop["kind"] == "pickup"
                     else "transfer passenger's destination")
    if stop["wheelchair"]:
        notes.append("wheelchair: ramp or lift")
    if stop["companions"]:
        notes.append(f"{stop['companions']} companion(s)")
    return "; ".join(notes)


# ------------------------------------------------------------------ offers
class OfferOut(BaseModel):
    """A pickup time offered for a trip (Almaty time); book it before ``expires_at``."""

    offer_id: str
    pickup_eta: dt.datetime
    dropoff_eta: dt.datetime
    earliest_pickup: dt.datetime
    latest_pickup: dt.datetime
    expires_at: dt.datetime
    added_cost_tg: float = Field(description="what serving it adds to the plan's cost, tenge (the offers' order)")


def _offer_out(offer: BookingOffer) -> dict:
    day = dt.date.fromisoformat(offer.service_date)
    return jsonable_encoder(OfferOut(offer_id=offer.id, added_cost_tg=round(offer.added_cost_tg, 1),
                                     pickup_eta=clock(offer.pickup_eta_s, day), dropoff_eta=clock(offer.dropoff_eta_s, day),
                                     earliest_pickup=clock(offer.earliest_pickup_s, day),
                                     latest_pickup=clock(offer.latest_pickup_s, day),
                                     expires_at=_utc(offer.expires_at).astimezone(current_time().tzinfo)))


def _utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite gives back the naive UTC it was stored as)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def make_offers(request: Request, session: Session, caller: Caller, body: TripCreate) -> list[BookingOffer]:
    """Priced pickup slots for a trip request, stored as offers (nothing booked; the day's standing orders are
    materialised first; offers expired more than ``OFFER_KEEP_S`` ago are forgotten)."""
    operator = booking_operator(caller, body.operator, request.app.state.operators)
    day, now_s = _checked_day(body, request.app.state.settings.booking_horizon_days)
    open_day(request, session, day)
    desk = _desk(request)
    prepared = desk.prepare((body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat))
    slots = desk.offers(day, prepared, _window(body, day), body.wheelchair, body.companions, operator, now_s)
    now = current_time().astimezone(dt.UTC)
    made = [BookingOffer(id=f"OFR-{uuid.uuid4().hex[:16]}", service_date=day.isoformat(), operator=operator,
                         body=body.model_dump(mode="json"), earliest_pickup_s=s.window_s[0], latest_pickup_s=s.window_s[1],
                         latest_dropoff_s=s.window_s[2], pickup_eta_s=s.pickup_eta_s, dropoff_eta_s=s.dropoff_eta_s,
                         added_cost_tg=s.cost, expires_at=now + dt.timedelta(seconds=OFFER_TTL_S), created_by=caller.key_id)
            for s in slots]
    with one_writer(session):
        session.execute(delete(BookingOffer).where(BookingOffer.expires_at < now - dt.timedelta(seconds=OFFER_KEEP_S))
                        .execution_options(synchronize_session=False))
        session.add_all(made)
        session.commit()
    return made


def _window(body: TripCreate, day: dt.date) -> tuple[float, float, float | None]:
    """The requested pickup window and latest drop-off of ``body``, seconds after midnight of ``day``."""
    return (seconds_after_midnight(body.earliest_pickup, day), seconds_after_midnight(body.latest_pickup, day),
            None if body.latest_dropoff is None else seconds_after_midnight(body.latest_dropoff, day))


@router.post("/trips/offers")
def offers(body: TripCreate, request: Request, caller: Caller = Depends(dispatcher),
           session: Session = Depends(get_session)) -> dict:
    """Up to three feasible pickup times in the requested window, cheapest first; nothing is booked.

    Each offer promises a pickup window of 15 minutes (``earliest_pickup`` to
    ``latest_pickup``) with its current ETA; book it with
    ``POST /v1/trips/offers/{offer_id}/book`` before ``expires_at`` (10 minutes
    of the server clock). Offers are stored: another worker or a restarted
    server books them.
    """
    return {"offers": [_offer_out(o) for o in make_offers(request, session, caller, body)]}


def _fresh(request: Request, session: Session, caller: Caller, offer: BookingOffer, why: str) -> JSONResponse:
    """409 naming ``why``, with fresh offers for the same request (none once its window has passed)."""
    try:
        fresh = [_offer_out(o) for o in make_offers(request, session, caller, TripCreate.model_validate(offer.body))]
    except HTTPException as error:  # the window is in the past now
        if error.status_code != status.HTTP_422_UNPROCESSABLE_CONTENT:
            raise
        fresh = []
    return JSONResponse({"detail": f"offer {offer.id}: {why}", "offers": fresh}, status_code=status.HTTP_409_CONFLICT)


@router.post("/trips/offers/{offer_id}/book", status_code=status.HTTP_201_CREATED)
def book_offer(request: Request, offer_id: str = Path(max_length=40), caller: Caller = Depends(dispatcher),
               session: Session = Depends(get_session)):
    """Book an offer if its slot is still feasible: 201 with the trip.

    409 with fresh offers when the slot is no longer feasible or the offer has
    expired (within a day of its expiry); 404 for an unknown, forgotten or
    already booked offer, or another operator's.
    """
    offer = session.get(BookingOffer, offer_id)
    if offer is None or not caller.may_see_operator(offer.operator):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer_id: no offer {offer_id!r} (unknown, or expired over a day ago)")
    if offer.booked_trip_id is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer_id: offer {offer_id!r} was booked already "
                                                       f"(trip {offer.booked_trip_id})")
    if _utc(offer.expires_at) <= current_time():
        return _fresh(request, session, caller, offer, "expired (an offer is held 10 minutes of the server clock)")
    body = TripCreate.model_validate(offer.body)
    day = dt.date.fromisoformat(offer.service_date)
    window = (offer.earliest_pickup_s, offer.latest_pickup_s, offer.latest_dropoff_s)
    desk = _desk(request)
    trip_id = new_trip_id()
    with desk.lock(day):
        placed = desk.book(day, (body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat), window,
                           body.wheelchair, body.companions, offer.operator, trip_id, now_seconds(day))
        if placed is not None:
            answer = _commit_booking(session, desk, caller, offer, body, placed, trip_id)
    if placed is None:
        return _fresh(request, session, caller, offer, "its pickup slot is no longer feasible")
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED)


def _commit_booking(session: Session, desk: StreetDesk, caller: Caller, offer: BookingOffer, body: TripCreate,
                    placed: Placement, trip_id: str) -> dict:
    """Store the trip a booked offer became and mark the offer booked, in one transaction (under the day's lock)."""
    day = dt.date.fromisoformat(offer.service_date)
    window = (offer.earliest_pickup_s, offer.latest_pickup_s, offer.latest_dropoff_s)
    trip = placed_trip(trip_id, day, placed, (body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat),
                       window, body.wheelchair, body.companions, body.user_ref, caller.key_id)
    with one_writer(session):
        taken = session.execute(update(BookingOffer).where(BookingOffer.id == offer.id, BookingOffer.booked_trip_id.is_(None))
                                .values(booked_trip_id=trip_id)).rowcount
        if taken != 1:  # another worker booked it meanwhile: its trip stands, ours goes
            session.rollback()
            desk.cancel(trip_id, -math.inf)
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"offer_id: offer {offer.id!r} was booked already")
        add_trip(session, trip, {"offer_id": offer.id})
        save_routes(session, trip.service_date, placed.change.routes, placed.change.version)
        session.commit()
    return jsonable_encoder(trip_out(trip))


# ------------------------------------------------------------------ restart
def replay_events(app) -> int:  # noqa: ANN001 - FastAPI app
    """Re-apply the stored vehicle events, per day in storage order, onto the restored plans; returns how many applied.

    The restored plan already holds the routes the events left (re-insertions,
    removals); replaying (``OperatingPlan.replaying``) locks the performed
    stops at their times again, pins breaks and takes broken-down vehicles
    out, and re-plans nothing (a breakdown's transfer legs go back where the
    stored routes had them: ``StreetDesk.replaying``). An event whose effect the restored plan already
    shows (a no-show's trip is no longer on the route) is skipped. Then each
    vehicle that reported is rescheduled once from its last report
    (``StreetDesk.settle``) and what that changes is recorded like an event's.
    """
    desk: StreetDesk = app.state.desk
    applied = 0
    with app.state.sessions() as session:
        events = list(session.scalars(select(VehicleEvent).order_by(VehicleEvent.service_date, VehicleEvent.id)))
        for service_date in dict.fromkeys(e.service_date for e in events):
            day = dt.date.fromisoformat(service_date)
            with desk.replaying(day) as held:
                for event in (e for e in events if e.service_date == service_date):
                    applied += _replay_one(session, desk, day, event)
            if held:  # the routes whose transfer legs the restore left as stored: as the replay made them now
                change = desk.changed(day, held)
                save_routes(session, service_date, change.routes, change.version)
            for vehicle_id, settled in desk.settle(day).items():
                _record_outcome(session, desk, vehicle_id, settled.outcome, None)
                save_routes(session, service_date, settled.change.routes, settled.change.version)
        session.commit()
    return applied


def _replay_one(session: Session, desk: StreetDesk, day: dt.date, event: VehicleEvent) -> int:
    """Re-apply one stored event (1) or skip it (0: its effect is already in the restored plan)."""
    release = []
    if event.type == "no_show":
        linked = linked_return(session, get_trip(session, event.trip_id))
        release = [linked.id] if linked is not None else []
    try:
        done = desk.apply_event(day, event.vehicle_id, event.type, event.at_s,
                                None if event.lon is None else (event.lon, event.lat), event.trip_id, release)
    except EventError as error:
        if event.type == "no_show" and event.trip_id in desk.plan(day).requests():
            desk.plan(day).withdraw(event.trip_id, NO_SHOW)  # the stored plan already left it out
        else:
            log.warning("replay: %s event %s of vehicle %s not applied: %s", event.type, event.event_id, event.vehicle_id, error)
        return 0
    save_routes(session, event.service_date, done.change.routes, done.change.version)
    return 1
