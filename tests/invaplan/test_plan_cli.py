"""`invaplan plan` on the Almaty dataset: a programme within budgets and capacities, its report and curve, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.programme_policy import CITY_PAID_PRIVATE_CATEGORIES, COMPLIANCE_ORDER
from invaplan.cli import app, main


def test_plan_command_writes_a_programme_its_report_and_a_budget_curve(dataset_dir: Path, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.csv"
    pd.DataFrame({"year": [2026, 2027], "budget_tg": [6e8, 4e8], "order_capacity": [300, 200],
                  "min_objects": [400, 0]}).to_csv(budgets, index=False)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["plan", "--start", "2026", "--end", "2027", "--budget-file", str(budgets),
                                      "--time-limit", "20", "--budget-curve", "2e8:6e8:2", "--curve-time-limit", "5",
                                      "--out", str(out), "--data-dir", str(dataset_dir)])
    assert result.exit_code == 0, result.output
    plan = pd.read_csv(out / "plan.csv")
    assert plan["object_id"].is_unique
    city = plan[plan["instrument"] != COMPLIANCE_ORDER]
    spend = city.groupby("year")["cost_tg"].sum()
    assert spend[2026] <= 6e8 and spend.get(2027, 0) <= 4e8
    orders = plan[plan["instrument"] == COMPLIANCE_ORDER].groupby("year").size()
    assert orders.get(2026, 0) <= 300 and orders.get(2027, 0) <= 200
    private_on_budget = city[(city["category"].isin(["trade", "pharmacy", "bank", "catering", "medical_centre", "other",
                                                     "private_education", "consumer_services"]))
                             & ~city["category"].isin(CITY_PAID_PRIVATE_CATEGORIES)]
    assert private_on_budget.empty and (plan.loc[plan["instrument"] == COMPLIANCE_ORDER, "city_cost_tg"] == 0).all()
    targets = pd.read_csv(out / "targets.csv")
    social = targets[targets["target"].str.contains("400 social objects")].iloc[0]
    assert social["required"] == 400 and social["achieved"] >= 400 and social["met"]
    summary = pd.read_csv(out / "plan_summary.csv")
    assert (summary["open_gaps_after"] <= summary["open_gaps_before"]).all() and summary["people_covered"].sum() > 0
    curve = pd.read_csv(out / "budget_curve.csv")
    assert curve["budget_tg"].tolist() == [2e8, 6e8] and curve["value"].is_monotonic_increasing
    for name in ("plan.parquet", "coverage_by_year.png", "budget_curve.png", "sites.csv", "plan_years.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    report = (out / "report.html").read_text()
    for section in ("Targets", "Per year and instrument", "Per category", "Per district", "Gaps no adaptation can close",
                    "Budget sensitivity", "Value weights used"):
        assert f">{section}</h2>" in report
    assert "{'" not in report and "np.float" not in report  # no raw Python structures


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"t.csv": "kind,year,category,district,value\ncount,2026,cafes,,10\n"}, ["--targets-file", "t.csv"],
         "t.csv row 2, field 'category': unknown category 'cafes'"),
        ({"w.csv": "term,weight\nchoice,nan\n"}, ["--weights-file", "w.csv"],
         "w.csv row 2, field 'weight': weight of 'choice' must be a non-negative number"),
        ({"b.csv": "year,budget_tg,min_objects\n2026,1e9,lots\n"}, ["--budget-file", "b.csv", "--end", "2026"],
         "b.csv row 2, field 'min_objects': 'lots' is not a whole number"),
        ({"b.csv": "year,budget_tg\n2026,1e9\n"}, ["--budget-file", "b.csv", "--count-target", "2026:10"],
         "--count-target cannot be combined with --budget-file"),
        ({}, ["--order-capacity", "-5"], "order capacity for year 2026 must be a non-negative number"),
        ({}, ["--budget-curve", "6e9:1e9:8"], "need 0 <= LOW < HIGH"),
    ],
    ids=["unknown category", "NaN weight", "non-numeric min_objects", "count target with budget file", "negative capacity",
         "bad curve"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                          files: dict[str, str], args: list[str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["invaplan", "plan", *args, "--out", str(tmp_path / "p")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    printed = " ".join(capsys.readouterr().out.split())
    assert message in printed


@pytest.mark.parametrize(("terrain", "kerb"), [(False, "lowered"), (True, "raised")], ids=["flat", "other kerbs"])
def test_a_gap_analysis_reused_by_the_plan_must_match_its_settings(tmp_path: Path, terrain: bool, kerb: str) -> None:
    from rich.console import Console

    from geo.gaps import GapAnalysis
    from invaplan.plan_report import PLAN_YEARS, run_plan

    other = GapAnalysis(pd.DataFrame(), pd.DataFrame(), {}, terrain=terrain, untagged_kerb=kerb)
    with pytest.raises(ValueError, match="terrain-aware with the same untagged kerbs"):
        run_plan(tmp_path, tmp_path / "plan", PLAN_YEARS, dict.fromkeys(PLAN_YEARS, 3e8), None, 1.0, Console(quiet=True),
                 untagged_kerb="lowered", analysis=other)
