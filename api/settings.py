"""Service settings from environment variables (``INVAPLAN_*``) with embedded defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.paths import generated_data_dir


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
    results_dir
        Where ``invaplan demo`` / ``plan`` / ``maps`` wrote their outputs
        (``plan/``, ``maps/``), served read-only.
    """

    model_config = SettingsConfigDict(env_prefix="INVAPLAN_")

    database_url: str = ""
    data_dir: Path | None = None
    max_body_bytes: int = 64 * 1024
    results_dir: Path = Path("out")

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
