"""All database access of the API: keys, trips and their history, idempotency records, jobs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, Insert, Row, Select, and_, bindparam, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.live_feed import note_change
from api.models import ApiKey, IdempotencyRecord, Job, OpenedDay, PlanRoute, StandingOrder, Trip, TripEvent, utcnow
from api.pipeline import insert_rows
from routing.operations import TRANSFER_SUFFIX

if TYPE_CHECKING:
    from api.dispatch_desk import Moved, Placement

ROLES: tuple[str, ...] = ("admin", "planner", "dispatcher", "device")
KEY_PREFIX: str = "ivp_"

# The booking path's INSERTs, built once, on the tables (Core), not the mapped classes: an ORM bulk INSERT and a
# statement built per call cost about 1.5 ms of CPU per booking, which the booking writer's thread took from the
# day lock's holder (py-spy, bench/api.py load).
_TRIP_INSERT: Insert = Trip.__table__.insert()
_EVENT_INSERT: Insert = TripEvent.__table__.insert()
_IDEMPOTENCY_INSERT: Insert = IdempotencyRecord.__table__.insert()
_TRIP_COLUMNS: tuple[str, ...] = tuple(c.key for c in Trip.__table__.columns)


def hash_key(raw_key: str) -> str:
    """SHA-256 hex digest of a raw API key (keys are high-entropy: no salt needed)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_key(session: Session, role: str, operator: str | None, label: str | None, operators: set[str],
               vehicle_id: str | None = None, vehicle_operators: dict[str, str] | None = None) -> tuple[ApiKey, str]:
    """Create an API key; returns the stored row and the raw key (shown once, never stored).

    A ``device`` key is bound to one vehicle (``vehicle_id``, one of
    ``vehicle_operators``: vehicle -> operator) and to that vehicle's operator.

    Raises
    ------
    ValueError
        Unknown role; a dispatcher key without a known operator; an operator on another role;
        a device key without a known vehicle, or a vehicle on another role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    if (role == "device") != (vehicle_id is not None):
        raise ValueError("vehicle_id: a device key needs one, other roles take none")
    if role == "device":
        if vehicle_id not in (vehicle_operators or {}):
            raise ValueError(f"vehicle_id: unknown vehicle {vehicle_id!r}")
        if operator is not None:
            raise ValueError("operator: a device key takes its vehicle's operator")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(key_hash=hash_key(raw), prefix=raw[:10], role=role, operator=vehicle_operators[vehicle_id],
                     label=label, vehicle_id=vehicle_id)
        session.add(row)
        session.commit()
        return row, raw
    if role == "dispatcher" and operator not in operators:
        raise ValueError(f"a dispatcher key needs one of the operators {sorted(operators)}, got {operator!r}")
    if role != "dispatcher" and operator is not None:
        raise ValueError(f"only dispatcher keys are bound to an operator (role {role!r})")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(key_hash=hash_key(raw), prefix=raw[:10], role=role, operator=operator, label=label)
    session.add(row)
    session.commit()
    return row, raw


def find_key(session: Session, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key)))
    return row if row is not None and not row.revoked else None


def list_keys(session: Session) -> list[ApiKey]:
    """All keys (hashes are never returned by the API)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key; False if it does not exist."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return False
    row.revoked = True
    session.commit()
    return True


def new_trip_id() -> str:
    """A fresh, unguessable trip id."""
    return "TRP-" + uuid.uuid4().hex[:16]


def placed_trip(trip_id: str, day: dt.date, placed: Placement, pickup: tuple[float, float], dropoff: tuple[float, float],
                window: tuple[float, float, float | None], wheelchair: bool, companions: int, user_ref: str | None,
                created_by: int | None, standing_order_id: str | None = None) -> Trip:
    """The row of a trip the dispatch desk has just placed: assigned with its ETAs, or unserved with the reason.

    ``pickup`` and ``dropoff`` are (lon, lat) in degrees; ``window`` is the
    earliest and latest pickup and the latest drop-off (None: the ride-time
    rule), in seconds after Almaty midnight of ``day`` (stored rounded).
    """
    return Trip(id=trip_id, service_date=day.isoformat(), operator=placed.operator,
                status="assigned" if placed.vehicle_id else "unserved", user_ref=user_ref,
                pickup_lon=pickup[0], pickup_lat=pickup[1], dropoff_lon=dropoff[0], dropoff_lat=dropoff[1],
                earliest_pickup_s=round(window[0]), latest_pickup_s=round(window[1]),
                latest_dropoff_s=None if window[2] is None else round(window[2]), wheelchair=wheelchair,
                companions=companions, vehicle_id=placed.vehicle_id, pickup_eta_s=placed.pickup_eta_s,
                dropoff_eta_s=placed.dropoff_eta_s, reason=placed.reason, created_by=created_by,
                standing_order_id=standing_order_id)


def add_trip(session: Session, trip: Trip, detail: dict | None = None) -> Trip:
    """Insert a new trip and its first history events (created, then assigned or unserved); no commit.

    Plain INSERT statements, not the ORM unit of work (a third of a booking's
    CPU time went to it): ``trip`` stays a detached record of what was written.
    """
    add_trips(session, [(trip, detail)])
    return trip


def add_trips(session: Session, trips: list[tuple[Trip, dict | None]]) -> None:
    """:func:`add_trip` for several (trip, detail of its ``created`` event) at once: two INSERT statements; no commit."""
    now = utcnow()
    for trip, _ in trips:
        trip.created_at = trip.updated_at = now
        note_change(session, trip.service_date, trips=[(trip.id, trip.operator)])
    insert_rows(session, _TRIP_INSERT, [{c: getattr(trip, c) for c in _TRIP_COLUMNS} for trip, _ in trips])
    insert_rows(session, _EVENT_INSERT, [event for trip, detail in trips for event in (
        {"trip_id": trip.id, "at": now, "kind": "created", "vehicle_id": None, "detail": detail},
        {"trip_id": trip.id, "at": now, "kind": trip.status, "vehicle_id": trip.vehicle_id, "detail": {"reason": trip.reason}})])


def get_trip(session: Session, trip_id: str) -> Trip | None:
    """The trip with ``trip_id`` or None."""
    return session.get(Trip, trip_id)


def list_trips(session: Session, service_date: str | None, status: str | None, operator: str | None,
               limit: int, offset: int) -> list[Trip]:
    """Trips filtered by date, status and operator, newest first."""
    query = select(Trip)
    if service_date:
        query = query.where(Trip.service_date == service_date)
    if status:
        query = query.where(Trip.status == status)
    if operator:
        query = query.where(Trip.operator == operator)
    return list(session.scalars(query.order_by(Trip.created_at.desc(), Trip.id).limit(limit).offset(offset)))


def day_trip_points(session: Session, service_date: str) -> pd.DataFrame:
    """Pickup ``lon``, ``lat`` (degrees) and ``status`` of a day's trips that are not cancelled."""
    rows = session.execute(select(Trip.pickup_lon, Trip.pickup_lat, Trip.status)
                           .where(Trip.service_date == service_date, Trip.status != "cancelled")).all()
    return pd.DataFrame(rows, columns=["lon", "lat", "status"])


def replay_order(session: Session) -> list[Trip]:
    """Trips that are not cancelled, in the order they were created (to rebuild the live plans)."""
    return list(session.scalars(select(Trip).where(Trip.status != "cancelled").order_by(Trip.created_at, Trip.id)))


def trip_events(session: Session, trip_id: str) -> list[TripEvent]:
    """A trip's history, oldest first."""
    return list(session.scalars(select(TripEvent).where(TripEvent.trip_id == trip_id).order_by(TripEvent.id)))


def set_assignment(session: Session, trip: Trip, vehicle_id: str | None, operator: str | None,
                   pickup_eta_s: float | None, dropoff_eta_s: float | None, kind: str) -> None:
    """Record a (re)assignment of ``trip`` with a history event; no commit."""
    trip.vehicle_id, trip.operator = vehicle_id, operator
    trip.pickup_eta_s, trip.dropoff_eta_s = pickup_eta_s, dropoff_eta_s
    trip.updated_at = utcnow()
    session.add(TripEvent(trip_id=trip.id, kind=kind, vehicle_id=vehicle_id,
                          detail={"pickup_eta_s": pickup_eta_s, "dropoff_eta_s": dropoff_eta_s}))
    note_change(session, trip.service_date, trips=[(trip.id, operator)])


def record_moves(session: Session, moved: Sequence[Moved]) -> None:
    """Record the booked trips a new booking moved (``api.dispatch_desk.Moved``) as reassigned; no commit."""
    for move in moved:
        trip = get_trip(session, move.trip_id.removesuffix(TRANSFER_SUFFIX))
        if trip is not None:
            set_assignment(session, trip, move.vehicle_id, move.operator, move.pickup_eta_s, move.dropoff_eta_s,
                           "reassigned")


def cancel_trip(session: Session, trip: Trip) -> None:
    """Mark ``trip`` cancelled with a history event; no commit."""
    trip.status = "cancelled"
    trip.updated_at = utcnow()
    session.add(TripEvent(trip_id=trip.id, kind="cancelled", vehicle_id=trip.vehicle_id))
    note_change(session, trip.service_date, trips=[(trip.id, trip.operator)])


def save_routes(session: Session, service_date: str, routes: dict[str, list[list[str]]], version: int) -> None:
    """Store vehicles' routes (``[trip_id, kind]`` stops in driving order) of plan ``version``; no commit.

    A stored route of a newer version is kept (a slower transaction never overwrites a later plan).
    """
    upsert_routes(session, route_rows(service_date, routes, version))


def store_taken_back(session: Session, service_date: str, placed: dict[str, list[list[str]]], placed_version: int,
                     left: dict[str, list[list[str]]], left_version: int, moved: Sequence[Moved]) -> None:
    """Store a booking taken back out of the live plan after its commit failed; no commit.

    ``left``: the routes that taking it out changed (plan ``left_version``).
    ``placed``: the routes its placement changed (plan ``placed_version``);
    those not in ``left`` keep the booked trips its repair moved (``moved``),
    which stay where the repair put them and are recorded as reassigned.
    Each route is written unless a newer plan version is stored.
    """
    save_routes(session, service_date, {v: stops for v, stops in placed.items() if v not in left}, placed_version)
    record_moves(session, moved)
    save_routes(session, service_date, left, left_version)


def route_rows(service_date: str, routes: dict[str, list[list[str]]], version: int) -> list[dict]:
    """The ``plan_routes`` rows of vehicles' routes of plan ``version`` (for :func:`upsert_routes`)."""
    return [{"service_date": service_date, "vehicle_id": v, "stops": stops, "version": version, "updated_at": utcnow()}
            for v, stops in routes.items()]


def upsert_routes(session: Session, rows: list[dict]) -> None:
    """Write ``plan_routes`` rows (at most one per service date and vehicle), each unless a newer version is stored; no commit."""
    if not rows:
        return
    for row in rows:
        note_change(session, row["service_date"], row["version"], vehicles=[row["vehicle_id"]])
    insert_rows(session, _route_upsert(session.get_bind().dialect.name), rows)


@cache
def _route_upsert(dialect_name: str) -> Insert:
    """The ``plan_routes`` INSERT ... ON CONFLICT DO UPDATE (when the row is newer) of a dialect, built once."""
    table = PlanRoute.__table__
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=["service_date", "vehicle_id"], where=table.c.version < statement.excluded.version,
        set_={"stops": statement.excluded.stops, "version": statement.excluded.version,
              "updated_at": statement.excluded.updated_at})


def load_routes(session: Session) -> dict[str, tuple[int, dict[str, list[list[str]]]]]:
    """The stored accepted plans: service date -> (newest version, vehicle -> ``[trip_id, kind]`` stops)."""
    out: dict[str, tuple[int, dict[str, list[list[str]]]]] = {}
    for row in session.scalars(select(PlanRoute)):
        version, routes = out.get(row.service_date, (0, {}))
        routes[row.vehicle_id] = row.stops
        out[row.service_date] = (max(version, row.version), routes)
    return out


def request_hash(payload: object) -> str:
    """SHA-256 of a request's canonical JSON (sorted keys), to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


_STORED_ANSWER = (IdempotencyRecord.method, IdempotencyRecord.path, IdempotencyRecord.status_code,
                  IdempotencyRecord.body, IdempotencyRecord.request_hash)


def find_idempotent(session: Session, api_key_id: int, key: str) -> Row | None:
    """The stored answer for this caller's idempotency key (``method``, ``path``, ``status_code``, ``body``,
    ``request_hash``), or None. A plain row, not an ORM object: every booking and retry looks it up."""
    return session.execute(select(*_STORED_ANSWER).where(IdempotencyRecord.api_key_id == api_key_id,
                                                         IdempotencyRecord.key == key)).first()


# What every booking reads first, built once with bound parameters (``service_date``, ``api_key_id``, ``key``): the
# number of standing orders, the number there were when the day was last opened (None: never), and the stored answer
# to the caller's Idempotency-Key (all None: none).
_DAY_COUNTS: Select = select(
    select(func.count()).select_from(StandingOrder).scalar_subquery(),
    select(OpenedDay.standing_orders).where(OpenedDay.service_date == bindparam("service_date")).scalar_subquery())
_BOOKING_CHECKS: Select = _DAY_COUNTS.add_columns(*_STORED_ANSWER).select_from(
    select(literal(1).label("one")).subquery("one").outerjoin(IdempotencyRecord, and_(
        IdempotencyRecord.api_key_id == bindparam("api_key_id"), IdempotencyRecord.key == bindparam("key"))))


def _is_open(orders: int, opened: int | None) -> bool:
    """Orders are never deleted, so a day opened with as many orders as exist now has all of them."""
    return opened is not None and opened >= orders


def day_open(session: Session, service_date: str) -> bool:
    """Whether every standing order's occurrence on ``service_date`` is already a trip (the day was opened since the
    last series was created)."""
    return _is_open(*session.execute(_DAY_COUNTS, {"service_date": service_date}).one())


@dataclass(frozen=True)
class BookingChecks:
    """What a booking reads before it is placed.

    Attributes
    ----------
    day_open
        Whether the day's standing orders are already trips (:func:`day_open`).
    stored
        The stored answer to the caller's Idempotency-Key (as :func:`find_idempotent`), or None.
    """

    day_open: bool
    stored: Row | None


def booking_checks(connection: Connection, service_date: str, api_key_id: int, key: str | None) -> BookingChecks:
    """:func:`day_open` and :func:`find_idempotent` in one statement.

    Every booking asks both. On ``connection`` outside a transaction (``api.db.read_engine``) this is one round
    trip to PostgreSQL, where a read transaction took five (BEGIN, two SELECTs, ROLLBACK and the DEALLOCATE ALL
    psycopg sends after a rollback; ``bench/api.py``).
    """
    if key is None:
        return BookingChecks(_is_open(*connection.execute(_DAY_COUNTS, {"service_date": service_date}).one()), None)
    row = connection.execute(_BOOKING_CHECKS, {"service_date": service_date, "api_key_id": api_key_id, "key": key}).one()
    return BookingChecks(_is_open(row[0], row[1]), None if row.method is None else row)  # an answer has a method


def remember_idempotent(session: Session, api_key_id: int, key: str, method: str, path: str,
                        status_code: int, body: dict, request_sha256: str | None = None) -> None:
    """Store the answer for an idempotency key (and the hash of the request it answered) in the caller's transaction; no commit."""
    remember_idempotent_rows(session, [idempotency_row(api_key_id, key, method, path, status_code, body, request_sha256)])


def idempotency_row(api_key_id: int, key: str, method: str, path: str, status_code: int, body: dict,
                    request_sha256: str | None = None) -> dict:
    """The ``idempotency`` row of an answer (for :func:`remember_idempotent_rows`)."""
    return {"api_key_id": api_key_id, "key": key, "method": method, "path": path, "status_code": status_code,
            "body": body, "request_hash": request_sha256, "created_at": utcnow()}


def remember_idempotent_rows(session: Session, rows: list[dict]) -> None:
    """Store several answers of :func:`idempotency_row` at once; no commit."""
    if rows:
        insert_rows(session, _IDEMPOTENCY_INSERT, rows)


def is_duplicate(error: IntegrityError) -> bool:
    """Whether an IntegrityError is the idempotency uniqueness constraint."""
    text = str(error.orig).lower()
    return "uq_idempotency_caller_key" in text or "idempotency.api_key_id" in text


def create_job(session: Session, kind: str, service_date: str, operator: str | None) -> Job:
    """Queue a job and commit."""
    job = Job(id=str(uuid.uuid4()), kind=kind, service_date=service_date, operator=operator, status="queued")
    session.add(job)
    session.commit()
    return job


def start_job(session: Session, job_id: str) -> None:
    """Mark a job running and commit."""
    job = session.get(Job, job_id)
    if job is not None:
        job.status = "running"
        session.commit()


def finish_job(session: Session, job_id: str, status: str, result: dict) -> None:
    """Record a job's outcome and commit."""
    job = session.get(Job, job_id)
    if job is not None:
        job.status, job.result, job.finished_at = status, result, dt.datetime.now(dt.UTC)
        session.commit()


def get_job(session: Session, job_id: str) -> Job | None:
    """The job or None."""
    return session.get(Job, job_id)
