"""Input checks of the tables a map draws: every needed column present, at least one row."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise a ValueError naming the columns of ``columns`` that table ``name`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")


def require_rows(frame: pd.DataFrame, name: str, what: str) -> None:
    """Raise a ValueError if table ``name`` is empty (``what``: what a row stands for, e.g. "object to adapt")."""
    if frame.empty:
        raise ValueError(f"{name} is empty: no {what} to draw")
