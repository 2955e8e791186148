"""Schema checks: every broken rule is a clear error naming the row and the field."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from geo.validate import SchemaError, TableSchema, validate_frame
from geo.crs import UTM43N, WGS84
from geo.io import read_table

SCHEMA = TableSchema(
    name="things",
    id_column="thing_id",
    required=("kind", "size"),
    enums={"kind": ("a", "b")},
    numeric=("size",),
)
CENTRE = (76.93, 43.24)  # Almaty, Almaly district


def frame(**overrides: list) -> gpd.GeoDataFrame:
    data = {"thing_id": ["t1", "t2", "t3"], "kind": ["a", "b", "a"], "size": [1.0, 2.0, 3.0]}
    geometry = overrides.pop("geometry", [Point(CENTRE), Point(76.94, 43.25), Point(76.95, 43.26)])
    data.update(overrides)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=overrides.get("crs", WGS84))


def test_valid_frame_is_projected_to_utm() -> None:
    out = validate_frame(frame(), SCHEMA)
    assert out.crs == UTM43N
    assert 600_000 < out.geometry.x.iloc[0] < 700_000  # UTM 43N eastings for Almaty, metres


def test_missing_crs() -> None:
    bad = frame().set_crs(None, allow_override=True)
    with pytest.raises(SchemaError, match="no CRS"):
        validate_frame(bad, SCHEMA)


def test_invalid_geometry_names_row() -> None:
    bowtie = Polygon([(76.93, 43.24), (76.94, 43.25), (76.94, 43.24), (76.93, 43.25)])
    bad = frame(geometry=[Point(CENTRE), bowtie, Point(CENTRE)])
    with pytest.raises(SchemaError, match=r"things row 1 \(thing_id='t2'\): field 'geometry' is not a valid"):
        validate_frame(bad, SCHEMA)


def test_missing_geometry() -> None:
    bad = frame(geometry=[Point(CENTRE), None, Point(CENTRE)])
    with pytest.raises(SchemaError, match="row 1 .*'geometry' is missing"):
        validate_frame(bad, SCHEMA)


def test_point_outside_almaty() -> None:
    bad = frame(geometry=[Point(CENTRE), Point(CENTRE), Point(71.43, 51.13)])  # Astana
    with pytest.raises(SchemaError, match="row 2 .*outside the Almaty service area"):
        validate_frame(bad, SCHEMA)


def test_duplicate_id() -> None:
    with pytest.raises(SchemaError, match=r"row 2 \(thing_id='t1'\).*duplicate id"):
        validate_frame(frame(thing_id=["t1", "t2", "t1"]), SCHEMA)


def test_unknown_enum_value() -> None:
    with pytest.raises(SchemaError, match=r"row 1 .*field 'kind': unknown value 'zzz'"):
        validate_frame(frame(kind=["a", "zzz", "b"]), SCHEMA)


def test_non_finite_number() -> None:
    with pytest.raises(SchemaError, match=r"row 2 .*field 'size' is not a finite number"):
        validate_frame(frame(size=[1.0, 2.0, float("inf")]), SCHEMA)


def test_missing_column() -> None:
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['size'\]"):
        validate_frame(frame().drop(columns="size"), SCHEMA)


def test_user_csv_goes_through_the_same_checks(tmp_path) -> None:
    path = tmp_path / "things.csv"
    pd.DataFrame({"thing_id": ["t1", "t2"], "kind": ["a", "b"], "size": [1, 2],
                  "lon": [76.93, 76.94], "lat": [43.24, "north"]}).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"row 1: field 'lat' is not a finite number"):
        read_table(path, SCHEMA)
    pd.DataFrame({"thing_id": ["t1", "t2"], "kind": ["a", "b"], "size": [1, 2],
                  "lon": [76.93, 76.94], "lat": [43.24, 43.25]}).to_csv(path, index=False)
    assert read_table(path, SCHEMA).crs == UTM43N


def test_user_geopackage_without_crs_is_rejected(tmp_path) -> None:
    path = tmp_path / "things.gpkg"
    frame().set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(SchemaError, match="no CRS"):
        read_table(path, SCHEMA)


def test_user_geojson_with_unknown_enum(tmp_path) -> None:
    path = tmp_path / "things.geojson"
    frame(kind=["a", "b", "c"]).to_file(path)
    with pytest.raises(SchemaError, match="unknown value 'c'"):
        read_table(path, SCHEMA)
