"""What the dispatch desk keeps in storage, not in one process: offers and opened days survive a restart and serve a
second worker; a breakdown's transfer legs survive a crash during the restart (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.clock import set_clock
from api.db import make_engine, session_factory
from api.main import create_app
from api.models import PlanRoute, StandingOrder, Trip
from api.routes import operations
from api.settings import Settings
from api.storage import create_key
from routing.operations import TRANSFER_SUFFIX

DAY = dt.date.today() + dt.timedelta(days=7)
NEXT = DAY + dt.timedelta(days=1)
HOME, CLINIC = {"lon": 76.93, "lat": 43.24}, {"lon": 76.95, "lat": 43.25}


@contextmanager
def running(dataset_dir: Path, tmp_path: Path, url: str) -> Iterator[TestClient]:
    """The app on the database ``url`` (a second call is a restart), with an SPO-GROUP dispatcher's headers."""
    settings = Settings(data_dir=dataset_dir, database_url=url, results_dir=tmp_path,
                        clock=f"replay:{DAY.isoformat()}T08:00:1")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.sessions() as session:
            client.headers["Authorization"] = f"Bearer {create_key(session, 'dispatcher', 'SPO-GROUP', None, {'SPO-GROUP'})[1]}"
        client.app_state = app.state
        yield client
    set_clock("")


def standing_trips(client: TestClient, day: dt.date) -> list[str]:
    with client.app_state.sessions() as session:
        return list(session.scalars(select(Trip.standing_order_id).where(
            Trip.service_date == day.isoformat(), Trip.standing_order_id.is_not(None))))


def test_offers_and_opened_days_outlive_the_process(dataset_dir: Path, tmp_path: Path, database_url: str) -> None:
    request = {"pickup": HOME, "dropoff": CLINIC, "earliest_pickup": f"{DAY}T10:00", "latest_pickup": f"{DAY}T11:00",
               "wheelchair": True, "user_ref": "R-1"}
    series = {"pickup": HOME, "dropoff": CLINIC, "weekdays": [NEXT.isoweekday()], "start_date": NEXT.isoformat(),
              "end_date": NEXT.isoformat(), "earliest_pickup_time": "09:00", "latest_pickup_time": "09:30",
              "wheelchair": False}
    with running(dataset_dir, tmp_path, database_url) as first:
        offers = first.post("/v1/trips/offers", json=request).json()["offers"]
        assert len(offers) >= 2
        assert first.post("/v1/standing-orders", json=series).status_code == 201
        assert len(first.post(f"/v1/days/{NEXT}/open").json()["created"]) == 1
    with running(dataset_dir, tmp_path, database_url) as second:  # a restart (or another worker): nothing of the first in memory
        booked = second.post(f"/v1/trips/offers/{offers[0]['offer_id']}/book")
        assert booked.status_code == 201, booked.text  # 404 "unknown" when offers lived in memory
        trip = booked.json()
        assert abs((dt.datetime.fromisoformat(trip["pickup_eta"])
                    - dt.datetime.fromisoformat(offers[0]["pickup_eta"])).total_seconds()) <= 1
        assert (trip["earliest_pickup"], trip["latest_pickup"]) == (offers[0]["earliest_pickup"], offers[0]["latest_pickup"])
        assert second.app_state.desk.vehicle_of(trip["id"]) == trip["vehicle_id"]
        again = second.post(f"/v1/trips/offers/{offers[0]['offer_id']}/book")
        assert again.status_code == 404 and trip["id"] in again.json()["detail"]  # booked once

        assert second.post(f"/v1/days/{NEXT}/open").json()["created"] == []  # no second occurrence
        assert second.post("/v1/trips", json={**request, "earliest_pickup": f"{NEXT}T12:00",
                                              "latest_pickup": f"{NEXT}T12:30"}).status_code == 201
        assert len(standing_trips(second, NEXT)) == 1
        with second.app_state.sessions() as session:  # another worker stores a new series for the opened day
            session.add(StandingOrder(id="STO-other-worker", operator="SPO-GROUP", user_ref=None, pickup_lon=HOME["lon"],
                                      pickup_lat=HOME["lat"], dropoff_lon=CLINIC["lon"], dropoff_lat=CLINIC["lat"],
                                      weekdays=[NEXT.isoweekday()], start_date=NEXT.isoformat(), end_date=NEXT.isoformat(),
                                      earliest_pickup_s=14 * 3600, latest_pickup_s=14 * 3600 + 1800, wheelchair=False,
                                      companions=0, skipped=[]))
            session.commit()
        # the next booking of that day brings it in (this process had marked the day opened before the series existed)
        assert second.post("/v1/trips", json={**request, "earliest_pickup": f"{NEXT}T15:00",
                                              "latest_pickup": f"{NEXT}T15:30"}).status_code == 201
        assert len(standing_trips(second, NEXT)) == 2 and "STO-other-worker" in standing_trips(second, NEXT)
        assert second.post(f"/v1/days/{NEXT}/open").json()["created"] == []
    with running(dataset_dir, tmp_path, database_url) as third:
        assert third.post(f"/v1/days/{NEXT}/open").json() == {"date": NEXT.isoformat(), "created": [], "standing_trips": 2}
        with third.app_state.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Trip).where(Trip.service_date == NEXT.isoformat(),
                                                                               Trip.standing_order_id.is_not(None))) == 2


def test_a_crash_between_restore_and_replay_keeps_the_transfer_legs_stored(dataset_dir: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    with running(dataset_dir, tmp_path, url) as first:
        booked = first.post("/v1/trips", json={"pickup": HOME, "dropoff": CLINIC, "earliest_pickup": f"{DAY}T08:00",
                                               "latest_pickup": f"{DAY}T08:30", "wheelchair": True}).json()
        broken = booked["vehicle_id"]
        for event in ({"event_id": "c-1", "type": "picked_up", "at": f"{DAY}T08:00:10", "trip_id": booked["id"]},
                      {"event_id": "c-2", "type": "out_of_service", "at": f"{DAY}T08:00:20", "lon": 76.94, "lat": 43.245}):
            assert first.post(f"/v1/vehicles/{broken}/events", json=event).status_code == 200
        rescue = first.get(f"/v1/trips/{booked['id']}").json()["vehicle_id"]

    def legs() -> list[list[str]]:
        engine = make_engine(url)
        with session_factory(engine)() as session:
            stops = session.get(PlanRoute, (DAY.isoformat(), rescue)).stops
        engine.dispose()
        return [s for s in stops if s[0] == booked["id"] + TRANSFER_SUFFIX]

    assert len(legs()) == 2

    def crash(_app) -> int:  # noqa: ANN001 - the process dies after the restore committed, before the replay
        raise RuntimeError("killed")

    monkeypatch.setattr(operations, "replay_events", crash)
    with pytest.raises(RuntimeError, match="killed"), running(dataset_dir, tmp_path, url):
        pass
    assert len(legs()) == 2  # the restore alone did not overwrite the rescue's stored route without them
    monkeypatch.undo()
    with running(dataset_dir, tmp_path, url) as third:
        state = third.get(f"/v1/trips/{booked['id']}").json()
        assert state["vehicle_id"] == rescue and state["status"] == "on_board"
        stops = third.get(f"/v1/vehicles/{rescue}/manifest?date={DAY}").json()["stops"]
        assert [s["kind"] for s in stops if s["trip_id"] == booked["id"]] == ["pickup", "dropoff"]
