"""API fixtures: databases (SQLite and a real PostgreSQL) and a running app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, migrate, session_factory
from api.storage import create_key

POSTGRES_ENV = "INVAPLAN_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: .ci/run must start PostgreSQL")
        pytest.skip(f"{POSTGRES_ENV} not set (start one with .ci/postgres.sh)")
    name = f"invaplan_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated fresh database of each kind."""
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, str]:
    """A migrated SQLite file with one SPO-GROUP dispatcher key: (url, raw key), for server-process tests."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        _, key = create_key(session, "dispatcher", "SPO-GROUP", "load test", {"SPO-GROUP"})
    engine.dispose()
    return url, key
