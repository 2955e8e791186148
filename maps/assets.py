"""Vendored Leaflet, inlined into every map so that it renders with no network.

folium's default HTML loads Leaflet, jQuery, Bootstrap and Font Awesome from
CDNs; offline the map never appears. The planner maps need only Leaflet (their
popups, legends and switchers are plain Leaflet and DOM code), so
:class:`OfflineMap` drops every CDN link and inlines ``static/leaflet``
instead, with the stylesheet's images as data URIs.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

import folium

LEAFLET_DIR: Path = Path(__file__).resolve().parent / "static" / "leaflet"
CSS_IMAGE_URL: re.Pattern[str] = re.compile(r"url\((images/[\w.-]+\.png)\)")


def _data_uri(match: re.Match[str]) -> str:
    """The CSS ``url(...)`` of a vendored image as a base64 data URI."""
    data = base64.b64encode((LEAFLET_DIR / match.group(1)).read_bytes()).decode("ascii")
    return f"url(data:image/png;base64,{data})"


@lru_cache(maxsize=1)
def leaflet_html() -> str:
    """A ``<style>`` and a ``<script>`` element holding the vendored Leaflet."""
    css = CSS_IMAGE_URL.sub(_data_uri, (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8"))
    js = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"


class OfflineMap(folium.Map):
    """A folium map whose HTML carries Leaflet inline and links nothing from a CDN."""

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def render(self, **kwargs) -> None:
        """Put the inline Leaflet into the page header, then render as folium does."""
        self.get_root().header.add_child(folium.Element(leaflet_html()), name="leaflet")
        super().render(**kwargs)
