"""Engine, sessions and schema migrations.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed trip
survives a crash of the process and of the machine (``NORMAL`` would skip the
fsync of each commit, 0.1–3.7 ms on the development disk depending on its load (``bench/api.py``), and survive a killed
process, but a power cut could lose the last acknowledged bookings); the
server's write transactions queue on one lock (:func:`one_writer`).
PostgreSQL is used when the settings name one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR: Path = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS: int = 30_000
_SQLITE_WRITERS: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()


# Connections kept open: every request thread that reads holds one for a moment, and a connection opened beyond
# the pool is closed again on return (SQLite: a file open and four pragmas; PostgreSQL: a new server process),
# which under 16 concurrent clients was a steady churn. 20 covers them and the writer; PostgreSQL allows 100.
POOL_SIZE: int = 20
POOL_OVERFLOW: int = 20  # beyond the pool, for bursts (closed again on return)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, FULL sync, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 - DBAPI types
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        _SQLITE_WRITERS[engine] = threading.Lock()
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def read_engine(engine: Engine) -> Engine:
    """``engine`` for reads outside any transaction (its connection pool, AUTOCOMMIT).

    One statement reads a consistent snapshot by itself; inside a transaction,
    a read on PostgreSQL also costs the round trips of BEGIN and ROLLBACK, and
    psycopg deallocates its prepared statements after every rollback.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded values after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def one_writer(session: Session) -> Iterator[None]:
    """Run a write transaction of ``session`` alone among this process's writers on SQLite (no-op on PostgreSQL).

    SQLite lets one connection write at a time; a second writer sleeps in
    SQLite's busy handler (in steps of 1 to 100 ms) and retries, which put
    tens of milliseconds on the booking p95 under 16 concurrent clients.
    Queued on a lock instead, each writer starts the moment the previous
    commit ends (other processes, e.g. ``invaplan keys``, still meet the busy
    timeout). Commit inside the block; on an error the transaction is rolled
    back before the lock is released.
    """
    lock = _SQLITE_WRITERS.get(session.get_bind())
    if lock is None:
        yield
        return
    with lock:
        try:
            yield
        except BaseException:
            session.rollback()
            raise
