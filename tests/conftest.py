"""Shared fixtures: the default dataset, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.dataset import build_dataset


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default Almaty dataset (seed 2025) written to a temporary directory."""
    return build_dataset(tmp_path_factory.mktemp("dataset"))


@pytest.fixture(scope="session")
def small_plan_dir(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`invaplan plan` outputs for 2026–2030 at 300 M tg a year (objects in every year), solved for 3 s."""
    from rich.console import Console

    from invaplan.plan_report import PLAN_YEARS, run_plan

    out = tmp_path_factory.mktemp("results") / "plan"
    run_plan(dataset_dir, out, PLAN_YEARS, dict.fromkeys(PLAN_YEARS, 3e8), {}, 3.0, Console(quiet=True))
    return out


@pytest.fixture(scope="session")
def small_trips_csv(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The day's first 40 requests plus ``CROWD``: a later request from another household's home
    with 4 companions (5 seats, more than any vehicle holds), so it stays unserved."""
    import pandas as pd

    trips = pd.read_csv(dataset_dir / "trips.csv", dtype={"request_id": str, "user_id": str})
    first, rest = trips.head(40), trips.iloc[40:]
    outbound = rest[rest["request_id"].str.endswith("-OUT") & ~rest["user_id"].isin(first["user_id"])]
    crowd = outbound.head(1).assign(request_id="CROWD", companions=4, wheelchair=False)
    path = tmp_path_factory.mktemp("trips") / "trips.csv"
    pd.concat([first, crowd], ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def small_dispatch_dir(dataset_dir: Path, small_trips_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`invaplan dispatch` outputs for ``small_trips_csv``, solved for 5 s."""
    from rich.console import Console

    from data.dataset import DEFAULT_DATE
    from invaplan.dispatch_report import run_dispatch

    out = tmp_path_factory.mktemp("results") / "dispatch"
    run_dispatch(small_trips_csv, DEFAULT_DATE, 5.0, out, dataset_dir, Console(quiet=True))
    return out
