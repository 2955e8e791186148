"""The default dataset: counts from the city's figures, determinism, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from typer.testing import CliRunner

from data.household import build_households
from data.objects import build_objects
from geo.passport import CATEGORIES
from invaplan.cli import app
from data.dataset import load_households, load_objects


def test_data_info_json_reports_the_city_figures(dataset_dir: Path) -> None:
    result = CliRunner().invoke(app, ["data", "info", "--json", "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["objects"] == 34_000
    assert info["objects_by_category"] == {c: s.count for c, s in CATEGORIES.items()}
    assert info["vehicles_by_operator"] == {"INCLUSION.KZ": 59, "SPO-GROUP": 59, "АМАЛЬ-ИМАН": 22, "Ден.Зор.Байлык": 30}
    assert info["people"] == 58_400
    assert 45_000 < info["households"] < 58_400  # some households hold several people
    assert info["invataxi_users"] == 3_400
    assert info["trips"] == 1_665  # Seoul's 9.79 trips per vehicle-day on 170 vehicles (data.demand)
    assert len(info["objects_by_district"]) == 8


def test_real_osm_objects_come_first(dataset_dir: Path) -> None:
    objects = load_objects(dataset_dir)
    real = objects[objects["source"] == "osm"]
    assert len(real) > 3_000
    assert real["osm_id"].notna().all() and real["name"].notna().all()
    stops = objects[objects["category"] == "stop"]
    assert (stops["source"] == "osm").sum() >= 800  # the real bus stops
    # every essential service exists in every district
    for service in ("pharmacy", "medical", "grocery", "school", "bank", "stop", "social_services"):
        assert objects.loc[objects["service"] == service, "district"].nunique() == 8, service


def test_households_are_pseudonymous_and_placed_by_population(dataset_dir: Path) -> None:
    households = load_households(dataset_dir)
    assert households["household_id"].str.fullmatch(r"HH-[0-9a-f]{10}").all()
    share = households.groupby("district")["people"].sum() / households["people"].sum()
    assert share["Bostandyk"] > share["Jetysu"]  # the most and one of the least populous
    assert set(households["welfare_level"]) == set(range(1, 7))


def roundtrip(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    frame.to_parquet(path)
    return gpd.read_parquet(path)


def test_same_seed_same_data_other_seed_other_data(dataset_dir: Path, tmp_path: Path) -> None:
    stored = load_objects(dataset_dir)
    pd.testing.assert_frame_equal(stored, roundtrip(build_objects(2025), tmp_path / "o.parquet"))
    other = build_objects(7)
    assert not other.geometry.geom_equals(stored.geometry).all()
    households = roundtrip(build_households(2025), tmp_path / "h.parquet")
    pd.testing.assert_frame_equal(load_households(dataset_dir), households)


def test_info_without_data_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["data", "info", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "invaplan data build" in str(result.exception)
