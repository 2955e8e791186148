"""The dispatch map of a small real solve (40 requests and one unservable), rendered in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.districts import load_districts
from invaplan.maps_report import read_dispatch
from maps.base import BLANK_LAYER, DISTRICTS_LAYER, OSM_LAYER
from map_browser import MapPage, open_map
from maps.dispatch_map import UNSERVED_LAYER, dispatch_map, unserved_cells
from maps.geojson import COORDINATE_DECIMALS
from maps.render import external_assets, save_map
from data.fleet import OPERATORS
from data.trips import read_trips

# Every drawn point-like layer (circle or icon marker) as [lon, lat], and every polygon holding a feature's popup.
DRAWN_JS: str = """
() => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    const points = [], cells = [];
    map.eachLayer((layer) => {
        if (layer instanceof L.CircleMarker || layer instanceof L.Marker) {
            points.push([layer.getLatLng().lng, layer.getLatLng().lat]);
        } else if (layer instanceof L.Polygon && layer.feature && layer.feature.properties.popup) {
            cells.push(layer.feature.properties.popup);
        }
    });
    return {points: points, cells: cells};
}
"""


@pytest.fixture(scope="module")
def dispatch_tables(small_dispatch_dir: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    return read_dispatch(small_dispatch_dir)


@pytest.fixture(scope="module")
def trips(small_trips_csv: Path) -> pd.DataFrame:
    return read_trips(small_trips_csv)


@pytest.fixture(scope="module")
def dispatch_html(dispatch_tables, trips: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fmap = dispatch_map(*dispatch_tables, trips, load_districts())
    return save_map(fmap, tmp_path_factory.mktemp("maps") / "dispatch.html")


@pytest.fixture(scope="module")
def dispatch_page(chromium: None, dispatch_html: Path) -> Iterator[MapPage]:
    with open_map(dispatch_html) as page:
        yield page


def test_one_layer_per_operator_with_paths_and_numbered_stops(dispatch_page: MapPage, dispatch_html: Path,
                                                              dispatch_tables, tmp_path: Path) -> None:
    routes, unserved = dispatch_tables
    assert external_assets(dispatch_html.read_text(encoding="utf-8")) == []
    assert dispatch_page.errors == [] and dispatch_page.blocked == []
    names = dispatch_page.layer_names()
    assert names[:3] == [BLANK_LAYER, OSM_LAYER, DISTRICTS_LAYER]
    assert [name.rsplit(" (", 1)[0] for name in names[3:-1]] == list(OPERATORS)
    assert names[-1] == UNSERVED_LAYER
    paths = routes[routes["kind"] == "path"]
    assert dispatch_page.features() == {"points": 0, "lines": len(paths), "markers": len(routes) - len(paths),
                                          "polygons": len(load_districts()) + len(unserved)}
    numbers = dispatch_page.page.locator(".invaplan-stop").all_inner_texts()
    assert sorted(map(int, numbers)) == sorted(routes["stop"].dropna().astype(int))
    assert dispatch_page.screenshot(tmp_path / "dispatch.png").stat().st_size > 20_000


def test_legend_names_every_operator_and_the_unserved(dispatch_page: MapPage, dispatch_tables) -> None:
    routes, unserved = dispatch_tables
    legend = dispatch_page.legend_text()
    for operator in OPERATORS:
        mine = routes.loc[routes["operator"] == operator, "kind"]
        assert f"{operator}: {(mine == 'path').sum()} vehicles · {(mine == 'pickup').sum()} requests" in legend
    assert f"unserved: {len(unserved)} requests in 1 H3 cell(s)" in legend


def test_toggling_an_operator_hides_its_routes(dispatch_page: MapPage, dispatch_tables) -> None:
    routes, _ = dispatch_tables
    operator = routes["operator"].value_counts().index[0]
    before = dispatch_page.features()
    dispatch_page.toggle_layer(operator)
    after = dispatch_page.features()
    mine = routes[routes["operator"] == operator]
    assert before["lines"] - after["lines"] == (mine["kind"] == "path").sum()
    assert before["markers"] - after["markers"] == (mine["kind"] != "path").sum()
    dispatch_page.toggle_layer(operator)


def test_click_opens_the_stop_popup(dispatch_page: MapPage, dispatch_tables) -> None:
    routes, _ = dispatch_tables
    dispatch_page.toggle_layer(UNSERVED_LAYER)  # its cells lie above the stops
    popup = dispatch_page.click_marker_near_centre()
    dispatch_page.toggle_layer(UNSERVED_LAYER)
    match = re.search(r"Stop (\d+) of (\S+) .*\nRequest (\S+)\n(Pick-up|Drop-off) at (\d\d:\d\d)$", popup)
    assert match, popup
    stop = routes[(routes["vehicle_id"] == match[2]) & (routes["stop"] == int(match[1]))].iloc[0]
    assert stop["request_id"] == match[3] and pd.Timestamp(stop["time"]).strftime("%H:%M") == match[5]
    assert dispatch_page.errors == []


def test_unserved_requests_are_cells_never_points(dispatch_page: MapPage, dispatch_html: Path, dispatch_tables,
                                                  trips: pd.DataFrame) -> None:
    _, unserved = dispatch_tables
    assert list(unserved["request_id"]) == ["CROWD"]
    crowd = trips.set_index("request_id").loc["CROWD"]
    lon, lat = round(crowd["pickup_lon"], COORDINATE_DECIMALS), round(crowd["pickup_lat"], COORDINATE_DECIMALS)
    drawn = dispatch_page.page.evaluate(DRAWN_JS)
    assert not any(abs(x - lon) < 1e-4 and abs(y - lat) < 1e-4 for x, y in drawn["points"])  # nothing within ~10 m
    assert [cell for cell in drawn["cells"] if "CROWD" in cell] == [drawn["cells"][0]]
    assert "more than any vehicle holds" in drawn["cells"][0]
    assert f"[{lon},{lat}]" not in dispatch_html.read_text(encoding="utf-8")
    cells = unserved_cells(unserved, trips)
    assert list(cells.columns) == ["h3", "requests", "popup", "geometry"]
    assert (cells.geom_type == "Polygon").all() and cells.contains(Point(lon, lat)).all()


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda routes, unserved, trips: (routes.drop(columns="time"), unserved, trips), r"routes lacks column\(s\) \['time'\]"),
    (lambda routes, unserved, trips: (routes, unserved.drop(columns="reason"), trips),
     r"unserved lacks column\(s\) \['reason'\]"),
    (lambda routes, unserved, trips: (routes, unserved, trips.drop(columns="pickup_lat")),
     r"trips lacks column\(s\) \['pickup_lat'\]"),
    (lambda routes, unserved, trips: (routes, unserved, trips[trips["request_id"] != "CROWD"]),
     "not in the trips table, e.g. 'CROWD'"),
    (lambda routes, unserved, trips: (routes.assign(operator="TAXI-X"), unserved, trips), "unknown value 'TAXI-X'"),
], ids=["no time column", "no reason column", "no pickup_lat column", "unserved not in trips", "unknown operator"])
def test_bad_input_is_refused_with_a_clear_message(dispatch_tables, trips: pd.DataFrame, spoil, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dispatch_map(*spoil(*dispatch_tables, trips), load_districts())
