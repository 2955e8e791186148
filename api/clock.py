"""The API's one time rule: every date-time is Almaty local time (Asia/Almaty, UTC+05:00).

Inputs with an offset (``Z``, ``+03:00``) are converted to Almaty time;
inputs without one are taken as Almaty local time; a date without a time of
day is refused. Outputs always carry the ``+05:00`` offset. Inside, a trip's
times are seconds after midnight (Almaty) of its service date.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field

ALMATY_TZ = ZoneInfo("Asia/Almaty")
TIME_RULE: str = ("ISO 8601 date and time of day; with an offset (Z, +03:00) it is converted to Almaty time "
                  "(Asia/Almaty, UTC+05:00), without one it is taken as Almaty local time")
_HAS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _require_time_of_day(value: object) -> object:
    """Refuse date-only strings and non-strings (numbers would be read as Unix times)."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _HAS_TIME.match(value):
        raise ValueError("expected a date and time of day, e.g. 2026-11-27T09:30 or 2026-11-27T04:30Z")
    return value


def to_almaty(moment: dt.datetime) -> dt.datetime:
    """``moment`` in Almaty time (aware); naive values are Almaty local time."""
    return moment.replace(tzinfo=ALMATY_TZ) if moment.tzinfo is None else moment.astimezone(ALMATY_TZ)


def stored_to_almaty(moment: dt.datetime) -> dt.datetime:
    """A database timestamp in Almaty time; naive values (SQLite) are UTC."""
    return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment).astimezone(ALMATY_TZ)


AlmatyDateTime = Annotated[dt.datetime, BeforeValidator(_require_time_of_day), AfterValidator(to_almaty),
                           Field(description=TIME_RULE)]
StoredDateTime = Annotated[dt.datetime, AfterValidator(stored_to_almaty),
                           Field(description="when it happened, Almaty time (+05:00)")]


class Clock:
    """The server's "now": real time, or a replayed day (``INVAPLAN_CLOCK``).

    Parameters
    ----------
    spec
        Empty: real time. ``replay:<ISO start>:<speed>``: now = start + speed x the
        monotonic seconds since this clock was made (e.g. ``replay:2026-11-27T07:00:60``
        runs 2026-11-27 from 07:00 Almaty time at 60 x). A restart with the same setting
        starts again from ``start``: a replay restarted mid-day passes its current simulated time.
    """

    def __init__(self, spec: str = "") -> None:
        self.spec, self.start, self.speed = spec, None, 1.0
        self._origin = time.monotonic()
        if not spec:
            return
        kind, _, rest = spec.partition(":")
        start, _, speed = rest.rpartition(":")
        try:
            if kind != "replay":
                raise ValueError(kind)
            self.start, self.speed = to_almaty(dt.datetime.fromisoformat(start)), float(speed)
        except ValueError:
            raise ValueError(f"INVAPLAN_CLOCK: expected replay:<ISO start>:<speed>, got {spec!r}") from None
        if not self.speed > 0:
            raise ValueError(f"INVAPLAN_CLOCK: speed must be positive, got {speed}")

    def now(self) -> dt.datetime:
        """The current (simulated) time, Almaty time."""
        if self.start is None:
            return dt.datetime.now(ALMATY_TZ)
        return self.start + dt.timedelta(seconds=self.speed * (time.monotonic() - self._origin))


_CLOCK: list[Clock] = [Clock()]


def set_clock(spec: str) -> Clock:
    """Make ``spec`` (see :class:`Clock`) the server's clock."""
    _CLOCK[0] = Clock(spec)
    return _CLOCK[0]


def current_clock() -> Clock:
    """The server's clock."""
    return _CLOCK[0]


def current_time() -> dt.datetime:
    """Now by the server's clock (Almaty time)."""
    return _CLOCK[0].now()


def today() -> dt.date:
    """Today's date in Almaty (by the server's clock)."""
    return current_time().date()


def seconds_after_midnight(moment: dt.datetime, day: dt.date) -> float:
    """Seconds from Almaty midnight of ``day`` to ``moment`` (converted to Almaty time first)."""
    return (to_almaty(moment) - dt.datetime.combine(day, dt.time(), ALMATY_TZ)).total_seconds()


def clock(seconds: float | None, day: dt.date) -> dt.datetime | None:
    """The Almaty date-time ``seconds`` after midnight of ``day`` (None stays None)."""
    if seconds is None:
        return None
    return dt.datetime.combine(day, dt.time(), ALMATY_TZ) + dt.timedelta(seconds=round(seconds))


def now_seconds(service_date: dt.date, now: dt.datetime | None = None) -> float:
    """Seconds after Almaty midnight of ``service_date`` now (negative for future days)."""
    return seconds_after_midnight(now or current_time(), service_date)
