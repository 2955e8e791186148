"""Boundary validation of tables: CRS, geometry, service area, ids, enums, numbers.

Every loader and every reader of user files calls :func:`validate_frame` once;
hot loops never re-validate. Errors name the table, the row (position and id)
and the field, so a user can fix the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import ALMATY_BBOX_DEG, UTM43N, WGS84


class SchemaError(ValueError):
    """A table breaks its documented schema; the message names row and field."""


@dataclass(frozen=True)
class TableSchema:
    """What a table must hold.

    Attributes
    ----------
    name
        Table name used in error messages ("objects", "households", ...).
    id_column
        Column whose values must be present and unique.
    required
        Columns that must exist.
    enums
        Column -> allowed values (missing values are errors unless the column
        is listed in ``nullable``).
    numeric
        Columns that must be finite numbers (no NaN, no inf).
    nullable
        Enum columns that may hold missing values.
    geometry_type
        Expected geometry type ("Point") or None for tables without geometry.
    geometry_field
        How error messages name the geometry (e.g. "pickup_lon/pickup_lat"
        when the points came from CSV columns).
    """

    name: str
    id_column: str
    required: tuple[str, ...] = ()
    enums: Mapping[str, Iterable[object]] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    geometry_type: str | None = "Point"
    geometry_field: str = "geometry"


def _row_label(frame: pd.DataFrame, schema: TableSchema, position: int) -> str:
    ident = frame[schema.id_column].iloc[position] if schema.id_column in frame else None
    return f"{schema.name} row {position} ({schema.id_column}={ident!r})"


def _fail(frame: pd.DataFrame, schema: TableSchema, mask: np.ndarray, message: str) -> None:
    positions = np.flatnonzero(mask)
    if len(positions):
        more = f" (and {len(positions) - 1} more rows)" if len(positions) > 1 else ""
        raise SchemaError(f"{_row_label(frame, schema, int(positions[0]))}: {message}{more}")


def validate_frame(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return it (projected to UTM 43N if spatial).

    Parameters
    ----------
    frame
        A DataFrame, or a GeoDataFrame when ``schema.geometry_type`` is set.
    schema
        The table's schema.

    Returns
    -------
    DataFrame or GeoDataFrame
        The same rows; a GeoDataFrame is returned in EPSG:32643 (metres).

    Raises
    ------
    SchemaError
        On the first broken rule, naming the row and the field.
    """
    missing = [c for c in (schema.id_column, *schema.required) if c not in frame.columns]
    if missing:
        raise SchemaError(f"{schema.name}: missing column(s) {missing}")
    ids = frame[schema.id_column]
    _fail(frame, schema, ids.isna().to_numpy(), f"field {schema.id_column!r} is missing")
    _fail(frame, schema, ids.duplicated().to_numpy(), f"field {schema.id_column!r} is a duplicate id")
    for column, allowed in schema.enums.items():
        allowed_set = set(allowed)
        values = frame[column]
        bad = ~values.isin(allowed_set)
        if column in schema.nullable:
            bad &= values.notna()
        positions = np.flatnonzero(bad.to_numpy())
        if len(positions):
            value = values.iloc[positions[0]]
            _fail(frame, schema, bad.to_numpy(), f"field {column!r}: unknown value {value!r}; expected one of {sorted(map(str, allowed_set))}")
    for column in schema.numeric:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        _fail(frame, schema, ~np.isfinite(values), f"field {column!r} is not a finite number")
    if schema.geometry_type is None:
        return frame
    return _validate_geometry(frame, schema)


def _validate_geometry(frame: pd.DataFrame, schema: TableSchema) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise SchemaError(f"{schema.name}: not a GeoDataFrame with a geometry column")
    if frame.crs is None:
        raise SchemaError(f"{schema.name}: geometry has no CRS; set one (e.g. EPSG:4326 for lon/lat)")
    geometry, label = frame.geometry, schema.geometry_field
    _fail(frame, schema, (geometry.isna() | geometry.is_empty).to_numpy(), f"field {label!r} is missing or empty")
    _fail(frame, schema, (~geometry.is_valid).to_numpy(), f"field {label!r} is not a valid geometry")
    wrong = (geometry.geom_type != schema.geometry_type).to_numpy()
    _fail(frame, schema, wrong, f"field {label!r} is not a {schema.geometry_type}")
    lonlat = geometry.to_crs(WGS84)
    lon_min, lat_min, lon_max, lat_max = ALMATY_BBOX_DEG
    x, y = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    outside = ~((x >= lon_min) & (x <= lon_max) & (y >= lat_min) & (y <= lat_max))
    _fail(frame, schema, outside, f"field {label!r} lies outside the Almaty service area {ALMATY_BBOX_DEG} (lon/lat)")
    return frame.to_crs(UTM43N) if frame.crs != UTM43N else frame
