"""Save a map as one standalone HTML file that loads nothing from the network."""

from __future__ import annotations

import re
from pathlib import Path

import folium

# <script src="http..."> and <link href="http..."> (a CDN asset); tile URLs in scripts are not assets.
EXTERNAL_ASSET: re.Pattern[str] = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.IGNORECASE)


def external_assets(html: str) -> list[str]:
    """The ``<script>`` / ``<link>`` tags of ``html`` that load from the network."""
    return EXTERNAL_ASSET.findall(html)


def save_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write ``fmap`` as standalone HTML (Leaflet inlined) to ``path``.

    Raises
    ------
    ValueError
        If the page would load a script or stylesheet from the network (e.g. a
        folium plugin that links a CDN), since it would not render offline.
    """
    html = fmap.get_root().render()
    external = external_assets(html)
    if external:
        raise ValueError(f"the map links {len(external)} network asset(s), e.g. {external[0]}; "
                         "it would not render offline")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
