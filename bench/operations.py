"""A replayed day of operations against the real server: bookings, cancellations, vehicles and their events, a kill -9.

A generated day (``data.dataset.day_trips``: the calibrated demand of the
dataset's users, deterministic seed) is replayed against ``uvicorn`` with the
real app on loopback and the server clock accelerated
(``INVAPLAN_CLOCK=replay:<start>:<speed>``):

1. The evening before (server clock at ``AHEAD_AT``), the standing orders and
   ``ahead_share`` of the other trips are booked through offers (the cheapest
   offer is taken) and the server is stopped.
2. The day: the server starts again at ``DAY_START``. The other trips are booked
   the same day, each ``same_day_lead_min`` before its window opens; a
   ``cancel_share`` of all bookings is cancelled before its window. Every
   simulated vehicle (one thread, its own ``device`` key) reads its manifest,
   leaves for its next stop when the manifest's time says (``departure``),
   drives there along the drive network's fastest path, each leg's time times a
   random ``travel_factor``, reports its position on that path every
   ``position_every_s`` and its stop events (``arrived``, ``picked_up`` or ``no_show`` for a
   ``no_show_share`` of riders, ``dropped_off``). A device that cannot reach the
   server keeps its events and sends them again with the same event id; a
   ``resend_share`` of acknowledged events is sent again on purpose (the server
   must answer ``duplicate``).
3. At ``KILL_AT`` the server gets ``kill -9`` and is started again with its
   clock at the replay's time (the simulated world waits while it restarts, so
   the outage tests durability, not lateness); every trip and event
   acknowledged before the kill must be there after it (``lost_after_kill``).

All assumptions are in :data:`ASSUMPTIONS`, each with its source or rationale.
Measured: ``served_share`` (booked, not cancelled trips a vehicle came for),
``on_time_share`` (pickups within their window), ``late_p95_min``,
``event_p95_ms``, ``booking_p95_ms`` (offers plus booking), ``lost_events``
and ``duplicate_events`` (what was acknowledged against what the server holds),
``lost_after_kill``. Writes ``bench/results/operations.json``.

The default run replays one operator (``--operator``, the smallest fleet) over
the whole service day at 120x (about 11 minutes on a busy 2-core machine); ``--full`` replays all four
operators at 60x (at least 15 minutes; not run yet). Timings taken on a busy machine are pessimistic.

Usage: ``python bench/operations.py [--full] [--speed 120] [--operator NAME] [--json PATH]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
# this script's folder would hide the `api` package; the server helper is shared with the tests
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO / "tests" / "api"))

from server_process import Server  # noqa: E402

from api.clock import ALMATY_TZ  # noqa: E402
from api.db import make_engine, migrate, session_factory  # noqa: E402
from api.storage import create_key  # noqa: E402
from data.dataset import dataset_date, day_trips, ensure_dataset, load_fleet  # noqa: E402
from data.demand import service_times_s  # noqa: E402
from data.fleet import OPERATORS, SERVICE_END_H  # noqa: E402
from geo.crs import UTM43N, WGS84  # noqa: E402
from geo.shortest_paths import profile_graph, snap  # noqa: E402

# name -> (value, source or rationale). The one table of the replay's assumptions.
ASSUMPTIONS: dict[str, tuple[object, str]] = {
    "ahead_share": (0.5, "share of one-off trips booked the evening before (standing orders always are); paratransit "
                         "takes next-day reservations, same-day booking is the newer service: half and half tests both"),
    "same_day_lead_min": ((60, 180), "same-day bookings arrive uniformly 1-3 h before the window opens (at least 1 h: "
                                     "the notice a vehicle needs to cross Almaty, ~40 min, plus slack)"),
    "travel_factor": ((0.8, 1.2), "each leg's driving time is the network's fastest-path time times uniform 0.8-1.2 "
                                  "(issue 13: +-20 % traffic around the planned time)"),
    "no_show_share": (0.03, "issue 13; US ADA paratransit reports no-show rates of a few per cent "
                            "(TCRP Synthesis 60, no-show and late-cancellation policies)"),
    "no_show_wait_min": (5, "the driver waits 5 min after the later of arrival and window opening before a no-show "
                            "(the usual paratransit wait rule)"),
    "cancel_share": (0.05, "issue 13: share of bookings cancelled by the rider"),
    "cancel_lead_min": ((30, 120), "a cancellation arrives uniformly 30 min-2 h before the window opens "
                                   "(at least a minute after its booking): an ordinary, not a late, cancellation"),
    "departure": ("eta - 1.2 x drive time", "the driver leaves for its next stop at the manifest's time for it less the "
                                           "network's drive time times the slowest travel_factor (on time in any "
                                           "traffic of the replay), at once if that is past; until then it waits "
                                           "where it is and reads its manifest every 5 min (a stop may be added "
                                           "before). Paratransit drivers work to the manifest's scheduled times; "
                                           "arriving hours early idles the vehicle, and the rider is ready only "
                                           "from the window"),
    "position_every_s": (120, "simulated seconds between position reports while driving: the node of the fastest "
                              "path the vehicle has reached (a vehicle's GPS on its road)"),
    "resend_share": (0.02, "share of acknowledged events sent again with the same event id (a device retry)"),
    "event_margin_s": (5, "events are stamped 5 simulated seconds in the past: the server refuses future ones "
                          "and the two clocks agree only to a request's latency times the speed"),
}
AHEAD_AT: dt.time = dt.time(20, 0)  # the evening before: day-ahead bookings
DAY_START: dt.time = dt.time(6, 30)  # the replay starts half an hour before the first shift (07:00)
KILL_AT: dt.time = dt.time(13, 0)  # kill -9 in the middle of the day (between the two peaks)
DONE_EVENTS: frozenset[str] = frozenset({"picked_up", "no_show", "dropped_off"})
RETRY_S: float = 0.5  # real seconds between retries while the server is down
LOAD_MARGIN: float = 3.0  # a restart replays the day's events: it may load slower than the start before it
RETRY_STATUS: frozenset[int] = frozenset({502, 503, 504})  # the server is not there (yet): send again
IDLE_POLL_S: float = 300.0  # an idle vehicle reads its manifest every 5 simulated minutes (same-day bookings come >= 1 h ahead)
EXPECTED_STATUS: dict[str, set[str]] = {"picked_up": {"on_board", "completed"}, "dropped_off": {"completed"},
                                        "no_show": {"no_show"}}


def _almaty(text: str) -> dt.datetime:
    """An API date-time (with its offset) as an aware Almaty time."""
    return dt.datetime.fromisoformat(text).astimezone(ALMATY_TZ)


def _iso(moment: pd.Timestamp) -> str:
    """A generated (naive, Almaty local) time as ISO text to the second."""
    return moment.floor("s").isoformat()


def assumption(name: str):  # noqa: ANN201 - the table's value
    """The value of one row of :data:`ASSUMPTIONS`."""
    return ASSUMPTIONS[name][0]


class Stopped(Exception):
    """The replay was stopped while a request waited for the server."""


class SimClock:
    """The replay's simulated Almaty time: ``start`` + ``speed`` x real seconds since the anchor; it can be frozen."""

    def __init__(self, start: dt.datetime, speed: float) -> None:
        self.speed = speed
        self.anchor(start)

    def anchor(self, start: dt.datetime) -> None:
        """Set the simulated time now to ``start`` (and let it run)."""
        self.start, self.t0, self.frozen = start, time.monotonic(), None

    def freeze(self) -> dt.datetime:
        """Stop the simulated time where it is (the world waits while the server restarts); returns that time."""
        self.frozen = self.now()
        return self.frozen

    def now(self) -> dt.datetime:
        """The simulated time now."""
        if self.frozen is not None:
            return self.frozen
        return self.start + dt.timedelta(seconds=self.speed * (time.monotonic() - self.t0))

    def wait_until(self, moment: dt.datetime, stop: threading.Event) -> bool:
        """Sleep (real time) until the simulated ``moment``; False if ``stop`` was set meanwhile."""
        while not stop.is_set():
            left = (moment - self.now()).total_seconds() / self.speed
            if left <= 0:
                return True
            stop.wait(min(left, 1.0))
        return False


@dataclass
class Ledger:
    """What the replay sent and what the server acknowledged (shared by all threads)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    event_ms: list[float] = field(default_factory=list)
    booking_ms: list[float] = field(default_factory=list)
    acked: dict[str, dict] = field(default_factory=dict)  # event id -> event
    rejected: Counter = field(default_factory=Counter)  # "type: status detail" -> count
    duplicates_accepted: int = 0  # re-sent events answered as new
    booked: dict[str, dict] = field(default_factory=dict)  # trip id -> the generated request (a row as dict)
    refused: list[str] = field(default_factory=list)  # request ids without an offer
    cancelled: set[str] = field(default_factory=set)
    pickups: dict[str, dt.datetime] = field(default_factory=dict)  # trip id -> actual pickup (simulated)
    no_shows: set[str] = field(default_factory=set)
    redirected: int = 0  # stops taken off the vehicle while it drove there


class Network:
    """Fastest paths on the drive network between lon/lat points (shortest-path trees cached per source node)."""

    def __init__(self) -> None:
        self.graph = profile_graph("drive")
        self._to_utm = Transformer.from_crs(WGS84, UTM43N, always_xy=True)
        self._to_wgs84 = Transformer.from_crs(UTM43N, WGS84, always_xy=True)
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # source node -> (seconds, predecessors)
        self._lock = threading.Lock()

    def node(self, lon: float, lat: float) -> int:
        """The drive-graph node nearest a point."""
        x, y = self._to_utm.transform(np.array([lon]), np.array([lat]))
        return int(snap(self.graph, np.asarray(x), np.asarray(y))[0][0])

    def _tree(self, a: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if a not in self._rows:
                self._rows[a] = dijkstra(self.graph.forward, directed=True, indices=a, return_predecessors=True)
            return self._rows[a]

    def seconds(self, start: tuple[float, float], end: tuple[float, float]) -> float:
        """Driving time from ``start`` to ``end`` (lon, lat), seconds."""
        return float(self._tree(self.node(*start))[0][self.node(*end)])

    def path(self, start: tuple[float, float], end: tuple[float, float]) -> tuple[list[tuple[float, float]], np.ndarray]:
        """The fastest path's nodes (lon, lat) from ``start`` to ``end`` and the driving seconds to each."""
        a, b = self.node(*start), self.node(*end)
        seconds, before = self._tree(a)
        nodes = [b]
        while nodes[-1] != a and before[nodes[-1]] >= 0:
            nodes.append(int(before[nodes[-1]]))
        nodes.reverse()
        lon, lat = self._to_wgs84.transform(self.graph.xy[nodes, 0], self.graph.xy[nodes, 1])
        return list(zip(lon.tolist(), lat.tolist())), seconds[nodes]


class Replay:
    """One replayed day against a running server; see the module docstring."""

    def __init__(self, trips: pd.DataFrame, fleet: pd.DataFrame, day: dt.date, speed: float, data_dir: Path,
                 database_url: str, seed: int) -> None:
        self.trips, self.fleet, self.day, self.speed = trips, fleet, day, speed
        self.data_dir, self.database_url = data_dir, database_url
        self.seed = seed
        self.rng = np.random.default_rng(seed)  # the main thread's draws; each vehicle has its own generator
        self.ledger = Ledger()
        self.network = Network()
        self.stop = threading.Event()
        self.server: Server | None = None
        self.base_url = ""
        self.clock = SimClock(self._at(DAY_START), speed)
        self.admin_key = self._admin_key()
        self.load_s = 0.0  # real seconds from the server's clock start to ready, measured at each start
        self.restart_s: float | None = None
        self.clock_jump_s: float | None = None
        self.lost_after_kill: int | None = None
        self.errors: list[str] = []
        self.no_show_ids = self._draw(trips["request_id"], assumption("no_show_share"))
        self.cancel_ids = self._draw(trips["request_id"], assumption("cancel_share"))

    # ---------------------------------------------------------------- setup
    def _at(self, moment: dt.time, day: dt.date | None = None) -> dt.datetime:
        return dt.datetime.combine(day or self.day, moment, ALMATY_TZ)

    def _draw(self, ids: pd.Series, share: float) -> set[str]:
        return set(self.rng.choice(ids.to_numpy(), size=round(share * len(ids)), replace=False))

    def _admin_key(self) -> str:
        engine = make_engine(self.database_url)
        migrate(engine)
        with session_factory(engine)() as session:
            _, key = create_key(session, "admin", None, "operations replay", set())
        engine.dispose()
        return key

    def start_server(self, target: dt.datetime) -> dt.timedelta:
        """Start the server so that its clock reads ``target`` once it is ready; anchor the replay's clock to it.

        The server's replay clock starts counting while the server loads its data; the
        start passed is ``target`` less ``LOAD_MARGIN`` times the load time of the previous
        start (in simulated time), and the replay waits for the rest. Returns how far the
        clock went past ``target`` (0 unless this start loaded more than that).
        """
        passed = target - dt.timedelta(seconds=self.speed * LOAD_MARGIN * self.load_s)
        self.server = Server(self.data_dir, self.database_url,
                             {"INVAPLAN_CLOCK": f"replay:{passed.isoformat()}:{self.speed:g}"})
        self.base_url = self.server.url
        now = self._server_now()
        self.load_s = (now - passed).total_seconds() / self.speed
        if now < target:
            time.sleep((target - now).total_seconds() / self.speed)
            now = self._server_now()
        self.clock.anchor(now)
        return now - target

    def _server_now(self) -> dt.datetime:
        answer = httpx.get(f"{self.base_url}/v1/clock", headers=self._auth(self.admin_key), timeout=10)
        if answer.status_code != 200:
            self.server.stop()
            raise SystemExit("the server has no GET /v1/clock: the replay needs the issue-13 backend "
                             "(replay clock, offers, device keys, manifests, vehicle events)")
        return dt.datetime.fromisoformat(answer.json()["now"])

    @staticmethod
    def _auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def _request(self, client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
        """A request retried while the server is down or restarting (connection errors, 502-504); other answers returned."""
        while True:
            try:
                response = client.request(method, f"{self.base_url}{path}", **kwargs)
                if response.status_code not in RETRY_STATUS:
                    return response
            except httpx.TransportError:
                pass
            if self.stop.is_set():
                raise Stopped
            time.sleep(RETRY_S)

    # ---------------------------------------------------------------- bookings
    def _body(self, row: pd.Series) -> dict:
        body = {"pickup": {"lon": float(row.pickup_lon), "lat": float(row.pickup_lat)},
                "dropoff": {"lon": float(row.dropoff_lon), "lat": float(row.dropoff_lat)},
                "earliest_pickup": _iso(row.earliest_pickup), "latest_pickup": _iso(row.latest_pickup),
                "wheelchair": bool(row.wheelchair), "companions": int(row.companions), "operator": row.operator,
                "user_ref": row.user_id}
        if pd.notna(row.latest_dropoff):
            body["latest_dropoff"] = _iso(row.latest_dropoff)
        return body

    def book(self, client: httpx.Client, row: pd.Series) -> None:
        """Ask for offers and book the cheapest (a fresh offer after a 409); record the trip or its refusal."""
        started = time.perf_counter()
        for _ in range(3):
            offers = self._request(client, "POST", "/v1/trips/offers", json=self._body(row))
            choices = offers.json().get("offers", []) if offers.status_code == 200 else []
            if not choices:
                break
            answer = self._request(client, "POST", f"/v1/trips/offers/{choices[0]['offer_id']}/book",
                                   headers={"Idempotency-Key": f"book-{row.request_id}"})
            if answer.status_code == 201:
                with self.ledger.lock:
                    self.ledger.booking_ms.append((time.perf_counter() - started) * 1000)
                    trip = answer.json()
                    self.ledger.booked[trip["id"]] = {**row.to_dict(), "promised_from": _almaty(trip["earliest_pickup"]),
                                                      "promised_until": _almaty(trip["latest_pickup"])}
                return
        with self.ledger.lock:
            self.ledger.refused.append(row.request_id)

    def cancel(self, client: httpx.Client, trip_id: str) -> None:
        """Cancel a booked trip (idempotent retries)."""
        answer = self._request(client, "POST", f"/v1/trips/{trip_id}/cancel", headers={"Idempotency-Key": f"cancel-{trip_id}"})
        if answer.status_code == 200:
            with self.ledger.lock:
                self.ledger.cancelled.add(trip_id)

    def book_ahead(self) -> pd.DataFrame:
        """The evening before: book the standing orders and ``ahead_share`` of the rest; returns the same-day ones."""
        one_off = ~self.trips["standing"].astype(bool)
        later = self.rng.random(len(self.trips)) >= assumption("ahead_share")
        same_day = self.trips[one_off & later]
        ahead = self.trips.drop(same_day.index)
        self.start_server(self._at(AHEAD_AT, self.day - dt.timedelta(days=1)))
        with httpx.Client(headers=self._auth(self.admin_key), timeout=60) as client:
            for k, row in enumerate(ahead.itertuples(index=False)):
                self.book(client, pd.Series(row._asdict()))
                if (k + 1) % 50 == 0:
                    print(f"  day-ahead bookings {k + 1}/{len(ahead)}", flush=True)
        self.server.stop()
        return same_day

    # ---------------------------------------------------------------- the day's office work
    def office(self, same_day: pd.DataFrame) -> None:
        """Same-day bookings and all cancellations at their simulated times (one thread, in time order)."""
        low, high = assumption("same_day_lead_min")
        opens = {r: t.to_pydatetime().replace(tzinfo=ALMATY_TZ) for r, t in zip(self.trips["request_id"], self.trips["earliest_pickup"])}
        booked_at = {r: self._at(DAY_START) for r in self.trips["request_id"]}  # day-ahead bookings: before the day
        jobs = []
        for row in same_day.itertuples(index=False):
            booked_at[row.request_id] = opens[row.request_id] - dt.timedelta(minutes=float(self.rng.uniform(low, high)))
            jobs.append((booked_at[row.request_id], "book", pd.Series(row._asdict())))
        low, high = assumption("cancel_lead_min")
        for request_id in sorted(self.cancel_ids):  # never before its booking
            drawn = opens[request_id] - dt.timedelta(minutes=float(self.rng.uniform(low, high)))
            jobs.append((max(drawn, booked_at[request_id] + dt.timedelta(minutes=1)), "cancel", request_id))
        jobs.sort(key=lambda job: (job[0], job[1] == "book"))
        with httpx.Client(headers=self._auth(self.admin_key), timeout=60) as client:
            for moment, kind, what in jobs:
                if not self.clock.wait_until(moment, self.stop):
                    return
                if kind == "book":
                    self.book(client, what)
                else:
                    trip_id = next((t for t, r in list(self.ledger.booked.items()) if r["request_id"] == what), None)
                    if trip_id is not None:
                        self.cancel(client, trip_id)

    # ---------------------------------------------------------------- vehicles
    def device_key(self, vehicle_id: str) -> str:
        answer = httpx.post(f"{self.base_url}/v1/keys", json={"role": "device", "vehicle_id": vehicle_id},
                            headers=self._auth(self.admin_key), timeout=30)
        answer.raise_for_status()
        return answer.json()["key"]

    def send(self, client: httpx.Client, vehicle_id: str, event: dict, rng: np.random.Generator) -> dict | None:
        """Send one event (again on connection errors, with the same id); the answer, or None if refused."""
        started = time.perf_counter()
        answer = self._request(client, "POST", f"/v1/vehicles/{vehicle_id}/events", json=event)
        elapsed_ms = (time.perf_counter() - started) * 1000
        with self.ledger.lock:
            if answer.status_code != 200:
                detail = answer.json().get("detail", "") if answer.headers.get("content-type", "").startswith("application/json") \
                    else answer.text[:80]
                reason = f"{event['type']}: {answer.status_code} {detail}"[:160]
                self.ledger.rejected[reason] += 1
                if self.ledger.rejected[reason] == 1:
                    print(f"  refused {vehicle_id} {event['event_id']}: {reason}", flush=True)
                return None
            self.ledger.event_ms.append(elapsed_ms)
            self.ledger.acked[event["event_id"]] = {**event, "vehicle_id": vehicle_id}
        if rng.random() < assumption("resend_share"):
            again = self._request(client, "POST", f"/v1/vehicles/{vehicle_id}/events", json=event)
            if again.status_code != 200 or not again.json().get("duplicate"):
                with self.ledger.lock:
                    self.ledger.duplicates_accepted += 1
        return answer.json()

    def drive(self, index: int, vehicle: pd.Series) -> None:
        """One simulated vehicle (its own thread and device key) until its shift is over."""
        with httpx.Client(headers=self._auth(self.device_key(vehicle["vehicle_id"])), timeout=60) as client:
            Driver(self, client, vehicle["vehicle_id"], np.random.default_rng([self.seed, index])).run()

    # ---------------------------------------------------------------- kill -9
    def kill_and_restart(self) -> None:
        """``kill -9`` the server at ``KILL_AT``; start it again with its clock there; check nothing acknowledged is lost."""
        if not self.clock.wait_until(self._at(KILL_AT), self.stop):
            return
        with self.ledger.lock:
            trips_before = set(self.ledger.booked)
            events_before = dict(self.ledger.acked)
        print(f"  {self.clock.now():%H:%M} kill -9 (acknowledged so far: {len(trips_before)} trips, "
              f"{len(events_before)} events)", flush=True)
        frozen = self.clock.freeze()  # the world waits: devices and the booking desk keep retrying
        self.server.kill()
        started = time.monotonic()
        self.clock_jump_s = self.start_server(frozen).total_seconds()
        self.restart_s = time.monotonic() - started
        with httpx.Client(headers=self._auth(self.admin_key), timeout=60) as client:
            trips_lost, events_lost = self.missing_trips(client, trips_before), self.missing_events(client, events_before)
        self.lost_after_kill = len(trips_lost) + len(events_lost)
        for event_id in events_lost[:5]:
            print(f"  lost after kill: {event_id} {events_before[event_id]['type']} {events_before[event_id].get('trip_id')}",
                  flush=True)
        print(f"  restarted in {self.restart_s:.1f} s; lost after kill: {self.lost_after_kill}", flush=True)

    # ---------------------------------------------------------------- checks
    def stored_trips(self, client: httpx.Client) -> dict[str, dict]:
        stored: dict[str, dict] = {}
        for offset in range(0, 100_000, 1000):
            page = self._request(client, "GET", f"/v1/trips?date={self.day}&limit=1000&offset={offset}").json()
            stored.update({t["id"]: t for t in page})
            if len(page) < 1000:
                return stored
        return stored

    def missing_trips(self, client: httpx.Client, acknowledged: set[str]) -> set[str]:
        """Acknowledged trips the server does not have."""
        return acknowledged - set(self.stored_trips(client))

    def stored_events(self) -> Counter:
        """(vehicle id, event id) -> how many times the server's database holds it (read beside the server)."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return Counter(tuple(row) for row in connection.execute(text("SELECT vehicle_id, event_id FROM vehicle_events")))
        finally:
            engine.dispose()

    def missing_events(self, client: httpx.Client, acknowledged: dict[str, dict]) -> list[str]:
        """Acknowledged events the server does not hold, or whose effect it lost (the trip's status contradicts them)."""
        trips, stored = self.stored_trips(client), self.stored_events()
        missing = []
        for event_id, event in acknowledged.items():
            expected = EXPECTED_STATUS.get(event["type"])
            if (event["vehicle_id"], event_id) not in stored or (
                    expected is not None and trips.get(event["trip_id"], {}).get("status") not in expected):
                missing.append(event_id)
        return missing

    # ---------------------------------------------------------------- the run
    def run(self) -> dict:
        print(f"replay of {self.day}: {len(self.trips)} requests, {len(self.fleet)} vehicles, {self.speed:g}x", flush=True)
        same_day = self.book_ahead()
        print(f"  booked the evening before: {len(self.ledger.booked)}; same day to come: {len(same_day)}", flush=True)
        self.start_server(self._at(DAY_START))
        self.depot = self._depots()
        threads = [threading.Thread(target=self._guarded, args=(self.office, same_day), daemon=True)]
        threads += [threading.Thread(target=self._guarded, args=(self.drive, k, v), daemon=True)
                    for k, v in self.fleet.iterrows()]
        threads.append(threading.Thread(target=self._guarded, args=(self.kill_and_restart,), daemon=True))
        for thread in threads:
            thread.start()
        end = self._at(dt.time(SERVICE_END_H))
        while not self.stop.is_set() and any(t.is_alive() for t in threads) and self.clock.now() < end + dt.timedelta(minutes=30):
            time.sleep(5)
            with self.ledger.lock:
                print(f"  {self.clock.now():%H:%M} booked {len(self.ledger.booked)}, picked up {len(self.ledger.pickups)}, "
                      f"no-shows {len(self.ledger.no_shows)}, cancelled {len(self.ledger.cancelled)}, "
                      f"events {len(self.ledger.acked)}, refused events {sum(self.ledger.rejected.values())}", flush=True)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if self.errors:
            self.server.stop()
            raise SystemExit("the replay failed: " + "; ".join(self.errors[:3]))
        with httpx.Client(headers=self._auth(self.admin_key), timeout=60) as client:
            lost_trips = self.missing_trips(client, set(self.ledger.booked))
            lost_events = self.missing_events(client, self.ledger.acked)
            final = self.stored_trips(client)
        self.final_status = Counter(t["status"] for t in final.values())
        self.unserved_reasons = Counter((t["reason"] or "")[:80] for t in final.values() if t["status"] == "unserved")
        self.server.stop()
        stored_twice = sum(n - 1 for n in self.stored_events().values())
        return self.result(lost_trips, lost_events, stored_twice)

    def _guarded(self, work, *args) -> None:  # noqa: ANN001 - a thread's target
        """Run ``work``; an exception stops the whole replay (and is reported) instead of dying in its thread."""
        try:
            work(*args)
        except Stopped:
            pass
        except Exception as error:  # noqa: BLE001 - reported by run()
            self.errors.append(f"{work.__name__}: {type(error).__name__}: {error}")
            print(f"  stopping: {self.errors[-1]}", flush=True)
            self.stop.set()

    def _depots(self) -> dict[str, tuple[float, float]]:
        to_wgs84 = Transformer.from_crs(UTM43N, WGS84, always_xy=True)
        lon, lat = to_wgs84.transform(self.fleet.geometry.x.to_numpy(), self.fleet.geometry.y.to_numpy())
        return {v: (float(x), float(y)) for v, x, y in zip(self.fleet["vehicle_id"], lon, lat)}

    def result(self, lost_trips: set[str], lost_events: list[str], stored_twice: int) -> dict:
        ledger = self.ledger
        active = [t for t in ledger.booked if t not in ledger.cancelled]
        served = [t for t in active if t in ledger.pickups or t in ledger.no_shows]
        late_min, late_requested_min = [], []  # against the promised (booked) and the requested window
        for trip_id, pickup in ledger.pickups.items():
            if trip_id not in ledger.booked:  # booked, but the answer was lost in the kill
                continue
            trip = ledger.booked[trip_id]
            late_min.append(max(0.0, (pickup - trip["promised_until"]).total_seconds() / 60))
            requested_until = trip["latest_pickup"].to_pydatetime().replace(tzinfo=ALMATY_TZ)
            late_requested_min.append(max(0.0, (pickup - requested_until).total_seconds() / 60))
        late = np.array(late_min) if late_min else np.zeros(1)
        return {
            "date": self.day.isoformat(), "speed": self.speed, "operators": sorted(self.fleet["operator"].unique()),
            "vehicles": len(self.fleet), "requests": len(self.trips), "booked": len(ledger.booked),
            "refused": len(ledger.refused), "cancelled": len(ledger.cancelled), "no_shows": len(ledger.no_shows),
            "picked_up": len(ledger.pickups),
            "served_share": round(len(served) / max(1, len(active)), 4),
            "served_share_of_requests": round(len(served) / max(1, len(self.trips) - len(ledger.cancelled)), 4),
            "on_time_share": round(float(np.mean(late <= 0)), 4) if late_min else None,
            "on_time_share_requested_window": round(float(np.mean(np.array(late_requested_min) <= 0)), 4)
            if late_min else None,
            "late_p95_min": round(float(np.percentile(late, 95)), 1),
            "late_max_min": round(float(late.max()), 1),
            "events": len(ledger.acked), "events_refused": sum(ledger.rejected.values()),
            "server_errors": sum(n for reason, n in ledger.rejected.items() if ": 5" in reason[:20]),
            "stops_redirected": ledger.redirected,
            "refusals": dict(ledger.rejected.most_common(10)),
            "event_p50_ms": round(float(np.percentile(ledger.event_ms, 50)), 1) if ledger.event_ms else None,
            "event_p95_ms": round(float(np.percentile(ledger.event_ms, 95)), 1) if ledger.event_ms else None,
            "booking_p95_ms": round(float(np.percentile(ledger.booking_ms, 95)), 1) if ledger.booking_ms else None,
            "final_status": dict(self.final_status), "unserved_reasons": dict(self.unserved_reasons.most_common(5)),
            "lost_trips": len(lost_trips), "lost_events": len(lost_events),
            "duplicate_events": ledger.duplicates_accepted + stored_twice,
            "lost_after_kill": self.lost_after_kill, "restart_s": None if self.restart_s is None else round(self.restart_s, 1),
            "clock_jump_after_kill_min": None if self.clock_jump_s is None else round(self.clock_jump_s / 60, 1),
            "assumptions": {k: {"value": v, "source": s} for k, (v, s) in ASSUMPTIONS.items()},
        }


class Driver:
    """A simulated vehicle: reads its manifest, drives to the next stop, reports what happens there.

    The next stop is the manifest's first one not done; the vehicle leaves for it
    when its manifest time says (``departure``: until then it waits where it is
    and reads the manifest again every ``IDLE_POLL_S``), and keeps it while it
    drives (a stop the plan gave another vehicle meanwhile is found gone on
    arrival). The manifest is read again at every stop. Pickups wait for the window to open;
    a rider drawn as a no-show is reported ``no_show_wait_min`` after that.
    Nothing counts as done unless the server acknowledged it.
    """

    def __init__(self, replay: Replay, client: httpx.Client, vehicle_id: str, rng: np.random.Generator) -> None:
        self.replay, self.client, self.vehicle_id, self.rng = replay, client, vehicle_id, rng
        self.clock, self.stop = replay.clock, replay.stop
        self.here = replay.depot[vehicle_id]
        self.done: set[tuple[str, str]] = set()
        self.sent = 0  # event ids: vehicle and a counter (unique, and the same in every run)
        self.every = dt.timedelta(seconds=assumption("position_every_s"))
        self.margin = dt.timedelta(seconds=assumption("event_margin_s"))

    def event(self, kind: str, at: dt.datetime, trip_id: str | None = None) -> bool:
        """Report ``kind`` at ``at`` (simulated) from where the vehicle is; True if acknowledged."""
        self.sent += 1
        body = {"event_id": f"{self.vehicle_id}-{self.sent:05d}", "type": kind, "at": (at - self.margin).isoformat(),
                "lon": round(self.here[0], 6), "lat": round(self.here[1], 6)}
        if trip_id:
            body["trip_id"] = trip_id
        return self.replay.send(self.client, self.vehicle_id, body, self.rng) is not None

    def manifest(self) -> dict:
        return self.replay._request(self.client, "GET", f"/v1/vehicles/{self.vehicle_id}/manifest?date={self.replay.day}").json()

    def run(self) -> None:
        manifest = self.manifest()
        shift_end = dt.datetime.fromisoformat(manifest["shift"]["end"])
        if not self.clock.wait_until(dt.datetime.fromisoformat(manifest["shift"]["start"]), self.stop):
            return
        self.event("position", self.clock.now())
        while not self.stop.is_set():
            todo = [s for s in self.manifest()["stops"] if (s["trip_id"], s["kind"]) not in self.done
                    and s.get("status") not in ("completed", "no_show", "cancelled")]
            if not todo:
                if self.clock.now() >= shift_end:
                    return
                self.clock.wait_until(self.clock.now() + dt.timedelta(seconds=IDLE_POLL_S), self.stop)
                continue
            leave, now = self.departure(todo[0]), self.clock.now()
            if leave > now:  # early: wait where it is, and look at the manifest again meanwhile
                self.clock.wait_until(min(leave, now + dt.timedelta(seconds=IDLE_POLL_S)), self.stop)
                continue
            if not self.serve(todo[0]):
                return

    def departure(self, stop: dict) -> dt.datetime:
        """When the driver leaves for ``stop`` (the ``departure`` assumption)."""
        drive = self.replay.network.seconds(self.here, (stop["lon"], stop["lat"])) * assumption("travel_factor")[1]
        return dt.datetime.fromisoformat(stop["eta"]) - dt.timedelta(seconds=drive)

    def drive_to(self, target: tuple[float, float]) -> bool:
        """Drive to ``target`` along the fastest path (its time perturbed), reporting positions on it; False if stopped."""
        low, high = assumption("travel_factor")
        nodes, seconds = self.replay.network.path(self.here, target)
        factor = self.rng.uniform(low, high)
        leg = dt.timedelta(seconds=float(seconds[-1]) * factor)
        departed = self.clock.now()
        for k in range(1, int(leg / self.every) + 1):
            if not self.clock.wait_until(departed + k * self.every, self.stop):
                return False
            reached = int(np.searchsorted(seconds, k * self.every.total_seconds() / factor, side="right")) - 1
            self.here = nodes[max(reached, 0)]
            self.event("position", self.clock.now())
        if not self.clock.wait_until(departed + leg, self.stop):
            return False
        self.here = target
        return True

    def serve(self, stop: dict) -> bool:
        """Drive to one stop and do it; False if the replay stopped."""
        if not self.drive_to((stop["lon"], stop["lat"])):
            return False
        trip_id, arrived = stop["trip_id"], self.clock.now()
        if not any((s["trip_id"], s["kind"]) == (trip_id, stop["kind"]) for s in self.manifest()["stops"]):
            with self.replay.ledger.lock:  # the plan gave it to another vehicle while this one drove there
                self.replay.ledger.redirected += 1
            return True
        self.done.add((trip_id, stop["kind"]))  # attempted once: a refused event is counted, not retried
        if not self.event("arrived", arrived, trip_id):
            return True
        ledger, trip = self.replay.ledger, self.replay.ledger.booked.get(trip_id, {})
        service = dt.timedelta(seconds=service_times_s(bool(stop.get("wheelchair", trip.get("wheelchair", False)))))
        if stop["kind"] == "dropoff":
            if not self.clock.wait_until(arrived + service, self.stop):
                return False
            self.event("dropped_off", arrived + service, trip_id)
            return True
        opens = trip.get("promised_from", arrived)  # the rider is ready from the window the booking promised
        board = max(arrived, opens)
        if trip.get("request_id") in self.replay.no_show_ids:
            gives_up = board + dt.timedelta(minutes=assumption("no_show_wait_min"))
            if not self.clock.wait_until(gives_up, self.stop):
                return False
            self.done.add((trip_id, "dropoff"))
            if self.event("no_show", gives_up, trip_id):
                with ledger.lock:
                    ledger.no_shows.add(trip_id)
            return True
        if not self.clock.wait_until(board + service, self.stop):
            return False
        if self.event("picked_up", board, trip_id):
            with ledger.lock:
                ledger.pickups[trip_id] = board
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="all four operators at 60x (default: one operator)")
    parser.add_argument("--operator", default=min(OPERATORS, key=OPERATORS.get),
                        help="the operator replayed without --full (default: the smallest fleet)")
    parser.add_argument("--speed", type=float, default=None, help="clock speed-up (default 120, 60 with --full)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "operations.json")
    args = parser.parse_args()
    if not args.full and args.operator not in OPERATORS:
        raise SystemExit(f"--operator: unknown operator {args.operator!r}; expected one of {sorted(OPERATORS)}")
    speed = args.speed or (60.0 if args.full else 120.0)
    data_dir = ensure_dataset()
    day = dataset_date(data_dir)
    trips, fleet = day_trips(day, data_dir), load_fleet(data_dir)
    if not args.full:
        trips = trips[trips["operator"] == args.operator].reset_index(drop=True)
        fleet = fleet[fleet["operator"] == args.operator].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = Replay(trips, fleet, day, speed, data_dir, f"sqlite:///{Path(tmp) / 'operations.db'}", args.seed).run()
    result["scope"] = "all operators" if args.full else f"one operator ({args.operator})"
    print(json.dumps({k: v for k, v in result.items() if k != "assumptions"}, indent=2, ensure_ascii=False))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
