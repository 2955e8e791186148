"""Service settings from environment variables (``INVAPLAN_*``) with embedded defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.paths import generated_data_dir

ROUTING_WORKERS: int = 0  # the compiled PHAST queries release the GIL: request threads run them in parallel with less CPU than worker processes (bench/api.py)
BOOKING_GROUP: int = 64  # bookings per transaction at most: above the 16 clients of bench/api.py, so all queued ones join
# Bookings queued during a commit share the next one, on both databases: one fsync and, on PostgreSQL, one pipelined
# round trip (api.pipeline) for all of them, which keeps the writer ahead when commits slow down. Against a commit per
# booking on an idle machine the difference stays within the rounds' spread (bench/api.py, `levers.group_over_each_*`).


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
        Worker processes computing travel rows; 0 (the default) computes them in
        the request thread, where the compiled queries release the GIL.
    booking_group
        Most bookings committed in one transaction (``api.booking_writer``; default ``BOOKING_GROUP``,
        measured above); 1 commits each alone.
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
    booking_group: int = Field(BOOKING_GROUP, ge=1)
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
