"""Standing orders: recurring trips stored once and materialised into each day's plan when the day is opened.

A day is opened by ``POST /v1/days/{date}/open`` (the dispatcher's start of
a day, usually the evening before) and, failing that, by the first offer or
booking for it. Opening is idempotent: each order makes at most one trip a
day (a unique constraint on the trip's order and date). Storage remembers
the opened days (``opened_days``, with the number of orders then), so every
worker and a restarted server know them, and a series created later joins
the days already opened on their next booking. An occurrence is
cancelled with ``skip``, the series from today on with ``DELETE``; trips
already materialised for those days are cancelled in the plan too, unless
under way.
"""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.clock import now_seconds, today
from api.db import one_writer
from api.deps import Caller, booking_operator, get_session, require
from api.models import OpenedDay, StandingOrder, Trip, utcnow
from api.schemas import Point
from api.storage import add_trip, cancel_trip, day_open, new_trip_id, placed_trip, record_moves, save_routes
from api.street_desk import StreetDesk

router = APIRouter(prefix="/v1", tags=["operations"])
dispatcher = require("dispatcher", "admin")
MAX_SERIES_DAYS: int = 366  # a series runs at most a year; it is renewed, not open-ended (reviewed yearly with the rider)
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class StandingOrderCreate(BaseModel):
    """A recurring trip: ISO weekdays (1 = Monday ... 7 = Sunday) from ``start_date`` to ``end_date``, Almaty times of day."""

    model_config = ConfigDict(extra="forbid")
    pickup: Point
    dropoff: Point
    weekdays: list[StrictInt] = Field(min_length=1, max_length=7)
    start_date: dt.date
    end_date: dt.date
    earliest_pickup_time: str = Field(pattern=HHMM, description="HH:MM, Almaty time")
    latest_pickup_time: str = Field(pattern=HHMM, description="HH:MM, Almaty time")
    wheelchair: StrictBool
    companions: StrictInt = Field(0, ge=0, le=4)
    user_ref: str | None = Field(None, max_length=64, description="pseudonymous user id")
    operator: str | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if any(not 1 <= d <= 7 for d in days) or len(set(days)) != len(days):
            raise ValueError("weekdays: distinct ISO weekdays 1 (Monday) to 7 (Sunday)")
        return sorted(days)

    @model_validator(mode="after")
    def _ranges(self) -> StandingOrderCreate:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days >= MAX_SERIES_DAYS:
            raise ValueError(f"end_date: a series runs at most {MAX_SERIES_DAYS} days")
        if self.latest_pickup_time < self.earliest_pickup_time:
            raise ValueError("latest_pickup_time is before earliest_pickup_time")
        return self


class SkipRequest(BaseModel):
    """One occurrence to cancel."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _out(order: StandingOrder) -> dict:
    return {"id": order.id, "operator": order.operator, "user_ref": order.user_ref,
            "pickup": {"lon": order.pickup_lon, "lat": order.pickup_lat},
            "dropoff": {"lon": order.dropoff_lon, "lat": order.dropoff_lat}, "weekdays": order.weekdays,
            "start_date": order.start_date, "end_date": order.end_date,
            "earliest_pickup_time": _hhmm(order.earliest_pickup_s), "latest_pickup_time": _hhmm(order.latest_pickup_s),
            "wheelchair": order.wheelchair, "companions": order.companions, "skipped": order.skipped,
            "ends_after": order.ends_after}


def _desk(request: Request) -> StreetDesk:
    return request.app.state.desk


def _order(session: Session, caller: Caller, order_id: str) -> StandingOrder:
    order = session.get(StandingOrder, order_id)
    if order is None or not caller.may_see_operator(order.operator):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no standing order {order_id}")
    return order


def occurs(order: StandingOrder, day: dt.date) -> bool:
    """Whether the series has an occurrence on ``day`` (weekday, date range, not skipped, not ended)."""
    iso = day.isoformat()
    return (order.start_date <= iso <= order.end_date and day.isoweekday() in order.weekdays
            and iso not in order.skipped and (order.ends_after is None or iso < order.ends_after))


def open_day(request: Request, session: Session, day: dt.date, again: bool = False) -> list[str]:
    """Materialise the day's standing orders into trips in its plan (idempotent); returns the new trip ids.

    The day is marked opened in storage (``opened_days``) with the number of
    orders then; a booking skips the work while no series was created since
    (any worker, after a restart too). ``again``: look at every order anyway.
    """
    iso = day.isoformat()
    if not again and day_open(session, iso):
        return []
    desk, created = _desk(request), []
    done = set(session.scalars(select(Trip.standing_order_id).where(Trip.service_date == iso,
                                                                    Trip.standing_order_id.is_not(None))))
    orders = session.scalars(select(StandingOrder).order_by(StandingOrder.id)).all()
    for order in orders:
        if order.id in done or not occurs(order, day):
            continue
        prepared = desk.prepare((order.pickup_lon, order.pickup_lat), (order.dropoff_lon, order.dropoff_lat))
        trip_id = new_trip_id()
        placed = desk.place(trip_id, day, prepared, (order.earliest_pickup_s, order.latest_pickup_s, None),
                            order.wheelchair, order.companions, order.operator, now_seconds(day))
        trip = placed_trip(trip_id, day, placed, (order.pickup_lon, order.pickup_lat), (order.dropoff_lon, order.dropoff_lat),
                           (order.earliest_pickup_s, order.latest_pickup_s, None), order.wheelchair, order.companions,
                           order.user_ref, order.created_by, order.id)
        try:
            with one_writer(session):
                add_trip(session, trip, {"standing_order": order.id})
                record_moves(session, placed.moved)
                save_routes(session, trip.service_date, placed.change.routes, placed.change.version)
                session.commit()
            created.append(trip_id)
        except IntegrityError:  # another request opened the day at the same time: its trip stands
            session.rollback()
            desk.cancel(trip_id, now_seconds(day))
    _mark_opened(session, iso, len(orders))  # every order seen, so the day has them all
    return created


def _mark_opened(session: Session, iso: str, orders: int) -> None:
    """Record that ``iso``'s occurrences of ``orders`` standing orders are materialised (commits)."""
    try:
        with one_writer(session):
            opened = session.get(OpenedDay, iso)
            if opened is None:
                session.add(OpenedDay(service_date=iso, standing_orders=orders))
            else:
                opened.standing_orders, opened.opened_at = max(opened.standing_orders, orders), utcnow()
            session.commit()
    except IntegrityError:  # opened by another request at the same time: its mark stands
        session.rollback()


def _cancel_occurrences(request: Request, session: Session, order: StandingOrder, days: set[str] | None,
                        from_day: str | None) -> list[str]:
    """Cancel the order's materialised trips on ``days`` (or from ``from_day`` on) that are not under way."""
    query = select(Trip).where(Trip.standing_order_id == order.id, Trip.status.in_(("assigned", "unserved")))
    cancelled = []
    for trip in session.scalars(query):
        if (days is not None and trip.service_date not in days) or (from_day is not None and trip.service_date < from_day):
            continue
        day = dt.date.fromisoformat(trip.service_date)
        try:
            change = _desk(request).cancel(trip.id, now_seconds(day))
        except ValueError:
            continue  # under way: it stays
        cancel_trip(session, trip)
        save_routes(session, trip.service_date, change.routes, change.version)
        cancelled.append(trip.id)
    return cancelled


@router.post("/standing-orders", status_code=status.HTTP_201_CREATED)
def create(body: StandingOrderCreate, request: Request, caller: Caller = Depends(dispatcher),
           session: Session = Depends(get_session)) -> dict:
    """Store a recurring trip; its occurrences join each day's plan when the day is opened."""
    operator = booking_operator(caller, body.operator, request.app.state.operators)
    order = StandingOrder(id="STO-" + uuid.uuid4().hex[:16], operator=operator, user_ref=body.user_ref,
                          pickup_lon=body.pickup.lon, pickup_lat=body.pickup.lat, dropoff_lon=body.dropoff.lon,
                          dropoff_lat=body.dropoff.lat, weekdays=body.weekdays, start_date=body.start_date.isoformat(),
                          end_date=body.end_date.isoformat(), earliest_pickup_s=_seconds(body.earliest_pickup_time),
                          latest_pickup_s=_seconds(body.latest_pickup_time), wheelchair=body.wheelchair,
                          companions=body.companions, skipped=[], created_by=caller.key_id)
    session.add(order)
    session.commit()  # days already opened get the new series when next opened (``open_day`` counts the orders)
    return _out(order)


@router.get("/standing-orders")
def index(caller: Caller = Depends(dispatcher), session: Session = Depends(get_session)) -> list[dict]:
    """The standing orders (a dispatcher sees its operator's)."""
    query = select(StandingOrder).order_by(StandingOrder.created_at, StandingOrder.id)
    if caller.role == "dispatcher":
        query = query.where(StandingOrder.operator == caller.operator)
    return [_out(o) for o in session.scalars(query)]


OrderId = Path(max_length=40, description="a standing order id (STO-...)")


@router.delete("/standing-orders/{order_id}")
def end_series(request: Request, order_id: str = OrderId, caller: Caller = Depends(dispatcher),
               session: Session = Depends(get_session)) -> dict:
    """Cancel the series from today on (Almaty date); trips already materialised from today on are cancelled."""
    order = _order(session, caller, order_id)
    order.ends_after = today().isoformat()
    cancelled = _cancel_occurrences(request, session, order, None, order.ends_after)
    session.commit()
    return {**_out(order), "cancelled_trips": cancelled}


@router.post("/standing-orders/{order_id}/skip")
def skip(body: SkipRequest, request: Request, order_id: str = OrderId, caller: Caller = Depends(dispatcher),
         session: Session = Depends(get_session)) -> dict:
    """Cancel one occurrence (its trip too, if the day was opened and it is not under way)."""
    order = _order(session, caller, order_id)
    iso = body.date.isoformat()
    if not occurs(order, body.date):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"date: the series has no occurrence on {iso}")
    order.skipped = sorted({*order.skipped, iso})
    cancelled = _cancel_occurrences(request, session, order, {iso}, None)
    session.commit()
    return {**_out(order), "cancelled_trips": cancelled}


@router.post("/days/{date}/open")
def open_service_day(date: dt.date, request: Request, _: Caller = Depends(dispatcher),
                     session: Session = Depends(get_session)) -> dict:
    """Open a service day: its standing orders become trips in its plan (idempotent)."""
    created = open_day(request, session, date, again=True)
    standing = session.scalars(select(Trip.id).where(Trip.service_date == date.isoformat(),
                                                     Trip.standing_order_id.is_not(None))).all()
    return {"date": date.isoformat(), "created": created, "standing_trips": len(standing)}
