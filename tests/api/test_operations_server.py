"""The real server (uvicorn subprocess) killed with SIGKILL mid-day: acknowledged vehicle events survive and are replayed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import httpx

from api.db import make_engine, session_factory
from api.models import PlanRoute
from api.storage import create_key
from server_process import Server

DAY = (dt.date.today() + dt.timedelta(days=7)).isoformat()
ENV = {"INVAPLAN_CLOCK": f"replay:{DAY}T09:00:1"}  # the replayed day from 09:00 at real speed (a restart starts there again)
HOME, CLINIC = {"lon": 76.93, "lat": 43.24}, {"lon": 76.95, "lat": 43.25}


def trip(start: str, end: str, wheelchair: bool = True, pickup: dict = HOME, **more) -> dict:
    """A trip request on DAY from ``pickup`` to the clinic, pickup between ``start`` and ``end`` (HH:MM)."""
    return {"pickup": pickup, "dropoff": CLINIC, "earliest_pickup": f"{DAY}T{start}", "latest_pickup": f"{DAY}T{end}",
            "wheelchair": wheelchair, **more}


def test_kill_9_keeps_acknowledged_events_and_replays_them_into_the_plan(dataset_dir: Path, database) -> None:
    url, key = database
    headers = {"Authorization": f"Bearer {key}"}
    server = Server(dataset_dir, url, ENV)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            booked = client.post("/v1/trips", json=trip("09:00", "09:30", wheelchair=False)).json()
            vehicle = booked["vehicle_id"]
            events = f"/v1/vehicles/{vehicle}/events"
            pickup = {"event_id": "dev-1", "type": "picked_up", "at": f"{DAY}T09:00:30", "trip_id": booked["id"]}
            assert client.post(events, json=pickup).status_code == 200
    finally:
        server.kill()  # SIGKILL right after the acknowledgement
    restarted = Server(dataset_dir, url, ENV)  # the same replayed day, from the same start
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            assert client.get(f"/v1/trips/{booked['id']}").json()["status"] == "on_board"
            again = client.post(events, json=pickup)
            assert again.status_code == 200 and again.json()["duplicate"] is True
            sheet = client.get(f"/v1/vehicles/{vehicle}/manifest?date={DAY}").json()
            assert [(s["kind"], s["status"]) for s in sheet["stops"] if s["trip_id"] == booked["id"]] == [
                ("pickup", "done"), ("dropoff", "pending")]  # the replay locked the pickup again
            drop = client.post(events, json={"event_id": "dev-2", "type": "dropped_off", "at": f"{DAY}T09:01:30",
                                             "trip_id": booked["id"]})
            assert drop.status_code == 200, drop.text  # 409 "before it was picked up" without the replay
            assert client.get(f"/v1/trips/{booked['id']}").json()["status"] == "completed"
    finally:
        restarted.stop()


def test_kill_9_after_a_breakdown_keeps_the_transfer_of_the_passenger_on_board(dataset_dir: Path, database) -> None:
    url, key = database
    headers = {"Authorization": f"Bearer {key}"}
    server = Server(dataset_dir, url, ENV)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            booked = client.post("/v1/trips", json=trip("09:00", "09:30", user_ref="R-1")).json()
            broken = booked["vehicle_id"]
            elsewhere = client.post("/v1/trips", json=trip("09:00", "09:20", pickup={"lon": 76.96, "lat": 43.26})).json()
            assert elsewhere["vehicle_id"] not in (None, broken)  # a second vehicle on the road: the rescue is a choice
            events = f"/v1/vehicles/{broken}/events"
            assert client.post(events, json={"event_id": "k-1", "type": "picked_up", "at": f"{DAY}T09:00:10",
                                              "trip_id": booked["id"]}).status_code == 200
            down = client.post(events, json={"event_id": "k-2", "type": "out_of_service", "at": f"{DAY}T09:00:20",
                                             "lon": 76.94, "lat": 43.245})
            assert down.status_code == 200, down.text
            before = client.get(f"/v1/trips/{booked['id']}").json()
            rescue = before["vehicle_id"]
            assert before["status"] == "on_board" and rescue not in (None, broken)
            legs = [(s["kind"], s["lon"], s["lat"]) for s in client.get(
                f"/v1/vehicles/{rescue}/manifest?date={DAY}").json()["stops"] if s["trip_id"] == booked["id"]]
            rescued = f"/v1/vehicles/{rescue}/events"
            picked = client.post(rescued, json={"event_id": "r-1", "type": "picked_up", "at": f"{DAY}T09:00:40",
                                                "trip_id": booked["id"]})
            assert picked.status_code == 200, picked.text
    finally:
        server.kill()
    restarted = Server(dataset_dir, url, ENV)
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            after = client.get(f"/v1/trips/{booked['id']}").json()
            assert after["status"] == "on_board" and after["vehicle_id"] == rescue and after["reason"] is None, after
            sheet = client.get(f"/v1/vehicles/{rescue}/manifest?date={DAY}").json()
            mine = [s for s in sheet["stops"] if s["trip_id"] == booked["id"]]
            assert [(s["kind"], s["lon"], s["lat"]) for s in mine] == legs  # the same transfer leg, its pickup replayed
            assert "transfer" in mine[0]["notes"] and [s["status"] for s in mine] == ["done", "pending"]
            gone = client.get(f"/v1/vehicles/{broken}/manifest?date={DAY}").json()["stops"]
            assert [(s["kind"], s["status"]) for s in gone if s["trip_id"] == booked["id"]] == [
                ("pickup", "done"), ("dropoff", "done")]  # left the broken vehicle where it stood
            assert client.get(f"/v1/trips?date={DAY}&status=unserved").json() == []
        engine = make_engine(url)  # stored too: a second restart finds the legs where the first one put them back
        with session_factory(engine)() as session:
            stored = session.get(PlanRoute, (DAY, rescue)).stops
        engine.dispose()
        assert [[booked["id"] + "~transfer", "pickup"], [booked["id"] + "~transfer", "dropoff"]] == [
            s for s in stored if s[0].startswith(booked["id"])]
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            assert client.post(rescued, json={"event_id": "r-1", "type": "picked_up", "at": f"{DAY}T09:00:40",
                                               "trip_id": booked["id"]}).json()["duplicate"] is True
            dropped = client.post(rescued, json={"event_id": "r-2", "type": "dropped_off", "at": f"{DAY}T09:00:50",
                                                 "trip_id": booked["id"]})
            assert dropped.status_code == 200, dropped.text
            assert client.get(f"/v1/trips/{booked['id']}").json()["status"] == "completed"
    finally:
        restarted.stop()


class Listener:
    """Reads a server-sent event stream in a thread: the ``(event, data)`` pairs received so far."""

    def __init__(self, url: str, key: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self._thread = threading.Thread(target=self._read, args=(url, key), daemon=True)
        self._thread.start()

    def _read(self, url: str, key: str) -> None:
        try:
            with httpx.stream("GET", url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as answer:
                kind = None
                for line in answer.iter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        self.messages.append((kind, json.loads(line.removeprefix("data: "))))
        except httpx.RemoteProtocolError:  # the server stopped with the stream open
            return

    def wait(self, check, what: str, timeout_s: float = 20.0) -> dict:  # noqa: ANN001 - predicate on one message
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((data for kind, data in list(self.messages) if check(kind, data)), None)
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {what} in {self.messages}")


def test_the_event_stream_pushes_bookings_and_vehicle_events_to_their_operator_only(dataset_dir: Path, database) -> None:
    url, key = database
    engine = make_engine(url)
    with session_factory(engine)() as session:
        other = create_key(session, "dispatcher", "INCLUSION.KZ", None, {"INCLUSION.KZ"})[1]
        device = create_key(session, "device", None, None, set(), "SPO-001", {"SPO-001": "SPO-GROUP"})[1]
    engine.dispose()
    server = Server(dataset_dir, url, ENV)
    try:
        stream = f"{server.url}/v1/events/stream?date={DAY}"
        assert httpx.get(stream).status_code == 401
        assert httpx.get(stream, headers={"Authorization": f"Bearer {device}"}).status_code == 403
        for bad in ("2026-13-01", "tomorrow", "1" * 400):
            answer = httpx.get(f"{server.url}/v1/events/stream?date={bad}", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 422 and "date" in answer.json()["detail"]
        spo, inclusion = Listener(stream, key), Listener(stream, other)
        hello = spo.wait(lambda kind, _: kind == "hello", "hello")
        inclusion.wait(lambda kind, _: kind == "hello", "hello")
        assert hello["date"] == DAY and hello["now"].startswith(f"{DAY}T09:0")
        body = trip("10:00", "10:30")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            mine = client.post("/v1/trips", json=body, headers={"Authorization": f"Bearer {key}"}).json()
            pushed = spo.wait(lambda kind, data: kind == "plan" and mine["id"] in data["trips"], "the booking")
            assert mine["vehicle_id"] in pushed["vehicles"] and pushed["version"] > hello["version"]
            moved = client.post(f"/v1/vehicles/{mine['vehicle_id']}/events", headers={"Authorization": f"Bearer {key}"},
                                json={"event_id": "sse-1", "type": "position", "at": f"{DAY}T09:00:05",
                                      "lon": 76.92, "lat": 43.24})
            assert moved.status_code == 200, moved.text
            spo.wait(lambda kind, data: kind == "plan" and data["version"] == moved.json()["plan_version"]
                     and mine["vehicle_id"] in data["vehicles"], "the vehicle event")
            theirs = client.post("/v1/trips", json=body, headers={"Authorization": f"Bearer {other}"}).json()
            inclusion.wait(lambda kind, data: kind == "plan" and theirs["id"] in data["trips"], "the other operator's booking")
        seen = {kind: [] for kind in ("spo", "inclusion")}
        for name, listener in (("spo", spo), ("inclusion", inclusion)):
            for kind, data in listener.messages:
                if kind == "plan":
                    seen[name] += data["trips"] + data["vehicles"]
        assert theirs["id"] not in seen["spo"] and not any(v.startswith("INC-") for v in seen["spo"])
        assert mine["id"] not in seen["inclusion"] and not any(v.startswith("SPO-") for v in seen["inclusion"])
    finally:
        server.stop()
