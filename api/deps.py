"""Request dependencies: database sessions, the caller's API key and role checks."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import anyio
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from api.storage import find_key, hash_key

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer ivp_...`")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller."""

    key_id: int
    role: str
    operator: str | None
    vehicle_id: str | None = None  # device keys: the one vehicle they speak for

    def may_see_operator(self, operator: str | None) -> bool:
        """Dispatchers see only their own operator; admins everything."""
        return self.role == "admin" or (self.role == "dispatcher" and operator == self.operator)


class KeyCache:
    """Bearer keys -> callers, looked up in storage and kept ``ttl_s`` seconds (revocations here clear it at once).

    Parameters
    ----------
    sessions
        Database sessions.
    ttl_s
        How long a looked-up valid key is trusted, seconds: the delay
        with which a key revoked by another process (``invaplan keys``) stops working.
    """

    MISS = object()

    def __init__(self, sessions: sessionmaker[Session], ttl_s: float) -> None:
        self.sessions, self.ttl_s = sessions, ttl_s
        self._known: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def cached(self, raw_key: str) -> Caller | object:
        """The cached caller, or :attr:`MISS`."""
        entry = self._known.get(hash_key(raw_key))
        return entry[1] if entry is not None and entry[0] > time.monotonic() else self.MISS

    def lookup(self, raw_key: str) -> Caller | None:
        """The caller behind ``raw_key`` from storage (and remember it)."""
        with self.sessions() as session:
            row = find_key(session, raw_key)
            caller = None if row is None else Caller(row.id, row.role, row.operator, row.vehicle_id)
        if caller is not None:  # bad keys are not kept: guessing must not grow the cache
            with self._lock:
                self._known[hash_key(raw_key)] = (time.monotonic() + self.ttl_s, caller)
        return caller

    def forget(self) -> None:
        """Drop every cached key (after a revocation)."""
        with self._lock:
            self._known.clear()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request.

    Made in the event loop (a session connects only when first used) and closed there
    unless it still holds a connection (then in a worker thread: closing rolls back): a
    synchronous dependency would cost two more thread hand-overs per request.
    """
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close)
        else:
            session.close()


async def get_caller(request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    """The caller authenticated by ``api.guard.Guard`` before the body was read; 401 without one."""
    caller = getattr(request.state, "caller", None)
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    return caller


def booking_operator(caller: Caller, operator: str | None, operators: tuple[str, ...]) -> str | None:
    """The operator a booking is for: a dispatcher's own (403 for another), or the named one (422 if unknown)."""
    if caller.role == "dispatcher":
        if operator is not None and operator != caller.operator:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator: a {caller.operator} dispatcher cannot book for {operator}")
        return caller.operator
    if operator is not None and operator not in operators:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"operator: unknown operator {operator!r}")
    return operator


def require(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency admitting only callers with one of ``roles``; 403 otherwise."""

    async def check(caller: Caller = Depends(get_caller)) -> Caller:  # async: no thread hand-over for a check
        if caller.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {caller.role!r} may not do this (needs one of {list(roles)})")
        return caller

    return check
