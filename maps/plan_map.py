"""The programme map: the objects to adapt and the new service points of each year, and what each year brings.

One toggleable layer per plan year holds that year's actions as canvas circles
in the year's colour (a sequential palette, early dark to late light, named in
the legend); new accessible service points are larger circles with a black
outline, street-barrier fixes (kerb ramps, ramps and lifts at steps) circles
with a thick magenta outline. A popup shows the name, category, district,
year, cost (tenge), who pays and the households and people newly covered (gaps
it is the first to close); for a barrier fix, the kind of fix and the households
whose gaps it closes, counts under ``MIN_HOUSEHOLDS_PER_CELL`` shown as "fewer
than" (never a household's location). The legend lists, per year, the objects,
barrier fixes, the city's spend (tenge) and the people newly covered (``plan_summary``).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex

from data.objects import CATEGORY_LABEL
from geo.crs import WGS84
from geo.programme_barriers import BARRIER_FIX_KIND, FIX_LABEL
from maps.base import base_map, district_outlines
from maps.geojson import TEXT_POPUP, GeoJsonLayer, feature_collection, script_json
from maps.legend import Legend
from maps.tables import household_count, require_columns, require_rows

PLAN_COLUMNS: tuple[str, ...] = ("object_id", "kind", "name", "category", "instrument", "district", "year", "cost_tg",
                                 "households_covered", "people_covered", "lon", "lat")
SUMMARY_COLUMNS: tuple[str, ...] = ("year", "spend_tg", "objects", "people_covered")
YEAR_COLOURMAP: str = "viridis"
YEAR_COLOUR_RANGE: tuple[float, float] = (0.0, 0.85)  # the colour map's yellow end is too light on the blank map
POINT_STYLE: dict[str, float | str] = {"radius": 5, "weight": 1, "color": "#ffffff", "fillOpacity": 0.9}
SITE_STYLE: dict[str, float | str] = {"radius": 9, "weight": 3, "color": "#000000", "fillOpacity": 1.0}
FIX_STYLE: dict[str, float | str] = {"radius": 7, "weight": 4, "color": "#d81b60", "fillOpacity": 1.0}
PAYER: dict[str, str] = {"city_budget": "city budget", "compliance_order": "owner, by compliance order"}


def year_colours(count: int) -> list[str]:
    """``count`` colours from early (dark blue) to late (green), one per plan year."""
    cmap = colormaps[YEAR_COLOURMAP]
    return [to_hex(cmap(x)) for x in np.linspace(*YEAR_COLOUR_RANGE, count)]


def tenge(amount: float) -> str:
    """A sum in tenge, short: ``1.19 bn tg``, ``350.0 M tg`` or ``80,000 tg``."""
    if amount >= 1e9:
        return f"{amount / 1e9:.2f} bn tg"
    if amount >= 1e6:
        return f"{amount / 1e6:.1f} M tg"
    return f"{amount:,.0f} tg"


def _located(plan: pd.DataFrame, objects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The plan rows at their ``lon``/``lat``; adapted objects must be in the registry."""
    adapted = plan[plan["kind"] == "object"]
    unknown = adapted.loc[~adapted["object_id"].isin(objects["object_id"]), "object_id"]
    if len(unknown):
        raise ValueError(f"plan: {len(unknown)} object_id(s) not in the objects registry, e.g. {unknown.iloc[0]!r}")
    return gpd.GeoDataFrame(plan, geometry=gpd.points_from_xy(plan["lon"], plan["lat"]), crs=WGS84)


def _popup(row: pd.Series) -> str:
    """Plain-text popup of one planned object or barrier fix."""
    if row["kind"] == BARRIER_FIX_KIND:
        return (f"{FIX_LABEL.get(row['fix'], row['fix'])} · {row['object_id']}\nDistrict: {row['district']}\n"
                f"Build in {row['year']} for {row['cost_tg']:,.0f} tg, paid by the city budget\n"
                f"Closes gaps of {household_count(int(row['households_covered']))} households")
    return (f"{row['name']}\n{CATEGORY_LABEL.get(row['category'], row['category'])} · {row['object_id']}\n"
            f"District: {row['district']}\n{'Open' if row['kind'] == 'new_site' else 'Adapt'} in {row['year']} for "
            f"{row['cost_tg']:,.0f} tg, paid by the {PAYER.get(row['instrument'], row['instrument'])}\n"
            f"Newly covered: {row['households_covered']:,} households, {row['people_covered']:,} people")


def _point_options(colour: str) -> str:
    """``L.geoJSON`` options drawing every point as a circle of ``colour``; new sites larger, outlined in
    black; barrier fixes outlined in magenta."""
    style = script_json({**POINT_STYLE, "fillColor": colour})
    site = script_json({**SITE_STYLE, "fillColor": colour})
    fix = script_json({**FIX_STYLE, "fillColor": colour})
    return (f"{{pointToLayer: function (feature, latlng) {{ return L.circleMarker(latlng, "
            f"feature.properties.site ? {site} : feature.properties.fix ? {fix} : {style}); }}}}")


def plan_map(plan: pd.DataFrame, summary: pd.DataFrame, objects: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
             tiles: str = "offline") -> folium.Map:
    """Map of the adaptation plan: one layer per year, coverage per year in the legend.

    Parameters
    ----------
    plan
        One row per adapted object (``plan.parquet`` / ``plan.csv`` of ``invaplan plan``):
        ``object_id``, ``name``, ``category``, ``district``, ``year``, ``cost_tg`` (tenge),
        ``households_covered``, ``people_covered``.
    summary
        Per year and district (``plan_summary.csv``): ``year``, ``spend_tg`` (tenge),
        ``objects``, ``people_covered`` (people newly covered that year).
    objects
        The passport registry (any CRS): the points of the planned objects.
    districts
        District polygons (``geo.districts.load_districts``), drawn as outlines.
    tiles
        ``"offline"`` (blank background, the default) or ``"osm"`` (OpenStreetMap tiles).

    Returns
    -------
    folium.Map
        One overlay per plan year (named with its object count), the district
        outlines, a layer control and a legend with objects, spend and people
        newly covered per year.

    Raises
    ------
    ValueError
        If a column is missing (named), the plan is empty, or a planned object
        is not in the registry.
    """
    require_columns(plan, PLAN_COLUMNS, "plan")
    require_columns(summary, SUMMARY_COLUMNS, "plan_summary")
    require_rows(plan, "plan", "object to adapt")
    located = _located(plan, objects)
    summary = summary if "barrier_fixes" in summary else summary.assign(barrier_fixes=0)
    by_year = summary.groupby("year")[["objects", "barrier_fixes", "spend_tg", "people_covered"]].sum()
    years = sorted(set(by_year.index) | set(plan["year"]))
    by_year = by_year.reindex(years, fill_value=0)
    colours = year_colours(len(years))
    fmap = base_map(districts, tiles, prefer_canvas=True)
    district_outlines(districts).add_to(fmap)
    for year, colour in zip(years, colours, strict=True):
        chosen = located[located["year"] == year]
        properties = [{"popup": _popup(row), "site": bool(row["kind"] == "new_site"), "fix": bool(row["kind"] == BARRIER_FIX_KIND)}
                      for _, row in chosen.iterrows()]
        fixes = int((chosen["kind"] == BARRIER_FIX_KIND).sum())
        name = f"{year} ({len(chosen) - fixes:,} objects" + (f", {fixes:,} barrier fixes)" if fixes else ")")
        GeoJsonLayer(feature_collection(chosen.geometry, properties), name, options=_point_options(colour),
                     popup=TEXT_POPUP).add_to(fmap)
    entries = [(colour, f"{year}: {int(row['objects']):,} objects"
                        + (f" + {int(row['barrier_fixes']):,} barrier fixes" if row["barrier_fixes"] else "")
                        + f" · {tenge(row['spend_tg'])} · {int(row['people_covered']):,} people")
               for colour, (year, row) in zip(colours, by_year.iterrows(), strict=True)]
    sites = int((plan["kind"] == "new_site").sum())
    if sites:
        entries.append(("#000000", f"outlined large circle: a new accessible service point ({sites:,} in all)"))
    fixes = plan[plan["kind"] == BARRIER_FIX_KIND]
    if len(fixes):
        entries.append((FIX_STYLE["color"], f"magenta outline: a street-barrier fix, kerb ramp, ramp or lift "
                                             f"({len(fixes):,} in all, {tenge(float(fixes['cost_tg'].sum()))})"))
    Legend(f"Adaptation plan {years[0]}–{years[-1]}: objects · city spend · people newly covered", entries,
           shape="circle").add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
