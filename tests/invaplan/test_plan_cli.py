"""`invaplan plan` on the Almaty dataset: outputs, budgets respected, clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from invaplan.cli import app


def test_plan_command_writes_a_feasible_plan(dataset_dir: Path, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.csv"
    pd.DataFrame({"year": [2026, 2027], "budget_tg": [6e8, 4e8], "min_objects": [300, 0]}).to_csv(budgets, index=False)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["plan", "--start", "2026", "--end", "2027", "--budget-file", str(budgets),
                                      "--time-limit", "20", "--out", str(out), "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    plan = pd.read_csv(out / "plan.csv")
    assert plan["object_id"].is_unique
    spend = plan.groupby("year")["cost_tg"].sum()
    assert spend[2026] <= 6e8 and spend.get(2027, 0) <= 4e8
    assert (plan["year"] == 2026).sum() >= 300
    assert set(plan.loc[plan["year"] == 2026, "category"]) <= {"state_education", "state_health", "state_culture",
                                                                "state_higher_education", "state_sport_admin", "stop"}
    summary = pd.read_csv(out / "plan_summary.csv")
    assert (summary["open_gaps_after"] <= summary["open_gaps_before"]).all()
    assert summary["people_covered"].sum() > 0
    for name in ("plan.parquet", "coverage_by_year.png", "report.html"):
        assert (out / name).stat().st_size > 0
    assert "optimality gap" in (out / "report.html").read_text()


def test_plan_rejects_budget_file_with_unknown_year(dataset_dir: Path, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.csv"
    pd.DataFrame({"year": [2026, 2035], "budget_tg": [6e8, 4e8]}).to_csv(budgets, index=False)
    result = CliRunner().invoke(app, ["plan", "--start", "2026", "--end", "2026", "--budget-file", str(budgets),
                                      "--out", str(tmp_path / "p"), "--data-dir", str(dataset_dir)])
    assert result.exit_code != 0
    assert "2035" in str(result.exception) and "outside the plan" in str(result.exception)


def test_plan_rejects_negative_budget(dataset_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--start", "2026", "--end", "2026", "--budget", "-5",
                                      "--out", str(tmp_path / "p"), "--data-dir", str(dataset_dir)])
    assert result.exit_code != 0
    assert "non-negative" in str(result.exception)
