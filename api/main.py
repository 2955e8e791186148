"""The FastAPI application factory and ``invaplan serve``."""

from __future__ import annotations

import datetime as dt
import math
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.db import make_engine, migrate, session_factory
from api.dispatch_desk import DispatchDesk
from api.routes import health, keys, planning, trips
from api.settings import Settings
from api.storage import replay_order, set_assignment
from geo.gaps import compute_gaps, summarise
from data.dataset import ensure_dataset, load_fleet, load_households, load_objects
from data.fleet import OPERATORS


def _load_planning_state(app: FastAPI, settings: Settings) -> None:
    """Load the Almaty data once; keep only the aggregated gap summaries and the dispatch desk."""
    directory = ensure_dataset(settings.resolved_data_dir())
    analysis = compute_gaps(load_households(directory), load_objects(directory))
    app.state.gaps_by_district = summarise(analysis, "district")
    app.state.gaps_by_hex = summarise(analysis, "h3")
    app.state.desk = DispatchDesk(load_fleet(directory))


def _replay_trips(app: FastAPI) -> None:
    """Rebuild the live plans from the stored trips (oldest first) and record any changed assignment."""
    desk: DispatchDesk = app.state.desk
    with app.state.sessions() as session:
        for trip in replay_order(session):
            day = dt.date.fromisoformat(trip.service_date)
            placed = desk.place(trip.id, day, (trip.pickup_lon, trip.pickup_lat), (trip.dropoff_lon, trip.dropoff_lat),
                                (trip.earliest_pickup_s, trip.latest_pickup_s, trip.latest_dropoff_s), trip.wheelchair,
                                trip.companions, trip.operator if trip.status == "unserved" or trip.operator else None, -math.inf)
            if placed.vehicle_id != trip.vehicle_id:
                trip.status, trip.reason = ("assigned", None) if placed.vehicle_id else ("unserved", placed.reason)
                set_assignment(session, trip, placed.vehicle_id, placed.operator, placed.pickup_eta_s, placed.dropoff_eta_s,
                               "reassigned")
        session.commit()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: storage migrated on start, Almaty data loaded once.

    Parameters
    ----------
    settings
        Settings; default from ``INVAPLAN_*`` environment variables.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - FastAPI lifespan protocol
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        app.state.engine, app.state.sessions = engine, session_factory(engine)
        _load_planning_state(app, settings)
        _replay_trips(app)
        app.state.ready = True
        yield
        app.state.ready = False
        engine.dispose()

    app = FastAPI(title="invaplan", version="0.1.0", lifespan=lifespan,
                  description="Invataxi dispatch and accessibility planning for Almaty.")
    app.state.settings = settings
    app.state.operators = tuple(OPERATORS)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # noqa: ANN001, ANN202 - middleware protocol
        length = request.headers.get("content-length")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            return JSONResponse({"detail": "a Content-Length header is required"}, status_code=status.HTTP_411_LENGTH_REQUIRED)
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse({"detail": f"request body larger than {settings.max_body_bytes} bytes"},
                                status_code=status.HTTP_413_CONTENT_TOO_LARGE)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in error.errors()]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
        return JSONResponse({"detail": summary, "errors": problems}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    for router in (health.router, keys.router, planning.router, trips.router):
        app.include_router(router)
    return app
