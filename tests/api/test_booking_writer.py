"""Group commit of bookings on SQLite and PostgreSQL: bookings queued during a commit share the next one; a failing
booking fails alone; every booking is committed when its writer returns."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.booking_writer import BookingWrite, BookingWriter
from api.db import make_engine, migrate, session_factory
from api.dispatch_desk import Moved
from api.models import Trip, TripEvent
from api.settings import BOOKING_GROUP, Settings
from api.storage import (add_trip, create_key, find_idempotent, idempotency_row, is_duplicate, load_routes, new_trip_id,
                         save_routes, store_taken_back)


def _trip() -> Trip:
    return Trip(id=new_trip_id(), service_date="2026-03-02", operator="SPO-GROUP", status="assigned", pickup_lon=76.93,
                pickup_lat=43.24, dropoff_lon=76.95, dropoff_lat=43.25, earliest_pickup_s=30_000, latest_pickup_s=31_800,
                wheelchair=True, companions=0, vehicle_id="SPO-001")


def test_queued_bookings_commit_together_and_a_failing_one_fails_alone(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, set())
    writer = BookingWriter(sessions, BOOKING_GROUP)
    bookings = [BookingWrite(_trip(), {"SPO-001": [[f"T{k}", "pickup"]]}, k, idempotency_row(key.id, f"key-{k}", "POST",
                                                                                            "/v1/trips", 201, {"id": k}))
                for k in range(6)]
    bookings.append(BookingWrite(_trip(), {"SPO-002": [["T9", "pickup"]]}, 9,
                                 idempotency_row(key.id, "key-3", "POST", "/v1/trips", 201, {"id": 9})))  # key-3 again
    outcome: dict[int, BaseException | None] = {}

    def book(k: int) -> None:
        try:
            writer.write(bookings[k])
            outcome[k] = None
        except Exception as error:  # noqa: BLE001 - recorded for the assertions
            outcome[k] = error

    try:
        with engine.connect() as blocker, ThreadPoolExecutor(8) as pool:
            # hold the database's write lock: the first booking's transaction waits, the others queue behind it
            blocker.execute(text("BEGIN IMMEDIATE") if engine.dialect.name == "sqlite" else
                            text("LOCK TABLE trips IN SHARE ROW EXCLUSIVE MODE"))
            pool.submit(book, 0)
            time.sleep(0.2)  # the writer takes booking 0 and waits for the lock (if not, 0 joins the group below)
            futures = [pool.submit(book, k) for k in range(1, 7)]
            while writer._queue.qsize() < 6:
                time.sleep(0.01)
            assert not outcome  # nothing is acknowledged before its commit
            blocker.rollback() if engine.dialect.name == "postgresql" else blocker.execute(text("ROLLBACK"))
            for future in futures:
                future.result()
    finally:
        writer.close()
        assert not writer._thread.is_alive()
    assert all(outcome[k] is None for k in range(6))
    assert isinstance(outcome[6], IntegrityError) and is_duplicate(outcome[6])  # only the reused key failed
    with sessions() as session:
        stored = set(session.scalars(select(Trip.id)))
        assert stored == {b.trip.id for b in bookings[:6]}
        assert session.scalar(select(func.count()).select_from(Trip)) == 6
        assert find_idempotent(session, key.id, "key-3").body == {"id": 3}
        assert load_routes(session)["2026-03-02"] == (5, {"SPO-001": [["T5", "pickup"]]})  # the newest plan version
    engine.dispose()


def test_a_stopped_writer_refuses_bookings(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    writer = BookingWriter(session_factory(engine), BOOKING_GROUP)
    writer.close()
    with pytest.raises(RuntimeError, match="stopped"):
        writer.write(BookingWrite(_trip(), {}, 1, None))
    engine.dispose()


def test_bookings_are_committed_in_groups_unless_set_to_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group commit on both databases (the measured default); ``INVAPLAN_BOOKING_GROUP=1`` commits each booking
    alone; a group below 1 is refused."""
    assert Settings(database_url="postgresql+psycopg://u@h/db").booking_group == BOOKING_GROUP
    assert Settings(database_url="sqlite:///a.db").booking_group == BOOKING_GROUP
    monkeypatch.setenv("INVAPLAN_BOOKING_GROUP", "1")
    assert Settings(database_url="sqlite:///a.db").booking_group == 1
    monkeypatch.setenv("INVAPLAN_BOOKING_GROUP", "0")
    with pytest.raises(ValidationError, match="booking_group"):
        Settings()


def test_a_booking_that_moved_a_booked_trip_reassigns_it_in_the_same_commit(database_url: str) -> None:
    """The repair of a booking (``routing.repair``) moved a booked trip: its stored vehicle and ETAs follow, with a
    ``reassigned`` history event, when the new booking commits."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    booked = _trip()
    with sessions() as session:
        add_trip(session, booked)
        session.commit()
    writer = BookingWriter(sessions, BOOKING_GROUP)
    new = _trip()
    try:
        writer.write(BookingWrite(new, {"SPO-001": [[new.id, "pickup"], [new.id, "dropoff"]],
                                        "SPO-002": [[booked.id, "pickup"], [booked.id, "dropoff"]]}, 1, None,
                                  (Moved(booked.id, "SPO-002", "SPO-GROUP", 30_500.0, 31_400.0),)))
    finally:
        writer.close()
    with sessions() as session:
        moved = session.get(Trip, booked.id)
        assert (moved.vehicle_id, moved.pickup_eta_s, moved.dropoff_eta_s) == ("SPO-002", 30_500.0, 31_400.0)
        events = session.scalars(select(TripEvent).where(TripEvent.trip_id == booked.id).order_by(TripEvent.id)).all()
        assert [e.kind for e in events][-1] == "reassigned" and events[-1].vehicle_id == "SPO-002"
        assert session.get(Trip, new.id).vehicle_id == "SPO-001"
    engine.dispose()


def test_a_booking_taken_back_after_a_failed_commit_leaves_the_trips_its_repair_moved_where_the_plan_has_them(
        sessions) -> None:  # noqa: ANN001 - the conftest fixture
    """A booking's repair moved a booked trip to another vehicle, then the booking's commit failed and the booking left
    the live plan again; the moved trip stays where the plan has it. Its stored route, vehicle and ETAs follow, and a
    route a concurrent booking stored at a newer plan version is kept."""
    booked, other = _trip(), _trip()
    day = booked.service_date
    with sessions() as session:
        add_trip(session, booked)
        add_trip(session, other)
        save_routes(session, day, {"SPO-001": [[booked.id, "pickup"], [booked.id, "dropoff"]],
                                   "SPO-003": [[other.id, "pickup"], [other.id, "dropoff"]]}, 1)
        session.commit()
    new = new_trip_id()
    placed = {"SPO-001": [[new, "pickup"], [new, "dropoff"]], "SPO-002": [[booked.id, "pickup"], [booked.id, "dropoff"]],
              "SPO-003": [[other.id, "pickup"], [other.id, "dropoff"]]}
    newer = [[other.id, "pickup"], ["T-later", "pickup"], [other.id, "dropoff"], ["T-later", "dropoff"]]
    with sessions() as session:
        save_routes(session, day, {"SPO-003": newer}, 4)  # a concurrent booking, committed first
        session.commit()
        store_taken_back(session, day, placed, 3, {"SPO-001": []}, 5,
                         (Moved(booked.id, "SPO-002", "SPO-GROUP", 30_500.0, 31_400.0),))
        session.commit()
    with sessions() as session:
        version, routes = load_routes(session)[day]
        assert version == 5
        assert routes == {"SPO-001": [], "SPO-002": [[booked.id, "pickup"], [booked.id, "dropoff"]], "SPO-003": newer}
        moved = session.get(Trip, booked.id)
        assert (moved.vehicle_id, moved.pickup_eta_s, moved.dropoff_eta_s) == ("SPO-002", 30_500.0, 31_400.0)
        assert session.get(Trip, new) is None
