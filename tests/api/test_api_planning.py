"""API: health, keys and the planner reads, for every role (TestClient, SQLite)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from api.storage import create_key


@pytest.fixture(scope="module")
def client(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    results = tmp_path_factory.mktemp("results")
    (results / "plan").mkdir()
    pd.DataFrame({"object_id": ["OBJ-1", "OBJ-2"], "year": [2026, 2027], "district": ["Almaly", "Auezov"],
                  "cost_tg": [1e6, 2e6]}).to_csv(results / "plan" / "plan.csv", index=False)
    (results / "maps").mkdir()
    (results / "maps" / "objects.html").write_text("<html>objects</html>")
    settings = Settings(data_dir=dataset_dir, database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'api.db'}",
                        results_dir=results)
    app = create_app(settings)
    with TestClient(app) as test_client:
        with app.state.sessions() as session:
            keys = {role: create_key(session, role, operator, None, set(app.state.operators))[1]
                    for role, operator in (("admin", None), ("planner", None), ("dispatcher", "SPO-GROUP"))}
        test_client.keys = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
        yield test_client


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] and ready.json()["data"]


def test_openapi_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/v1/gaps/districts" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_keys_only_for_admins(client: TestClient) -> None:
    created = client.post("/v1/keys", json={"role": "dispatcher", "operator": "АМАЛЬ-ИМАН"}, headers=client.keys["admin"])
    assert created.status_code == 201 and created.json()["key"].startswith("ivp_")
    listed = client.get("/v1/keys", headers=client.keys["admin"]).json()
    assert all("key" not in k and "key_hash" not in k for k in listed)
    for role in ("planner", "dispatcher"):
        assert client.get("/v1/keys", headers=client.keys[role]).status_code == 403
    assert client.get("/v1/keys").status_code == 401
    assert client.get("/v1/keys", headers={"Authorization": "Bearer ivp_wrong"}).status_code == 401
    bad = client.post("/v1/keys", json={"role": "dispatcher", "operator": "NOPE"}, headers=client.keys["admin"])
    assert bad.status_code == 422 and "operator" in bad.json()["detail"]
    revoked = client.delete(f"/v1/keys/{created.json()['id']}", headers=client.keys["admin"])
    assert revoked.status_code == 204
    assert client.get("/v1/keys", headers={"Authorization": f"Bearer {created.json()['key']}"}).status_code == 401


def test_gap_summaries_are_aggregated_and_role_limited(client: TestClient) -> None:
    districts = client.get("/v1/gaps/districts", headers=client.keys["planner"])
    assert districts.status_code == 200 and len(districts.json()) == 8
    assert all("household_id" not in row and "welfare_level" not in row for row in districts.json())
    hexes = client.get("/v1/gaps/hexes", headers=client.keys["planner"]).json()
    assert hexes and all(row["households"] >= 5 for row in hexes)
    assert client.get("/v1/gaps/hexes?min_households=1", headers=client.keys["planner"]).status_code == 422
    assert client.get("/v1/gaps/districts", headers=client.keys["dispatcher"]).status_code == 403


def test_plan_and_maps(client: TestClient) -> None:
    plan = client.get("/v1/plan?year=2027", headers=client.keys["planner"]).json()
    assert [row["object_id"] for row in plan] == ["OBJ-2"]
    missing = client.get("/v1/plan/summary", headers=client.keys["planner"])
    assert missing.status_code == 404 and "invaplan" in missing.json()["detail"]
    page = client.get("/v1/maps/objects", headers=client.keys["admin"])
    assert page.status_code == 200 and "objects" in page.text
    assert client.get("/v1/maps/secret", headers=client.keys["admin"]).status_code == 404
    assert client.get("/v1/maps/objects", headers=client.keys["dispatcher"]).status_code == 403


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    headers = {**client.keys["admin"], "content-type": "application/json"}
    malformed = client.post("/v1/keys", content=b"{not json", headers=headers)
    assert malformed.status_code == 422
    wrong_type = client.post("/v1/keys", json={"role": 5}, headers=client.keys["admin"])
    assert wrong_type.status_code == 422 and "role" in wrong_type.json()["detail"]
    huge = client.post("/v1/keys", content=b"{" + b" " * 100_000 + b"}", headers=headers)
    assert huge.status_code == 413
