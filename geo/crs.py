"""Coordinate reference systems and the Almaty service area.

All analysis runs in UTM zone 43N (EPSG:32643) so that distances are metres;
data are exchanged with users in WGS 84 (EPSG:4326).
"""

from __future__ import annotations

WGS84: str = "EPSG:4326"
UTM43N: str = "EPSG:32643"

# Bounding box (lon_min, lat_min, lon_max, lat_max) in degrees that every
# Almaty point must fall in: the union of the 8 districts (lon 76.742-77.167,
# lat 43.033-43.404) plus a ~2 km margin for depots and clipped roads.
ALMATY_BBOX_DEG: tuple[float, float, float, float] = (76.72, 43.01, 77.19, 43.42)

# The 2025 detailed OSM extract of the centre (Almaly/Medeu/Bostandyk) in degrees;
# inside it the 2025 data replace the 2012 city extract.
CENTRE_2025_BBOX_DEG: tuple[float, float, float, float] = (76.8854, 43.2298, 76.9618, 43.2558)
