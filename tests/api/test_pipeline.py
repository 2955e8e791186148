"""The booking writer's pipelined INSERTs store exactly what the plain statements store, and fail the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.models import IdempotencyRecord, PlanRoute, Trip, TripEvent
from api.pipeline import PIPELINE_KEY, pipelined
from api.storage import add_trips, create_key, idempotency_row, is_duplicate, remember_idempotent_rows, route_rows, upsert_routes


def _write(session, key_id: int, tag: str, version: int) -> None:  # noqa: ANN001 - Session
    trips = [(Trip(id=f"{tag}-{k}", service_date="2026-03-02", operator="SPO-GROUP", status=status, pickup_lon=76.93,
                   pickup_lat=43.24, dropoff_lon=76.95, dropoff_lat=43.25, earliest_pickup_s=30_000, latest_pickup_s=31_800,
                   wheelchair=k == 0, companions=k, vehicle_id="SPO-001" if status == "assigned" else None,
                   pickup_eta_s=30_100.5 if status == "assigned" else None, reason=None if status == "assigned" else "full"),
              detail) for k, (status, detail) in enumerate([("assigned", None), ("unserved", {"standing_order": "S1"})])]
    add_trips(session, trips)
    upsert_routes(session, route_rows("2026-03-02", {f"{tag}-V": [[f"{tag}-0", "pickup"], [f"{tag}-0", "dropoff"]]}, version))
    remember_idempotent_rows(session, [idempotency_row(key_id, f"{tag}-key", "POST", "/v1/trips", 201, {"id": 7, "n": [1, None]})])


def _stored(session, tag: str) -> list:  # noqa: ANN001 - Session
    trips = [{c: getattr(t, c) for c in ("operator", "status", "wheelchair", "companions", "vehicle_id", "pickup_eta_s",
                                         "reason", "latest_dropoff_s")}
             for t in session.scalars(select(Trip).where(Trip.id.like(f"{tag}-%")).order_by(Trip.id))]
    events = [(e.trip_id.split("-")[1], e.kind, e.vehicle_id, e.detail)
              for e in session.scalars(select(TripEvent).where(TripEvent.trip_id.like(f"{tag}-%")).order_by(TripEvent.id))]
    route = session.scalars(select(PlanRoute).where(PlanRoute.vehicle_id == f"{tag}-V")).one()
    answer = session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == f"{tag}-key")).one()
    return [trips, events, [[s[0].split("-")[1], s[1]] for s in route.stops], route.version, answer.body, answer.status_code]


def test_pipelined_writes_store_what_plain_writes_store(sessions) -> None:
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, set())
        _write(session, key.id, "plain", 1)
        session.commit()
        with pipelined(session):
            _write(session, key.id, "piped", 1)
            assert (PIPELINE_KEY in session.info) == (session.get_bind().dialect.name == "postgresql")
        session.commit()
        assert PIPELINE_KEY not in session.info
    with sessions() as session:
        plain, piped = _stored(session, "plain"), _stored(session, "piped")
        assert plain == piped
        assert plain[1][0] == ("0", "created", None, None) and plain[1][2][3] == {"standing_order": "S1"}


def test_a_reused_key_fails_the_pipelined_transaction_as_a_duplicate(sessions) -> None:
    with sessions() as session:
        key, _ = create_key(session, "admin", None, None, set())
        _write(session, key.id, "first", 1)
        session.commit()
        with pytest.raises(IntegrityError) as error, pipelined(session):
            add_trips(session, [(Trip(id="second-0", service_date="2026-03-02", status="assigned", pickup_lon=76.93,
                                      pickup_lat=43.24, dropoff_lon=76.95, dropoff_lat=43.25, earliest_pickup_s=30_000,
                                      latest_pickup_s=31_800, wheelchair=True, companions=0), None)])
            remember_idempotent_rows(session, [idempotency_row(key.id, "first-key", "POST", "/v1/trips", 201, {})])
        assert is_duplicate(error.value)
        session.rollback()
        assert session.get(Trip, "second-0") is None  # the whole transaction was rolled back
