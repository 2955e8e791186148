"""Server-sent events: the plan changes of a day, pushed to the dispatcher console as they are committed.

``GET /v1/events/stream?date=`` (dispatcher or admin, Bearer header: the
console reads it with ``fetch``, so the key never goes into a URL) answers a
``text/event-stream``:

* ``event: hello`` first: ``{"date", "version", "now", "speed"}`` (the day's
  plan version and the server clock), so a client that reconnects knows
  whether it missed a change;
* ``event: plan`` after each committed change of that day that touches the
  caller's operator: ``{"date", "version", "vehicles", "trips", "resync"}``
  (the ids changed; ``resync``: messages were dropped for a slow reader,
  refetch everything);
* a comment line every ``KEEPALIVE_S`` (proxies and the client see the line alive).

What each message holds and who sees it: ``api.live_feed``. A stream ends
after ``STREAM_MAX_S``; the client reopens it at once (``retry``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.clock import current_clock, current_time
from api.deps import Caller, require
from api.live_feed import PlanFeed

router = APIRouter(prefix="/v1", tags=["operations"])
KEEPALIVE_S: float = 15.0  # a comment line this often: idle proxies keep the connection, the client sees it alive
STREAM_MAX_S: float = 30.0  # a graceful shutdown (SIGTERM) waits for open responses: a stream ends this soon, then reopens
RETRY_MS: int = 1000  # the client reconnects after this long when a stream ends


def _event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/events/stream", response_class=StreamingResponse)
async def event_stream(request: Request, date: dt.date | None = None,
                       caller: Caller = Depends(require("dispatcher", "admin"))) -> StreamingResponse:
    """Plan changes as server-sent events: bookings, cancellations, vehicle events (only the caller's operator's
    vehicles and trips; ``date``: only that service day). See the module docstring for the messages."""
    feed: PlanFeed = request.app.state.feed
    day = None if date is None else date.isoformat()
    stream = feed.subscribe(None if caller.role == "admin" else caller.operator, day)

    async def messages() -> AsyncIterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            version = None if date is None else request.app.state.desk.version(date)
            yield _event("hello", {"date": day, "version": version, "now": current_time().isoformat(timespec="seconds"),
                                   "speed": current_clock().speed})
            deadline = time.monotonic() + STREAM_MAX_S
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = await asyncio.wait_for(stream.queue.get(), timeout=min(KEEPALIVE_S, left))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield _event("plan", message)
        finally:
            feed.unsubscribe(stream)

    return StreamingResponse(messages(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
