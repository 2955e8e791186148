"""Request dependencies: database sessions, the caller's API key and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.storage import find_key

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer ivp_...`")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller."""

    key_id: int
    role: str
    operator: str | None

    def may_see_operator(self, operator: str | None) -> bool:
        """Dispatchers see only their own operator; admins everything."""
        return self.role == "admin" or (self.role == "dispatcher" and operator == self.operator)


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with request.app.state.sessions() as session:
        yield session


def get_caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    """The caller behind the bearer key; 401 without a valid key."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    with request.app.state.sessions() as session:
        row = find_key(session, credentials.credentials)
        if row is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        return Caller(row.id, row.role, row.operator)


def require(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency admitting only callers with one of ``roles``; 403 otherwise."""

    def check(caller: Caller = Depends(get_caller)) -> Caller:
        if caller.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {caller.role!r} may not do this (needs one of {list(roles)})")
        return caller

    return check
