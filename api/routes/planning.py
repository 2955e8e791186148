"""Planner reads: gap summaries (aggregated only), the adaptation plan, the maps."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse

from api.deps import Caller, require

router = APIRouter(prefix="/v1", tags=["planning"])
planner = require("planner", "admin")
MAP_NAMES: tuple[str, ...] = ("objects", "gaps", "plan", "dispatch")


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


@router.get("/gaps/districts")
def gaps_by_district(request: Request, _: Caller = Depends(planner)) -> list[dict]:
    """Per district: households, people, share with a gap per service (never single households)."""
    return _records(request.app.state.gaps_by_district)


@router.get("/gaps/hexes")
def gaps_by_hex(request: Request, _: Caller = Depends(planner),
                min_households: int = Query(5, ge=5, description="cells with fewer households are withheld")) -> list[dict]:
    """Per H3 res-8 cell: the same aggregates; small cells are left out."""
    frame = request.app.state.gaps_by_hex
    return _records(frame[frame["households"] >= min_households])


def _results_file(request: Request, *parts: str) -> Path:
    path = Path(request.app.state.settings.results_dir, *parts)
    if not path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{'/'.join(parts)} not found; run `invaplan demo` (or `invaplan plan`) first")
    return path


@router.get("/plan")
def plan(request: Request, _: Caller = Depends(planner), year: int | None = None, district: str | None = None) -> list[dict]:
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
def map_page(name: str, request: Request, _: Caller = Depends(planner)) -> FileResponse:
    """A planner map (HTML) written by `invaplan maps`."""
    if name not in MAP_NAMES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown map {name!r}; expected one of {list(MAP_NAMES)}")
    return FileResponse(_results_file(request, "maps", f"{name}.html"), media_type="text/html")
