"""`invaplan maps`: the four maps from a results folder, reusing its plan and dispatch, computing the missing gaps."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from invaplan.cli import app
from invaplan.maps_report import GAP_FILES, MAP_NAMES
from maps.gaps_map import BARRIER_LAYER, FIX_LAYER, STEEP_LAYER
from maps.render import external_assets


def test_maps_command_reads_existing_outputs_and_computes_missing_ones(
        dataset_dir: Path, small_plan_dir: Path, small_dispatch_dir: Path, small_trips_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(small_plan_dir, out / "plan")
    shutil.copytree(small_dispatch_dir, out / "dispatch")
    kept = {path: path.stat().st_mtime_ns for path in (out / "plan" / "plan.parquet", out / "dispatch" / "routes.geojson")}
    result = CliRunner().invoke(app, ["maps", "--out", str(out), "--requests", str(small_trips_csv),
                                      "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    assert all((out / "gaps" / name).exists() for name in GAP_FILES)  # computed: it was missing
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # reused, not recomputed
    for name in MAP_NAMES:
        html = out / "maps" / f"{name}.html"
        assert external_assets(html.read_text(encoding="utf-8")) == []
        assert html.name in result.output
    assert "maps written to" in result.output
    gaps = (out / "maps" / "gaps.html").read_text(encoding="utf-8")  # the street layers, fixes from the gap run
    assert all(layer in gaps for layer in (STEEP_LAYER, BARRIER_LAYER, FIX_LAYER))
    assert (out / "plan" / "../maps/plan.html").resolve().exists()  # the plan report's link

