"""The planners' base map: a blank offline background, optional OSM tiles, district outlines."""

from __future__ import annotations

import json

import folium
import geopandas as gpd

from geo.crs import WGS84
from maps.assets import OfflineMap
from maps.geojson import GeoJsonLayer, feature_collection

TILES: tuple[str, ...] = ("offline", "osm")
BLANK_LAYER: str = "Blank (offline)"
OSM_LAYER: str = "OpenStreetMap (needs internet)"
DISTRICTS_LAYER: str = "District boundaries"
DISTRICT_OUTLINE_STYLE: str = '{color: "#37474f", weight: 2, opacity: 0.9, fill: false, interactive: false}'
BLANK_BACKGROUND: str = "#f4f4f1"
OSM_DATA_ATTRIBUTION: str = "Data © OpenStreetMap contributors (ODbL); passports generated"


def base_map(districts: gpd.GeoDataFrame, tiles: str = "offline", prefer_canvas: bool = False) -> OfflineMap:
    """An offline map fitted to the districts with two base layers: blank and OpenStreetMap.

    Parameters
    ----------
    districts
        District polygons (any CRS); only their extent is used here.
    tiles
        ``"offline"``: the blank base layer is active (no tile server needed);
        ``"osm"``: OpenStreetMap tiles are active. The other one stays in the layer control.
    prefer_canvas
        Draw vector layers on one shared canvas (fast for tens of thousands of points).
    """
    if tiles not in TILES:
        raise ValueError(f"tiles must be one of {TILES}, not {tiles!r}")
    west, south, east, north = districts.to_crs(WGS84).total_bounds
    fmap = OfflineMap(location=[(south + north) / 2, (west + east) / 2], zoom_start=11, tiles=None,
                      control_scale=True, prefer_canvas=prefer_canvas)
    folium.FeatureGroup(name=BLANK_LAYER, overlay=False, show=tiles == "offline").add_to(fmap)
    folium.TileLayer("OpenStreetMap", name=OSM_LAYER, overlay=False, show=tiles == "osm").add_to(fmap)
    background = f"<style>#{fmap.get_name()} {{ background: {BLANK_BACKGROUND}; }}</style>"  # id beats leaflet.css
    fmap.get_root().header.add_child(folium.Element(background), name="background")
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def district_outlines(districts: gpd.GeoDataFrame) -> GeoJsonLayer:
    """The district boundaries (any CRS) as a non-interactive outline layer."""
    data = feature_collection(districts.geometry, [{}] * len(districts))
    options = f"{{style: {DISTRICT_OUTLINE_STYLE}, attribution: {json.dumps(OSM_DATA_ATTRIBUTION)}}}"
    return GeoJsonLayer(data, DISTRICTS_LAYER, options=options)
