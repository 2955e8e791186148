"""Load benchmark of the dispatcher API: trip creation with live insertion against a running server.

Starts ``uvicorn`` with the real app on loopback, creates ``--trips`` trips
from ``--clients`` concurrent clients, every ``--retry-share`` of them sent
again with the same Idempotency-Key, then checks that no acknowledged trip
is lost and no key made two trips. It runs on SQLite (WAL, in a temporary
directory) and, when ``INVAPLAN_TEST_POSTGRES_URL`` names a PostgreSQL
server, on a fresh database there.

Runs, all with the same load: ``sqlite`` (the shipped configuration: the
group commit), ``sqlite_each`` (a commit per booking,
``INVAPLAN_BOOKING_GROUP=1``), ``sqlite_worker_processes`` (travel rows in
worker processes, ``INVAPLAN_ROUTING_WORKERS=2``, the design of the
scipy-Dijkstra days), ``postgres`` (shipped) and ``postgres_each``. Each run
reports the CPU milliseconds per request of the server process, of its
travel-row workers and of this load generator, which a busy machine distorts
far less than latency and throughput. After one unreported warm-up run, every
configuration runs ``--rounds`` times (default 3), interleaved; each reports
the round with the median p95 (and every round's throughput and p95).

``levers`` measures what each speed lever buys, against the code it
replaced, in the same run: the group commit against a commit per booking
(the runs above), the live insertion under the day's lock with the
scheduler's compiled shortest paths against the numpy passes they replaced,
the booking writer's Core INSERTs against the ORM bulk INSERTs, on PostgreSQL a
booking's INSERTs in one round trip (``api.pipeline``) against a round trip
per statement and its reads in one statement outside a transaction against a
read transaction, the travel rows by PHAST on a contraction hierarchy
against the compiled Dijkstra with path lengths they replaced and scipy's
Dijkstra (times and trees only), growing the live plan's matrices in buffers
against a full copy per booking (with the full validation and the tenge arc
costs the copy forced), SQLite writers queued on a lock against SQLite's busy
handler, and the fsync of ``synchronous=FULL`` against ``NORMAL`` (kept FULL:
see ``api.db``).

Writes ``bench/results/api.json``: ``create_p95_ms``, ``create_rps``
(SQLite), ``create_p95_ms_postgres``, ``create_rps_postgres``, and ``lost``,
``duplicates``, ``errors_5xx`` summed over all runs. About 3 minutes on 2 cores (a warm-up, five configurations x 3 rounds, and the levers).

Usage: ``python bench/api.py [--trips 600] [--clients 16] [--json PATH]``
(with ``INVAPLAN_TEST_POSTGRES_URL`` set for the PostgreSQL run)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
import uuid
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import psutil
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import create_engine, insert, text
from sqlalchemy.dialects import sqlite as sqlite_dialect

REPO = Path(__file__).resolve().parents[1]
# this script's folder would hide the `api` package; the server helper is shared with the tests
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO / "tests" / "api"))

from server_process import Server  # noqa: E402

from api.db import make_engine, migrate, one_writer, read_engine, session_factory  # noqa: E402
from api.dispatch_desk import DispatchDesk  # noqa: E402
from api.clock import seconds_after_midnight  # noqa: E402
from api.models import IdempotencyRecord, PlanRoute, Trip, TripEvent  # noqa: E402
from api.pipeline import pipelined  # noqa: E402
from api.storage import (add_trips, booking_checks, create_key, day_open, find_idempotent, idempotency_row,  # noqa: E402
                         remember_idempotent_rows, route_rows, upsert_routes)
from api.travel_rows import aligned_lengths, fastest_paths, node_rows  # noqa: E402
from data.dataset import ensure_dataset, load_fleet  # noqa: E402
from geo.contraction import build_hierarchy  # noqa: E402
from geo.shortest_paths import profile_graph  # noqa: E402
from routing import schedule as schedule_module  # noqa: E402


def body(k: int, day: str) -> dict:
    """A plausible trip in central Almaty, windows spread over the day."""
    rng = np.random.default_rng(k)
    start = dt.datetime.fromisoformat(f"{day}T07:30") + dt.timedelta(minutes=int(rng.integers(0, 11 * 60)))
    return {"pickup": {"lon": float(rng.uniform(76.85, 76.98)), "lat": float(rng.uniform(43.20, 43.30))},
            "dropoff": {"lon": float(rng.uniform(76.85, 76.98)), "lat": float(rng.uniform(43.20, 43.30))},
            "earliest_pickup": start.isoformat(), "latest_pickup": (start + dt.timedelta(minutes=30)).isoformat(),
            "wheelchair": bool(rng.random() < 0.4), "companions": int(rng.random() < 0.3)}


POSTGRES_ENV = "INVAPLAN_TEST_POSTGRES_URL"
PROCESS_WORKERS = 2  # the worker-process design: one per core of the development machine
WARM_UP_TRIPS = 200  # bookings of the unreported first run (see main)
ROUNDS = 3  # runs per configuration: single runs on the 2-core VM varied by +-25 % in p95 and throughput


def _one_run(name: str, env: dict[str, str], sqlite_file: Path, data_dir: Path, args: argparse.Namespace,
             day: str) -> dict:
    """One load run of configuration ``name`` (a fresh database: a SQLite file, or a new PostgreSQL database)."""
    if not name.startswith("postgres"):
        return run_load(f"sqlite:///{sqlite_file}", data_dir, args.trips, args.clients, args.retry_share, day, env)
    url, drop = fresh_postgres(os.environ[POSTGRES_ENV])
    try:
        return run_load(url, data_dir, args.trips, args.clients, args.retry_share, day, env)
    finally:
        drop()


def _median_run(done: list[dict]) -> dict:
    """The run with the median p95 of one configuration's rounds, with every round's throughput and p95 beside it."""
    middle = sorted(done, key=lambda r: r["p95_ms"])[len(done) // 2]
    return {**middle, "rounds_rps": [r["rps"] for r in done], "rounds_p95_ms": [r["p95_ms"] for r in done]}


def run_load(database_url: str, data_dir: Path, trips: int, clients: int, retry_share: float, day: str,
             env: dict[str, str]) -> dict:
    """One load run against a fresh server on ``database_url`` (with settings ``env``): latency, throughput, lost and
    duplicated trips."""
    engine = make_engine(database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "admin", None, "bench", set())
    engine.dispose()
    server = Server(data_dir, database_url, env)
    try:
        jobs = [(k, f"bench-{k}") for k in range(trips)]
        jobs += [job for job in jobs if job[0] < trips * retry_share]
        latencies: list[float] = []
        results: list[tuple[str, int, str | None]] = []

        def create(job: tuple[int, str]) -> None:
            k, idem = job
            started = time.perf_counter()
            try:
                response = client.post("/v1/trips", json=body(k, day), headers={"Idempotency-Key": idem})
            except httpx.HTTPError:
                results.append((idem, 0, None))
                return
            latencies.append((time.perf_counter() - started) * 1000)
            ok = 200 <= response.status_code < 300
            results.append((idem, response.status_code, response.json()["id"] if ok else None))

        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                          limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients)) as client:
            main, workers = server_cpu_s(server.process.pid)
            started, client_cpu = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(create, jobs))
            wall, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
            main_after, workers_after = server_cpu_s(server.process.pid)
            stored: set[str] = set()
            for offset in range(0, trips + 1, 1000):
                stored |= {t["id"] for t in client.get(f"/v1/trips?date={day}&limit=1000&offset={offset}").json()}
    finally:
        server.stop()
    ids: dict[str, set[str]] = {}
    for idem, _, trip_id in results:
        if trip_id:
            ids.setdefault(idem, set()).add(trip_id)
    acknowledged = {i for v in ids.values() for i in v}
    p50, p95 = np.percentile(latencies, [50, 95])
    return {"requests": len(jobs), "seconds": round(wall, 2), "rps": round(len(jobs) / wall, 1),
            "p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "lost": len(acknowledged - stored),
            "duplicates": sum(len(v) - 1 for v in ids.values()) + len(stored - acknowledged),
            "errors_5xx": sum(1 for _, code, _ in results if code >= 500),
            "failed_requests": sum(1 for _, code, _ in results if code == 0),
            "other_errors": sum(1 for _, code, _ in results if 0 < code < 500 and code != 201),
            "server_cpu_ms_per_request": round((main_after - main) / len(jobs) * 1000, 1),
            "worker_cpu_ms_per_request": round((workers_after - workers) / len(jobs) * 1000, 1),
            "client_cpu_ms_per_request": round(client_cpu / len(jobs) * 1000, 1)}


def levers(trips: int) -> dict:
    """What each speed lever buys against the code it replaced, at the size of the load run's plan."""
    return {**matrix_growth(trips), **insertion_lever(trips), **write_lever(), **dijkstra_lever(), **sqlite_levers()}


def _vectorised_floyd_warshall(weight: np.ndarray, tolerance: float) -> bool:
    """The scheduler's shortest paths as they were before they were compiled: n numpy passes (in place)."""
    for k in range(len(weight)):
        np.minimum(weight, weight[:, k : k + 1] + weight[k : k + 1, :], out=weight)
    return not (np.diag(weight) < -tolerance).any()


def insertion_lever(trips: int) -> dict:
    """CPU ms per booking under the day's lock (``DispatchDesk.place``: matrices grown, cheapest feasible insertion)
    for a day of ``trips`` bookings: ours against the same code with the scheduler's shortest paths vectorised in
    numpy, as they were (the plans must come out the same). The other insertion changes of this lever (the fleet
    screened in one compiled call) replaced code that no longer exists; their share is in the README."""
    day = dt.date(2030, 1, 1)
    out = {}
    plans = {}
    for name, shortest in (("ours", schedule_module._shortest_paths), ("vectorised", _vectorised_floyd_warshall)):
        desk = DispatchDesk(load_fleet(ensure_dataset()), 0)
        bodies = [body(k, day.isoformat()) for k in range(trips)]
        prepared = [desk.prepare((b["pickup"]["lon"], b["pickup"]["lat"]), (b["dropoff"]["lon"], b["dropoff"]["lat"]))
                    for b in bodies]
        windows = [(seconds_after_midnight(dt.datetime.fromisoformat(b["earliest_pickup"]), day),
                    seconds_after_midnight(dt.datetime.fromisoformat(b["latest_pickup"]), day), None) for b in bodies]
        compiled, schedule_module._shortest_paths = schedule_module._shortest_paths, shortest
        try:
            for k in range(20):  # compiled code loaded, buffers allocated: on another day, not timed
                desk.place(f"w{k}", day + dt.timedelta(days=1), prepared[k], windows[k], False, 0, None, -1.0)
            started = time.process_time()
            for k in range(trips):
                desk.place(f"t{k}", day, prepared[k], windows[k], bodies[k]["wheelchair"], bodies[k]["companions"], None,
                           -1.0)
            out[name] = (time.process_time() - started) / trips * 1000
        finally:
            schedule_module._shortest_paths = compiled
        plans[name] = desk.plan(day).solution()
        desk.close()
    assert plans["ours"] == plans["vectorised"]  # the same plan, booking by booking
    return {"insertion_ms_per_booking": round(out["ours"], 3),
            "insertion_vectorised_fw_ms_per_booking": round(out["vectorised"], 3),
            "vectorised_fw_over_compiled": round(out["vectorised"] / out["ours"], 2)}


def write_lever(bookings: int = 300) -> dict:
    """CPU ms per booking of the booking writer's transaction (trip, two history events, idempotency record,
    route upsert, commit) on SQLite: ours (Core INSERTs on the tables, built once) against the ORM bulk INSERT of
    the mapped classes, built per call, that it replaced."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'write.db'}")
        migrate(engine)
        sessions = session_factory(engine)
        with sessions() as session:
            key, _ = create_key(session, "admin", None, "bench", set())
            session.commit()
            key_id = key.id
        routes = {f"V{v}": [[f"x{v}", "pickup"], [f"x{v}", "dropoff"]] * 5 for v in range(2)}
        for name in ("orm", "ours", "orm", "ours"):  # interleaved; the second of each is kept (warm)
            started = time.process_time()
            for k in range(bookings):
                trip = Trip(id=f"{name}-{k}-{uuid.uuid4().hex[:6]}", service_date="2030-01-01", operator=None,
                            status="assigned", pickup_lon=76.9, pickup_lat=43.2, dropoff_lon=76.95, dropoff_lat=43.25,
                            earliest_pickup_s=30_000, latest_pickup_s=31_800, wheelchair=True, companions=0,
                            vehicle_id="V0", pickup_eta_s=30_500.0, dropoff_eta_s=31_500.0, created_by=key_id)
                with sessions() as session, one_writer(session):
                    rows = route_rows("2030-01-01", routes, k)
                    record = idempotency_row(key_id, trip.id, "POST", "/v1/trips", 201, {"id": trip.id})
                    if name == "ours":
                        add_trips(session, [(trip, None)])
                        upsert_routes(session, rows)
                        remember_idempotent_rows(session, [record])
                    else:
                        _orm_writes(session, trip, rows, record)
                    session.commit()
            out[name] = (time.process_time() - started) / bookings * 1000
        engine.dispose()
    return {"write_ms_per_booking": round(out["ours"], 3), "write_orm_ms_per_booking": round(out["orm"], 3),
            "orm_over_core_write": round(out["orm"] / out["ours"], 2)}


def _orm_writes(session: object, trip: Trip, routes: list[dict], record: dict) -> None:
    """The booking writer's statements as they were: ORM bulk INSERTs of the mapped classes, built per call."""
    now = dt.datetime.now(dt.UTC)
    trip.created_at = trip.updated_at = now
    session.execute(insert(Trip), [{c.key: getattr(trip, c.key) for c in Trip.__table__.columns}])
    session.execute(insert(TripEvent), [{"trip_id": trip.id, "at": now, "kind": kind, "vehicle_id": trip.vehicle_id,
                                         "detail": None} for kind in ("created", trip.status)])
    statement = sqlite_dialect.insert(PlanRoute)
    session.execute(statement.on_conflict_do_update(
        index_elements=["service_date", "vehicle_id"], where=PlanRoute.version < statement.excluded.version,
        set_={"stops": statement.excluded.stops, "version": statement.excluded.version,
              "updated_at": statement.excluded.updated_at}), routes)
    session.execute(insert(IdempotencyRecord), [record])


def postgres_levers(admin_url: str, bookings: int = 300) -> dict:
    """On PostgreSQL, wall and CPU ms per booking of the booking writer's transaction (one booking, as a commit per
    booking writes it) with its INSERTs in one round trip (``api.pipeline``) against a round trip per statement, and
    of the booking's reads in one statement outside a transaction (``api.storage.booking_checks``) against the read
    transaction they replaced (two SELECTs and a ROLLBACK). Interleaved; the second of each kept (warm)."""
    url, drop = fresh_postgres(admin_url)
    engine = make_engine(url)
    try:
        migrate(engine)
        sessions, reads = session_factory(engine), read_engine(engine)
        with sessions() as session:
            key, _ = create_key(session, "admin", None, "bench", set())
            session.commit()
            key_id = key.id
        routes = {f"V{v}": [[f"x{v}", "pickup"], [f"x{v}", "dropoff"]] * 5 for v in range(2)}
        out = {}
        for name in ("each", "pipelined", "each", "pipelined"):
            started, cpu = time.perf_counter(), time.process_time()
            for k in range(bookings):
                trip = Trip(id=f"{name}-{k}-{uuid.uuid4().hex[:6]}", service_date="2030-01-01", operator=None,
                            status="assigned", pickup_lon=76.9, pickup_lat=43.2, dropoff_lon=76.95, dropoff_lat=43.25,
                            earliest_pickup_s=30_000, latest_pickup_s=31_800, wheelchair=True, companions=0,
                            vehicle_id="V0", pickup_eta_s=30_500.0, dropoff_eta_s=31_500.0, created_by=key_id)
                with sessions() as session:
                    with pipelined(session) if name == "pipelined" else nullcontext():
                        add_trips(session, [(trip, None)])
                        upsert_routes(session, route_rows("2030-01-01", routes, k))
                        remember_idempotent_rows(session, [idempotency_row(key_id, trip.id, "POST", "/v1/trips", 201, {})])
                    session.commit()
            out[name] = ((time.perf_counter() - started) / bookings * 1000, (time.process_time() - cpu) / bookings * 1000)
        for name in ("transaction", "one_statement", "transaction", "one_statement"):
            started, cpu = time.perf_counter(), time.process_time()
            for k in range(bookings):
                if name == "one_statement":
                    with reads.connect() as connection:
                        booking_checks(connection, "2030-01-01", key_id, f"each-{k}")
                else:
                    with sessions() as session:
                        day_open(session, "2030-01-01")
                        find_idempotent(session, key_id, f"each-{k}")
                        session.rollback()
            out[name] = ((time.perf_counter() - started) / bookings * 1000, (time.process_time() - cpu) / bookings * 1000)
    finally:
        engine.dispose()
        drop()
    return {f"postgres_{name}_{kind}_ms": round(value, 3) for name, (wall, cpu) in out.items()
            for kind, value in (("wall", wall), ("cpu", cpu))}


def matrix_growth(trips: int, last: int = 50) -> dict:
    """Adding a booking's two points to a day plan: buffers that grow (ours) against a full copy per booking.

    The copy is what ``LivePlan.add_points`` did before: new (n+2)^2 matrices, a new
    ``ProblemData`` (validating every entry) and new tenge arc costs. Milliseconds per
    booking over the ``last`` bookings of a day of ``trips`` bookings.
    """
    desk = DispatchDesk(load_fleet(ensure_dataset()), 0)
    rng = np.random.default_rng(1)
    ours, peer = desk.plan(dt.date(2030, 1, 1)), desk.plan(dt.date(2030, 1, 2))
    data, pricing = peer.problem(), peer.pricing
    ours_s = peer_s = 0.0
    for booking in range(trips):
        n = len(data.duration_s)
        rows, cols = rng.uniform(60, 3600, (2, n + 2)), rng.uniform(60, 3600, (n, 2))
        started = time.perf_counter()
        ours.add_points(rows, cols, rows * 9, cols * 9)
        if booking >= trips - last:
            ours_s += time.perf_counter() - started
        started = time.perf_counter()
        grown = []
        for base, new_rows, new_cols in ((data.duration_s, rows, cols), (data.distance_m, rows * 9, cols * 9)):
            full = np.empty((n + 2, n + 2))
            full[:n, :n], full[n:, :], full[:n, n:] = base, new_rows, new_cols
            grown.append(full)
        data = replace(data, duration_s=grown[0], distance_m=grown[1])
        pricing.arc(data)
        if booking >= trips - last:
            peer_s += time.perf_counter() - started
    np.testing.assert_array_equal(ours.problem().distance_m, data.distance_m)  # the same matrices
    desk.close()
    return {"matrix_points": len(data.duration_s), "matrix_growth_ms_per_booking": round(ours_s / last * 1000, 3),
            "matrix_copy_ms_per_booking": round(peer_s / last * 1000, 3),
            "matrix_copy_over_growth": round(peer_s / ours_s, 1)}


def dijkstra_lever(bookings: int = 100) -> dict:
    """CPU ms per booking of the travel rows: ours (PHAST on a contraction hierarchy) against Dijkstra.

    The peers run the same four searches (two nodes, forward and reverse): the
    compiled Dijkstra with path lengths (the former travel rows) and scipy's
    (times and trees only: the old lengths summing came on top, so it is
    flattered). Also the hierarchy's build time and size (once per server start).
    """
    graph = profile_graph("drive")
    pairs = np.random.default_rng(2).integers(0, graph.forward.shape[0], (bookings, 2))
    metres = aligned_lengths(graph.forward, graph.length, False)
    build_hierarchy(graph.forward, metres)  # compiled (numba caches it on disk: a server compiles it once)
    started = time.perf_counter()
    hierarchy = build_hierarchy(graph.forward, metres)
    build_s = time.perf_counter() - started
    node_rows(pairs[0]), fastest_paths(pairs[0])  # compiled, the drive arrays loaded
    started = time.process_time()
    ours = [node_rows(pair) for pair in pairs]
    ours_s = time.process_time() - started
    started = time.process_time()
    compiled = [(fastest_paths(pair), fastest_paths(pair, reverse=True)) for pair in pairs]
    compiled_s = time.process_time() - started
    started = time.process_time()
    peer = [dijkstra(graph.forward, indices=pair, return_predecessors=True)[0] for pair in pairs]
    peer += [dijkstra(graph.reverse, indices=pair, return_predecessors=True)[0] for pair in pairs]
    peer_s = time.process_time() - started
    for k in range(bookings):  # the same fastest times and path lengths
        np.testing.assert_allclose(ours[k].duration_from_s, peer[k], rtol=1e-12)
        np.testing.assert_allclose(ours[k].duration_to_s, peer[bookings + k], rtol=1e-12)
        np.testing.assert_allclose(ours[k].distance_from_m, compiled[k][0][1], rtol=1e-12)
        np.testing.assert_allclose(ours[k].distance_to_m, compiled[k][1][1], rtol=1e-12)
    return {"travel_rows_ms_per_booking": round(ours_s / bookings * 1000, 2),
            "dijkstra_ms_per_booking": round(compiled_s / bookings * 1000, 2),
            "scipy_dijkstra_ms_per_booking": round(peer_s / bookings * 1000, 2),
            "dijkstra_over_travel_rows": round(compiled_s / ours_s, 1),
            "scipy_over_travel_rows": round(peer_s / ours_s, 1),
            "hierarchy_build_s": round(build_s, 2), "hierarchy_shortcuts": int(hierarchy.shortcuts),
            "drive_edges": int(graph.forward.nnz)}


def sqlite_levers(threads: int = 16, transactions: int = 25) -> dict:
    """SQLite write path: writers queued on a lock (ours) against SQLite's busy handler; FULL against NORMAL sync.

    ``threads`` writers, each ``transactions`` booking-sized transactions (three
    inserts, one commit) on a WAL database with the API's engine settings.
    """
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, serialised in (("queued", True), ("busy_handler", False)):
            engine = make_engine(f"sqlite:///{Path(tmp) / f'{name}.db'}")
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (k TEXT, v TEXT)"))
            sessions, latencies = session_factory(engine), []

            def writer(w: int, serialised: bool = serialised, sessions: object = sessions,
                       latencies: list = latencies) -> None:
                for t in range(transactions):
                    started = time.perf_counter()
                    with sessions() as session, (one_writer(session) if serialised else nullcontext()):
                        for row in range(3):
                            session.execute(text("INSERT INTO t VALUES (:k, :v)"), {"k": f"{w}-{t}-{row}", "v": "x" * 300})
                        session.commit()
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(writer, range(threads)))
            wall = time.perf_counter() - started
            engine.dispose()
            out[f"sqlite_{name}_p95_ms"] = round(float(np.percentile(latencies, 95)) * 1000, 1)
            out[f"sqlite_{name}_commits_per_s"] = round(threads * transactions / wall, 1)
        for sync in ("FULL", "NORMAL"):
            connection = sqlite3.connect(Path(tmp) / f"{sync}.db")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={sync}")
            connection.execute("CREATE TABLE t (k TEXT, v TEXT)")
            connection.commit()
            started = time.perf_counter()
            for k in range(100):
                connection.execute("INSERT INTO t VALUES (?, ?)", (str(k), "x" * 300))
                connection.commit()
            out[f"sqlite_commit_ms_{sync.lower()}"] = round((time.perf_counter() - started) * 10, 3)
            connection.close()
    return out


def server_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the server process and by its worker processes (load-independent cost)."""
    server = psutil.Process(pid)
    times = server.cpu_times()
    workers = [p.cpu_times() for p in server.children(recursive=True)]
    return times.user + times.system, sum(t.user + t.system for t in workers)


def fresh_postgres(admin_url: str) -> tuple[str, object]:
    """A new, empty database on the server of ``admin_url``; returns its URL and a function dropping it."""
    name = f"invaplan_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trips", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--retry-share", type=float, default=0.5)
    parser.add_argument("--no-peer", action="store_true", help="skip the worker-process run and the lever measurements")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="runs of each configuration; the median is reported")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "api.json")
    args = parser.parse_args()
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    data_dir = ensure_dataset()
    configs = [("sqlite", {})] + ([] if args.no_peer else [
        ("sqlite_each", {"INVAPLAN_BOOKING_GROUP": "1"}),
        ("sqlite_worker_processes", {"INVAPLAN_ROUTING_WORKERS": str(PROCESS_WORKERS)})])
    if os.environ.get(POSTGRES_ENV):
        configs += [("postgres", {})] + ([] if args.no_peer else [
            ("postgres_each", {"INVAPLAN_BOOKING_GROUP": "1"})])
    else:
        print(f"{POSTGRES_ENV} not set: PostgreSQL not measured")
    rounds: dict[str, list[dict]] = {name: [] for name, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        # one unreported run first: the first server of a benchmark ran with a longer tail whatever its
        # configuration (p95 +20-40 ms in idle runs), which favoured whichever configuration came second
        run_load(f"sqlite:///{Path(tmp) / 'warm_up.db'}", data_dir, WARM_UP_TRIPS, args.clients, args.retry_share, day, {})
        for k in range(args.rounds):  # configurations interleaved, so a slow spell of the machine hits them alike
            for name, env in configs:
                rounds[name].append(_one_run(name, env, Path(tmp) / f"{name}-{k}.db", data_dir, args, day))
                print(f"round {k + 1}/{args.rounds}", name, json.dumps(rounds[name][-1]), flush=True)
    runs = {name: _median_run(done) for name, done in rounds.items()}
    result = {"trips": args.trips, "clients": args.clients, "requests": runs["sqlite"]["requests"],
              "create_p95_ms": runs["sqlite"]["p95_ms"], "create_rps": runs["sqlite"]["rps"],
              "create_p50_ms": runs["sqlite"]["p50_ms"],
              "create_p95_ms_postgres": runs.get("postgres", {}).get("p95_ms"),
              "create_rps_postgres": runs.get("postgres", {}).get("rps"),
              "rounds": args.rounds,
              "lost": sum(r["lost"] for done in rounds.values() for r in done),
              "duplicates": sum(r["duplicates"] for done in rounds.values() for r in done),
              "errors_5xx": sum(r["errors_5xx"] for done in rounds.values() for r in done),
              "failed_requests": sum(r["failed_requests"] for done in rounds.values() for r in done), "runs": runs}
    if not args.no_peer:
        ours, processes, each = runs["sqlite"], runs["sqlite_worker_processes"], runs["sqlite_each"]
        result["levers"] = {"threads_over_processes_rps": round(ours["rps"] / processes["rps"], 2),
                            "processes_over_threads_p95": round(processes["p95_ms"] / ours["p95_ms"], 2),
                            "group_over_each_rps": round(ours["rps"] / each["rps"], 2),
                            "group_over_each_p95": round(ours["p95_ms"] / each["p95_ms"], 2),
                            "group_over_each_cpu": round(ours["server_cpu_ms_per_request"] / each["server_cpu_ms_per_request"], 2),
                            **levers(args.trips)}
        if "postgres_each" in runs:
            ours, each = runs["postgres"], runs["postgres_each"]
            result["levers"] |= {"postgres_group_over_each_rps": round(ours["rps"] / each["rps"], 2),
                                 "postgres_group_over_each_p95": round(ours["p95_ms"] / each["p95_ms"], 2),
                                 **postgres_levers(os.environ[POSTGRES_ENV])}
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
