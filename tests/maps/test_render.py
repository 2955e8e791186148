"""Saving maps: Leaflet inlined, CDN links refused."""

from __future__ import annotations

from pathlib import Path

import folium
import pytest

from maps.assets import OfflineMap
from maps.render import external_assets, save_map


def test_offline_map_inlines_leaflet_and_its_images(tmp_path: Path) -> None:
    html = save_map(OfflineMap(tiles=None), tmp_path / "map.html").read_text(encoding="utf-8")
    assert external_assets(html) == []
    assert "url(images/" not in html and "url(data:image/png;base64," in html
    assert not any(host in html for host in ("jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "bootstrapcdn"))


def test_a_map_linking_a_cdn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="would not render offline"):
        save_map(folium.Map(tiles=None), tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()


def test_external_assets_finds_scripts_and_stylesheets_only() -> None:
    html = ('<script src="https://cdn.example/a.js"></script><link rel="stylesheet" href="//cdn.example/b.css"/>'
            '<script>L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png")</script>'
            '<script src="local.js"></script>')
    assert len(external_assets(html)) == 2
