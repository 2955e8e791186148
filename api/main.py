"""The FastAPI application factory and ``invaplan serve``."""

from __future__ import annotations

import datetime as dt
import gc
from contextlib import asynccontextmanager

import swagger_ui_bundle
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api.booking_writer import BookingWriter
from api.db import make_engine, migrate, read_engine, session_factory
from api.deps import KeyCache
from api.dispatch_desk import DispatchDesk, StoredTrip
from api.street_desk import StreetDesk
from api.guard import Guard
from api.clock import set_clock
from api.live_feed import PlanFeed
from api.routes import health, keys, live, operations, planning, standing_orders, trips
from api.routes.console import mount_console
from api.settings import Settings
from api.storage import load_routes, replay_order, save_routes, set_assignment
from data.dataset import ensure_dataset, load_fleet, load_households, load_objects
from data.fleet import OPERATORS
from geo.gaps import compute_gaps, summarise

DOCS_ASSETS: str = "/docs-assets"  # Swagger UI from the installed swagger-ui-bundle package: /docs works offline


def _load_planning_state(app: FastAPI, settings: Settings) -> None:
    """Load the Almaty data once; keep only the aggregated gap summaries (``summarise`` leaves small cells out) and the dispatch desk."""
    directory = ensure_dataset(settings.resolved_data_dir())
    analysis = compute_gaps(load_households(directory), load_objects(directory))
    app.state.gaps_by_district = summarise(analysis, "district")
    app.state.gaps_by_hex = summarise(analysis, "h3")
    app.state.desk = StreetDesk(load_fleet(directory), settings.routing_workers)


def _restore_plans(app: FastAPI) -> None:
    """Rebuild each day's live plan from the stored trips and the stored accepted plan; record any changed assignment."""
    desk: DispatchDesk = app.state.desk
    with app.state.sessions() as session:
        stored = replay_order(session)
        plans = load_routes(session)
        for day in sorted({t.service_date for t in stored}):
            mine = [t for t in stored if t.service_date == day]
            date = dt.date.fromisoformat(day)
            version, routes = plans.get(day, (0, {}))
            change = desk.restore(date, [StoredTrip(t.id, (t.pickup_lon, t.pickup_lat), (t.dropoff_lon, t.dropoff_lat),
                                                    _done_window(t),
                                                    t.wheelchair, t.companions, t.operator, t.reason) for t in mine],
                                  routes, version)
            now = desk.assignments(date)
            for trip in mine:
                vehicle_id, pickup_s, dropoff_s = now.get(trip.id, (None, None, None))
                if vehicle_id != trip.vehicle_id and trip.status in ("assigned", "unserved"):  # not what the street did
                    trip.status = "assigned" if vehicle_id else "unserved"
                    trip.reason = None if vehicle_id else trip.reason or "not restored into the plan"
                    set_assignment(session, trip, vehicle_id, desk.operator_of.get(vehicle_id, trip.operator),
                                   pickup_s, dropoff_s, "reassigned")
            save_routes(session, day, change.routes, change.version)
        session.commit()


def _done_window(trip) -> tuple[float, float, float | None]:  # noqa: ANN001 - api.models.Trip
    """A stored trip's pickup window (s), widened to its actual pickup once picked up (a late pickup is a fact)."""
    if trip.status in ("on_board", "completed") and trip.pickup_eta_s is not None:
        return min(trip.earliest_pickup_s, trip.pickup_eta_s), max(trip.latest_pickup_s, trip.pickup_eta_s), None
    return trip.earliest_pickup_s, trip.latest_pickup_s, trip.latest_dropoff_s


async def _warm_up(app: FastAPI) -> None:
    """Route one request that matches no route, before the first client's.

    FastAPI builds the validators of every route on the first request it routes
    (about 0.4 s of the event loop, which the first clients would all wait for). With
    :func:`gc.freeze` after it, the objects of the start (data, graph, restored plans:
    hundreds of thousands) are left out of later garbage collections: during
    ``bench/api.py``'s 900 requests a full collection otherwise stopped every request
    for 0.46 s, a cluster of its slowest answers.
    """
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/warm-up", "raw_path": b"/warm-up", "root_path": "", "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "state": {}}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: dict) -> None:
        return None

    await app(scope, receive, send)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the installed assets (no CDN)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} – API docs",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")


def _field(error: dict) -> tuple[str, str]:
    """Field name and message of one validation error; a JSON syntax error names the body and the position."""
    if error["type"] == "json_invalid":
        position = error["loc"][-1]
        return "body", f"invalid JSON at character position {position}: {error.get('ctx', {}).get('error', error['msg'])}"
    return ".".join(str(p) for p in error["loc"] if p not in ("body", "header", "query", "path")), error["msg"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: storage migrated on start, Almaty data loaded once, the accepted plans restored.

    Parameters
    ----------
    settings
        Settings; default from ``INVAPLAN_*`` environment variables.
    """
    settings = settings or Settings()
    set_clock(settings.clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - FastAPI lifespan protocol
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        app.state.engine, app.state.sessions, app.state.reads = engine, session_factory(engine), read_engine(engine)
        app.state.keys = KeyCache(app.state.sessions, settings.key_cache_s)
        app.state.bookings = BookingWriter(app.state.sessions, settings.booking_group)
        _load_planning_state(app, settings)
        desk = app.state.desk
        app.state.feed = PlanFeed(desk.operator_of, lambda day: desk.version(dt.date.fromisoformat(day)))
        app.state.feed.attach(app.state.sessions)
        _restore_plans(app)
        operations.replay_events(app)
        await _warm_up(app)
        gc.collect()
        gc.freeze()  # the loaded data and plans: later collections skip them (see _warm_up)
        app.state.ready = True
        yield
        app.state.ready = False
        gc.unfreeze()
        app.state.bookings.close()
        app.state.desk.close()
        engine.dispose()

    app = FastAPI(title="invaplan", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Invataxi dispatch and accessibility planning for Almaty. Every date-time is Almaty "
                              "time (Asia/Almaty, UTC+05:00): inputs with an offset are converted, inputs without one "
                              "are Almaty local time, outputs carry +05:00.")
    app.state.settings = settings
    app.state.operators = tuple(OPERATORS)
    app.add_middleware(Guard, max_body_bytes=settings.max_body_bytes, auth_failures_per_minute=settings.auth_failures_per_minute)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [dict(zip(("field", "message"), _field(e), strict=True)) for e in error.errors()]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
        return JSONResponse({"detail": summary, "errors": problems}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    _offline_docs(app)
    mount_console(app)
    for router in (health.router, keys.router, planning.router, operations.router, live.router, standing_orders.router,
                   trips.router):
        app.include_router(router)
    return app
