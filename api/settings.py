"""Service settings from environment variables (``INVAPLAN_*``) with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.paths import generated_data_dir

ROUTING_WORKERS: int = min(2, os.cpu_count() or 1)  # Dijkstra in parallel with the server process; measured in bench/api.py


class Settings(BaseSettings):
    """Settings of the dispatcher API.

    Attributes
    ----------
    database_url
        SQLAlchemy URL; empty means SQLite (WAL) at ``<data_dir>/invaplan.db``.
        Set ``INVAPLAN_DATABASE_URL=postgresql+psycopg://...`` for PostgreSQL.
    data_dir
        Generated-data directory (the Almaty dataset, created on first start).
    max_body_bytes
        Requests with larger bodies are refused with 413.
    booking_horizon_days
        How many days ahead (Almaty dates) trips may be booked; later ones get 422.
    auth_failures_per_minute
        Failed authentications per client address and minute before it is answered 429.
    key_cache_s
        Seconds a valid API key is trusted without a database look-up (a key revoked
        through the API stops at once; one revoked by ``invaplan keys`` within this time).
    routing_workers
        Worker processes computing travel rows (scipy's Dijkstra holds the GIL);
        0 computes them in the request thread.
    clock
        Empty: real time; ``replay:<ISO start>:<speed>`` runs a replayed day
        (``api.clock.Clock``; used by ``bench/operations.py``).
    results_dir
        Where ``invaplan demo`` / ``plan`` / ``maps`` wrote their outputs
        (``plan/``, ``maps/``), served read-only.
    """

    model_config = SettingsConfigDict(env_prefix="INVAPLAN_")

    database_url: str = ""
    data_dir: Path | None = None
    max_body_bytes: int = 64 * 1024
    booking_horizon_days: int = 60  # two months: a month of standing bookings and a month of slack (issue 16)
    auth_failures_per_minute: int = 30  # well above typing mistakes, far below guessing
    key_cache_s: float = 10.0
    routing_workers: int = ROUTING_WORKERS
    results_dir: Path = Path("out")
    clock: str = ""

    def resolved_data_dir(self) -> Path:
        """The data directory actually used."""
        return generated_data_dir(self.data_dir)

    def resolved_database_url(self) -> str:
        """The database URL actually used (SQLite file under the data directory by default)."""
        if self.database_url:
            return self.database_url
        directory = self.resolved_data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / 'invaplan.db'}"
