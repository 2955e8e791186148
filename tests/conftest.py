"""Shared fixtures: the default dataset, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from invaplan.dataset import build_dataset


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default Almaty dataset (seed 2025) written to a temporary directory."""
    return build_dataset(tmp_path_factory.mktemp("dataset"))
