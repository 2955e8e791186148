"""The real server (uvicorn subprocess): concurrent creations with retries, and kill -9 durability."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from server_process import Server

DAY = (dt.date.today() + dt.timedelta(days=7)).isoformat()


def trip_body(k: int) -> dict:
    minute = 8 * 60 + (k * 7) % 600  # spread over 08:00-18:00
    start = dt.datetime.fromisoformat(f"{DAY}T00:00") + dt.timedelta(minutes=minute)
    return {"pickup": {"lon": 76.90 + (k % 13) * 0.004, "lat": 43.22 + (k % 11) * 0.004},
            "dropoff": {"lon": 76.93 + (k % 7) * 0.005, "lat": 43.25 - (k % 5) * 0.004},
            "earliest_pickup": start.isoformat(), "latest_pickup": (start + dt.timedelta(minutes=30)).isoformat(),
            "wheelchair": k % 3 == 0}


def test_concurrent_creations_with_retries_lose_nothing_and_duplicate_nothing(dataset_dir: Path, database) -> None:
    url, key = database
    server = Server(dataset_dir, url)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        jobs = [(k, f"key-{k}") for k in range(100)] * 2  # every request sent twice with the same key
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client, ThreadPoolExecutor(32) as pool:
            responses = list(pool.map(lambda job: (job[1], client.post("/v1/trips", json=trip_body(job[0]),
                                                                      headers={"Idempotency-Key": job[1]})), jobs))
            assert all(r.status_code < 500 for _, r in responses), [r.text for _, r in responses if r.status_code >= 500][:3]
            assert all(r.status_code == 201 for _, r in responses)
            ids: dict[str, set[str]] = {}
            for idem, response in responses:
                ids.setdefault(idem, set()).add(response.json()["id"])
            assert all(len(v) == 1 for v in ids.values())  # exactly one trip per key
            stored = client.get(f"/v1/trips?date={DAY}&limit=1000").json()
            assert sorted(t["id"] for t in stored) == sorted(next(iter(v)) for v in ids.values())  # none lost, none extra
    finally:
        server.stop()


def test_kill_9_loses_no_acknowledged_trip(dataset_dir: Path, database) -> None:
    url, key = database
    headers = {"Authorization": f"Bearer {key}"}
    server = Server(dataset_dir, url)
    acknowledged: list[str] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            for k in range(10_000):
                if stop.is_set():
                    return
                try:
                    response = client.post("/v1/trips", json=trip_body(k))
                except httpx.HTTPError:
                    return
                if 200 <= response.status_code < 300:
                    acknowledged.append(response.json()["id"])

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL in the middle of the stream
    stop.set()
    writer.join(timeout=30)
    assert len(acknowledged) >= 40
    restarted = Server(dataset_dir, url)
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            for trip_id in acknowledged:
                assert client.get(f"/v1/trips/{trip_id}").status_code == 200, trip_id
            vehicles = client.get(f"/v1/vehicles?date={DAY}").json()
            planned = {f["properties"]["trip_id"] for v in vehicles for f in v["route"]["features"] if "trip_id" in f["properties"]}
            assigned = [t["id"] for t in client.get(f"/v1/trips?date={DAY}&status=assigned&limit=1000").json()]
            assert set(assigned) <= planned  # the live plan was rebuilt from storage
    finally:
        restarted.stop()
