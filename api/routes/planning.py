"""Planner reads: gap summaries (aggregated only), the adaptation plan, the maps."""

from __future__ import annotations

import json
from pathlib import Path

import datetime as dt

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.deps import Caller, get_session, require
from api.storage import day_trip_points
from geo.crs import WGS84
from geo.gaps import MIN_HOUSEHOLDS_PER_CELL, h3_cells

router = APIRouter(prefix="/v1", tags=["planning"])
planner = require("planner", "admin")
MAP_NAMES: tuple[str, ...] = ("objects", "gaps", "plan", "dispatch")
ADMIN_ONLY_MAPS: frozenset[str] = frozenset({"dispatch"})  # exact stops and request ids: never to planners


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


@router.get("/gaps/districts")
def gaps_by_district(request: Request, _: Caller = Depends(planner)) -> list[dict]:
    """Per district: households, people, share with a gap per service (never single households)."""
    return _records(request.app.state.gaps_by_district)


@router.get("/gaps/hexes")
def gaps_by_hex(request: Request, _: Caller = Depends(planner),
                min_households: int = Query(MIN_HOUSEHOLDS_PER_CELL, ge=MIN_HOUSEHOLDS_PER_CELL, le=1_000_000,
                                            description="cells with fewer households are withheld")) -> list[dict]:
    """Per H3 res-8 cell: the same aggregates; cells under ``MIN_HOUSEHOLDS_PER_CELL`` households are never published
    (``geo.gaps.summarise`` leaves them out); ``min_households`` can only raise that bar."""
    frame = request.app.state.gaps_by_hex
    return _records(frame[frame["households"] >= min_households])


def _results_file(request: Request, *parts: str) -> Path:
    path = Path(request.app.state.settings.results_dir, *parts)
    if not path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{'/'.join(parts)} not found; run `invaplan demo` (or `invaplan plan`) first")
    return path


@router.get("/plan")
def plan(request: Request, _: Caller = Depends(planner), year: int | None = Query(None, ge=2000, le=2100),
         district: str | None = Query(None, max_length=64)) -> list[dict]:
    """The adaptation plan (objects by year), filtered by year and district."""
    frame = pd.read_csv(_results_file(request, "plan", "plan.csv"))
    if year is not None:
        frame = frame[frame["year"] == year]
    if district is not None:
        frame = frame[frame["district"] == district]
    return _records(frame)


@router.get("/plan/summary")
def plan_summary(request: Request, _: Caller = Depends(planner)) -> list[dict]:
    """Spend, objects and gaps closed per year and district."""
    return _records(pd.read_csv(_results_file(request, "plan", "plan_summary.csv")))


@router.get("/maps/{name}", response_class=FileResponse)
def map_page(name: str, request: Request, caller: Caller = Depends(planner)) -> FileResponse:
    """A map (HTML) written by `invaplan maps`. The dispatch map draws exact stops: admins only."""
    if name not in MAP_NAMES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown map {name!r}; expected one of {list(MAP_NAMES)}")
    if name in ADMIN_ONLY_MAPS and caller.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the dispatch map shows exact stops; planners get dispatch "
                                                       "aggregated by H3 cell at /v1/dispatch/cells")
    return FileResponse(_results_file(request, "maps", f"{name}.html"), media_type="text/html")


@router.get("/dispatch/cells")
def dispatch_cells(date: dt.date, _: Caller = Depends(planner), session: Session = Depends(get_session)) -> list[dict]:
    """A day's trip requests (not cancelled) per H3 res-8 cell of their pickup: requests, served, unserved.

    Cells with fewer than ``MIN_HOUSEHOLDS_PER_CELL`` requests are withheld
    (a pickup is usually a home); exact stops go only to their operator (``/v1/vehicles``).
    """
    points = day_trip_points(session, date.isoformat())
    if points.empty:
        return []
    lonlat = gpd.GeoSeries(gpd.points_from_xy(points["lon"], points["lat"]), crs=WGS84)
    cells = points.assign(h3=h3_cells(lonlat), served=points["status"] == "assigned")
    table = cells.groupby("h3").agg(requests=("served", "size"), served=("served", "sum")).reset_index()
    table = table[table["requests"] >= MIN_HOUSEHOLDS_PER_CELL].assign(unserved=lambda t: t["requests"] - t["served"])
    return _records(table[["h3", "requests", "served", "unserved"]])
