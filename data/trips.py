"""Read and validate trip-request tables (the trips CSV of ``data.demand``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geo.validate import SchemaError, TableSchema, validate_frame
from geo.io import points_from_lonlat
from data.demand import OPTIONAL_COLUMNS, TRIP_COLUMNS

TRIPS_SCHEMA = TableSchema(
    name="trips",
    id_column="request_id",
    required=tuple(c for c in TRIP_COLUMNS if c not in OPTIONAL_COLUMNS),
    numeric=("companions", "service_pickup_s", "service_dropoff_s"),
    geometry_type=None,
)
TIME_COLUMNS: tuple[str, ...] = ("earliest_pickup", "latest_pickup", "latest_dropoff")
TRUE_VALUES: frozenset[str] = frozenset({"true", "1", "yes"})
FALSE_VALUES: frozenset[str] = frozenset({"false", "0", "no"})


def _first_bad(frame: pd.DataFrame, mask: pd.Series, message: str) -> None:
    if mask.any():
        row = int(np.flatnonzero(mask.to_numpy())[0])
        raise SchemaError(f"trips row {row} (request_id={frame['request_id'].iloc[row]!r}): {message}")


def validate_trips(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a trips table and return it with parsed times and booleans.

    Checks the columns, unique ids, both end points inside the Almaty service
    area, parseable times, windows not inverted (latest pickup >= earliest;
    latest drop-off after earliest pickup), non-negative companions and
    service times, and boolean ``wheelchair``. Errors name the row, the
    request id and the field.
    """
    frame = validate_frame(frame.reset_index(drop=True), TRIPS_SCHEMA).copy()
    for end in ("pickup", "dropoff"):
        points = points_from_lonlat(frame, f"{end}_lon", f"{end}_lat", "trips")
        schema = TableSchema("trips", "request_id", geometry_field=f"{end}_lon/{end}_lat")
        validate_frame(points[["request_id", "geometry"]], schema)
    for column in TIME_COLUMNS:
        raw = frame[column]
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        missing_ok = raw.isna() if column == "latest_dropoff" else pd.Series(False, index=raw.index)
        _first_bad(frame, parsed.isna() & ~missing_ok, f"field {column!r} is not an ISO date-time ({column} e.g. 2026-03-02T08:30)")
        frame[column] = parsed
    _first_bad(frame, frame["latest_pickup"] < frame["earliest_pickup"],
               "field 'latest_pickup' is before 'earliest_pickup' (inverted window)")
    _first_bad(frame, frame["latest_dropoff"] <= frame["earliest_pickup"],
               "field 'latest_dropoff' is not after 'earliest_pickup'")
    for column in ("companions", "service_pickup_s", "service_dropoff_s"):
        _first_bad(frame, pd.to_numeric(frame[column]) < 0, f"field {column!r} is negative")
    text = frame["wheelchair"].astype(str).str.strip().str.lower()
    _first_bad(frame, ~text.isin(TRUE_VALUES | FALSE_VALUES), "field 'wheelchair' is not true/false")
    frame["wheelchair"] = text.isin(TRUE_VALUES)
    frame["companions"] = pd.to_numeric(frame["companions"]).astype(int)
    return frame


def read_trips(path: str | Path) -> pd.DataFrame:
    """Read a trips CSV (columns ``data.demand.TRIP_COLUMNS``) and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        frame = pd.read_csv(path, dtype={"request_id": str, "user_id": str, "operator": str, "district": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SchemaError(f"trips: {path} is not a readable CSV: {error}") from error
    return validate_trips(frame)
