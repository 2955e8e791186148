"""Commits of new bookings from one writer thread, alone or in groups (every booking queued meanwhile in one transaction).

A booking's request thread hands its rows (the trip, the routes its
insertion changed, the idempotency record) to :meth:`BookingWriter.write`
and waits until they are committed: the answer still follows the commit, so
an acknowledged booking is durable (SQLite ``synchronous=FULL`` fsyncs every
commit; PostgreSQL flushes its WAL). While one transaction commits, the next
bookings queue; the writer then stores all of them (up to ``group``)
with one statement per table and one commit; on PostgreSQL the statements
go in one round trip (``api.pipeline``). Under 16 concurrent clients this
replaces up to 16 commits (each an fsync, each writer's turn on SQLite's one
write lock and several GIL hand-overs) by one (``api.settings.BOOKING_GROUP``,
measured against a commit per booking by ``bench/api.py``).

If a batch fails (e.g. a concurrent retry stored the same Idempotency-Key
first), it is rolled back and each booking is written alone, so only the
booking at fault gets the error.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from api.db import one_writer
from api.models import Trip
from api.pipeline import pipelined
from api.storage import add_trips, record_moves, remember_idempotent_rows, route_rows, upsert_routes

if TYPE_CHECKING:
    from api.dispatch_desk import Moved


@dataclass(frozen=True)
class BookingWrite:
    """The rows of one booking: the trip, its plan change (routes and version), its idempotency row (or None), and
    the booked trips moved to make room for it (reassigned in the same transaction)."""

    trip: Trip
    routes: dict[str, list[list[str]]]
    version: int
    idempotency: dict | None
    moved: tuple[Moved, ...] = ()


class BookingWriter:
    """Commits bookings in groups from one writer thread (see the module docstring).

    Parameters
    ----------
    sessions
        Database sessions.
    group
        Most bookings per transaction (``api.settings.BOOKING_GROUP``); 1 commits each booking alone.
    """

    def __init__(self, sessions: sessionmaker[Session], group: int) -> None:
        self.sessions, self.group = sessions, group
        self._queue: queue.SimpleQueue[tuple[BookingWrite, Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="booking-writer", daemon=True)
        self._thread.start()

    def write(self, booking: BookingWrite) -> None:
        """Store ``booking`` and return once it is committed; raises the error that kept it from being stored."""
        if not self._thread.is_alive():
            raise RuntimeError("the booking writer is stopped")
        done: Future[None] = Future()
        self._queue.put((booking, done))
        done.result()

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch = []
            while item is not None:
                batch.append(item)
                if len(batch) == self.group:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[BookingWrite, Future]]) -> None:
        try:
            self._store([booking for booking, _ in batch])
        except Exception as error:  # noqa: BLE001 - handed to the waiting request threads
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for booking, done in batch:  # alone, so that only the booking at fault fails
                try:
                    self._store([booking])
                except Exception as alone:  # noqa: BLE001 - as above
                    done.set_exception(alone)
                else:
                    done.set_result(None)
            return
        for _, done in batch:
            done.set_result(None)

    def _store(self, bookings: list[BookingWrite]) -> None:
        """One transaction for ``bookings``; of several rows for one vehicle's route, the newest plan version is written."""
        newest: dict[tuple[str, str], dict] = {}
        for booking in bookings:
            for row in route_rows(booking.trip.service_date, booking.routes, booking.version):
                key = (row["service_date"], row["vehicle_id"])
                if key not in newest or newest[key]["version"] < row["version"]:
                    newest[key] = row
        with self.sessions() as session, one_writer(session):
            with pipelined(session):  # PostgreSQL: BEGIN and the INSERTs in one round trip
                add_trips(session, [(booking.trip, None) for booking in bookings])
                upsert_routes(session, list(newest.values()))
                remember_idempotent_rows(session, [b.idempotency for b in bookings if b.idempotency is not None])
            # after the pipeline (it reads): trips moved by a repair, those booked in this batch included
            record_moves(session, [move for booking in bookings for move in booking.moved])
            session.commit()
