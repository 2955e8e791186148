"""Crop the SRTM3 tiles to the shipped network and write the city DEM (``data/dem/``).

A developer step run by ``invaplan data import-osm`` (after the networks are
written, since the crop follows their extent). The product reads the result
with ``geo.elevation.load_dem``.

SRTM3 ``.hgt`` tiles: 1201 x 1201 big-endian int16 heights in metres above the
EGM96 geoid at 3 arc-second spacing; row 0 is the tile's north edge, column 0
its west edge, and neighbouring tiles share their edge row/column. Voids
(-32768) inside the crop are filled with the mean of their valid neighbours
(repeated until none is left); the count filled is returned.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.crs import WGS84
from geo.elevation import DEM_CELLS_PER_DEGREE, save_dem

SRTM_SIZE: int = 1201  # samples per tile side (SRTM3)
SRTM_VOID: int = -32768
DEM_MARGIN_CELLS: int = 3  # cells kept around the network's bounding box (bilinear needs one)


def _tile(srtm_dir: Path, lat: int, lon: int) -> np.ndarray:
    """Heights of the 1-degree tile whose south-west corner is (lat, lon)."""
    name = f"N{lat:02d}E{lon:03d}.hgt"
    path = srtm_dir / f"{name}.zip"
    if not path.exists():
        raise FileNotFoundError(f"SRTM tile {path} is missing (the network extends into it)")
    with zipfile.ZipFile(path) as archive:
        raw = archive.read(name)
    return np.frombuffer(raw, dtype=">i2").reshape(SRTM_SIZE, SRTM_SIZE).astype(np.int16)


def _mosaic(srtm_dir: Path, lats: range, lons: range) -> np.ndarray:
    """Mosaic of the tiles (north row first), shared edges kept once."""
    rows = []
    for lat in reversed(lats):
        row = [(_tile(srtm_dir, lat, lon) if k == 0 else _tile(srtm_dir, lat, lon)[:, 1:]) for k, lon in enumerate(lons)]
        block = np.hstack(row)
        rows.append(block if not rows else block[1:])
    return np.vstack(rows)


def _fill_voids(heights: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill SRTM voids with the mean of their valid 8-neighbours, repeatedly."""
    out = heights.astype(np.float64)
    void = heights == SRTM_VOID
    filled = int(void.sum())
    out[void] = np.nan
    while np.isnan(out).any():
        padded = np.pad(out, 1, constant_values=np.nan)
        stack = np.stack([padded[1 + dr : 1 + dr + out.shape[0], 1 + dc : 1 + dc + out.shape[1]]
                          for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)])
        valid = np.isfinite(stack)
        mean = np.where(valid.any(axis=0), np.nansum(stack, axis=0) / np.maximum(valid.sum(axis=0), 1), np.nan)
        gaps = np.isnan(out) & np.isfinite(mean)
        if not gaps.any():
            raise ValueError("the DEM crop holds only voids")
        out[gaps] = mean[gaps]
    return np.rint(out).astype(np.int16), filled


def import_dem(srtm_dir: Path, nodes: gpd.GeoDataFrame, out_file: Path) -> dict[str, int]:
    """Crop the SRTM tiles to the extent of ``nodes`` (plus a margin) and save it.

    Parameters
    ----------
    srtm_dir
        Folder with ``N<lat>E<lon>.hgt.zip`` tiles.
    nodes
        Network nodes (any CRS); the crop covers their bounding box.
    out_file
        Where to write the DEM (``geo.elevation.save_dem`` format).

    Returns
    -------
    dict
        ``dem_rows``, ``dem_cols`` and ``dem_voids_filled``.
    """
    lon_min, lat_min, lon_max, lat_max = nodes.to_crs(WGS84).total_bounds
    lats = range(int(np.floor(lat_min)), int(np.floor(lat_max)) + 1)
    lons = range(int(np.floor(lon_min)), int(np.floor(lon_max)) + 1)
    mosaic = _mosaic(srtm_dir, lats, lons)
    north, west = lats[-1] + 1, lons[0]
    r0 = max(int(np.floor((north - lat_max) * DEM_CELLS_PER_DEGREE)) - DEM_MARGIN_CELLS, 0)
    r1 = min(int(np.ceil((north - lat_min) * DEM_CELLS_PER_DEGREE)) + DEM_MARGIN_CELLS, mosaic.shape[0] - 1)
    c0 = max(int(np.floor((lon_min - west) * DEM_CELLS_PER_DEGREE)) - DEM_MARGIN_CELLS, 0)
    c1 = min(int(np.ceil((lon_max - west) * DEM_CELLS_PER_DEGREE)) + DEM_MARGIN_CELLS, mosaic.shape[1] - 1)
    heights, filled = _fill_voids(mosaic[r0 : r1 + 1, c0 : c1 + 1])
    save_dem(out_file, heights, north - r0 / DEM_CELLS_PER_DEGREE, west + c0 / DEM_CELLS_PER_DEGREE)
    return {"dem_rows": heights.shape[0], "dem_cols": heights.shape[1], "dem_voids_filled": filled}
