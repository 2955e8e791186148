"""The passport map: every object coloured by its accessibility for one disability group.

Each object is a canvas circle (``L.circleMarker`` on the map's shared canvas),
one toggleable layer per category group (``CATEGORY_GROUPS``). A popup shows the
passport: each field present, absent or not applicable, and the status per
group. The data travel as compact GeoJSON: properties ``i`` (object id),
``n`` (name), ``c`` (category index), ``a`` (address), ``p`` (one character per
passport field: ``1`` present, ``0`` absent, ``-`` not applicable) and ``s``
(one status code per group, ``STATUS_CODE``).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium import MacroElement
from folium.template import Template

from data.objects import CATEGORY_LABEL
from geo.passport import CATEGORIES, GROUPS, PASSPORT_FIELDS, STATUSES
from maps.base import base_map, district_outlines
from maps.geojson import GeoJsonLayer, feature_collection
from maps.legend import Legend

# Layer name -> passport categories; every category is in exactly one group.
CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "State social objects": ("state_culture", "state_sport_admin"),
    "Health & pharmacies": ("state_health", "medical_centre", "pharmacy"),
    "Education": ("state_education", "state_higher_education", "private_education"),
    "Trade & services": ("trade", "consumer_services", "catering", "bank", "leisure", "hotel", "religious",
                         "sport", "other"),
    "Housing": ("housing",),
    "Stops": ("stop",),
}
STATUS_CODE: dict[str, str] = {"accessible": "a", "partly": "p", "not_accessible": "n"}
STATUS_COLOUR: dict[str, str] = {"accessible": "#1a9641", "partly": "#f68b1f", "not_accessible": "#d7191c"}
STATUS_LABEL: dict[str, str] = {"accessible": "accessible", "partly": "partly accessible",
                                "not_accessible": "not accessible"}
GROUP_LABEL: dict[str, str] = {
    "wheelchair": "wheelchair users",
    "mobility": "people with limited mobility",
    "vision": "people with visual impairments",
    "hearing": "people with hearing impairments",
    "intellectual": "people with intellectual disabilities",
}
FIELD_LABEL: dict[str, str] = {
    "ramp": "Entrance ramp",
    "door_width_ok": "Door ≥ 0.9 m wide",
    "step_free": "Lift / step-free entrance",
    "accessible_toilet": "Accessible toilet",
    "tactile_guidance": "Tactile guidance",
    "accessible_parking": "Accessible parking",
    "visual_info": "Visual information",
    "clear_signage": "Clear signage",
}
POINT_STYLE: dict[str, float | str] = {"radius": 3.5, "weight": 0.6, "color": "#ffffff", "fillOpacity": 0.9}


class ObjectStyle(MacroElement):
    """The shared JavaScript of the objects layers: circle style by status and the passport popup.

    Defines ``<name>.point(feature, latlng)`` (a ``pointToLayer``) and
    ``<name>.popup(layer)`` (popup content of a clicked object).
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .invaplan-popup { font: 12px/1.35 sans-serif; }
                .invaplan-popup table { border-collapse: collapse; margin-top: 4px; }
                .invaplan-popup td { padding: 0 8px 0 0; white-space: nowrap; }
                .invaplan-popup th { text-align: left; padding-top: 4px; }
            </style>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (t) {
                function escape(text) {
                    var div = document.createElement("div");
                    div.textContent = text;
                    return div.innerHTML;
                }
                var mark = {"1": "✓", "0": "✗", "-": "n.a."};
                return {
                    point: function (feature, latlng) {
                        var colour = t.colours[feature.properties.s[t.group]];
                        return L.circleMarker(latlng, Object.assign({fillColor: colour}, t.point));
                    },
                    popup: function (layer) {
                        var p = layer.feature.properties;
                        var html = "<div class='invaplan-popup'><b>" + escape(p.n) + "</b><br>"
                            + escape(t.categories[p.c]) + " · " + p.i;
                        if (p.a) { html += "<br>" + escape(p.a); }
                        html += "<table><tr><th colspan='2'>Passport</th></tr>";
                        t.fields.forEach(function (label, k) {
                            html += "<tr><td>" + label + "</td><td>" + mark[p.p[k]] + "</td></tr>";
                        });
                        html += "<tr><th colspan='2'>Accessible for</th></tr>";
                        t.groups.forEach(function (label, k) {
                            html += "<tr><td>" + label + "</td><td style='color:" + t.colours[p.s[k]] + "'>"
                                + t.statuses[p.s[k]] + "</td></tr>";
                        });
                        return html + "</table></div>";
                    }
                };
            })({{ this.tables|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, group: str) -> None:
        super().__init__()
        self._name = "ObjectStyle"
        self.tables = {
            "group": GROUPS.index(group),
            "point": POINT_STYLE,
            "colours": {STATUS_CODE[s]: STATUS_COLOUR[s] for s in STATUSES},
            "statuses": {STATUS_CODE[s]: STATUS_LABEL[s] for s in STATUSES},
            "categories": [CATEGORY_LABEL[c] for c in CATEGORIES],
            "fields": [FIELD_LABEL[f] for f in PASSPORT_FIELDS],
            "groups": [GROUP_LABEL[g].capitalize() for g in GROUPS],
        }


def _codes(objects: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per object the passport string (``1``/``0``/``-`` per field) and the status string (per group)."""
    passport = np.full(len(objects), "", dtype=object)
    for field in PASSPORT_FIELDS:
        values = objects[field]
        passport = passport + np.where(values.isna(), "-", np.where(values.fillna(False).astype(bool), "1", "0"))
    statuses = np.full(len(objects), "", dtype=object)
    for group in GROUPS:
        statuses = statuses + objects[f"status_{group}"].map(STATUS_CODE).to_numpy(dtype=object)
    return passport, statuses


def _properties(objects: gpd.GeoDataFrame) -> list[dict]:
    """The popup properties of each object (see the module docstring)."""
    passport, statuses = _codes(objects)
    category = objects["category"].map({c: k for k, c in enumerate(CATEGORIES)}).to_numpy()
    address = objects["address"].astype(object).where(objects["address"].notna(), None).to_numpy()
    return [{"i": i, "n": n, "c": int(c), "a": a, "p": p, "s": s} for i, n, c, a, p, s in
            zip(objects["object_id"], objects["name"], category, address, passport, statuses, strict=True)]


def objects_map(
    objects: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, group: str = "wheelchair", tiles: str = "offline"
) -> folium.Map:
    """Map of the passported objects coloured by accessibility status for one disability group.

    Parameters
    ----------
    objects
        The passport registry (``data.dataset.load_objects``), any CRS.
    districts
        District polygons (``geo.districts.load_districts``), drawn as outlines.
    group
        Disability group (one of ``geo.passport.GROUPS``) whose status colours the points.
    tiles
        ``"offline"`` (blank background, the default) or ``"osm"`` (OpenStreetMap tiles).

    Returns
    -------
    folium.Map
        One overlay per ``CATEGORY_GROUPS`` entry (named with its object count),
        the district outlines, a layer control and a legend.
    """
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, not {group!r}")
    fmap = base_map(districts, tiles, prefer_canvas=True)
    district_outlines(districts).add_to(fmap)
    style = ObjectStyle(group).add_to(fmap)
    properties = pd.Series(_properties(objects), index=objects.index)
    for layer_name, categories in CATEGORY_GROUPS.items():
        chosen = objects["category"].isin(categories).to_numpy()
        data = feature_collection(objects.geometry[chosen], properties[chosen].tolist())
        GeoJsonLayer(data, f"{layer_name} ({chosen.sum():,})", options=f"{{pointToLayer: {style.get_name()}.point}}",
                     popup=f"{style.get_name()}.popup").add_to(fmap)
    counts = objects[f"status_{group}"].value_counts()
    entries = [(STATUS_COLOUR[s], f"{STATUS_LABEL[s]} ({counts.get(s, 0):,})") for s in STATUSES]
    Legend(f"Accessibility for {GROUP_LABEL[group]}", entries, shape="circle").add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
