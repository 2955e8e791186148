"""Load benchmark of the dispatcher API: trip creation with live insertion against a running server.

Starts ``uvicorn`` with the real app on loopback, creates ``--trips`` trips
from ``--clients`` concurrent clients, every ``--retry-share`` of them sent
again with the same Idempotency-Key, then checks that no acknowledged trip
is lost and no key made two trips. It runs on SQLite (WAL, in a temporary
directory) and, when ``INVAPLAN_TEST_POSTGRES_URL`` names a PostgreSQL
server, on a fresh database there.

The peer is the same server with travel rows computed in the request
thread (``INVAPLAN_ROUTING_WORKERS=0``): Dijkstra holds the GIL, so this
shows what the worker processes buy (``levers``).

Each run also reports the CPU milliseconds per request of the server process
and of its travel-row workers, which a busy machine distorts far less than
latency and throughput.

Writes ``bench/results/api.json``: ``create_p95_ms``, ``create_rps``
(SQLite), ``create_p95_ms_postgres``, ``create_rps_postgres``, and ``lost``,
``duplicates``, ``errors_5xx`` summed over all runs.

Usage: ``python bench/api.py [--trips 600] [--clients 16] [--json PATH]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
# this script's folder would hide the `api` package; the server helper is shared with the tests
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO / "tests" / "api"))

from server_process import Server  # noqa: E402

from api.db import make_engine, migrate, session_factory  # noqa: E402
from api.storage import create_key  # noqa: E402
from data.dataset import ensure_dataset  # noqa: E402


def body(k: int, day: str) -> dict:
    """A plausible trip in central Almaty, windows spread over the day."""
    rng = np.random.default_rng(k)
    start = dt.datetime.fromisoformat(f"{day}T07:30") + dt.timedelta(minutes=int(rng.integers(0, 11 * 60)))
    return {"pickup": {"lon": float(rng.uniform(76.85, 76.98)), "lat": float(rng.uniform(43.20, 43.30))},
            "dropoff": {"lon": float(rng.uniform(76.85, 76.98)), "lat": float(rng.uniform(43.20, 43.30))},
            "earliest_pickup": start.isoformat(), "latest_pickup": (start + dt.timedelta(minutes=30)).isoformat(),
            "wheelchair": bool(rng.random() < 0.4), "companions": int(rng.random() < 0.3)}


POSTGRES_ENV = "INVAPLAN_TEST_POSTGRES_URL"
PEER_WORKERS = 0  # the peer: travel rows in the request thread


def run_load(database_url: str, data_dir: Path, trips: int, clients: int, retry_share: float, day: str,
             workers: int | None) -> dict:
    """One load run against a fresh server on ``database_url``: latency, throughput, lost and duplicated trips."""
    engine = make_engine(database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "admin", None, "bench", set())
    engine.dispose()
    env = {} if workers is None else {"INVAPLAN_ROUTING_WORKERS": str(workers)}
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
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(create, jobs))
            wall = time.perf_counter() - started
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
            "worker_cpu_ms_per_request": round((workers_after - workers) / len(jobs) * 1000, 1)}


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
    parser.add_argument("--no-peer", action="store_true", help="skip the peer run (in-thread travel rows)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "api.json")
    args = parser.parse_args()
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    data_dir = ensure_dataset()
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        configs = [("sqlite", None)] + ([] if args.no_peer else [("sqlite_peer", PEER_WORKERS)])
        for name, workers in configs:
            runs[name] = run_load(f"sqlite:///{Path(tmp) / f'{name}.db'}", data_dir, args.trips, args.clients,
                                  args.retry_share, day, workers)
            print(name, json.dumps(runs[name]), flush=True)
    if os.environ.get(POSTGRES_ENV):
        url, drop = fresh_postgres(os.environ[POSTGRES_ENV])
        try:
            runs["postgres"] = run_load(url, data_dir, args.trips, args.clients, args.retry_share, day, None)
            print("postgres", json.dumps(runs["postgres"]), flush=True)
        finally:
            drop()
    else:
        print(f"{POSTGRES_ENV} not set: PostgreSQL not measured")
    result = {"trips": args.trips, "clients": args.clients, "requests": runs["sqlite"]["requests"],
              "create_p95_ms": runs["sqlite"]["p95_ms"], "create_rps": runs["sqlite"]["rps"],
              "create_p50_ms": runs["sqlite"]["p50_ms"],
              "create_p95_ms_postgres": runs.get("postgres", {}).get("p95_ms"),
              "create_rps_postgres": runs.get("postgres", {}).get("rps"),
              "lost": sum(r["lost"] for r in runs.values()), "duplicates": sum(r["duplicates"] for r in runs.values()),
              "errors_5xx": sum(r["errors_5xx"] for r in runs.values()),
              "failed_requests": sum(r["failed_requests"] for r in runs.values()), "runs": runs}
    if "sqlite_peer" in runs:
        result["levers"] = {"routing_workers_rps_ratio": round(runs["sqlite"]["rps"] / runs["sqlite_peer"]["rps"], 2),
                            "routing_workers_p95_ratio": round(runs["sqlite_peer"]["p95_ms"] / runs["sqlite"]["p95_ms"], 2)}
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
