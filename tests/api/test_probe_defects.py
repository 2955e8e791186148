"""The defects an outside probe of the running service found (issue 16), one test each.

Privacy (dispatch map for planners, small cells), time zones, idempotency,
body limits and authentication order, integer bounds, loose input, the
booking horizon, durability of the accepted plan, transport headers, failed
authentication, body-less POSTs, job states, JSON error fields and offline docs.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from api.db import make_engine, migrate, session_factory
from api.main import create_app
from api.settings import Settings
from api.storage import create_key
from server_process import Server

TODAY = dt.date.today()
DAY = (TODAY + dt.timedelta(days=7)).isoformat()
TRIP = {"pickup": {"lon": 76.93, "lat": 43.24}, "dropoff": {"lon": 76.95, "lat": 43.25},
        "earliest_pickup": f"{DAY}T09:00", "latest_pickup": f"{DAY}T09:30", "wheelchair": True}
DISPATCH_HTML = "<html>Stop 1 of SPO-001 (SPO-GROUP) Request R-1 Pick-up at 09:05 [76.93001, 43.24001]</html>"


def _app(dataset_dir: Path, tmp: Path, **overrides) -> tuple:  # noqa: ANN003 - Settings fields
    results = tmp / "results"
    (results / "maps").mkdir(parents=True, exist_ok=True)
    (results / "maps" / "dispatch.html").write_text(DISPATCH_HTML)
    (results / "maps" / "gaps.html").write_text("<html>gaps</html>")
    settings = Settings(data_dir=dataset_dir, database_url=f"sqlite:///{tmp / 'api.db'}", results_dir=results, **overrides)
    return create_app(settings), settings


def _keys(app) -> dict[str, dict[str, str]]:  # noqa: ANN001 - FastAPI app
    with app.state.sessions() as session:
        roles = (("admin", None), ("planner", None), ("spo", "SPO-GROUP"))
        raw = {name: create_key(session, "dispatcher" if operator else name, operator, None, set(app.state.operators))[1]
               for name, operator in roles}
    return {name: {"Authorization": f"Bearer {key}"} for name, key in raw.items()}


@pytest.fixture(scope="module")
def client(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    app, _ = _app(dataset_dir, tmp_path_factory.mktemp("probe"))
    with TestClient(app) as test_client:
        test_client.keys = _keys(app)
        yield test_client


# ----------------------------------------------------------------- privacy
def test_planners_never_get_exact_dispatch_stops(client: TestClient) -> None:
    page = client.get("/v1/maps/dispatch", headers=client.keys["planner"])
    assert page.status_code == 403 and "aggregated" in page.json()["detail"]
    assert client.get("/v1/maps/dispatch", headers=client.keys["admin"]).status_code == 200


def test_planners_see_dispatch_aggregated_by_cell_with_small_cells_withheld(client: TestClient) -> None:
    for k in range(6):
        assert client.post("/v1/trips", json={**TRIP, "pickup": {"lon": 76.93 + k * 1e-4, "lat": 43.24}},
                           headers=client.keys["spo"]).status_code == 201
    client.post("/v1/trips", json={**TRIP, "pickup": {"lon": 76.99, "lat": 43.30}}, headers=client.keys["spo"])
    cells = client.get(f"/v1/dispatch/cells?date={DAY}", headers=client.keys["planner"])
    assert cells.status_code == 200, cells.text
    rows = cells.json()
    assert rows and all(r["requests"] >= 5 for r in rows)
    assert all(set(r) == {"h3", "requests", "served", "unserved"} for r in rows)
    assert sum(r["requests"] for r in rows) < 7  # the lone request's cell is withheld
    assert client.get(f"/v1/dispatch/cells?date={DAY}", headers=client.keys["spo"]).status_code == 403


# ---------------------------------------------------------------- time zones
def test_aware_and_naive_times_follow_one_rule(client: TestClient) -> None:
    mixed = client.post("/v1/trips", json={**TRIP, "earliest_pickup": f"{DAY}T09:00+05:00", "latest_pickup": f"{DAY}T09:30"},
                        headers=client.keys["spo"])
    assert mixed.status_code == 201, mixed.text
    inverted = client.post("/v1/trips", json={**TRIP, "earliest_pickup": f"{DAY}T23:00+05:00", "latest_pickup": f"{DAY}T19:30Z"},
                           headers=client.keys["spo"])
    assert inverted.status_code == 422 and "latest_pickup" in inverted.text
    utc = client.post("/v1/trips", json={**TRIP, "earliest_pickup": f"{DAY}T05:00:00Z", "latest_pickup": f"{DAY}T05:30:00Z"},
                      headers=client.keys["spo"])
    assert utc.status_code == 201, utc.text
    trip = utc.json()
    assert trip["earliest_pickup"] == f"{DAY}T10:00:00+05:00"  # 05:00 UTC is 10:00 in Almaty
    assert dt.datetime.fromisoformat(trip["pickup_eta"]).utcoffset() == dt.timedelta(hours=5)
    events = client.get(f"/v1/trips/{trip['id']}/history", headers=client.keys["spo"]).json()
    at = dt.datetime.fromisoformat(events[0]["at"])
    assert at.utcoffset() == dt.timedelta(hours=5)
    assert abs((at - dt.datetime.now(dt.UTC)).total_seconds()) < 120
    schema = client.get("/openapi.json").json()
    assert "Asia/Almaty" in str(schema["components"]["schemas"]["TripCreate"])


# --------------------------------------------------------------- idempotency
def test_idempotency_key_reused_with_another_body_or_empty_is_refused(client: TestClient) -> None:
    headers = {**client.keys["spo"], "Idempotency-Key": "probe-1"}
    assert client.post("/v1/trips", json=TRIP, headers=headers).status_code == 201
    other = client.post("/v1/trips", json={**TRIP, "wheelchair": False}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    empty = client.post("/v1/trips", json=TRIP, headers={**client.keys["spo"], "Idempotency-Key": ""})
    assert empty.status_code == 422 and "Idempotency-Key" in empty.text


# ------------------------------------------------------ body limit and auth
def _raw_post(url: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> int:
    """Status code of a chunked POST whose Content-Length header lies."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {parsed.hostname}", "Content-Type: application/json",
                "Transfer-Encoding: chunked", *[f"{k}: {v}" for k, v in headers.items()]]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before reading everything
        answer = sock.recv(65536).decode(errors="replace")
    return int(answer.split(" ", 2)[1])


def test_chunked_bodies_are_limited_by_the_bytes_read_and_authenticated_first(dataset_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chunked.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "admin", None, None, set())
    engine.dispose()
    server = Server(dataset_dir, url)
    try:
        big = [b"[" + b"1," * 40_000 + b"1]"] * 3  # about 240 kB, over the 64 kB limit
        assert _raw_post(server.url, "/v1/keys", {"Authorization": f"Bearer {key}"}, big) == 413
        assert _raw_post(server.url, "/v1/keys", {"Authorization": f"Bearer {key}", "Content-Length": "10"}, big) in (400, 413)
        assert _raw_post(server.url, "/v1/keys", {}, [b"{not json"]) == 401  # no key: refused before parsing
    finally:
        server.stop()


# ------------------------------------------------------------- integer bounds
def test_huge_integers_are_4xx_not_500(client: TestClient) -> None:
    assert client.get("/v1/trips?offset=9223372036854775808", headers=client.keys["admin"]).status_code == 422
    assert client.delete("/v1/keys/9223372036854775808", headers=client.keys["admin"]).status_code == 422
    assert client.get("/v1/plan?year=9223372036854775808", headers=client.keys["planner"]).status_code == 422


# ---------------------------------------------------------------- loose input
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"wheelchair": "yes"}, "wheelchair"),
        ({"companions": "2"}, "companions"),
        ({"pickup": {"lon": "76.93", "lat": 43.24}}, "pickup.lon"),
        ({"earliest_pickup": DAY, "latest_pickup": DAY}, "earliest_pickup"),
        ({"earliest_pickup": "9999-01-01T09:00", "latest_pickup": "9999-01-01T09:30"}, "earliest_pickup"),
    ],
)
def test_loose_input_is_refused_naming_the_field(client: TestClient, change: dict, field: str) -> None:
    response = client.post("/v1/trips", json={**TRIP, **change}, headers=client.keys["spo"])
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


# ----------------------------------------------------------------- durability
def test_a_restart_restores_the_accepted_plan(dataset_dir: Path, tmp_path: Path) -> None:
    app, settings = _app(dataset_dir, tmp_path)
    # three companions: two such trips never share a vehicle (4 seats at most); a 5-minute window: nor follow each other
    long_trip = {**TRIP, "pickup": {"lon": 76.88, "lat": 43.22}, "dropoff": {"lon": 76.97, "lat": 43.29}, "companions": 3,
                 "latest_pickup": f"{DAY}T09:05"}
    with TestClient(app) as first:
        keys = _keys(app)
        earlier = first.post("/v1/trips", json=long_trip, headers=keys["spo"]).json()
        later = first.post("/v1/trips", json=long_trip, headers=keys["spo"]).json()
        assert earlier["vehicle_id"] and later["vehicle_id"] and later["vehicle_id"] != earlier["vehicle_id"]
        # the later trip keeps its vehicle when the earlier one is cancelled; replaying only the later
        # trip into an empty plan would give it the earlier one's (cheapest) vehicle instead
        assert first.post(f"/v1/trips/{earlier['id']}/cancel", headers=keys["spo"]).status_code == 200
        before = first.get(f"/v1/vehicles?date={DAY}", headers=keys["admin"]).json()
    with TestClient(create_app(settings)) as second:
        after = second.get(f"/v1/vehicles?date={DAY}", headers=keys["admin"]).json()
        restored = second.get(f"/v1/trips/{later['id']}", headers=keys["spo"]).json()
        history = second.get(f"/v1/trips/{later['id']}/history", headers=keys["spo"]).json()

    def stops(routes: list[dict]) -> dict[str, list[tuple[str, str]]]:
        return {v["vehicle_id"]: [(f["properties"]["trip_id"], f["properties"]["kind"]) for f in v["route"]["features"]
                                  if "trip_id" in f["properties"]] for v in routes}

    assert stops(after) == stops(before)
    assert restored["vehicle_id"] == later["vehicle_id"]
    assert [e["kind"] for e in history] == ["created", "assigned"]  # no silent reassignment on restart


# ------------------------------------------------------------------ transport
def test_security_headers(client: TestClient) -> None:
    trips = client.get("/v1/trips", headers=client.keys["spo"])
    assert trips.headers["x-content-type-options"] == "nosniff"
    assert trips.headers["cache-control"] == "no-store"
    assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"
    page = client.get("/v1/maps/gaps", headers=client.keys["planner"])
    assert page.status_code == 200
    assert "default-src" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"


def test_failed_authentication_is_rate_limited_per_address(dataset_dir: Path, tmp_path: Path) -> None:
    app, _ = _app(dataset_dir, tmp_path, auth_failures_per_minute=5)
    with TestClient(app) as limited:
        good = _keys(app)["admin"]
        codes = [limited.get("/v1/keys", headers={"Authorization": "Bearer ivp_guess"}).status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
        blocked = limited.get("/v1/keys", headers=good)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_body_less_posts_need_no_content_length(client: TestClient) -> None:
    trip = client.post("/v1/trips", json=TRIP, headers=client.keys["spo"]).json()
    request = client.build_request("POST", f"/v1/trips/{trip['id']}/cancel", headers=client.keys["spo"])
    del request.headers["content-length"]
    response = client.send(request)
    assert response.status_code == 200, response.text


def test_a_running_job_says_running(client: TestClient) -> None:
    job = client.post("/v1/reoptimise", json={"date": DAY, "time_limit_s": 3}, headers=client.keys["admin"]).json()
    seen = set()
    for _ in range(200):
        seen.add(client.get(f"/v1/jobs/{job['id']}", headers=client.keys["admin"]).json()["status"])
        if seen & {"done", "failed"}:
            break
        time.sleep(0.05)
    assert "running" in seen and "done" in seen, seen


def test_json_decode_errors_name_the_body(client: TestClient) -> None:
    response = client.post("/v1/trips", content=b'{"pickup": ', headers={**client.keys["spo"], "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert "position" in response.json()["detail"]


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page)
    assert {Path(a).name for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_trip_etas_follow_the_live_plan(client: TestClient) -> None:
    """Later insertions shift the times of stops already on a route; a trip read shows where its vehicle is now planned."""
    ids = [client.post("/v1/trips", json={**TRIP, "pickup": {"lon": 76.92 + k * 0.003, "lat": 43.24},
                                          "earliest_pickup": f"{DAY}T08:{40 + k:02d}", "latest_pickup": f"{DAY}T09:30"},
                       headers=client.keys["spo"]).json()["id"] for k in range(8)]
    routes = client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["spo"]).json()
    planned = {(f["properties"]["trip_id"], f["properties"]["kind"]): f["properties"]["time_s"]
               for v in routes for f in v["route"]["features"] if "trip_id" in f["properties"]}
    listed = {t["id"]: t for t in client.get(f"/v1/trips?date={DAY}&limit=1000", headers=client.keys["spo"]).json()}
    for trip_id in ids:
        trip = client.get(f"/v1/trips/{trip_id}", headers=client.keys["spo"]).json()
        assert listed[trip_id]["pickup_eta"] == trip["pickup_eta"]
        if trip["status"] == "assigned":
            eta = dt.datetime.fromisoformat(trip["pickup_eta"])
            seconds = (eta - eta.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
            assert abs(seconds - planned[(trip_id, "pickup")]) <= 0.55  # both rounded: to the second, to 0.1 s
