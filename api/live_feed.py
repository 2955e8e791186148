"""Live plan changes for the dispatcher console: what each committed write changed, pushed to open event streams.

Every write that changes a day's plan or its trips notes on its database
session what it touched (:func:`note_change`: ``api.storage`` does it when it
stores routes, trips, assignments and cancellations). After the session
commits, :class:`PlanFeed` (a SQLAlchemy ``after_commit`` hook) sends one
message per service day to every open stream (``GET /v1/events/stream``,
``api.routes.live``), each seeing only its operator's vehicles and trips
(an admin's stream sees all). A rolled-back write sends nothing. Messages go
only to the streams of this process: with several workers, a console falls
back on polling the plan version (the console does it whenever its stream is
down; a stream ends after ``STREAM_MAX_S`` and is reopened).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

NOTES_KEY: str = "plan_changes"  # Session.info key holding the notes of the open transaction
QUEUE_MAX: int = 256  # messages waiting for a slow stream; beyond, they are dropped and the stream says "resync"


@dataclass
class _Note:
    """What one transaction changed on one service day."""

    version: int | None = None
    vehicles: set[str] = field(default_factory=set)
    trips: dict[str, str | None] = field(default_factory=dict)  # trip id -> its operator


def note_change(session: Session, service_date: str, version: int | None = None, vehicles: Iterable[str] = (),
                trips: Iterable[tuple[str, str | None]] = ()) -> None:
    """Note on ``session`` that its transaction changes ``service_date``'s plan (version, vehicles' routes) or
    trips (``(trip id, operator)`` pairs); published when it commits."""
    note = session.info.setdefault(NOTES_KEY, {}).setdefault(service_date, _Note())
    if version is not None:
        note.version = max(version, note.version or 0)
    note.vehicles.update(vehicles)
    note.trips.update(trips)


@dataclass(eq=False)
class _Stream:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    operator: str | None  # None: every operator (admin)
    service_date: str | None  # None: every day
    overflow: bool = False


class PlanFeed:
    """The open streams of this process and the publishing of committed changes to them.

    Parameters
    ----------
    operator_of
        Vehicle id -> its operator.
    version_of
        Service date (ISO) -> the day's current plan version (for changes that did not store a route).
    """

    def __init__(self, operator_of: dict[str, str], version_of: Callable[[str], int]) -> None:
        self._operator_of = operator_of
        self._version_of = version_of
        self._streams: set[_Stream] = set()
        self._lock = threading.Lock()

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Publish what the sessions of ``sessions`` commit; forget what they roll back."""
        event.listen(sessions, "after_commit", self._committed)
        event.listen(sessions, "after_rollback", lambda session: session.info.pop(NOTES_KEY, None))

    def subscribe(self, operator: str | None, service_date: str | None) -> _Stream:
        """A new stream (in the running event loop) of ``operator``'s changes (None: all) on ``service_date`` (None: all)."""
        stream = _Stream(asyncio.get_running_loop(), asyncio.Queue(QUEUE_MAX), operator, service_date)
        with self._lock:
            self._streams.add(stream)
        return stream

    def unsubscribe(self, stream: _Stream) -> None:
        """Close ``stream``."""
        with self._lock:
            self._streams.discard(stream)

    def _committed(self, session: Session) -> None:
        notes: dict[str, _Note] = session.info.pop(NOTES_KEY, {})
        with self._lock:
            streams = list(self._streams)
        if not notes or not streams:  # nobody listens
            return
        for service_date, note in notes.items():
            version = self._version_of(service_date) if note.version is None else note.version
            for stream in streams:
                if stream.service_date not in (None, service_date):
                    continue
                mine = lambda operator: stream.operator is None or operator == stream.operator  # noqa: E731
                vehicles = sorted(v for v in note.vehicles if mine(self._operator_of.get(v)))
                trips = sorted(t for t, operator in note.trips.items() if mine(operator))
                if vehicles or trips:
                    message = {"date": service_date, "version": version, "vehicles": vehicles, "trips": trips}
                    try:
                        stream.loop.call_soon_threadsafe(_offer, stream, message)
                    except RuntimeError:  # its loop has closed (the server is stopping)
                        self.unsubscribe(stream)


def _offer(stream: _Stream, message: dict) -> None:
    """Queue ``message`` on ``stream`` (in its loop); a full queue drops it and marks the stream for a resync."""
    if stream.queue.full():
        stream.overflow = True
        return
    stream.queue.put_nowait({**message, "resync": stream.overflow})
    stream.overflow = False
