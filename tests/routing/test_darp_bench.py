"""``bench/darp.py`` on any directory of Cordeau-format files: only that directory, mean and best over seeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from darp_instances import FIXTURES

REPO = Path(__file__).resolve().parents[2]
PR01_OPTIMUM: float = 190.02  # Rist & Forbes (2021), the 2003 tabu search's cost too
A2_16_OPTIMUM: float = 294.248


def test_bench_runs_any_cordeau_directory_with_seeds(tmp_path: Path) -> None:
    for name in ("a2-16", "pr01"):  # one instance of each format (a/b and pr)
        shutil.copy(FIXTURES / f"{name}.txt", tmp_path)
    (tmp_path / "bks.csv").write_text(f"instance,cost,verified,ts2003_cost\na2-16,{A2_16_OPTIMUM},yes,\n"
                                      f"pr01,{PR01_OPTIMUM},yes,{PR01_OPTIMUM}\nmissing-file,1.0,no,\n")
    out = tmp_path / "out.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, str(REPO / "bench" / "darp.py"), "--instances", str(tmp_path), "--json", str(out),
                    "--seeds", "2", "--lilim-count", "0", "--skip-almaty", "--time-limit", "1", "--workers", "1"],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    result = json.loads(out.read_text())
    assert result["seeds"] == 2 and result["threads_per_solve"] == 1 and result["cpu"]
    assert [r["instance"] for r in result["cordeau"]] == ["a2-16", "pr01"]  # only this directory, no pr set
    assert "pr_mean_gap" not in result and "vs_vroom" not in result and "almaty_served_share" not in result
    assert result["all_feasible"] is True
    for row in result["cordeau"]:
        assert len(row["cost_by_seed"]) == 2
        assert row["cost_best"] == min(row["cost_by_seed"]) <= row["cost"] <= max(row["cost_by_seed"])
        assert row["gap"] >= -1e-4 and row["gap_best"] <= row["gap"]
    gaps = [r["gap"] for r in result["cordeau"]]
    assert abs(result["cordeau_mean_gap"] - sum(gaps) / 2) < 1e-5 and result["cordeau_max_gap"] == max(gaps)
    assert result["cordeau_beats_ts2003"] <= 1
