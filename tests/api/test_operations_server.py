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
