"""Almaty's 8 districts: boundaries (OSM) and population weights."""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np

from geo.paths import OSM_DIR

CITY_POPULATION: int = 2_300_000  # inhabitants, the city's 2025 report

# Approximate resident population by district (thousands, early 2024, Bureau of
# National Statistics rounding); only the shares are used, scaled to CITY_POPULATION.
DISTRICT_POPULATION_K: dict[str, float] = {
    "Alatau": 330.0,
    "Almaly": 215.0,
    "Auezov": 305.0,
    "Bostandyk": 380.0,
    "Jetysu": 180.0,
    "Medeu": 225.0,
    "Nauryzbai": 195.0,
    "Turksib": 250.0,
}
DISTRICTS: tuple[str, ...] = tuple(DISTRICT_POPULATION_K)


def district_population() -> dict[str, int]:
    """Population per district (people), scaled to sum to ``CITY_POPULATION``."""
    total = sum(DISTRICT_POPULATION_K.values())
    return {d: round(CITY_POPULATION * k / total) for d, k in DISTRICT_POPULATION_K.items()}


@lru_cache(maxsize=1)
def load_districts() -> gpd.GeoDataFrame:
    """The 8 district polygons in UTM 43N with ``name``, ``osm_name``, ``osm_id``, ``population``."""
    districts = gpd.read_parquet(OSM_DIR / "districts.parquet")
    districts["population"] = districts["name"].map(district_population()).astype("int64")
    return districts


def assign_district(points: gpd.GeoSeries, max_distance_m: float = 3_000.0) -> np.ndarray:
    """District name for each point (nearest district within ``max_distance_m`` metres, else None).

    Parameters
    ----------
    points
        Point geometries in any CRS.
    max_distance_m
        Points farther than this from every district get None.
    """
    districts = load_districts()
    frame = gpd.GeoDataFrame(geometry=points.to_crs(districts.crs).reset_index(drop=True))
    joined = gpd.sjoin_nearest(frame, districts[["name", "geometry"]], how="left", max_distance=max_distance_m)
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["name"].reindex(frame.index).to_numpy(dtype=object)
