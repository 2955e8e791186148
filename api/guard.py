"""The outer guard of every request (pure ASGI), before any body is read.

In order: failed-authentication rate limit per client address (429), the
declared body size (413), the bearer key of every ``/v1`` request (401,
checked before the body is read or parsed), then the body size again on the
bytes actually received (413; chunked bodies and false ``Content-Length``
headers included). Every answer gets ``X-Content-Type-Options: nosniff``;
``/v1`` answers ``Cache-Control: no-store`` (trip data must not be cached);
HTML pages a Content-Security-Policy (the maps' one unless the page sets
a stricter one itself, as the console does) and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
import anyio
from fastapi import HTTPException, status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Caller, KeyCache

FAILURE_WINDOW_S: float = 60.0  # failed authentications are counted over the last minute
MAP_CSP: str = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: https://*.tile.openstreetmap.org https://tile.openstreetmap.org; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
API_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"cache-control", b"no-store"),)
HTML_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"content-security-policy", MAP_CSP.encode()),
                                                 (b"x-frame-options", b"DENY"))


class FailureLimiter:
    """Counts failed authentications per client address over :data:`FAILURE_WINDOW_S` seconds.

    Parameters
    ----------
    limit
        Failures per window after which the address is refused until the oldest one ages out.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, address: str) -> int:
        """Seconds until ``address`` may try again (0: it may now)."""
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return 0
            now = time.monotonic()
            while failures and failures[0] <= now - FAILURE_WINDOW_S:
                failures.popleft()
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[0] + FAILURE_WINDOW_S - now))

    def fail(self, address: str) -> None:
        """Record a failed authentication from ``address``."""
        with self._lock:
            self._failures.setdefault(address, deque()).append(time.monotonic())


async def _answer(send: Send, code: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: see the module docstring.

    Parameters
    ----------
    app
        The wrapped application.
    max_body_bytes
        Largest request body accepted, bytes.
    auth_failures_per_minute
        Failed authentications per client address and minute before it gets 429.

    The keys are looked up in ``app.state.keys`` (:class:`api.deps.KeyCache`).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, auth_failures_per_minute: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = FailureLimiter(auth_failures_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/v1/")
        send = self._with_headers(send, api)
        headers = Headers(scope=scope)
        address = (scope.get("client") or ("unknown",))[0]
        if api and (wait := self.limiter.retry_after_s(address)):
            await _answer(send, status.HTTP_429_TOO_MANY_REQUESTS, "too many failed authentications from this address",
                          {"Retry-After": str(wait)})
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _answer(send, status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {self.max_body_bytes} bytes")
            return
        if api:
            caller = await self._caller(scope, headers.get("authorization"))
            if caller is None:
                self.limiter.fail(address)
                await _answer(send, status.HTTP_401_UNAUTHORIZED, "missing, invalid or revoked bearer API key",
                              {"WWW-Authenticate": "Bearer"})
                return
            scope.setdefault("state", {})["caller"] = caller
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._limited(receive), tracked)
        except HTTPException as error:  # a body too large, noticed outside a route
            if started or error.status_code != status.HTTP_413_CONTENT_TOO_LARGE:
                raise
            await _answer(send, error.status_code, str(error.detail))

    async def _caller(self, scope: Scope, authorization: str | None) -> Caller | None:
        scheme, _, raw = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        keys: KeyCache = scope["app"].state.keys
        found = keys.cached(raw.strip())
        return found if found is not KeyCache.MISS else await anyio.to_thread.run_sync(keys.lookup, raw.strip())

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses with 413 once more than ``max_body_bytes`` arrived."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {self.max_body_bytes} bytes")
            return message

        return limited

    @staticmethod
    def _with_headers(send: Send, api: bool) -> Send:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(COMMON_HEADERS) + (list(API_HEADERS) if api else [])
                headers = message.get("headers", [])
                if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    own_policy = any(k.lower() == b"content-security-policy" for k, _ in headers)
                    extra += [h for h in HTML_HEADERS if not (own_policy and h[0] == b"content-security-policy")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return with_headers
