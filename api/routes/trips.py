"""Trips (create with live insertion, read, list, cancel), vehicles with routes, re-optimisation jobs."""

from __future__ import annotations

import datetime as dt
import math
import threading

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import Caller, get_session, require
from api.dispatch_desk import DispatchDesk, now_seconds
from api.models import Trip
from api.schemas import JobOut, ReoptimiseRequest, TripCreate, TripEventOut, TripOut
from api.storage import (
    add_trip,
    cancel_trip,
    create_job,
    find_idempotent,
    finish_job,
    get_job,
    get_trip,
    is_duplicate,
    list_trips,
    new_trip_id,
    remember_idempotent,
    set_assignment,
    trip_events,
)

router = APIRouter(prefix="/v1", tags=["dispatch"])
dispatcher = require("dispatcher", "admin")
IdempotencyKey = Header(None, alias="Idempotency-Key", max_length=128, description="retries with the same key never create a second trip")


def _desk(request: Request) -> DispatchDesk:
    return request.app.state.desk


def _seconds(moment: dt.datetime | None, day: dt.date) -> float | None:
    if moment is None:
        return None
    return (moment.replace(tzinfo=None) - dt.datetime.combine(day, dt.time())).total_seconds()


def _clock(seconds: float | None, day: str) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time()) + dt.timedelta(seconds=round(seconds))


def trip_out(trip: Trip) -> TripOut:
    """The API view of a stored trip."""
    return TripOut(
        id=trip.id, service_date=trip.service_date, status=trip.status, operator=trip.operator, vehicle_id=trip.vehicle_id,
        pickup_eta=_clock(trip.pickup_eta_s, trip.service_date), dropoff_eta=_clock(trip.dropoff_eta_s, trip.service_date),
        reason=trip.reason, pickup={"lon": trip.pickup_lon, "lat": trip.pickup_lat},
        dropoff={"lon": trip.dropoff_lon, "lat": trip.dropoff_lat},
        earliest_pickup=_clock(trip.earliest_pickup_s, trip.service_date),
        latest_pickup=_clock(trip.latest_pickup_s, trip.service_date),
        latest_dropoff=_clock(trip.latest_dropoff_s, trip.service_date), wheelchair=trip.wheelchair, companions=trip.companions)


def _visible(caller: Caller, trip: Trip | None) -> Trip:
    """The trip if the caller may see it; 404 otherwise (another operator's trip does not exist for them)."""
    if trip is None or not caller.may_see_operator(trip.operator):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such trip")
    return trip


def _replay(request: Request, caller: Caller, key: str | None, session: Session) -> JSONResponse | None:
    if key is None:
        return None
    stored = find_idempotent(session, caller.key_id, key)
    if stored is None:
        return None
    if stored.path != request.url.path:
        raise HTTPException(status.HTTP_409_CONFLICT, f"Idempotency-Key {key!r} was used for {stored.method} {stored.path}")
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.post("/trips", status_code=status.HTTP_201_CREATED, response_model=TripOut)
def create_trip(body: TripCreate, request: Request, caller: Caller = Depends(dispatcher),
                session: Session = Depends(get_session), idempotency_key: str | None = IdempotencyKey):
    """Create a trip request: it is inserted into the live plan at once (vehicle and ETA), or stored unserved with the reason."""
    operator = body.operator
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot book for {operator}")
        operator = caller.operator
    elif operator is not None and operator not in request.app.state.operators:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"operator: unknown operator {operator!r}")
    day = body.earliest_pickup.date()
    now_s = now_seconds(day)
    latest_s = _seconds(body.latest_pickup, day)
    if latest_s < now_s:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "latest_pickup: the pickup window is in the past")
    desk = _desk(request)
    with desk.lock:
        replayed = _replay(request, caller, idempotency_key, session)
        if replayed is not None:
            return replayed
        trip_id = new_trip_id()
        window = (_seconds(body.earliest_pickup, day), latest_s, _seconds(body.latest_dropoff, day))
        placed = desk.place(trip_id, day, (body.pickup.lon, body.pickup.lat), (body.dropoff.lon, body.dropoff.lat), window,
                            body.wheelchair, body.companions, operator, now_s)
        trip = Trip(id=trip_id, service_date=day.isoformat(), operator=placed.operator, status="assigned" if placed.vehicle_id else "unserved",
                    user_ref=body.user_ref, pickup_lon=body.pickup.lon, pickup_lat=body.pickup.lat, dropoff_lon=body.dropoff.lon,
                    dropoff_lat=body.dropoff.lat, earliest_pickup_s=round(window[0]), latest_pickup_s=round(window[1]),
                    latest_dropoff_s=None if window[2] is None else round(window[2]), wheelchair=body.wheelchair,
                    companions=body.companions, vehicle_id=placed.vehicle_id, pickup_eta_s=placed.pickup_eta_s,
                    dropoff_eta_s=placed.dropoff_eta_s, reason=placed.reason, created_by=caller.key_id)
        answer = jsonable_encoder(trip_out(trip))
        try:
            add_trip(session, trip)
            if idempotency_key is not None:
                remember_idempotent(session, caller.key_id, idempotency_key, "POST", request.url.path, 201, answer)
            session.commit()
        except IntegrityError as error:
            session.rollback()
            desk.cancel(trip_id, -math.inf)
            if idempotency_key is not None and is_duplicate(error):
                return _replay(request, caller, idempotency_key, session)
            raise
        except Exception:
            session.rollback()
            desk.cancel(trip_id, -math.inf)
            raise
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED)


@router.get("/trips", response_model=list[TripOut])
def index(caller: Caller = Depends(dispatcher), session: Session = Depends(get_session), date: dt.date | None = None,
          status_filter: str | None = Query(None, alias="status", pattern="^(assigned|unserved|cancelled)$"),
          operator: str | None = None, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[TripOut]:
    """Trips filtered by date, status and operator (a dispatcher sees only its own operator's)."""
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot list {operator}")
        operator = caller.operator
    rows = list_trips(session, date.isoformat() if date else None, status_filter, operator, limit, offset)
    return [trip_out(t) for t in rows]


@router.get("/trips/{trip_id}", response_model=TripOut)
def read(trip_id: str, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session)) -> TripOut:
    """One trip."""
    return trip_out(_visible(caller, get_trip(session, trip_id)))


@router.get("/trips/{trip_id}/history", response_model=list[TripEventOut])
def history(trip_id: str, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session)) -> list:
    """The trip's history: created, assigned / unserved, reassigned, cancelled."""
    _visible(caller, get_trip(session, trip_id))
    return trip_events(session, trip_id)


@router.post("/trips/{trip_id}/cancel", response_model=TripOut)
def cancel(trip_id: str, request: Request, caller: Caller = Depends(dispatcher), session: Session = Depends(get_session),
           idempotency_key: str | None = IdempotencyKey):
    """Cancel a trip whose pickup has not started; its vehicle's plan is recomputed."""
    desk = _desk(request)
    with desk.lock:
        replayed = _replay(request, caller, idempotency_key, session)
        if replayed is not None:
            return replayed
        trip = _visible(caller, get_trip(session, trip_id))
        if trip.status != "cancelled":
            try:
                desk.cancel(trip.id, now_seconds(dt.date.fromisoformat(trip.service_date)))
            except ValueError as error:
                raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
            cancel_trip(session, trip)
        answer = jsonable_encoder(trip_out(trip))
        if idempotency_key is not None:
            remember_idempotent(session, caller.key_id, idempotency_key, "POST", request.url.path, 200, answer)
        session.commit()
    return JSONResponse(answer)


@router.get("/vehicles")
def vehicles(request: Request, date: dt.date, caller: Caller = Depends(dispatcher), operator: str | None = None) -> list[dict]:
    """Vehicles with their current route on ``date`` (GeoJSON stops and path); dispatchers see their operator's."""
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot see {operator}")
        operator = caller.operator
    return _desk(request).vehicle_routes(date, operator)


def _run_reoptimisation(app, job_id: str, day: dt.date, time_limit_s: float) -> None:  # noqa: ANN001 - FastAPI app
    desk: DispatchDesk = app.state.desk
    try:
        outcome = desk.plan(day).reoptimise(time_limit_s, now_seconds(day))
        with desk.lock, app.state.sessions() as session:
            if outcome.applied:
                for trip_id, (vehicle_id, pickup_s, dropoff_s) in desk.assignments(day).items():
                    trip = get_trip(session, trip_id)
                    if trip is not None and trip.status != "cancelled" and (trip.vehicle_id, trip.pickup_eta_s) != (vehicle_id, pickup_s):
                        trip.status, trip.reason = "assigned", None
                        set_assignment(session, trip, vehicle_id, desk.operator_of[vehicle_id], pickup_s, dropoff_s, "reassigned")
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
    """Start a batch re-optimisation of a day in the background; poll ``/v1/jobs/{id}``."""
    job = create_job(session, "reoptimise", body.date.isoformat(), None)
    threading.Thread(target=_run_reoptimisation, args=(request.app, job.id, body.date, body.time_limit_s), daemon=True).start()
    return job


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(job_id: str, _: Caller = Depends(require("admin")), session: Session = Depends(get_session)):
    """A background job's status and result."""
    found = get_job(session, job_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    return found
