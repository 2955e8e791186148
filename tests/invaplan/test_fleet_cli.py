"""`invaplan fleet` pieces and the bad-input rules of `fleet` and `dispatch` (one line, exit 2)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.dataset import dataset_date
from data.fleet import depots
from invaplan.cli import main
from invaplan.fleet_report import FLEET_PARAMS, FleetScenario, parse_range, plot_curve, service_days, solve_scenario


def test_fleet_ranges_and_days() -> None:
    assert parse_range("80:220:20") == [80, 100, 120, 140, 160, 180, 200, 220]
    assert parse_range("90,170") == [90, 170]
    for text, message in (("200:100:20", "is empty"), ("-20:100:20", "must be positive"), ("80:220:0", "step"),
                          ("eighty", "is not START:STOP:STEP")):
        with pytest.raises(ValueError, match=message):
            parse_range(text)
    days = service_days(dt.date(2026, 3, 6), 3)  # a Friday: the weekend is skipped
    assert days == [dt.date(2026, 3, 6), dt.date(2026, 3, 9), dt.date(2026, 3, 10)]


def test_a_fleet_scenario_is_solved_and_checked(dataset_dir: Path, tmp_path: Path) -> None:
    trips = pd.read_csv(dataset_dir / "trips.csv").head(60)
    path = tmp_path / "trips.csv"
    trips.to_csv(path, index=False)
    table = depots()
    rows = [solve_scenario(FleetScenario(policy, size, dataset_date(dataset_dir), str(path), str(tmp_path / "cache"),
                                         table, FLEET_PARAMS)) for policy in ("pooled", "operator") for size in (4, 12)]
    frame = pd.DataFrame(rows)
    assert (frame["violations"] == 0).all()
    pooled = frame[frame["policy"] == "pooled"].set_index("vehicles")
    assert pooled.loc[12, "served_share"] >= pooled.loc[4, "served_share"]
    assert (frame["requests"] == 60).all() and frame["cost_per_trip_tg"].gt(0).all()
    plot_curve(frame, tmp_path / "fleet.png")
    assert (tmp_path / "fleet.png").stat().st_size > 10_000


@pytest.mark.parametrize(("args", "message"), [
    (["fleet", "--vehicles", "200:100:20"], "fleet range '200:100:20' is empty"),
    (["fleet", "--vehicles", "0:100:20"], "sizes must be positive"),
    (["fleet", "--policy", "pooled,fair"], "unknown policy 'fair'"),
    (["dispatch", "--policy", "fair"], "unknown policy 'fair'"),
    (["fleet", "--days", "0", "--vehicles", "10"], "--days must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["invaplan", *args, "--data-dir", str(dataset_dir)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    out = capsys.readouterr().out
    assert message in out and len(out.strip().splitlines()) == 1
