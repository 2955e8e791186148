"""OpenStreetMap tiles: an optional base layer, active only on request (own module: one browser at a time)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.districts import load_districts
from maps.base import OSM_LAYER
from map_browser import open_map
from maps.gaps_map import gaps_map
from maps.render import save_map


def test_osm_tiles_are_requested_only_when_chosen(chromium: None, gaps_by_hex: pd.DataFrame,
                                                  gaps_by_district: pd.DataFrame, tmp_path: Path) -> None:
    html = save_map(gaps_map(gaps_by_hex, gaps_by_district, load_districts(), tiles="osm"), tmp_path / "osm.html")
    with open_map(html) as page:
        checked = page.page.locator(".leaflet-control-layers-base input:checked + span").inner_text()
        assert checked.strip() == OSM_LAYER
        assert page.blocked and all("tile.openstreetmap.org" in url for url in page.blocked)
