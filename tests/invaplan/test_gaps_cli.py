"""`invaplan gaps` writes the per-household and aggregated outputs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from typer.testing import CliRunner

from invaplan.cli import app


def test_gaps_command_writes_outputs(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gaps", "--profile", "manual_wheelchair", "--out", str(tmp_path), "--data-dir",
                                      str(dataset_dir)])
    assert result.exit_code == 0, result.output
    households = gpd.read_parquet(tmp_path / "gaps.parquet")
    assert {"household_id", "h3", "gap_pharmacy", "time_stop_s", "snap_too_far"} <= set(households.columns)
    assert set(households["profile"]) == {"manual_wheelchair"}
    by_district = pd.read_csv(tmp_path / "gaps_by_district.csv")
    assert len(by_district) == 8 and by_district["people"].sum() == households["people"].sum()
    assert by_district["share_gap_pharmacy"].between(0, 1).all()
    by_hex = gpd.read_parquet(tmp_path / "gaps_by_hex.parquet")
    per_cell = households.groupby("h3").size()
    assert (per_cell < 5).any()  # the data have small cells, and none is written
    assert by_hex.set_index("h3")["households"].sort_index().equals(per_cell[per_cell >= 5].sort_index().rename("households"))
    assert "geometry" in by_hex and "household_id" not in by_hex  # aggregated only


def test_gaps_command_rejects_unknown_profile(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gaps", "--profile", "rocket", "--out", str(tmp_path), "--data-dir", str(dataset_dir)])
    assert result.exit_code != 0
    assert "unknown travel profile 'rocket'" in str(result.exception)


def test_gaps_by_household_profile_compares_flat_and_terrain(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gaps", "--out", str(tmp_path), "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    by_profile = pd.read_csv(tmp_path / "gaps_by_profile.csv")
    assert set(by_profile["profile"]) == {"manual_wheelchair", "powered_wheelchair", "walker", "walk"}
    comparison = pd.read_csv(tmp_path / "wheelchair_flat_vs_terrain.csv")
    assert len(comparison) == 9 and comparison["district"].iloc[-1] == "Almaty"
    # slopes only slow wheelchairs down or block them: no district gets better with terrain
    assert (comparison["share_gap_mean_terrain"] >= comparison["share_gap_mean_flat"] - 1e-9).all()
    candidates = gpd.read_parquet(tmp_path / "barrier_candidates.parquet")
    assert len(candidates) > 0 and (candidates["cost_tg"] > 0).all()
    assert "Barrier fixes (plan candidates)" in (tmp_path / "street_barriers.html").read_text()


def test_gaps_command_rejects_unknown_kerb_assumption(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gaps", "--untagged-kerbs", "sometimes", "--out", str(tmp_path), "--data-dir",
                                      str(dataset_dir)])
    assert result.exit_code != 0
    assert "unknown untagged-kerb assumption 'sometimes'" in str(result.exception)
