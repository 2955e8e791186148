"""Map test fixtures: a headless Chromium (skipped locally when absent, a failure in CI) and gap summaries."""

from __future__ import annotations

import importlib.util
import os

import h3
import numpy as np
import pandas as pd
import pytest

from geo.districts import DISTRICTS
from geo.gaps import MIN_HOUSEHOLDS_PER_CELL
from geo.passport import SERVICES
from map_browser import CHROMIUM

CENTRE_CELL: str = h3.latlng_to_cell(43.24, 76.93, 8)  # central Almaty, H3 res 8


@pytest.fixture(scope="session")
def chromium() -> None:
    """Require Debian's Chromium and Playwright: skip without them, but fail in CI (CI=true)."""
    missing = [name for name, present in (("/usr/bin/chromium", CHROMIUM.exists()),
                                          ("playwright", importlib.util.find_spec("playwright") is not None))
               if not present]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (apt-get install chromium; pip install playwright)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"map tests need a browser in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def gaps_by_hex() -> pd.DataFrame:
    """19 real H3 res-8 cells of central Almaty, as ``geo.gaps.summarise`` gives them (none under the
    privacy minimum): the first (the centre) has a 5 % pharmacy and a 90 % bank gap, the second no shares."""
    cells = [CENTRE_CELL, *sorted(set(h3.grid_disk(CENTRE_CELL, 2)) - {CENTRE_CELL})]
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"h3": cells, "households": rng.integers(MIN_HOUSEHOLDS_PER_CELL, 200, len(cells))})
    frame["people"] = frame["households"] * 2
    for service in SERVICES:
        frame[f"share_gap_{service}"] = rng.random(len(cells)).round(3)
    frame.loc[0, ["share_gap_pharmacy", "share_gap_bank"]] = [0.05, 0.9]
    frame.loc[1, [f"share_gap_{s}" for s in SERVICES]] = np.nan
    return frame


@pytest.fixture(scope="session")
def gaps_by_district() -> pd.DataFrame:
    """Every district with households, people and a share per service."""
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"district": DISTRICTS, "households": 1_000, "people": 2_400})
    for service in SERVICES:
        frame[f"share_gap_{service}"] = rng.random(len(DISTRICTS)).round(3)
    return frame
