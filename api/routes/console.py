"""The dispatcher console: one web page (``/console``) for the people who run the day.

The page is static (HTML, one script, one stylesheet, the vendored Leaflet);
every piece of data comes from the ``/v1`` endpoints with the key the
dispatcher signs in with (kept in the browser's sessionStorage, sent as a
Bearer header, never in a URL). It runs under a stricter Content-Security-Policy
than the planner maps (:data:`CONSOLE_CSP`: no inline script or style at all).

Leaflet is the copy the planner maps vendor (``maps/static/leaflet``), served
as files. ``api`` may not import ``maps`` (both sit on one layer), so the
folder is found beside this package, where the source tree and an installed
wheel both put it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import Caller, require
from geo.crs import WGS84
from geo.districts import load_districts

CONSOLE_DIR: Path = Path(__file__).resolve().parents[1] / "static" / "console"
LEAFLET_DIR: Path = Path(__file__).resolve().parents[2] / "maps" / "static" / "leaflet"
OUTLINE_TOLERANCE_DEG: float = 0.0005  # about 50 m: district outlines for orientation, 29 kB for all eight
CONSOLE_ASSETS: str = "/console/assets"
CONSOLE_LEAFLET: str = "/console/leaflet"
# Scripts and styles only from files of this server (no inline code); tiles only from OpenStreetMap (optional layer).
CONSOLE_CSP: str = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                    "img-src 'self' data: https://*.tile.openstreetmap.org https://tile.openstreetmap.org; "
                    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

router = APIRouter(tags=["console"])


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    """The console page (public: it holds no data; the data needs a dispatcher or admin key)."""
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html",
                        headers={"Content-Security-Policy": CONSOLE_CSP})


@router.get("/v1/console/me")
def me(request: Request, caller: Caller = Depends(require("dispatcher", "admin"))) -> dict:
    """Who signed in to the console: role, operator, and the operators whose vehicles and trips it may see."""
    visible = list(request.app.state.operators) if caller.role == "admin" else [caller.operator]
    return {"role": caller.role, "operator": caller.operator, "operators": visible}


@lru_cache(maxsize=1)
def _district_outlines() -> dict:
    districts = load_districts().to_crs(WGS84)[["name", "geometry"]]
    districts["geometry"] = districts.simplify(OUTLINE_TOLERANCE_DEG)
    return json.loads(districts.to_json(drop_id=True))


@router.get("/v1/console/districts")
def districts(_: Caller = Depends(require("dispatcher", "admin"))) -> dict:
    """The eight district outlines (GeoJSON, WGS 84, simplified to about 50 m): the console's offline background."""
    return _district_outlines()


def mount_console(app: FastAPI) -> None:
    """Add the console page, its script and stylesheet, and the vendored Leaflet to ``app``."""
    if not LEAFLET_DIR.is_dir():
        raise FileNotFoundError(f"{LEAFLET_DIR} is missing: the console needs the vendored Leaflet of maps/static")
    app.mount(CONSOLE_ASSETS, StaticFiles(directory=CONSOLE_DIR), name="console-assets")
    app.mount(CONSOLE_LEAFLET, StaticFiles(directory=LEAFLET_DIR), name="console-leaflet")
    app.include_router(router)
