"""The scenario runner on a real dask LocalCluster."""

from __future__ import annotations

import math

import pytest

from invaplan.scenarios import run_scenarios


def test_results_in_input_order_with_progress() -> None:
    seen: list[tuple[int, int]] = []
    results = run_scenarios(math.factorial, [6, 1, 4, 3], workers=2, on_done=lambda d, t: seen.append((d, t)))
    assert results == [720, 1, 24, 6]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_empty_scenario_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="no scenarios"):
        run_scenarios(math.factorial, [])
