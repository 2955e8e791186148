"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, response: Response) -> dict:
    """The database answers and the Almaty data and network are loaded."""
    checks = {"database": False, "data": bool(getattr(request.app.state, "ready", False))}
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception as error:  # noqa: BLE001 - readiness reports any database failure
        checks["database_error"] = type(error).__name__
    ready = checks["database"] and checks["data"]
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ready" if ready else "not ready", **checks}
