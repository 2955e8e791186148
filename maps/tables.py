"""Input checks of the tables a map draws (every needed column present, at least one row), and counts shown on maps."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from geo.gaps import MIN_HOUSEHOLDS_PER_CELL


def household_count(n: int) -> str:
    """A household count for a map label; small counts only as "fewer than" (privacy, ``MIN_HOUSEHOLDS_PER_CELL``)."""
    return f"{n:,}" if n >= MIN_HOUSEHOLDS_PER_CELL or n == 0 else f"fewer than {MIN_HOUSEHOLDS_PER_CELL}"


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise a ValueError naming the columns of ``columns`` that table ``name`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")


def require_rows(frame: pd.DataFrame, name: str, what: str) -> None:
    """Raise a ValueError if table ``name`` is empty (``what``: what a row stands for, e.g. "object to adapt")."""
    if frame.empty:
        raise ValueError(f"{name} is empty: no {what} to draw")
