"""The gap map: share of households with no accessible service in reach, by H3 cell and district.

Only aggregates are drawn (H3 res-8 cells and districts), never households;
cells with fewer than ``geo.gaps.MIN_HOUSEHOLDS_PER_CELL`` households are
left out altogether (not even their id and counts) by ``geo.gaps.summarise``,
as in the API; the map refuses a table that still holds one.
One service at a time colours both layers; a select in the legend switches it.
Feature properties: ``n`` (cell id or district name), ``h`` (households),
``p`` (people), ``s`` (share with a gap per service, ``null`` where withheld
or unknown).

Optional street layers (hidden until ticked): edges too steep for a manual
wheelchair to climb, each with an arrowhead at its middle pointing uphill
(the way it cannot be climbed; downhill it may be passable), street barriers
by kind, and barrier fixes (the plan's barrier candidates) with their cost and
the gaps they close; counts under ``MIN_HOUSEHOLDS_PER_CELL`` households are
shown as "fewer than" (privacy).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium import MacroElement
from folium.template import Template

from geo.gaps import MIN_HOUSEHOLDS_PER_CELL, hex_polygons
from geo.passport import SERVICES
from maps.base import base_map, district_outlines
from maps.geojson import TEXT_POPUP, GeoJsonLayer, feature_collection
from maps.legend import Legend
from maps.tables import household_count, require_columns

SHARE_COLUMNS: tuple[str, ...] = tuple(f"share_gap_{s}" for s in SERVICES)
SERVICE_LABEL: dict[str, str] = {s: s.replace("_", " ").capitalize() for s in SERVICES}
GAP_BINS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75)  # upper bounds of all but the last colour class
GAP_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_COLOUR: str = "#bdbdbd"
HEX_LAYER: str = "Share by H3 cell"
DISTRICT_LAYER: str = "Share by district"
HEX_STYLE: dict[str, float | str] = {"color": "#ffffff", "weight": 0.5, "fillOpacity": 0.75}
DISTRICT_STYLE: dict[str, float | str] = {"color": "#37474f", "weight": 1, "fillOpacity": 0.6}
SHARE_DECIMALS: int = 3
ARROW_M: float = 8.0  # length of each barb of the uphill arrowhead, metres (visible from zoom ~16)
ARROW_ANGLE_DEG: float = 150.0  # barbs point back from the direction of travel at this angle
STEEP_LAYER: str = "Too steep to climb in a manual wheelchair"
BARRIER_LAYER: str = "Street barriers"
FIX_LAYER: str = "Barrier fixes (plan candidates)"
BARRIER_COLOURS: dict[str, str] = {"steps": "#6a1b9a", "raised_kerb": "#ef6c00", "wheelchair_no": "#424242",
                                   "rough_surface": "#8d6e63", "bad_smoothness": "#8d6e63", "hiking_path": "#2e7d32"}
STEEP_STYLE: str = '{style: function () { return {color: "#c62828", weight: 3, opacity: 0.8}; }}'
BARRIER_STYLE: str = ("{style: function (f) { return {color: f.properties.c, weight: 4, opacity: 0.9}; }}")
FIX_STYLE: str = ('{style: function () { return {color: "#0277bd", weight: 8, opacity: 0.6}; }, '
                  'pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6}); }}')


class GapScale(MacroElement):
    """The shared JavaScript of the gap layers: the chosen service, the colour scale, styles, tooltips.

    Defines ``<name>.hexStyle`` and ``<name>.districtStyle`` (GeoJSON ``style``
    functions), ``<name>.tooltip(layer)`` and ``<name>.bind(select, layers)``,
    which restyles ``layers`` whenever ``select`` picks another service.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (t) {
                var current = 0;
                function colour(share) {
                    if (share === null) { return t.noData; }
                    var k = 0;
                    while (k < t.bins.length && share >= t.bins[k]) { k += 1; }
                    return t.colours[k];
                }
                function styler(base) {
                    return function (feature) {
                        return Object.assign({fillColor: colour(feature.properties.s[current])}, base);
                    };
                }
                return {
                    hexStyle: styler(t.hex),
                    districtStyle: styler(t.district),
                    tooltip: function (layer) {
                        var p = layer.feature.properties, share = p.s[current];
                        var div = document.createElement("div");
                        div.innerText = p.n + "\\n" + t.services[current] + ": "
                            + (share === null ? "no data" : Math.round(share * 100) + " % with a gap")
                            + "\\n" + p.h.toLocaleString("en") + " households, " + p.p.toLocaleString("en") + " people";
                        return div;
                    },
                    bind: function (select, layers) {
                        select.addEventListener("change", function () {
                            current = select.selectedIndex;
                            layers.forEach(function (layer) { layer.resetStyle(); });
                        });
                    }
                };
            })({{ this.tables|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GapScale"
        self.tables = {"bins": GAP_BINS, "colours": GAP_COLOURS, "noData": NO_DATA_COLOUR, "hex": HEX_STYLE,
                       "district": DISTRICT_STYLE, "services": [SERVICE_LABEL[s] for s in SERVICES]}


class GapSwitch(MacroElement):
    """Connects the legend's service select to the gap layers (added after both)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.scale }}.bind({{ this.legend }}.getContainer().querySelector("select"),
                                  [{{ this.layers|join(", ") }}]);
        {% endmacro %}
        """
    )

    def __init__(self, scale: GapScale, legend: Legend, layers: list[GeoJsonLayer]) -> None:
        super().__init__()
        self._name = "GapSwitch"
        self.scale, self.legend = scale.get_name(), legend.get_name()
        self.layers = [layer.get_name() for layer in layers]


def _properties(names: pd.Series, summary: pd.DataFrame) -> list[dict]:
    """Feature properties (module docstring) of summary rows; NaN shares become null."""
    shares = summary[list(SHARE_COLUMNS)].to_numpy(dtype=float).round(SHARE_DECIMALS)
    shares = np.where(np.isnan(shares), None, shares).tolist()
    households = summary["households"].fillna(0).astype("int64").tolist()
    people = summary["people"].fillna(0).astype("int64").tolist()
    return [{"n": n, "h": h, "p": p, "s": s} for n, h, p, s in zip(names, households, people, shares, strict=True)]


def _legend_entries() -> list[tuple[str, str]]:
    """One swatch per colour class, then the no-data colour."""
    bounds = [0.0, *GAP_BINS, 1.0]
    entries = [(colour, f"{low:.0%}–{high:.0%}") for colour, low, high in zip(GAP_COLOURS, bounds, bounds[1:])]
    return [*entries, (NO_DATA_COLOUR, "no data")]


def uphill_arrows(lines: gpd.GeoSeries) -> gpd.GeoSeries:
    """Each line with an arrowhead at its middle pointing the way it is drawn (uphill), in the lines' CRS (metres)."""
    middle = lines.interpolate(0.5, normalized=True)
    ahead = lines.interpolate(np.minimum(lines.length / 2 + 1.0, lines.length))
    behind = lines.interpolate(np.maximum(lines.length / 2 - 1.0, 0.0))
    heading = np.arctan2(ahead.y.to_numpy() - behind.y.to_numpy(), ahead.x.to_numpy() - behind.x.to_numpy())
    tip = np.column_stack([middle.x, middle.y])
    barbs = [tip + ARROW_M * np.column_stack([np.cos(heading + side), np.sin(heading + side)])
             for side in (np.radians(ARROW_ANGLE_DEG), -np.radians(ARROW_ANGLE_DEG))]
    heads = shapely.linestrings(np.stack([barbs[0], tip, barbs[1]], axis=1))
    drawn = [shapely.MultiLineString([line, head]) for line, head in zip(lines.to_numpy(), heads)]
    return gpd.GeoSeries(drawn, index=lines.index, crs=lines.crs)


def street_layers(fmap: folium.Map, steep: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame,
                  fixes: gpd.GeoDataFrame | None = None) -> list[GeoJsonLayer]:
    """Add the steep-edge, barrier and barrier-fix layers (hidden) to ``fmap``.

    Parameters
    ----------
    steep
        Lines with ``grade`` (fraction, uphill in the drawing direction), ``geo.barriers.steep_edges``,
        in a metric CRS; drawn with an arrowhead pointing uphill.
    barriers
        Lines with ``kind`` (``geo.barriers.barrier_edges``).
    fixes
        Barrier candidates (``geo.barriers.BarrierCandidates.candidates``); None: no fix layer.
    """
    require_columns(steep, ("grade", "geometry"), "steep edges")
    require_columns(barriers, ("kind", "geometry"), "barriers")
    if fixes is not None:
        require_columns(fixes, ("candidate_id", "kind", "cost_tg", "households_closed", "pairs_closed", "geometry"), "fixes")
    steep_props = [{"popup": f"Uphill {g:.1%} (arrow: uphill, too steep to climb in a manual wheelchair)"}
                   for g in steep["grade"]]
    barrier_props = [{"c": BARRIER_COLOURS[k], "popup": k.replace("_", " ")} for k in barriers["kind"]]
    layers = [(uphill_arrows(steep.geometry), steep_props, STEEP_LAYER, STEEP_STYLE),
              (barriers.geometry, barrier_props, BARRIER_LAYER, BARRIER_STYLE)]
    if fixes is not None:
        fix_props = [{"popup": f"{c}\n{k.replace('_', ' ')}: {cost / 1e6:,.1f} M tg\n"
                               f"closes gaps of {household_count(int(h))} households ({int(p):,} household-service pairs)"}
                     for c, k, cost, h, p in zip(fixes["candidate_id"], fixes["kind"], fixes["cost_tg"],
                                                 fixes["households_closed"], fixes["pairs_closed"])]
        layers.append((fixes.geometry, fix_props, FIX_LAYER, FIX_STYLE))
    return [GeoJsonLayer(feature_collection(geometry, props), name, options=style, popup=TEXT_POPUP,
                         show=False).add_to(fmap)
            for geometry, props, name, style in layers]


def gaps_map(
    gaps_by_hex: pd.DataFrame, gaps_by_district: pd.DataFrame, districts: gpd.GeoDataFrame, tiles: str = "offline",
    streets: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None] | None = None,
) -> folium.Map:
    """Map of the share of households with a gap per H3 cell and per district, one service at a time.

    Parameters
    ----------
    gaps_by_hex
        ``h3`` (res-8 cell id), ``households``, ``people`` and ``share_gap_<service>``
        for every ``geo.passport.SERVICES`` (fractions; NaN where unknown), as
        ``geo.gaps.summarise(..., "h3")`` gives it. Any geometry column is
        ignored: cells are drawn from their ids.
    gaps_by_district
        ``district``, ``households``, ``people`` and the same share columns.
    districts
        District polygons with ``name`` (``geo.districts.load_districts``).
    tiles
        ``"offline"`` (blank background, the default) or ``"osm"`` (OpenStreetMap tiles).
    streets
        Optional ``(steep, barriers, fixes)`` for :func:`street_layers` (``fixes`` may be None).

    Returns
    -------
    folium.Map
        The H3 layer (shown), the district layer (hidden until ticked), the
        district outlines, the street layers when given (hidden), a layer
        control and a legend whose select switches the service.

    Raises
    ------
    ValueError
        ``gaps_by_hex`` holds a cell under ``MIN_HOUSEHOLDS_PER_CELL`` households
        (not from ``geo.gaps.summarise``): it must not be published.
    """
    require_columns(gaps_by_hex, ("h3", "households", "people", *SHARE_COLUMNS), "gaps_by_hex")
    require_columns(gaps_by_district, ("district", "households", "people", *SHARE_COLUMNS), "gaps_by_district")
    fmap = base_map(districts, tiles)
    scale = GapScale().add_to(fmap)
    tooltip = f"{scale.get_name()}.tooltip, {{sticky: true}}"
    small = gaps_by_hex["h3"][gaps_by_hex["households"] < MIN_HOUSEHOLDS_PER_CELL]
    if len(small):
        raise ValueError(f"gaps_by_hex: {len(small)} cell(s) with fewer than {MIN_HOUSEHOLDS_PER_CELL} households "
                         "(privacy); summarise the gaps with geo.gaps.summarise(analysis, 'h3')")
    cells = hex_polygons(pd.DataFrame(gaps_by_hex[["h3", "households", "people", *SHARE_COLUMNS]]))
    hexes = GeoJsonLayer(feature_collection(cells.geometry, _properties(cells["h3"], cells)), HEX_LAYER,
                         options=f"{{style: {scale.get_name()}.hexStyle}}", tooltip=tooltip).add_to(fmap)
    by_district = districts[["name", "geometry"]].merge(gaps_by_district, how="left", left_on="name",
                                                        right_on="district")
    district_data = feature_collection(by_district.geometry, _properties(by_district["name"], by_district))
    district_layer = GeoJsonLayer(district_data, DISTRICT_LAYER, options=f"{{style: {scale.get_name()}.districtStyle}}",
                                  tooltip=tooltip, show=False).add_to(fmap)
    district_outlines(districts).add_to(fmap)
    if streets is not None:
        street_layers(fmap, *streets)
    legend = Legend("Share of households with a gap", _legend_entries(),
                    choices=[(s, SERVICE_LABEL[s]) for s in SERVICES]).add_to(fmap)
    GapSwitch(scale, legend, [hexes, district_layer]).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
