"""Dispatch in operation through the API: vehicle events, trip states, manifests, offers, bad input.

The server's clock is a replayed day (``api.clock.set_clock``), moved forward by the tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.clock import set_clock
from api.main import create_app
from api.settings import Settings
from api.storage import create_key
from routing.checker import check_solution

DAY = (dt.date.today() + dt.timedelta(days=7)).isoformat()
HOME, CLINIC = {"lon": 76.93, "lat": 43.24}, {"lon": 76.95, "lat": 43.25}


def at(clock: str) -> str:
    """``HH:MM[:SS]`` on DAY as an Almaty date-time."""
    return f"{DAY}T{clock}"


def trip(start: str, end: str, pickup: dict = HOME, dropoff: dict = CLINIC, **more) -> dict:
    return {"pickup": pickup, "dropoff": dropoff, "earliest_pickup": at(start), "latest_pickup": at(end),
            "wheelchair": True, **more}


@pytest.fixture(scope="module")
def client(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(data_dir=dataset_dir, database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'ops.db'}",
                        results_dir=tmp_path_factory.mktemp("results"), clock=f"replay:{at('07:00')}:1")
    app = create_app(settings)
    with TestClient(app) as test_client:
        with app.state.sessions() as session:
            keys = {name: create_key(session, role, operator, None, set(app.state.operators))[1]
                    for name, role, operator in (("admin", "admin", None), ("spo", "dispatcher", "SPO-GROUP"),
                                                 ("inclusion", "dispatcher", "INCLUSION.KZ"))}
        test_client.keys = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
        test_client.app_state = app.state
        yield test_client
    set_clock("")


def plan_is_feasible(client: TestClient, day: str = DAY) -> None:
    plan = client.app_state.desk.plan(dt.date.fromisoformat(day))
    assert check_solution(plan.problem(), plan.solution()) == []


def device(client: TestClient, vehicle_id: str) -> dict:
    made = client.post("/v1/keys", json={"role": "device", "vehicle_id": vehicle_id}, headers=client.keys["admin"])
    assert made.status_code == 201, made.text
    assert made.json()["vehicle_id"] == vehicle_id and made.json()["operator"] == client.app_state.desk.operator_of[vehicle_id]
    return {"Authorization": f"Bearer {made.json()['key']}"}


def event(client: TestClient, vehicle_id: str, headers: dict, event_id: str, kind: str, when: str, **more):  # noqa: ANN201
    return client.post(f"/v1/vehicles/{vehicle_id}/events", headers=headers,
                       json={"event_id": event_id, "type": kind, "at": at(when), **more})


def test_clock_is_the_replayed_day(client: TestClient) -> None:
    set_clock(f"replay:{at('08:00')}:1")
    answer = client.get("/v1/clock", headers=client.keys["spo"]).json()
    assert answer["now"].startswith(at("08:00")) and answer["now"].endswith("+05:00") and answer["speed"] == 1.0


def test_a_trip_runs_through_its_events_and_the_plan_follows(client: TestClient) -> None:
    set_clock(f"replay:{at('08:00')}:1")
    booked = client.post("/v1/trips", json=trip("09:00", "09:30", user_ref="R-1"), headers=client.keys["spo"]).json()
    vehicle = booked["vehicle_id"]
    phone = device(client, vehicle)
    version = client.get(f"/v1/plan-version?date={DAY}", headers=phone).json()["version"]
    moved = event(client, vehicle, phone, "p-1", "position", "08:00", **HOME)
    assert moved.status_code == 200, moved.text
    assert moved.json()["plan_version"] > version and moved.json()["duplicate"] is False
    again = event(client, vehicle, phone, "p-1", "position", "08:00", **HOME)
    assert again.json() == {**moved.json(), "duplicate": True}
    seen = next(v for v in client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["spo"]).json() if v["vehicle_id"] == vehicle)
    assert seen["position"]["lon"] == HOME["lon"] and seen["status"] == "in_service"
    assert seen["next_stops"][0]["trip_id"] == booked["id"] and seen["path"][0] == [HOME["lon"], HOME["lat"]]
    assert client.get(f"/v1/trips/{booked['id']}", headers=client.keys["spo"]).json()["status"] == "en_route"

    set_clock(f"replay:{at('09:05')}:1")
    early_drop = event(client, vehicle, phone, "d-0", "dropped_off", "09:04", trip_id=booked["id"])
    assert early_drop.status_code == 409 and "before it was picked up" in early_drop.json()["detail"]
    picked = event(client, vehicle, phone, "u-1", "picked_up", "09:05", trip_id=booked["id"])
    assert picked.status_code == 200, picked.text
    state = client.get(f"/v1/trips/{booked['id']}", headers=client.keys["spo"]).json()
    assert state["status"] == "on_board" and state["pickup_eta"] == at("09:05:00+05:00") and state["late_min"] <= 0
    plan_is_feasible(client)

    sheet = client.get(f"/v1/vehicles/{vehicle}/manifest?date={DAY}", headers=phone).json()
    mine = [s for s in sheet["stops"] if s["trip_id"] == booked["id"]]
    assert [(s["kind"], s["status"]) for s in mine] == [("pickup", "done"), ("dropoff", "pending")]
    assert mine[0]["name_or_ref"] == "R-1" and mine[0]["wheelchair"] is True and mine[0]["passengers"] == 1
    assert set(mine[0]) == {"seq", "trip_id", "kind", "eta", "lon", "lat", "passengers", "wheelchair", "name_or_ref",
                            "notes", "status"}
    assert sheet["shift"]["start"] < sheet["shift"]["end"]

    set_clock(f"replay:{at('09:30')}:1")
    dropped = event(client, vehicle, phone, "o-1", "dropped_off", "09:29", trip_id=booked["id"])
    assert dropped.status_code == 200, dropped.text
    assert client.get(f"/v1/trips/{booked['id']}", headers=client.keys["spo"]).json()["status"] == "completed"
    kinds = [e["kind"] for e in client.get(f"/v1/trips/{booked['id']}/history", headers=client.keys["spo"]).json()]
    assert kinds[-2:] == ["picked_up", "dropped_off"]
    plan_is_feasible(client)


def test_no_show_releases_the_linked_return_trip(client: TestClient) -> None:
    set_clock(f"replay:{at('09:40')}:1")
    out = client.post("/v1/trips", json=trip("10:30", "11:00", user_ref="R-2"), headers=client.keys["spo"]).json()
    back = client.post("/v1/trips", json=trip("14:00", "14:30", pickup=CLINIC, dropoff=HOME, user_ref="R-2"),
                       headers=client.keys["spo"]).json()
    other = client.post("/v1/trips", json=trip("15:00", "15:30", pickup=CLINIC, dropoff=HOME, user_ref="R-3"),
                        headers=client.keys["spo"]).json()
    set_clock(f"replay:{at('10:45')}:1")
    answer = event(client, out["vehicle_id"], client.keys["spo"], "ns-1", "no_show", "10:44", trip_id=out["id"])
    assert answer.status_code == 200, answer.text
    statuses = {a["trip_id"]: a["status"] for a in answer.json()["affected"]}
    assert statuses[out["id"]] == "no_show" and statuses[back["id"]] == "cancelled"
    assert client.get(f"/v1/trips/{out['id']}", headers=client.keys["spo"]).json()["status"] == "no_show"
    released = client.get(f"/v1/trips/{back['id']}", headers=client.keys["spo"]).json()
    assert released["status"] == "cancelled" and "no-show" in released["reason"]
    assert client.get(f"/v1/trips/{other['id']}", headers=client.keys["spo"]).json()["status"] in ("assigned", "en_route")  # another rider: kept
    routes = client.app_state.desk.plan(dt.date.fromisoformat(DAY)).solution().routes
    assert not any(s.request_id in (out["id"], back["id"]) for r in routes for s in r.stops)
    plan_is_feasible(client)


def test_a_breakdown_moves_the_waiting_trips_and_transfers_the_passenger(client: TestClient) -> None:
    set_clock(f"replay:{at('11:00')}:1")
    first = client.post("/v1/trips", json=trip("11:10", "11:40", user_ref="R-4"), headers=client.keys["spo"]).json()
    vehicle = first["vehicle_id"]
    set_clock(f"replay:{at('11:30')}:1")
    assert event(client, vehicle, client.keys["spo"], "b-1", "picked_up", "11:29", trip_id=first["id"]).status_code == 200
    broken = event(client, vehicle, client.keys["spo"], "b-2", "out_of_service", "11:30", lon=76.94, lat=43.245)
    assert broken.status_code == 200, broken.text
    state = client.get(f"/v1/trips/{first['id']}", headers=client.keys["spo"]).json()
    assert state["status"] == "on_board" and state["vehicle_id"] != vehicle  # a rescue vehicle takes the passenger on
    rescue = state["vehicle_id"]
    sheet = client.get(f"/v1/vehicles/{rescue}/manifest?date={DAY}", headers=client.keys["spo"]).json()
    legs = [s for s in sheet["stops"] if s["trip_id"] == first["id"]]
    assert [s["kind"] for s in legs] == ["pickup", "dropoff"] and "transfer" in legs[0]["notes"]
    assert (legs[0]["lon"], legs[0]["lat"]) != (HOME["lon"], HOME["lat"])  # collected where the vehicle broke down
    seen = next(v for v in client.get(f"/v1/vehicles?date={DAY}", headers=client.keys["spo"]).json() if v["vehicle_id"] == vehicle)
    assert seen["status"] == "out_of_service" and seen["next_stops"] == []
    plan_is_feasible(client)
    set_clock(f"replay:{at('11:50')}:1")
    assert event(client, rescue, client.keys["spo"], "r-1", "picked_up", "11:45", trip_id=first["id"]).status_code == 200
    assert event(client, rescue, client.keys["spo"], "r-2", "dropped_off", "11:50", trip_id=first["id"]).status_code == 200
    assert client.get(f"/v1/trips/{first['id']}", headers=client.keys["spo"]).json()["status"] == "completed"
    plan_is_feasible(client)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"lon": 80.0, "lat": 43.2}, 422, "lon"),
        ({"lon": None, "lat": None}, 422, "lon"),
        ({"at": f"{DAY}T23:00"}, 422, "at"),
        ({"type": "teleported"}, 422, "type"),
        ({"type": "picked_up"}, 422, "trip_id"),
        ({"type": "picked_up", "trip_id": "TRP-none"}, 409, "trip_id"),
        ({"event_id": ""}, 422, "event_id"),
    ],
)
def test_bad_events_are_4xx_naming_the_field(client: TestClient, change: dict, code: int, field: str) -> None:
    set_clock(f"replay:{at('12:00')}:1")
    body = {"event_id": f"bad-{field}-{code}", "type": "position", "at": at("12:00"), **HOME, **change}
    answer = client.post("/v1/vehicles/SPO-010/events", json=body, headers=client.keys["spo"])
    assert answer.status_code == code, answer.text
    assert field in answer.json()["detail"]


def test_events_are_applied_in_order_and_only_for_ones_own_vehicles(client: TestClient) -> None:
    set_clock(f"replay:{at('12:10')}:1")
    assert event(client, "SPO-011", client.keys["spo"], "o-2", "position", "12:10", **HOME).status_code == 200
    late = event(client, "SPO-011", client.keys["spo"], "o-1", "position", "12:05", **HOME)
    assert late.status_code == 409 and "at" in late.json()["detail"]
    assert event(client, "SPO-011", client.keys["inclusion"], "x-1", "position", "12:10", **HOME).status_code == 404
    phone = device(client, "SPO-012")
    assert event(client, "SPO-011", phone, "x-2", "position", "12:10", **HOME).status_code == 404
    assert client.get(f"/v1/vehicles/SPO-011/manifest?date={DAY}", headers=phone).status_code == 404
    assert client.get("/v1/trips", headers=phone).status_code == 403  # a device sees its manifest, nothing else
    assert event(client, "NOPE-1", client.keys["admin"], "x-3", "position", "12:10", **HOME).status_code == 404


def test_offers_are_feasible_cheapest_first_and_a_stale_one_is_refused(client: TestClient) -> None:
    set_clock(f"replay:{at('12:30')}:1")
    body = trip("13:30", "15:00", operator="АМАЛЬ-ИМАН", user_ref="R-5")
    offers = client.post("/v1/trips/offers", json=body, headers=client.keys["admin"]).json()["offers"]
    assert 1 <= len(offers) <= 3
    assert [o["added_cost_tg"] for o in offers] == sorted(o["added_cost_tg"] for o in offers)  # cheapest first
    for offer in offers:
        assert at("13:30") <= offer["earliest_pickup"] <= offer["pickup_eta"] <= offer["latest_pickup"] <= at("15:00:00+05:00")
    booked = client.post(f"/v1/trips/offers/{offers[0]['offer_id']}/book", headers=client.keys["admin"])
    assert booked.status_code == 201, booked.text
    gap = dt.datetime.fromisoformat(booked.json()["pickup_eta"]) - dt.datetime.fromisoformat(offers[0]["pickup_eta"])
    assert abs(gap.total_seconds()) <= 1 and booked.json()["status"] == "assigned"  # the offered time (to rounding)
    assert client.post(f"/v1/trips/offers/{offers[0]['offer_id']}/book", headers=client.keys["admin"]).status_code == 404
    plan_is_feasible(client)
    stale = client.post("/v1/trips/offers", json=trip("13:30", "15:00", operator="АМАЛЬ-ИМАН"),
                        headers=client.keys["admin"]).json()["offers"][0]
    fleet = [v["vehicle_id"] for v in client.get(f"/v1/vehicles?date={DAY}&operator=АМАЛЬ-ИМАН",
                                                  headers=client.keys["admin"]).json()]
    for k, vehicle in enumerate(fleet):  # the whole operator breaks down: the offered slot is gone
        answer = event(client, vehicle, client.keys["admin"], f"oos-{k}", "out_of_service", "12:30", lon=76.9, lat=43.25)
        assert answer.status_code == 200, answer.text
    refused = client.post(f"/v1/trips/offers/{stale['offer_id']}/book", headers=client.keys["admin"])
    assert refused.status_code == 409 and refused.json()["offers"] == []
    late = client.post("/v1/trips/offers", json=trip("16:00", "17:00"), headers=client.keys["spo"]).json()["offers"][0]
    set_clock(f"replay:{at('12:41')}:1")  # later than the offers' ten minutes
    expired = client.post(f"/v1/trips/offers/{late['offer_id']}/book", headers=client.keys["spo"])
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    fresh = expired.json()["offers"]
    assert fresh and late["offer_id"] not in {o["offer_id"] for o in fresh}
    assert all(o["expires_at"] > at("12:41") and at("16:00") <= o["pickup_eta"] <= at("17:00:00+05:00") for o in fresh)
    assert client.post(f"/v1/trips/offers/{fresh[0]['offer_id']}/book", headers=client.keys["spo"]).status_code == 201
    assert client.post(f"/v1/trips/offers/{fresh[0]['offer_id']}/book", headers=client.keys["spo"]).status_code == 404
    assert client.post(f"/v1/trips/offers/{fresh[1]['offer_id']}/book", headers=client.keys["inclusion"]).status_code == 404


def test_a_standing_order_appears_on_each_of_its_days_and_can_be_cancelled(client: TestClient) -> None:
    set_clock(f"replay:{at('07:00')}:1")
    first = dt.date.fromisoformat(DAY) + dt.timedelta(days=1)
    series = {"pickup": HOME, "dropoff": CLINIC, "weekdays": [first.isoweekday(), (first + dt.timedelta(days=2)).isoweekday()],
              "start_date": first.isoformat(), "end_date": (first + dt.timedelta(days=13)).isoformat(),
              "earliest_pickup_time": "08:00", "latest_pickup_time": "08:30", "wheelchair": True, "user_ref": "R-9"}
    order = client.post("/v1/standing-orders", json=series, headers=client.keys["spo"])
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    assert order.json()["operator"] == "SPO-GROUP"
    days = [first + dt.timedelta(days=k) for k in range(14)]
    expected = [d for d in days if d.isoweekday() in series["weekdays"]]
    assert len(expected) == 4
    skipped = expected[1]
    assert client.post(f"/v1/standing-orders/{order_id}/skip", json={"date": skipped.isoformat()},
                       headers=client.keys["spo"]).status_code == 200
    for day in days:
        opened = client.post(f"/v1/days/{day.isoformat()}/open", headers=client.keys["spo"])
        assert opened.status_code == 200
        again = client.post(f"/v1/days/{day.isoformat()}/open", headers=client.keys["spo"]).json()
        assert again["created"] == []  # idempotent
        trips = client.get(f"/v1/trips?date={day.isoformat()}", headers=client.keys["spo"]).json()
        mine = [t for t in trips if t["earliest_pickup"] == f"{day.isoformat()}T08:00:00+05:00"]
        assert len(mine) == (1 if day in expected and day != skipped else 0), day
        if mine:
            assert mine[0]["status"] == "assigned" and len(opened.json()["created"]) == 1
    skip_bad = client.post(f"/v1/standing-orders/{order_id}/skip", json={"date": days[1].isoformat()}, headers=client.keys["spo"])
    assert skip_bad.status_code == 422 and "date" in skip_bad.json()["detail"]
    last = expected[-1].isoformat()
    assert client.post(f"/v1/standing-orders/{order_id}/skip", json={"date": last}, headers=client.keys["spo"]).json()[
        "cancelled_trips"]  # an opened occurrence: its trip is cancelled
    assert client.get("/v1/standing-orders", headers=client.keys["inclusion"]).json() == []
    ended = client.delete(f"/v1/standing-orders/{order_id}", headers=client.keys["spo"]).json()
    assert ended["ends_after"] == DAY and len(ended["cancelled_trips"]) == 2  # the two remaining occurrences


def test_a_delay_reported_by_position_moves_or_flags_the_late_pickup(client: TestClient) -> None:
    set_clock(f"replay:{at('13:40')}:1")
    booked = client.post("/v1/trips", json=trip("14:10", "14:30", user_ref="R-6"), headers=client.keys["spo"]).json()
    vehicle = booked["vehicle_id"]
    assert vehicle is not None, booked
    set_clock(f"replay:{at('14:27')}:1")
    stuck = event(client, vehicle, client.keys["spo"], "late-1", "position", "14:27", lon=76.84, lat=43.20)  # ~10 km away
    assert stuck.status_code == 200, stuck.text
    mine = next(a for a in stuck.json()["affected"] if a["trip_id"] == booked["id"])
    state = client.get(f"/v1/trips/{booked['id']}", headers=client.keys["spo"]).json()
    kept = state["vehicle_id"] == vehicle
    if state["status"] == "unserved":  # no vehicle can reach it by 14:30
        assert "delayed" in state["reason"] and mine["status"] == "unserved"
    elif kept:  # the late rule (routing.operations): no other vehicle in its window, served late, flagged at risk
        assert "served late" in state["reason"] and 0 < state["late_min"] <= 30 and mine["reason"] == state["reason"]
    else:  # another vehicle took it within its window
        assert state["pickup_eta"] <= at("14:30:00+05:00")
    assert kept == any(s["trip_id"] == booked["id"] for s in client.get(
        f"/v1/vehicles/{vehicle}/manifest?date={DAY}", headers=client.keys["spo"]).json()["stops"])
    plan_is_feasible(client)
