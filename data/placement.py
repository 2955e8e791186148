"""Deterministic placement of generated points beside the street network.

Generated objects and households sit a few metres off a street edge, on the
district they belong to, so that they snap to the network like real buildings.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM43N
from geo.districts import assign_district
from geo.network import load_network_frames
from geo.shortest_paths import profile_graph

# Distance (metres) of a generated building from its street's centre line.
SETBACK_MIN_M: float = 8.0
SETBACK_MAX_M: float = 30.0


@lru_cache(maxsize=1)
def street_edges() -> gpd.GeoDataFrame:
    """Walk-network edges (one per direction pair) a taxi can reach, with their district, UTM 43N.

    Only edges whose two end nodes belong to the drive network's largest
    strongly connected component are kept, so every generated building can be
    reached (and left) by car as well as on foot.
    """
    _, edges = load_network_frames("walk")
    drivable = set(profile_graph("drive").node_ids.tolist())
    u, v = edges.index.get_level_values("u"), edges.index.get_level_values("v")
    edges = edges[~edges["reversed"].to_numpy() & u.isin(drivable) & v.isin(drivable)]
    edges = edges.reset_index(drop=True)[["highway", "name", "length", "geometry"]]
    midpoints = edges.geometry.interpolate(0.5, normalized=True)
    edges = edges.assign(district=assign_district(midpoints, max_distance_m=1e-6))
    return edges[edges["district"].notna()].reset_index(drop=True)


def sample_points(
    counts_by_district: dict[str, int],
    rng: np.random.Generator,
    highways: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Points beside streets: ``counts_by_district[d]`` of them in district ``d``.

    Parameters
    ----------
    counts_by_district
        How many points to draw in each district.
    rng
        The random generator (determinism comes from its seed).
    highways
        Restrict to edges of these highway classes (e.g. residential streets).

    Returns
    -------
    GeoDataFrame
        Columns ``district`` and ``street`` (the edge's street name, may be None),
        Point geometry in UTM 43N, in district order of ``counts_by_district``.
    """
    edges = street_edges()
    if highways is not None:
        edges = edges[edges["highway"].isin(list(highways))]
    frames = []
    for district, count in counts_by_district.items():
        pool = edges[edges["district"] == district]
        if count == 0:
            continue
        if pool.empty:
            raise ValueError(f"no street edges in district {district!r} to place points on")
        weights = pool["length"].to_numpy() / pool["length"].sum()
        chosen = pool.iloc[rng.choice(len(pool), size=count, p=weights)]
        lines = chosen.geometry.to_numpy()
        along = rng.random(count)
        base = shapely.line_interpolate_point(lines, along, normalized=True)
        ahead = shapely.line_interpolate_point(lines, np.minimum(along + 0.01, 1.0), normalized=True)
        behind = shapely.line_interpolate_point(lines, np.maximum(along - 0.01, 0.0), normalized=True)
        dx = shapely.get_x(ahead) - shapely.get_x(behind)
        dy = shapely.get_y(ahead) - shapely.get_y(behind)
        norm = np.hypot(dx, dy)
        norm[norm == 0] = 1.0
        setback = rng.uniform(SETBACK_MIN_M, SETBACK_MAX_M, count) * rng.choice([-1.0, 1.0], count)
        x = shapely.get_x(base) - dy / norm * setback
        y = shapely.get_y(base) + dx / norm * setback
        frames.append(
            gpd.GeoDataFrame(
                {"district": district, "street": chosen["name"].to_numpy()},
                geometry=gpd.points_from_xy(x, y),
                crs=UTM43N,
            )
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=UTM43N)


def split_by_weight(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    keys = list(weights)
    raw = np.array([weights[k] for k in keys], dtype=float)
    raw = raw / raw.sum() * total
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts))[: total - parts.sum()]:
        parts[i] += 1
    return dict(zip(keys, parts.tolist()))
