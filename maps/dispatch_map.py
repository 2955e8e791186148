"""The dispatch map: a day's vehicle routes by operator, and where unserved requests came from.

One toggleable layer per operator (``data.fleet.OPERATORS``) holds each of
its vehicles' driven path on the road network (a line) and its stops, numbered
in driving order (pick-ups filled, drop-offs outlined); popups give the
vehicle, the request id, pick-up or drop-off and the time (HH:MM).

Unserved requests are placed by their pick-up, usually a household's home,
which is never shown: they are counted per H3 res-8 cell (a polygon per cell
with its requests and reasons), never drawn as points.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
from folium.map import CustomPane

from geo.gaps import H3_RESOLUTION, h3_cells, hex_polygons
from geo.io import points_from_lonlat
from maps.base import base_map, district_outlines
from maps.geojson import TEXT_POPUP, GeoJsonLayer, feature_collection, script_json
from maps.legend import Legend
from maps.tables import require_columns
from data.fleet import OPERATORS

ROUTE_COLUMNS: tuple[str, ...] = ("kind", "vehicle_id", "operator", "stops", "km", "start", "end", "stop",
                                  "request_id", "time")
UNSERVED_COLUMNS: tuple[str, ...] = ("request_id", "reason")
TRIP_COLUMNS: tuple[str, ...] = ("request_id", "pickup_lon", "pickup_lat")
OPERATOR_COLOUR: dict[str, str] = {"INCLUSION.KZ": "#1f77b4", "SPO-GROUP": "#2ca02c", "АМАЛЬ-ИМАН": "#9467bd",
                                   "Ден.Зор.Байлык": "#e6550d"}
UNSERVED_COLOUR: str = "#252525"
UNSERVED_LAYER: str = f"Unserved requests by H3 cell (res {H3_RESOLUTION})"
UNSERVED_PANE: str = "unserved"  # above the stop markers (z-index 600), below popups (700)
UNSERVED_PANE_Z: int = 650
PATH_STYLE: dict[str, float] = {"weight": 3, "opacity": 0.75}  # weight in pixels
UNSERVED_STYLE: dict[str, float | str] = {"color": UNSERVED_COLOUR, "weight": 2, "fillColor": UNSERVED_COLOUR,
                                          "fillOpacity": 0.45}
STOP_ICON_PX: int = 18  # diameter of a numbered stop, pixels
STOP_CSS: str = """<style>
    .invaplan-stop span { display: block; box-sizing: border-box; width: 100%; height: 100%; border-radius: 50%;
        border: 2px solid; font: bold 9px/14px sans-serif; text-align: center; }
</style>"""
KIND_LABEL: dict[str, str] = {"pickup": "Pick-up", "dropoff": "Drop-off"}


def _hhmm(times: pd.Series) -> pd.Series:
    """Date-times (ISO strings or timestamps) as ``HH:MM``."""
    return pd.to_datetime(times, format="ISO8601").dt.strftime("%H:%M")


def _route_popups(routes: pd.DataFrame) -> list[str]:
    """Plain-text popup of each path (vehicle, stops, km, hours) and stop (number, request, kind, time)."""
    popups = []
    for row in routes.itertuples(index=False):
        if row.kind == "path":
            popups.append(f"{row.vehicle_id} · {row.operator}\n{int(row.stops)} stops · {row.km:,.1f} km\n"
                          f"{row.start}–{row.end}")
        else:
            popups.append(f"Stop {int(row.stop)} of {row.vehicle_id} ({row.operator})\nRequest {row.request_id}\n"
                          f"{KIND_LABEL[row.kind]} at {row.time}")
    return popups


def _operator_options(colour: str) -> str:
    """``L.geoJSON`` options: paths as lines of ``colour``, stops as numbered circles (pick-up filled)."""
    style = script_json({**PATH_STYLE, "color": colour})
    return f"""{{style: {style}, pointToLayer: function (feature, latlng) {{
        var p = feature.properties, pickup = p.k === "pickup";
        var html = "<span style='border-color: {colour}; background: " + (pickup ? "{colour}" : "#fff")
            + "; color: " + (pickup ? "#fff" : "{colour}") + "'>" + p.n + "</span>";
        return L.marker(latlng, {{icon: L.divIcon({{className: "invaplan-stop", html: html,
            iconSize: [{STOP_ICON_PX}, {STOP_ICON_PX}]}})}});
    }}}}"""


def _cell_popup(cell: str, requests: pd.DataFrame) -> str:
    """Plain-text popup of one H3 cell: how many unserved requests, then each request id with its reason."""
    lines = [f"{r.request_id}: {r.reason}" for r in requests.sort_values("request_id").itertuples()]
    return "\n".join([f"{len(requests)} unserved request(s) from this area (H3 cell {cell})", *lines])


def unserved_cells(unserved: pd.DataFrame, trips: pd.DataFrame) -> gpd.GeoDataFrame:
    """Unserved requests counted per H3 cell of their pick-up point; the points themselves are dropped.

    Parameters
    ----------
    unserved
        ``request_id`` and ``reason`` (``unserved.csv`` of ``invaplan dispatch``).
    trips
        The day's requests with ``request_id``, ``pickup_lon``, ``pickup_lat`` (degrees, WGS 84).

    Returns
    -------
    GeoDataFrame
        One row per cell (WGS 84 polygon): ``h3``, ``requests`` (count) and ``popup``
        (the count, then each request id with its reason).
    """
    require_columns(unserved, UNSERVED_COLUMNS, "unserved")
    require_columns(trips, TRIP_COLUMNS, "trips")
    located = unserved.merge(trips[list(TRIP_COLUMNS)], on="request_id", how="left", validate="one_to_one")
    unknown = located.loc[located["pickup_lon"].isna(), "request_id"]
    if len(unknown):
        raise ValueError(f"unserved: {len(unknown)} request_id(s) not in the trips table, e.g. {unknown.iloc[0]!r}")
    cells = located.assign(h3=h3_cells(points_from_lonlat(located, "pickup_lon", "pickup_lat", "trips").geometry))
    rows = [{"h3": cell, "requests": len(group), "popup": _cell_popup(cell, group)}
            for cell, group in cells.groupby("h3")]
    return hex_polygons(pd.DataFrame(rows, columns=["h3", "requests", "popup"]))


def dispatch_map(routes: gpd.GeoDataFrame, unserved: pd.DataFrame, trips: pd.DataFrame, districts: gpd.GeoDataFrame,
                 tiles: str = "offline") -> folium.Map:
    """Map of a day's routes, one layer per operator, with unserved requests aggregated to H3 cells.

    Parameters
    ----------
    routes
        ``routes.geojson`` of ``invaplan dispatch`` (any CRS): ``kind`` ``"path"`` rows
        (each vehicle's driven path: ``vehicle_id``, ``operator``, ``stops``, ``km``,
        ``start``, ``end``) and ``"pickup"`` / ``"dropoff"`` rows (``vehicle_id``,
        ``operator``, ``stop`` number, ``request_id``, ``time``); times are ISO date-times.
    unserved
        ``request_id`` and ``reason`` (``unserved.csv``).
    trips
        The day's requests (``data.trips.read_trips``), to find the cell of each
        unserved request's pick-up.
    districts, tiles
        The district outlines and the background, as for :func:`maps.plan_map.plan_map`.

    Returns
    -------
    folium.Map
        One overlay per operator (named with its vehicle count), the unserved
        cells, the district outlines, a layer control and a legend.

    Raises
    ------
    ValueError
        If a column is missing (named), an operator is unknown, or an unserved
        request is not in ``trips``.
    """
    require_columns(routes, ROUTE_COLUMNS, "routes")
    unknown = sorted(set(routes["operator"]) - set(OPERATORS))
    if unknown:
        raise ValueError(f"routes: field 'operator': unknown value {unknown[0]!r}; expected one of {list(OPERATORS)}")
    routes = routes.assign(start=_hhmm(routes["start"]), end=_hhmm(routes["end"]), time=_hhmm(routes["time"]))
    popups = pd.Series(_route_popups(routes), index=routes.index)
    cells = unserved_cells(unserved, trips)
    fmap = base_map(districts, tiles)
    district_outlines(districts).add_to(fmap)
    fmap.get_root().header.add_child(folium.Element(STOP_CSS), name="stop_icons")
    entries = []
    for operator in OPERATORS:
        mine = routes[routes["operator"] == operator]
        paths = mine[mine["kind"] == "path"]
        properties = [{"k": kind, "n": None if pd.isna(number) else int(number), "popup": popup}
                      for kind, number, popup in zip(mine["kind"], mine["stop"], popups[mine.index], strict=True)]
        colour = OPERATOR_COLOUR[operator]
        GeoJsonLayer(feature_collection(mine.geometry, properties), f"{operator} ({len(paths)} vehicles)",
                     options=_operator_options(colour), popup=TEXT_POPUP).add_to(fmap)
        entries.append((colour, f"{operator}: {len(paths)} vehicles · {(mine['kind'] == 'pickup').sum():,} requests "
                                f"· {paths['km'].sum():,.0f} km"))
    CustomPane(UNSERVED_PANE, z_index=UNSERVED_PANE_Z, pointer_events=True).add_to(fmap)
    cell_options = f"{{pane: {script_json(UNSERVED_PANE)}, style: {script_json(UNSERVED_STYLE)}}}"
    GeoJsonLayer(feature_collection(cells.geometry, [{"popup": p} for p in cells["popup"]]), UNSERVED_LAYER,
                 options=cell_options, popup=TEXT_POPUP).add_to(fmap)
    entries.append((UNSERVED_COLOUR, f"unserved: {int(cells['requests'].sum()):,} requests in {len(cells)} H3 cell(s)"))
    Legend("Invataxi routes by operator (stops numbered; pick-up filled, drop-off outlined)", entries).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
