"""Read user-supplied GeoJSON, GeoPackage, GeoParquet or CSV through the schema checks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.validate import SchemaError, TableSchema, validate_frame
from geo.crs import WGS84

SPATIAL_SUFFIXES: frozenset[str] = frozenset({".geojson", ".json", ".gpkg", ".shp"})


def points_from_lonlat(frame: pd.DataFrame, lon: str, lat: str, table: str) -> gpd.GeoDataFrame:
    """Turn ``lon``/``lat`` columns (degrees, WGS 84) into a Point GeoDataFrame.

    Raises
    ------
    SchemaError
        If a column is missing or a value is not a finite number (naming the row).
    """
    for column in (lon, lat):
        if column not in frame.columns:
            raise SchemaError(f"{table}: missing column {column!r}")
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~values.abs().lt(float("inf"))
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise SchemaError(f"{table} row {row}: field {column!r} is not a finite number ({frame[column].iloc[row]!r})")
    geometry = gpd.points_from_xy(pd.to_numeric(frame[lon]), pd.to_numeric(frame[lat]), crs=WGS84)
    return gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=geometry)


def read_table(path: str | Path, schema: TableSchema) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a user file and validate it against ``schema``.

    GeoJSON / GeoPackage / Shapefile / GeoParquet keep their own CRS (a file
    without one is rejected); CSV needs ``lon`` and ``lat`` columns in degrees
    (WGS 84).

    Returns
    -------
    GeoDataFrame or DataFrame
        Validated; spatial tables are returned in UTM 43N (metres).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in SPATIAL_SUFFIXES:
        frame = gpd.read_file(path)
    elif suffix == ".parquet":
        frame = gpd.read_parquet(path)
    elif suffix == ".csv":
        frame = pd.read_csv(path)
        if schema.geometry_type is not None:
            frame = points_from_lonlat(frame, "lon", "lat", schema.name)
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use GeoJSON, GeoPackage, GeoParquet or CSV")
    return validate_frame(frame, schema)
