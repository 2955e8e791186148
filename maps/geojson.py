"""Compact GeoJSON for the maps, and a Leaflet layer that draws it with JavaScript styling."""

from __future__ import annotations

import json
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

from geo.crs import WGS84

COORDINATE_DECIMALS: int = 5  # about 1 m at Almaty's latitude
# Characters escaped in JSON embedded in a <script> element (as jinja's ``tojson`` does).
SCRIPT_ESCAPES: dict[str, str] = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
# A ``popup`` for :class:`GeoJsonLayer`: the feature's ``popup`` property as plain text, one
# line per line of it, the first in bold (never parsed as HTML, so any name or reason is safe).
TEXT_POPUP: str = """function (layer) {
    var div = document.createElement("div");
    layer.feature.properties.popup.split("\\n").forEach(function (line, k) {
        div.appendChild(document.createElement(k ? "div" : "b")).textContent = line;
    });
    return div;
}"""


def feature_collection(geometry: gpd.GeoSeries, properties: Sequence[dict]) -> dict:
    """A GeoJSON FeatureCollection in WGS 84 with coordinates rounded to ``COORDINATE_DECIMALS``.

    Parameters
    ----------
    geometry
        Geometries in any CRS.
    properties
        One JSON-serialisable dict per geometry, in the same order.
    """
    rounded = shapely.transform(geometry.to_crs(WGS84).to_numpy(), lambda xy: np.round(xy, COORDINATE_DECIMALS))
    features = [{"type": "Feature", "geometry": mapping(shape), "properties": props}
                for shape, props in zip(rounded, properties, strict=True)]
    return {"type": "FeatureCollection", "features": features}


def script_json(obj: object) -> str:
    """Compact JSON (UTF-8, no spaces) safe to embed in a ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.translate(str.maketrans(SCRIPT_ESCAPES))


class GeoJsonLayer(Layer):
    """An ``L.geoJSON`` layer whose options, popup and tooltip are JavaScript code.

    Parameters
    ----------
    data
        A GeoJSON FeatureCollection (embedded in the page).
    name
        Name in the layer control.
    options
        JavaScript object literal of ``L.geoJSON`` options (``style``, ``pointToLayer`` ...).
    popup, tooltip
        JavaScript arguments of ``bindPopup`` / ``bindTooltip``, bound once to the
        whole layer (e.g. ``"f, {sticky: true}"`` with ``f`` a function of the
        feature layer under the pointer).
    overlay, control, show
        As for :class:`folium.map.Layer`.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJSON({{ this.data }}, {{ this.options }});
            {%- if this.popup %}
            {{ this.get_name() }}.bindPopup({{ this.popup }});
            {%- endif %}
            {%- if this.tooltip %}
            {{ this.get_name() }}.bindTooltip({{ this.tooltip }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict,
        name: str,
        options: str = "{}",
        popup: str | None = None,
        tooltip: str | None = None,
        overlay: bool = True,
        control: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "GeoJsonLayer"
        self.data, self.options, self.popup, self.tooltip = script_json(data), options, popup, tooltip
