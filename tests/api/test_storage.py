"""Storage on SQLite (WAL) and on a real PostgreSQL: migrations, keys, trips and history, idempotency."""

from __future__ import annotations

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError

from api.db import make_engine, migrate, read_engine
from api.models import ApiKey, OpenedDay, StandingOrder, Trip
from api.storage import (
    BookingChecks,
    add_trip,
    booking_checks,
    cancel_trip,
    create_key,
    day_open,
    find_idempotent,
    find_key,
    get_trip,
    is_duplicate,
    list_trips,
    load_routes,
    new_trip_id,
    remember_idempotent,
    request_hash,
    revoke_key,
    save_routes,
    trip_events,
)

OPERATORS = {"INCLUSION.KZ", "SPO-GROUP"}


def trip(operator: str = "SPO-GROUP", status: str = "assigned", date: str = "2026-03-02") -> Trip:
    return Trip(id=new_trip_id(), service_date=date, operator=operator, status=status, pickup_lon=76.93, pickup_lat=43.24,
                dropoff_lon=76.95, dropoff_lat=43.25, earliest_pickup_s=30_000, latest_pickup_s=31_800, wheelchair=True,
                companions=0, vehicle_id="SPO-001" if status == "assigned" else None)


def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"api_keys", "trips", "trip_events", "idempotency", "jobs", "alembic_version"} <= tables
    if database_url.startswith("sqlite"):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_keys_are_stored_hashed_and_can_be_revoked(sessions) -> None:
    with sessions() as session:
        row, raw = create_key(session, "dispatcher", "SPO-GROUP", "desk 1", OPERATORS)
        stored = session.scalars(select(ApiKey)).all()
        assert all(raw not in (k.key_hash, k.prefix) for k in stored)
        assert find_key(session, raw).operator == "SPO-GROUP"
        assert find_key(session, raw + "x") is None
        assert revoke_key(session, row.id)
        assert find_key(session, raw) is None
        with pytest.raises(ValueError, match="needs one of the operators"):
            create_key(session, "dispatcher", "NOBODY", None, OPERATORS)
        with pytest.raises(ValueError, match="unknown role"):
            create_key(session, "root", None, None, OPERATORS)


def test_trips_keep_their_history_and_filter(sessions) -> None:
    with sessions() as session:
        first, second, third = trip(), trip("INCLUSION.KZ"), trip(status="unserved", date="2026-03-03")
        for t in (first, second, third):
            add_trip(session, t)
        session.commit()
        cancel_trip(session, get_trip(session, first.id))
        session.commit()
        assert [e.kind for e in trip_events(session, first.id)] == ["created", "assigned", "cancelled"]
        assert {t.id for t in list_trips(session, "2026-03-02", None, "SPO-GROUP", 50, 0)} == {first.id}
        assert {t.id for t in list_trips(session, None, "unserved", None, 50, 0)} == {third.id}
        assert len(list_trips(session, "2026-03-02", None, None, 1, 0)) == 1


def test_idempotency_key_is_unique_per_caller(sessions) -> None:
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, OPERATORS)
        remember_idempotent(session, key.id, "abc", "POST", "/v1/trips", 201, {"id": "T1"})
        session.commit()
        assert find_idempotent(session, key.id, "abc").body == {"id": "T1"}
        with pytest.raises(IntegrityError) as error:
            remember_idempotent(session, key.id, "abc", "POST", "/v1/trips", 201, {"id": "T2"})
            session.commit()
        assert is_duplicate(error.value)


def test_the_accepted_plan_is_upserted_per_vehicle(sessions) -> None:
    with sessions() as session:
        save_routes(session, "2026-03-02", {"SPO-001": [["T1", "pickup"], ["T1", "dropoff"]], "SPO-002": []}, 1)
        session.commit()
        newer = [["T2", "pickup"], ["T1", "pickup"], ["T2", "dropoff"], ["T1", "dropoff"]]
        save_routes(session, "2026-03-02", {"SPO-001": newer}, 3)
        save_routes(session, "2026-03-03", {"SPO-001": [["T3", "pickup"], ["T3", "dropoff"]]}, 1)
        session.commit()
        save_routes(session, "2026-03-02", {"SPO-001": [["T1", "pickup"], ["T1", "dropoff"]]}, 2)  # late: older plan
        session.commit()
        assert load_routes(session) == {"2026-03-02": (3, {"SPO-001": newer, "SPO-002": []}),
                                        "2026-03-03": (1, {"SPO-001": [["T3", "pickup"], ["T3", "dropoff"]]})}


def test_idempotency_records_keep_the_request_hash(sessions) -> None:
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, OPERATORS)
        digest = request_hash({"b": 1, "a": [1, 2]})
        assert digest == request_hash({"a": [1, 2], "b": 1}) != request_hash({"a": [2, 1], "b": 1})
        remember_idempotent(session, key.id, "k", "POST", "/v1/trips", 201, {"id": "T1"}, digest)
        session.commit()
        assert find_idempotent(session, key.id, "k").request_hash == digest


def test_booking_checks_read_the_day_and_the_stored_answer_in_one_statement(sessions) -> None:
    engine = sessions.kw["bind"]
    reads = read_engine(engine)
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, OPERATORS)
        other, _ = create_key(session, "admin", None, None, OPERATORS)
        remember_idempotent(session, key.id, "k", "POST", "/v1/trips", 201, {"id": "T1"}, "digest")
        session.commit()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with reads.connect() as connection:
        checks = booking_checks(connection, "2026-03-02", key.id, "k")
        assert (checks.stored.path, checks.stored.body, checks.stored.request_hash) == ("/v1/trips", {"id": "T1"}, "digest")
        assert checks.day_open is False  # never opened
        assert booking_checks(connection, "2026-03-02", other.id, "k").stored is None  # another caller's key
        assert booking_checks(connection, "2026-03-02", key.id, "other").stored is None
        assert booking_checks(connection, "2026-03-02", key.id, None) == BookingChecks(False, None)
    assert len(statements) == 4
    with sessions() as session:
        session.add(OpenedDay(service_date="2026-03-02", standing_orders=0))
        session.commit()
        assert day_open(session, "2026-03-02") and not day_open(session, "2026-03-03")
        session.add(StandingOrder(id="SO-1", pickup_lon=76.93, pickup_lat=43.24, dropoff_lon=76.95, dropoff_lat=43.25,
                                  weekdays=[1], start_date="2026-03-01", end_date="2026-04-01", earliest_pickup_s=30_000,
                                  latest_pickup_s=31_800, wheelchair=True))
        session.commit()
        assert not day_open(session, "2026-03-02")  # a series created since the day was opened
    with reads.connect() as connection:
        assert booking_checks(connection, "2026-03-02", key.id, "k").day_open is False
