"""The real server (uvicorn subprocess) killed with SIGKILL mid-day: acknowledged vehicle events survive and are replayed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from server_process import Server

DAY = (dt.date.today() + dt.timedelta(days=7)).isoformat()


def test_kill_9_keeps_acknowledged_events_and_replays_them_into_the_plan(dataset_dir: Path, database) -> None:
    url, key = database
    headers = {"Authorization": f"Bearer {key}"}
    env = {"INVAPLAN_CLOCK": f"replay:{DAY}T09:00:1"}
    server = Server(dataset_dir, url, env)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            trip = client.post("/v1/trips", json={"pickup": {"lon": 76.93, "lat": 43.24}, "dropoff": {"lon": 76.95, "lat": 43.25},
                                                  "earliest_pickup": f"{DAY}T09:00", "latest_pickup": f"{DAY}T09:30",
                                                  "wheelchair": False}).json()
            vehicle = trip["vehicle_id"]
            events = f"/v1/vehicles/{vehicle}/events"
            pickup = {"event_id": "dev-1", "type": "picked_up", "at": f"{DAY}T09:00:30", "trip_id": trip["id"]}
            assert client.post(events, json=pickup).status_code == 200
    finally:
        server.kill()  # SIGKILL right after the acknowledgement
    restarted = Server(dataset_dir, url, env)  # the same replayed day, from the same start
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            assert client.get(f"/v1/trips/{trip['id']}").json()["status"] == "on_board"
            again = client.post(events, json=pickup)
            assert again.status_code == 200 and again.json()["duplicate"] is True
            sheet = client.get(f"/v1/vehicles/{vehicle}/manifest?date={DAY}").json()
            assert [(s["kind"], s["status"]) for s in sheet["stops"] if s["trip_id"] == trip["id"]] == [
                ("pickup", "done"), ("dropoff", "pending")]  # the replay locked the pickup again
            drop = client.post(events, json={"event_id": "dev-2", "type": "dropped_off", "at": f"{DAY}T09:01:30",
                                             "trip_id": trip["id"]})
            assert drop.status_code == 200, drop.text  # 409 "before it was picked up" without the replay
            assert client.get(f"/v1/trips/{trip['id']}").json()["status"] == "completed"
    finally:
        restarted.stop()


def test_kill_9_after_a_breakdown_keeps_the_transfer_of_the_passenger_on_board(dataset_dir: Path, database) -> None:
    url, key = database
    headers = {"Authorization": f"Bearer {key}"}
    env = {"INVAPLAN_CLOCK": f"replay:{DAY}T09:00:1"}
    server = Server(dataset_dir, url, env)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            trip = client.post("/v1/trips", json={"pickup": {"lon": 76.93, "lat": 43.24}, "dropoff": {"lon": 76.95, "lat": 43.25},
                                                  "earliest_pickup": f"{DAY}T09:00", "latest_pickup": f"{DAY}T09:30",
                                                  "wheelchair": True, "user_ref": "R-1"}).json()
            broken = trip["vehicle_id"]
            elsewhere = client.post("/v1/trips", json={"pickup": {"lon": 76.96, "lat": 43.26}, "dropoff": {"lon": 76.95, "lat": 43.25},
                                                       "earliest_pickup": f"{DAY}T09:00", "latest_pickup": f"{DAY}T09:20",
                                                       "wheelchair": True}).json()
            assert elsewhere["vehicle_id"] not in (None, broken)  # a second vehicle on the road: the rescue is a choice
            events = f"/v1/vehicles/{broken}/events"
            assert client.post(events, json={"event_id": "k-1", "type": "picked_up", "at": f"{DAY}T09:00:10",
                                              "trip_id": trip["id"]}).status_code == 200
            down = client.post(events, json={"event_id": "k-2", "type": "out_of_service", "at": f"{DAY}T09:00:20",
                                             "lon": 76.94, "lat": 43.245})
            assert down.status_code == 200, down.text
            before = client.get(f"/v1/trips/{trip['id']}").json()
            rescue = before["vehicle_id"]
            assert before["status"] == "on_board" and rescue not in (None, broken)
            legs = [(s["kind"], s["lon"], s["lat"]) for s in client.get(
                f"/v1/vehicles/{rescue}/manifest?date={DAY}").json()["stops"] if s["trip_id"] == trip["id"]]
            rescued = f"/v1/vehicles/{rescue}/events"
            picked = client.post(rescued, json={"event_id": "r-1", "type": "picked_up", "at": f"{DAY}T09:00:40",
                                                "trip_id": trip["id"]})
            assert picked.status_code == 200, picked.text
    finally:
        server.kill()
    restarted = Server(dataset_dir, url, env)
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            after = client.get(f"/v1/trips/{trip['id']}").json()
            assert after["status"] == "on_board" and after["vehicle_id"] == rescue and after["reason"] is None, after
            sheet = client.get(f"/v1/vehicles/{rescue}/manifest?date={DAY}").json()
            mine = [s for s in sheet["stops"] if s["trip_id"] == trip["id"]]
            assert [(s["kind"], s["lon"], s["lat"]) for s in mine] == legs  # the same transfer leg, its pickup replayed
            assert "transfer" in mine[0]["notes"] and [s["status"] for s in mine] == ["done", "pending"]
            gone = client.get(f"/v1/vehicles/{broken}/manifest?date={DAY}").json()["stops"]
            assert [(s["kind"], s["status"]) for s in gone if s["trip_id"] == trip["id"]] == [
                ("pickup", "done"), ("dropoff", "done")]  # left the broken vehicle where it stood
            assert client.get(f"/v1/trips?date={DAY}&status=unserved").json() == []
            assert client.post(rescued, json={"event_id": "r-1", "type": "picked_up", "at": f"{DAY}T09:00:40",
                                               "trip_id": trip["id"]}).json()["duplicate"] is True
            dropped = client.post(rescued, json={"event_id": "r-2", "type": "dropped_off", "at": f"{DAY}T09:00:50",
                                                 "trip_id": trip["id"]})
            assert dropped.status_code == 200, dropped.text
            assert client.get(f"/v1/trips/{trip['id']}").json()["status"] == "completed"
    finally:
        restarted.stop()
