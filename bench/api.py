"""Load benchmark of the dispatcher API: trip creation with live insertion against a running server.

Starts ``uvicorn`` with the real app on loopback (SQLite WAL in a temporary
directory), creates ``--trips`` trips from ``--clients`` concurrent clients,
every ``--retry-share`` of them sent twice with the same Idempotency-Key,
then checks that no acknowledged trip is lost and no key made two trips.

Writes ``bench/results/api.json`` with ``create_rps``, ``create_p50_ms``,
``create_p95_ms``, ``lost``, ``duplicates``, ``errors_5xx``.

Usage: ``python bench/api.py [--trips 600] [--clients 16] [--json PATH]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trips", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--retry-share", type=float, default=0.5)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "api.json")
    args = parser.parse_args()
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        with session_factory(engine)() as session:
            _, key = create_key(session, "admin", None, "bench", set())
        engine.dispose()
        server = Server(ensure_dataset(), url)
        try:
            jobs = [(k, f"bench-{k}") for k in range(args.trips)]
            jobs += [job for job in jobs if job[0] < args.trips * args.retry_share]
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

            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                started = time.perf_counter()
                with ThreadPoolExecutor(args.clients) as pool:
                    list(pool.map(create, jobs))
                wall = time.perf_counter() - started
                stored = {t["id"] for t in client.get(f"/v1/trips?date={day}&limit=1000").json()}
                if args.trips > 1000:
                    print("note: only the first 1000 stored trips are listed; 'lost' counts against them")
        finally:
            server.stop()
    ids: dict[str, set[str]] = {}
    for idem, _, trip_id in results:
        if trip_id:
            ids.setdefault(idem, set()).add(trip_id)
    acknowledged = {i for v in ids.values() for i in v}
    p50, p95 = np.percentile(latencies, [50, 95])
    result = {"requests": len(jobs), "trips": args.trips, "clients": args.clients, "seconds": round(wall, 2),
              "create_rps": round(len(jobs) / wall, 1), "create_p50_ms": round(float(p50), 1), "create_p95_ms": round(float(p95), 1),
              "lost": len(acknowledged - stored), "duplicates": sum(len(v) - 1 for v in ids.values()),
              "errors_5xx": sum(1 for _, code, _ in results if code >= 500), "failed_requests": sum(1 for _, code, _ in results if code == 0)}
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
