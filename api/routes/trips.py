"""Trips (create with live insertion, read, list, cancel), vehicles with routes, re-optimisation jobs."""

from __future__ import annotations

import datetime as dt
import math
import threading

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.booking_writer import BookingWrite
from api.clock import clock, now_seconds, seconds_after_midnight, today
from api.db import one_writer
from api.deps import Caller, booking_operator, get_session, require
from api.dispatch_desk import DispatchDesk, Placement
from api.models import Trip
from api.routes.standing_orders import open_day
from api.schemas import MAX_INT, JobOut, ReoptimiseRequest, TripCreate, TripEventOut, TripOut
from api.storage import (
    booking_checks,
    cancel_trip,
    create_job,
    find_idempotent,
    finish_job,
    get_job,
    get_trip,
    idempotency_row,
    is_duplicate,
    list_trips,
    new_trip_id,
    placed_trip,
    remember_idempotent,
    request_hash,
    save_routes,
    set_assignment,
    start_job,
    store_taken_back,
    trip_events,
)

router = APIRouter(prefix="/v1", tags=["dispatch"])
dispatcher = require("dispatcher", "admin")
IdempotencyKey = Header(None, alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                        description="retries with the same key never create a second trip; the same key with a "
                                    "different request is refused (422)")


def _desk(request: Request) -> DispatchDesk:
    return request.app.state.desk


def trip_out(trip: Trip, live: tuple[str, float, float] | None = None, en_route: bool = False) -> TripOut:
    """The API view of a stored trip (times in Almaty time).

    ``live``: the trip's (vehicle, pickup s, drop-off s) in the current plan; when it is on its
    stored vehicle these ETAs are shown (later insertions and vehicle events shift them; once
    picked up, the pickup time is the actual one). ``en_route``: its vehicle is on the way to the pickup.
    """
    day = dt.date.fromisoformat(trip.service_date)
    pickup_s, dropoff_s = trip.pickup_eta_s, trip.dropoff_eta_s
    if live is not None and trip.status in ("assigned", "on_board") and live[0] == trip.vehicle_id:
        pickup_s, dropoff_s = live[1] if trip.status == "assigned" else pickup_s, live[2]
    late = None if pickup_s is None or trip.status in ("cancelled", "no_show", "unserved") else \
        round((pickup_s - trip.latest_pickup_s) / 60, 1)
    return TripOut(
        id=trip.id, service_date=trip.service_date, status="en_route" if en_route and trip.status == "assigned" else trip.status,
        late_min=late, operator=trip.operator, vehicle_id=trip.vehicle_id,
        pickup_eta=clock(pickup_s, day), dropoff_eta=clock(dropoff_s, day),
        reason=trip.reason, pickup={"lon": trip.pickup_lon, "lat": trip.pickup_lat},
        dropoff={"lon": trip.dropoff_lon, "lat": trip.dropoff_lat},
        earliest_pickup=clock(trip.earliest_pickup_s, day), latest_pickup=clock(trip.latest_pickup_s, day),
        latest_dropoff=clock(trip.latest_dropoff_s, day), wheelchair=trip.wheelchair, companions=trip.companions)


def _visible(caller: Caller, trip: Trip | None) -> Trip:
    """The trip if the caller may see it; 404 otherwise (another operator's trip does not exist for them)."""
    if trip is None or not caller.may_see_operator(trip.operator):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such trip")
    return trip


def _replay(request: Request, caller: Caller, key: str | None, session: Session, digest: str | None) -> JSONResponse | None:
    """The stored answer to a retry with the same Idempotency-Key; 409 / 422 if the key answered another request."""
    return None if key is None else _replayed(request, key, find_idempotent(session, caller.key_id, key), digest)


def _replayed(request: Request, key: str | None, stored: Row | None, digest: str | None) -> JSONResponse | None:
    """The answer ``stored`` for ``key`` (:func:`api.storage.find_idempotent`) if it answered this request; None if
    there is none; 409 / 422 if the key answered another request."""
    if stored is None:
        return None
    if stored.path != request.url.path:
        raise HTTPException(status.HTTP_409_CONFLICT, f"Idempotency-Key {key!r} was used for {stored.method} {stored.path}")
    if stored.request_hash is not None and stored.request_hash != digest:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"Idempotency-Key {key!r} was used with a different request body; use a new key for a new request")
    return JSONResponse(stored.body, status_code=stored.status_code)


def _checked_day(body: TripCreate, horizon_days: int) -> tuple[dt.date, float]:
    """The service day and now in seconds after its midnight; 422 beyond the booking horizon or in the past."""
    day = body.earliest_pickup.date()
    last = today() + dt.timedelta(days=horizon_days)
    if day > last:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"earliest_pickup: after the booking horizon of {horizon_days} days (last bookable day {last})")
    now_s = now_seconds(day)
    if seconds_after_midnight(body.latest_pickup, day) < now_s:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "latest_pickup: the pickup window is in the past")
    return day, now_s


@router.post("/trips", status_code=status.HTTP_201_CREATED, response_model=TripOut)
def create_trip(body: TripCreate, request: Request, caller: Caller = Depends(dispatcher),
                session: Session = Depends(get_session), idempotency_key: str | None = IdempotencyKey):
    """Create a trip request: it is inserted into the live plan at once (vehicle and ETA), or stored unserved with the reason.

    Times follow the API's one rule (Almaty time; offsets converted). The pickup
    window lies on one service day, at most ``booking_horizon_days`` ahead.
    """
    operator = booking_operator(caller, body.operator, request.app.state.operators)
    day, now_s = _checked_day(body, request.app.state.settings.booking_horizon_days)
    with request.app.state.reads.connect() as connection:
        checks = booking_checks(connection, day.isoformat(), caller.key_id, idempotency_key)
    if not checks.day_open:
        open_day(request, session, day)  # the day's standing orders first, on its first booking
    digest = request_hash(body.model_dump(mode="json"))
    replayed = _replayed(request, idempotency_key, checks.stored, digest)
    if replayed is not None:
        return replayed
    desk = _desk(request)
    prepared = desk.prepare((body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat))  # no lock held
    window = tuple(None if t is None else seconds_after_midnight(t, day)
                   for t in (body.earliest_pickup, body.latest_pickup, body.latest_dropoff))
    trip_id = new_trip_id()
    placed = desk.place(trip_id, day, prepared, window, body.wheelchair, body.companions, operator, now_s)
    trip = placed_trip(trip_id, day, placed, (body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat), window,
                       body.wheelchair, body.companions, body.user_ref, caller.key_id)
    answer = jsonable_encoder(trip_out(trip))
    idempotency = None if idempotency_key is None else \
        idempotency_row(caller.key_id, idempotency_key, "POST", request.url.path, 201, answer, digest)
    session.rollback()  # ends the read transaction: no connection is held while waiting for the writer (it needs one)
    try:  # outside the day's lock, committed with the bookings queued meanwhile (the versioned route write keeps the newest plan)
        request.app.state.bookings.write(BookingWrite(trip, placed.change.routes, placed.change.version, idempotency,
                                                      placed.moved))
    except Exception as error:
        session.rollback()  # a fresh snapshot: the concurrent retry's record is visible
        _undo(request, session, trip_id, day, placed)
        if idempotency_key is not None and isinstance(error, IntegrityError) and is_duplicate(error):
            return _replay(request, caller, idempotency_key, session, digest)  # a concurrent retry won
        raise
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED)


def _undo(request: Request, session: Session, trip_id: str, day: dt.date, placed: Placement) -> None:
    """Take a trip whose commit failed out of the live plan again; store the route it leaves and the booked trips its
    placement moved (they stay where the repair put them)."""
    change = _desk(request).cancel(trip_id, -math.inf)
    try:
        store_taken_back(session, day.isoformat(), placed.change.routes, placed.change.version, change.routes,
                         change.version, placed.moved)
        session.commit()
    except Exception:  # noqa: BLE001 - the next change of that vehicle stores it; restore skips unknown trips
        session.rollback()


@router.get("/trips", response_model=list[TripOut])
def index(request: Request, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session), date: dt.date | None = None,
          status_filter: str | None = Query(None, alias="status",
                                            pattern="^(assigned|en_route|on_board|completed|no_show|unserved|cancelled)$"),
          operator: str | None = None, limit: int = Query(100, ge=1, le=1000),
          offset: int = Query(0, ge=0, le=MAX_INT)) -> list[TripOut]:
    """Trips filtered by date, status and operator (a dispatcher sees only its own operator's)."""
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot list {operator}")
        operator = caller.operator
    stored_status = "assigned" if status_filter == "en_route" else status_filter
    rows = list_trips(session, date.isoformat() if date else None, stored_status, operator, limit, offset)
    desk = _desk(request)
    live = {k: v for day in {t.service_date for t in rows} for k, v in desk.assignments(dt.date.fromisoformat(day)).items()}
    moving = set().union(*[desk.en_route_trips(dt.date.fromisoformat(day)) for day in {t.service_date for t in rows}])
    out = [trip_out(t, live.get(t.id), t.id in moving) for t in rows]
    return [t for t in out if status_filter is None or t.status == status_filter]


TripId = Path(max_length=40, description="a trip id (TRP-...)")


@router.get("/trips/{trip_id}", response_model=TripOut)
def read(request: Request, trip_id: str = TripId, caller: Caller = Depends(dispatcher),
         session: Session = Depends(get_session)) -> TripOut:
    """One trip, with its ETAs in the current plan."""
    trip = _visible(caller, get_trip(session, trip_id))
    return trip_out(trip, _desk(request).current(trip.id), _desk(request).trip_state(trip.id)[1])


@router.get("/trips/{trip_id}/history", response_model=list[TripEventOut])
def history(trip_id: str = TripId, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session)) -> list:
    """The trip's history: created, assigned / unserved, reassigned, cancelled."""
    _visible(caller, get_trip(session, trip_id))
    return trip_events(session, trip_id)


@router.post("/trips/{trip_id}/cancel", response_model=TripOut)
def cancel(request: Request, trip_id: str = TripId, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session),
           idempotency_key: str | None = IdempotencyKey):
    """Cancel a trip whose pickup has not started; its vehicle's plan is recomputed. No body is needed."""
    replayed = _replay(request, caller, idempotency_key, session, None)
    if replayed is not None:
        return replayed
    trip = _visible(caller, get_trip(session, trip_id))
    desk, day = _desk(request), dt.date.fromisoformat(trip.service_date)
    with desk.lock(day), one_writer(session):
        session.refresh(trip)
        if trip.status != "cancelled":
            try:
                change = desk.cancel(trip.id, now_seconds(day))
            except ValueError as error:
                raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
            cancel_trip(session, trip)
            save_routes(session, trip.service_date, change.routes, change.version)
        answer = jsonable_encoder(trip_out(trip))
        if idempotency_key is not None:
            remember_idempotent(session, caller.key_id, idempotency_key, "POST", request.url.path, 200, answer)
        session.commit()
    return JSONResponse(answer)


@router.get("/vehicles")
def vehicles(request: Request, date: dt.date, caller: Caller = Depends(dispatcher), operator: str | None = None) -> list[dict]:
    """Vehicles with their current route on ``date`` (GeoJSON stops and path); dispatchers see their operator's.

    Each also has its last reported ``position`` (lon, lat, at), ``status`` (in_service, on_break,
    out_of_service), its next three stops and ``path``: [lon, lat] from where it is through its pending stops.
    """
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot see {operator}")
        operator = caller.operator
    desk = _desk(request)
    out = []
    for vehicle in desk.vehicle_routes(date, operator):
        live = desk.live_vehicle(date, vehicle["vehicle_id"])
        position = live["position"] and {"lon": live["position"]["lon"], "lat": live["position"]["lat"],
                                          "at": clock(live["position"]["at_s"], date)}
        next_stops = [{"seq": s["seq"], "trip_id": s["trip_id"], "kind": s["kind"], "eta": clock(s["eta_s"], date),
                       "lon": s["lon"], "lat": s["lat"], "passengers": s["passengers"], "wheelchair": s["wheelchair"]}
                      for s in live["next_stops"]]
        out.append({**vehicle, **live, "position": position, "next_stops": next_stops})
    return out


def _run_reoptimisation(app, job_id: str, day: dt.date, time_limit_s: float) -> None:  # noqa: ANN001 - FastAPI app
    desk: DispatchDesk = app.state.desk
    try:
        with app.state.sessions() as session:
            start_job(session, job_id)
        outcome = desk.plan(day).reoptimise(time_limit_s, now_seconds(day))
        with desk.lock(day), app.state.sessions() as session:
            if outcome.applied:
                for trip_id, (vehicle_id, pickup_s, dropoff_s) in desk.assignments(day).items():
                    trip = get_trip(session, trip_id)
                    if trip is not None and trip.status in ("assigned", "unserved") \
                            and (trip.vehicle_id, trip.pickup_eta_s) != (vehicle_id, pickup_s):  # not what the street did
                        trip.status, trip.reason = "assigned", None
                        set_assignment(session, trip, vehicle_id, desk.operator_of[vehicle_id], pickup_s, dropoff_s, "reassigned")
                change = desk.changed(day, list(desk.operator_of))
                save_routes(session, day.isoformat(), change.routes, change.version)
                session.commit()
            finish_job(session, job_id, "done", {"applied": outcome.applied, "objective_before": outcome.objective_before,
                                                 "objective_after": outcome.objective_after, "served_before": outcome.served_before,
                                                 "served_after": outcome.served_after, "seconds": round(outcome.runtime_s, 2)})
    except Exception as error:  # noqa: BLE001 - a failed job is reported, not raised into a thread
        with app.state.sessions() as session:
            finish_job(session, job_id, "failed", {"error": f"{type(error).__name__}: {error}"})


@router.post("/reoptimise", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def reoptimise(body: ReoptimiseRequest, request: Request, caller: Caller = Depends(require("admin")),
               session: Session = Depends(get_session)):
    """Start a batch re-optimisation of a day in the background; poll ``/v1/jobs/{id}`` (queued, running, done or failed)."""
    job = create_job(session, "reoptimise", body.date.isoformat(), None)
    threading.Thread(target=_run_reoptimisation, args=(request.app, job.id, body.date, body.time_limit_s), daemon=True).start()
    return job


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(job_id: str = Path(max_length=36), _: Caller = Depends(require("admin")), session: Session = Depends(get_session)):
    """A background job's status and result."""
    found = get_job(session, job_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    return found
