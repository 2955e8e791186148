"""API dispatch endpoints for every role: live insertion, idempotency, cancel, operator isolation, bad input."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from api.storage import create_key

DAY = (dt.date.today() + dt.timedelta(days=7)).isoformat()  # a future service day
TRIP = {"pickup": {"lon": 76.93, "lat": 43.24}, "dropoff": {"lon": 76.95, "lat": 43.25},
        "earliest_pickup": f"{DAY}T09:00", "latest_pickup": f"{DAY}T09:30", "wheelchair": True}


@pytest.fixture(scope="module")
def client(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(data_dir=dataset_dir, database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'api.db'}",
                        results_dir=tmp_path_factory.mktemp("results"))
    app = create_app(settings)
    with TestClient(app) as test_client:
        with app.state.sessions() as session:
            roles = (("admin", None), ("planner", None), ("spo", "SPO-GROUP"), ("inclusion", "INCLUSION.KZ"))
            keys = {name: create_key(session, "dispatcher" if operator else name, operator, None, set(app.state.operators))[1]
                    for name, operator in roles}
        test_client.keys = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
        yield test_client


def test_create_assigns_a_vehicle_of_the_dispatchers_operator(client: TestClient) -> None:
    created = client.post("/v1/trips", json=TRIP, headers=client.keys["spo"])
    assert created.status_code == 201, created.text
    trip = created.json()
    assert trip["status"] == "assigned" and trip["operator"] == "SPO-GROUP" and trip["vehicle_id"].startswith("SPO-")
    assert f"{DAY}T09:00" <= trip["pickup_eta"] <= f"{DAY}T09:30"
    assert trip["dropoff_eta"] > trip["pickup_eta"]


def test_idempotent_retries_create_one_trip(client: TestClient) -> None:
    headers = {**client.keys["spo"], "Idempotency-Key": "retry-1"}
    first = client.post("/v1/trips", json=TRIP, headers=headers).json()
    again = client.post("/v1/trips", json=TRIP, headers=headers).json()
    assert first["id"] == again["id"]
    listed = client.get(f"/v1/trips?date={DAY}", headers=client.keys["spo"]).json()
    assert sum(t["id"] == first["id"] for t in listed) == 1


def test_operators_are_isolated(client: TestClient) -> None:
    spo_trip = client.post("/v1/trips", json=TRIP, headers=client.keys["spo"]).json()
    assert client.get(f"/v1/trips/{spo_trip['id']}", headers=client.keys["inclusion"]).status_code == 404
    assert client.post(f"/v1/trips/{spo_trip['id']}/cancel", headers=client.keys["inclusion"]).status_code == 404
    assert client.get("/v1/trips?operator=SPO-GROUP", headers=client.keys["inclusion"]).status_code == 403
    listed = client.get("/v1/trips", headers=client.keys["inclusion"]).json()
    assert all(t["operator"] == "INCLUSION.KZ" for t in listed)
    foreign = client.post("/v1/trips", json={**TRIP, "operator": "SPO-GROUP"}, headers=client.keys["inclusion"])
    assert foreign.status_code == 403 and "operator" in foreign.json()["detail"]
    vehicles = client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["inclusion"]).json()
    assert len(vehicles) == 59 and {v["operator"] for v in vehicles} == {"INCLUSION.KZ"}
    assert client.get(f"/v1/trips/{spo_trip['id']}", headers=client.keys["admin"]).status_code == 200


def test_planners_cannot_touch_trips(client: TestClient) -> None:
    assert client.post("/v1/trips", json=TRIP, headers=client.keys["planner"]).status_code == 403
    assert client.get("/v1/trips", headers=client.keys["planner"]).status_code == 403
    assert client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["planner"]).status_code == 403


def test_cancel_frees_the_slot_and_keeps_history(client: TestClient) -> None:
    trip = client.post("/v1/trips", json=TRIP, headers=client.keys["spo"]).json()
    cancelled = client.post(f"/v1/trips/{trip['id']}/cancel", headers={**client.keys["spo"], "Idempotency-Key": "c1"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/trips/{trip['id']}/cancel", headers={**client.keys["spo"], "Idempotency-Key": "c1"})
    assert again.json() == cancelled.json()
    kinds = [e["kind"] for e in client.get(f"/v1/trips/{trip['id']}/history", headers=client.keys["spo"]).json()]
    assert kinds == ["created", "assigned", "cancelled"]
    routes = client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["spo"]).json()
    assert all(f["properties"].get("trip_id") != trip["id"] for v in routes for f in v["route"]["features"])


def test_vehicle_routes_are_geojson(client: TestClient) -> None:
    client.post("/v1/trips", json=TRIP, headers=client.keys["spo"])
    routes = client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["spo"]).json()
    busy = [v for v in routes if v["route"]["features"]]
    assert busy and busy[0]["route"]["type"] == "FeatureCollection"
    kinds = {f["geometry"]["type"] for f in busy[0]["route"]["features"]}
    assert kinds == {"Point", "LineString"}


@pytest.mark.parametrize(
    ("change", "status_code", "field"),
    [
        ({"pickup": {"lon": 80.0, "lat": 43.24}}, 422, "pickup.lon"),
        ({"latest_pickup": f"{DAY}T08:00"}, 422, "latest_pickup"),
        ({"earliest_pickup": "2020-01-01T09:00", "latest_pickup": "2020-01-01T09:30"}, 422, "latest_pickup"),
        ({"operator": "NOPE"}, 403, "operator"),
        ({"wheelchair": "maybe"}, 422, "wheelchair"),
        ({"companions": -1}, 422, "companions"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_trips_are_4xx_naming_the_field(client: TestClient, change: dict, status_code: int, field: str) -> None:
    response = client.post("/v1/trips", json={**TRIP, **change}, headers=client.keys["spo"])
    assert response.status_code == status_code
    assert field in response.json()["detail"]


def test_admin_books_for_any_operator_and_unservable_trips_are_stored_with_reason(client: TestClient) -> None:
    booked = client.post("/v1/trips", json={**TRIP, "operator": "АМАЛЬ-ИМАН"}, headers=client.keys["admin"]).json()
    assert booked["operator"] == "АМАЛЬ-ИМАН" and booked["vehicle_id"].startswith("AMI-")
    crowd = client.post("/v1/trips", json={**TRIP, "wheelchair": False, "companions": 4}, headers=client.keys["spo"])
    assert crowd.status_code == 201 and crowd.json()["status"] == "unserved"
    assert "more than any vehicle holds" in crowd.json()["reason"]


def test_reoptimise_job(client: TestClient) -> None:
    assert client.post("/v1/reoptimise", json={"date": DAY, "time_limit_s": 2}, headers=client.keys["spo"]).status_code == 403
    job = client.post("/v1/reoptimise", json={"date": DAY, "time_limit_s": 2}, headers=client.keys["admin"])
    assert job.status_code == 202
    for _ in range(100):
        state = client.get(f"/v1/jobs/{job.json()['id']}", headers=client.keys["admin"]).json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["result"]["served_after"] >= state["result"]["served_before"]
