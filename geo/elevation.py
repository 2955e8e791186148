"""Heights from the shipped city DEM and the directed grade of every network edge.

The DEM (``data/dem/almaty_srtm3.npz``, cropped from NASA SRTM3 by
``data.dem_import``) is a grid of heights in metres above the EGM96 geoid at
3 arc-seconds (about 92 m north-south, 68 m east-west at 43° N). Heights at a
point are bilinear in the four surrounding samples.

Grade of a directed edge u -> v (a fraction, positive uphill):

* edges at least ``GRADE_WINDOW_M`` long: ``(h(v) - h(u)) / length``;
* shorter edges: a 90 m grid cannot resolve them (the grade of a 10 m edge
  would only reflect which grid cell it falls in), so the terrain's slope is
  measured over a ``GRADE_WINDOW_M`` window centred on the edge's midpoint,
  along its chord u -> v: ``(h(mid + w/2 e) - h(mid - w/2 e)) / w``;
* OSM ``incline=*`` overrides: a number ("8%", "-5 %", "4°") is the grade in
  the way's direction; ``up`` / ``down`` keep the DEM's magnitude with the
  tagged sign. Edges that run against their way (``reversed``) flip the sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from geo.crs import UTM43N, WGS84
from geo.paths import DEM_FILE

DEM_CELLS_PER_DEGREE: int = 1200  # SRTM3: 3 arc-second spacing
GRADE_WINDOW_M: float = 90.0  # about one SRTM3 cell north-south: the shortest span the grid resolves

_TO_LONLAT = Transformer.from_crs(UTM43N, WGS84, always_xy=True)


@dataclass(frozen=True)
class Dem:
    """A regular latitude/longitude grid of heights.

    Attributes
    ----------
    heights
        Heights in metres (rows from north to south, columns from west to east).
    north, west
        Latitude of row 0 and longitude of column 0, degrees.
    cells_per_degree
        Samples per degree in both directions.
    """

    heights: np.ndarray
    north: float
    west: float
    cells_per_degree: float = DEM_CELLS_PER_DEGREE

    def height_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Bilinear height in metres at each (lon, lat) in degrees; an error for points off the grid."""
        row = (self.north - np.asarray(lat, dtype=float)) * self.cells_per_degree
        col = (np.asarray(lon, dtype=float) - self.west) * self.cells_per_degree
        n_rows, n_cols = self.heights.shape
        outside = ~((row >= 0) & (row <= n_rows - 1) & (col >= 0) & (col <= n_cols - 1))
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            raise ValueError(f"the DEM does not cover {int(outside.sum())} point(s), e.g. lon {np.ravel(lon)[k]:.5f} "
                             f"lat {np.ravel(lat)[k]:.5f} (grid: lat {self.north - (n_rows - 1) / self.cells_per_degree:.4f}"
                             f"–{self.north:.4f}, lon {self.west:.4f}–{self.west + (n_cols - 1) / self.cells_per_degree:.4f})")
        r0 = np.minimum(np.floor(row).astype(int), n_rows - 2)
        c0 = np.minimum(np.floor(col).astype(int), n_cols - 2)
        fr, fc = row - r0, col - c0
        h = self.heights
        top = h[r0, c0] * (1 - fc) + h[r0, c0 + 1] * fc
        bottom = h[r0 + 1, c0] * (1 - fc) + h[r0 + 1, c0 + 1] * fc
        return top * (1 - fr) + bottom * fr

    def height_at_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear height in metres at UTM 43N points (metres)."""
        lon, lat = _TO_LONLAT.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return self.height_at(lon, lat)


def save_dem(path: Path, heights: np.ndarray, north: float, west: float) -> None:
    """Write a DEM (int16 metres, north-west corner in degrees) as a compressed ``.npz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, heights=heights.astype(np.int16), north=north, west=west,
                        cells_per_degree=DEM_CELLS_PER_DEGREE)


@lru_cache(maxsize=2)
def load_dem(path: Path = DEM_FILE) -> Dem:
    """The DEM stored at ``path`` (default: the shipped Almaty grid)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"DEM file {path} is missing (run `invaplan data import-osm`)")
    with np.load(path) as stored:
        return Dem(stored["heights"].astype(np.float64), float(stored["north"]), float(stored["west"]),
                   float(stored["cells_per_degree"]))


def incline_grade(incline: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Grade and direction tagged by OSM ``incline`` values, in the way's direction.

    Returns
    -------
    grade, sign
        ``grade``: the tagged grade as a signed fraction ("8%" -> 0.08, "-4°"
        -> -tan 4°), NaN where no number is given; ``sign``: +1 for ``up``,
        -1 for ``down``, 0 otherwise.
    """
    text = incline.astype("string").str.strip().str.lower()
    number = pd.to_numeric(text.str.extract(r"^(-?\d+(?:\.\d+)?)")[0], errors="coerce").to_numpy(dtype=float)
    degrees = text.str.contains("°|deg", na=False).to_numpy()
    grade = np.where(degrees, np.tan(np.radians(number)), number / 100.0)
    sign = np.where(text.eq("up").fillna(False).to_numpy(), 1.0, 0.0)
    sign = np.where(text.eq("down").fillna(False).to_numpy(), -1.0, sign)
    return grade, sign


def edge_grades(nodes: pd.DataFrame, edges: pd.DataFrame, dem: Dem, window_m: float = GRADE_WINDOW_M) -> np.ndarray:
    """Directed grade (fraction, positive uphill from u to v) of each edge.

    Parameters
    ----------
    nodes
        Indexed by node id with ``x``, ``y`` in metres (UTM 43N).
    edges
        Indexed by ``(u, v, key)`` with ``length`` (metres); ``incline`` and
        ``reversed`` are read when present.
    dem
        The elevation grid.
    window_m
        Edges shorter than this take the terrain slope over a window of this
        length centred on them (see the module docstring).
    """
    if not window_m > 0:
        raise ValueError(f"the grade window must be positive metres, got {window_m}")
    xy = nodes[["x", "y"]]
    pu = xy.loc[edges.index.get_level_values("u")].to_numpy(dtype=float)
    pv = xy.loc[edges.index.get_level_values("v")].to_numpy(dtype=float)
    length = edges["length"].to_numpy(dtype=float)
    node_height = pd.Series(dem.height_at_xy(xy["x"].to_numpy(), xy["y"].to_numpy()), index=nodes.index)
    hu = node_height.loc[edges.index.get_level_values("u")].to_numpy()
    hv = node_height.loc[edges.index.get_level_values("v")].to_numpy()
    grade = np.where(length > 0, (hv - hu) / np.maximum(length, 1e-9), 0.0)
    short = length < window_m
    chord = pv[short] - pu[short]
    chord_m = np.hypot(chord[:, 0], chord[:, 1])
    unit = np.where(chord_m[:, None] > 0, chord / np.maximum(chord_m, 1e-9)[:, None], 0.0)
    middle = (pu[short] + pv[short]) / 2
    ahead, behind = middle + unit * window_m / 2, middle - unit * window_m / 2
    rise = dem.height_at_xy(ahead[:, 0], ahead[:, 1]) - dem.height_at_xy(behind[:, 0], behind[:, 1])
    grade[short] = np.where(chord_m > 0, rise / window_m, 0.0)
    if "incline" in edges.columns:
        tagged, sign = incline_grade(edges["incline"])
        way_direction = np.where(edges["reversed"].to_numpy(dtype=bool), -1.0, 1.0) if "reversed" in edges else 1.0
        grade = np.where(np.isfinite(tagged), tagged * way_direction,
                         np.where(sign != 0, sign * way_direction * np.abs(grade), grade))
    return grade
