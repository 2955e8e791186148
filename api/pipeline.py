"""A transaction's INSERTs sent to PostgreSQL together, in psycopg's pipeline mode.

A booking's transaction writes four tables. Through SQLAlchemy each
statement is a round trip to PostgreSQL, and under load every round trip
is a hand-over of the GIL that the writer thread waits to get back (up to
the interpreter's 5 ms switch interval while request threads compute).
Inside :func:`pipelined`, :func:`insert_rows` queues each statement on the
driver connection instead (the statement compiled by SQLAlchemy once, its
JSON values wrapped for psycopg), and the block's end sends them all with
the transaction's BEGIN: one round trip, then the COMMIT. Elsewhere, and on
SQLite (no round trips), :func:`insert_rows` is a plain ``Session.execute``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

PIPELINE_KEY: str = "pipeline_cursor"  # Session.info key of the psycopg cursor of an open pipeline


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """Queue the :func:`insert_rows` of ``session`` on PostgreSQL and send them at the end of the block.

    The transaction stays open: commit after the block. A statement's error
    (e.g. a unique violation) is raised at the end of the block as
    SQLAlchemy's exception (``IntegrityError``), as ``Session.execute`` would.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    driver = session.connection().connection.driver_connection
    try:
        with driver.pipeline(), driver.cursor() as cursor:
            session.info[PIPELINE_KEY] = cursor
            yield
    except psycopg.Error as error:
        raise DBAPIError.instance(None, None, error, psycopg.Error) from error
    finally:
        session.info.pop(PIPELINE_KEY, None)


def insert_rows(session: Session, statement: Insert, rows: list[dict]) -> None:
    """Execute ``statement`` for ``rows`` (dicts with the same keys): queued in an open :func:`pipelined` block, else
    through ``Session.execute``."""
    cursor = session.info.get(PIPELINE_KEY)
    if cursor is None:
        session.execute(statement, rows)
        return
    sql, json_keys = _driver_sql(statement, session.get_bind().dialect, tuple(rows[0]))
    params = [{k: Json(v) if k in json_keys else v for k, v in row.items()} for row in rows]
    if len(params) == 1:
        cursor.execute(sql, params[0])
    else:
        cursor.executemany(sql, params)


@cache
def _driver_sql(statement: Insert, dialect: Dialect, keys: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    """The driver's SQL of ``statement`` for rows with ``keys``, and those keys whose column is JSON."""
    sql = str(statement.compile(dialect=dialect, column_keys=list(keys)))
    json_keys = frozenset(c.key for c in statement.table.columns if c.key in keys and isinstance(c.type, JSON))
    return sql, json_keys
