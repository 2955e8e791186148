"""Database tables (SQLAlchemy 2.x ORM). Schema changes go through Alembic migrations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """The current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class ApiKey(Base):
    """A bearer API key, stored as a SHA-256 hash; role admin / planner / dispatcher."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    vehicle_id: Mapped[str | None] = mapped_column(String(16), nullable=True)  # the one vehicle of a device key


class Trip(Base):
    """A trip request and its current assignment. Times are seconds after midnight of ``service_date``."""

    __tablename__ = "trips"
    __table_args__ = (UniqueConstraint("standing_order_id", "service_date", name="uq_trip_standing_order_day"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service_date: Mapped[str] = mapped_column(String(10), index=True)
    operator: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # assigned / unserved / cancelled
    user_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pickup_lon: Mapped[float] = mapped_column(Float)
    pickup_lat: Mapped[float] = mapped_column(Float)
    dropoff_lon: Mapped[float] = mapped_column(Float)
    dropoff_lat: Mapped[float] = mapped_column(Float)
    earliest_pickup_s: Mapped[int] = mapped_column(Integer)
    latest_pickup_s: Mapped[int] = mapped_column(Integer)
    latest_dropoff_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wheelchair: Mapped[bool] = mapped_column(Boolean)
    companions: Mapped[int] = mapped_column(Integer, default=0)
    vehicle_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pickup_eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    dropoff_eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    standing_order_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the series it came from


class TripEvent(Base):
    """Append-only history of a trip: created, assigned, reassigned, cancelled, unserved."""

    __tablename__ = "trip_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    vehicle_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class IdempotencyRecord(Base):
    """The stored answer to a request carrying an ``Idempotency-Key``, per caller."""

    __tablename__ = "idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_caller_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # SHA-256 of the canonical request
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanRoute(Base):
    """The accepted plan: one vehicle's stops on a service day, in driving order, as ``[trip_id, kind]`` pairs.

    ``version`` counts the day's plan changes: a write never replaces a newer
    route, so trips may commit outside the day's lock in any order.
    """

    __tablename__ = "plan_routes"
    service_date: Mapped[str] = mapped_column(String(10), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    stops: Mapped[list] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Job(Base):
    """A background job (batch re-optimisation of a day)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[str] = mapped_column(String(10))
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # queued / running / done / failed
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class VehicleEvent(Base):
    """What a vehicle reported (position, stop events, breaks, breakdown), stored before it is acknowledged.

    ``id`` is the storage order (events are applied and replayed per vehicle in
    this order); ``(vehicle_id, event_id)`` is unique: a retried event is a
    duplicate, answered with the stored ``answer``. ``at_s``: seconds after
    Almaty midnight of ``service_date``.
    """

    __tablename__ = "vehicle_events"
    __table_args__ = (UniqueConstraint("vehicle_id", "event_id", name="uq_vehicle_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(String(16), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    service_date: Mapped[str] = mapped_column(String(10), index=True)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    at_s: Mapped[float] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    trip_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    answer: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StandingOrder(Base):
    """A recurring trip: ISO weekdays (1 = Monday) between two dates, a daily pickup window in seconds after midnight.

    ``skipped``: dates (YYYY-MM-DD) whose occurrence is cancelled; ``ends_after``:
    the series was cancelled, no occurrence from that date on.
    """

    __tablename__ = "standing_orders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operator: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    user_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pickup_lon: Mapped[float] = mapped_column(Float)
    pickup_lat: Mapped[float] = mapped_column(Float)
    dropoff_lon: Mapped[float] = mapped_column(Float)
    dropoff_lat: Mapped[float] = mapped_column(Float)
    weekdays: Mapped[list] = mapped_column(JSON)
    start_date: Mapped[str] = mapped_column(String(10))
    end_date: Mapped[str] = mapped_column(String(10))
    earliest_pickup_s: Mapped[int] = mapped_column(Integer)
    latest_pickup_s: Mapped[int] = mapped_column(Integer)
    wheelchair: Mapped[bool] = mapped_column(Boolean)
    companions: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[list] = mapped_column(JSON, default=list)
    ends_after: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BookingOffer(Base):
    """A priced pickup slot offered for a trip, bookable until ``expires_at`` (UTC) by any worker, after a restart too.

    ``body``: the trip request as posted (``api.schemas.TripCreate``); the slot
    is the pickup window it promises (seconds after Almaty midnight of
    ``service_date``); ``booked_trip_id``: the trip it became (booked once).
    """

    __tablename__ = "offers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service_date: Mapped[str] = mapped_column(String(10))
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[dict] = mapped_column(JSON)
    earliest_pickup_s: Mapped[float] = mapped_column(Float)
    latest_pickup_s: Mapped[float] = mapped_column(Float)
    latest_dropoff_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    pickup_eta_s: Mapped[float] = mapped_column(Float)
    dropoff_eta_s: Mapped[float] = mapped_column(Float)
    added_cost_tg: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    booked_trip_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenedDay(Base):
    """A service day whose standing orders were materialised, and how many orders existed then.

    Orders are never deleted (a series is ended with ``ends_after``), so a
    larger count means a series created since: the day is materialised again
    (idempotent: one trip per order and day, ``uq_trip_standing_order_day``).
    """

    __tablename__ = "opened_days"
    service_date: Mapped[str] = mapped_column(String(10), primary_key=True)
    standing_orders: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
