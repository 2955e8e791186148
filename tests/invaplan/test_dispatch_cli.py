"""`invaplan dispatch` on a slice of the Almaty day: routes, driven paths, unserved reasons, checker-clean."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from typer.testing import CliRunner

from invaplan.cli import app


def test_dispatch_command_on_a_morning_slice(dataset_dir: Path, tmp_path: Path) -> None:
    trips = pd.read_csv(dataset_dir / "trips.csv").head(80)
    crowd = trips.iloc[0].copy()
    crowd["request_id"], crowd["companions"], crowd["wheelchair"] = "CROWD", 4, False  # 5 seats: more than any vehicle has
    trips = pd.concat([trips, crowd.to_frame().T], ignore_index=True)
    path = tmp_path / "trips.csv"
    trips.to_csv(path, index=False)
    out = tmp_path / "dispatch"
    result = CliRunner().invoke(app, ["dispatch", "--requests", str(path), "--time-limit", "10", "--out", str(out),
                                      "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checker_violations"] == 0
    assert summary["requests"] == 81 and summary["served"] >= 78
    unserved = pd.read_csv(out / "unserved.csv")
    assert "more than any vehicle holds" in unserved.set_index("request_id").loc["CROWD", "reason"]
    routes = pd.read_csv(out / "routes.csv")
    assert routes.groupby("request_id")["vehicle_id"].nunique().eq(1).all()  # pickup and drop-off on one vehicle
    layer = gpd.read_file(out / "routes.geojson")
    paths = layer[layer["kind"] == "path"]
    assert len(paths) == routes["vehicle_id"].nunique()
    assert (paths["km"] > 0).all() and (paths.geometry.geom_type == "LineString").all()


def test_dispatch_rejects_a_day_without_trips(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dispatch", "--date", "2027-01-01", "--out", str(tmp_path), "--data-dir", str(dataset_dir)])
    assert result.exit_code != 0
    assert "no trip request on 2027-01-01" in str(result.exception)
