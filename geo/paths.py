"""Where the shipped and the generated data live.

``data/`` at the repository root ships the OpenStreetMap-derived files
(network, points of interest, districts, elevation). Generated data (passport registry,
households, fleet) are written by ``invaplan data build`` to a data directory:
``$INVAPLAN_DATA_DIR`` if set, else ``data/generated`` in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR: Path = Path(__file__).resolve().parents[1]
SHIPPED_DATA_DIR: Path = Path(os.environ.get("INVAPLAN_SHIPPED_DATA", REPO_DIR / "data"))
NETWORK_DIR: Path = SHIPPED_DATA_DIR / "network"
OSM_DIR: Path = SHIPPED_DATA_DIR / "osm"
DEM_FILE: Path = SHIPPED_DATA_DIR / "dem" / "almaty_srtm3.npz"


def generated_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the directory for generated data (not created here).

    Parameters
    ----------
    data_dir
        Explicit directory; defaults to ``$INVAPLAN_DATA_DIR`` or ``data/generated``.
    """
    return Path(data_dir or os.environ.get("INVAPLAN_DATA_DIR") or SHIPPED_DATA_DIR / "generated")
