"""The gap map on small synthetic summaries over real H3 cells, rendered in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.districts import load_districts
from geo.gaps import MIN_HOUSEHOLDS_PER_CELL
from geo.passport import SERVICES
from maps.base import BLANK_LAYER, DISTRICTS_LAYER, OSM_LAYER
from map_browser import MapPage, open_map
from maps.gaps_map import DISTRICT_LAYER, GAP_BINS, GAP_COLOURS, HEX_LAYER, SERVICE_LABEL, gaps_map
from maps.legend import LEGEND_CLASS
from maps.render import external_assets, save_map

# The fill colour of the feature named ``n`` (H3 cell or district) and its centre in page pixels.
FEATURE_JS: str = """
(name) => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    let found = null;
    map.eachLayer((layer) => { if (layer.feature && layer.feature.properties.n === name) found = layer; });
    const point = map.latLngToContainerPoint(found.getCenter());
    const box = map.getContainer().getBoundingClientRect();
    return {fill: found.options.fillColor, x: box.left + point.x, y: box.top + point.y};
}
"""


@pytest.fixture(scope="module")
def gaps_html(gaps_by_hex: pd.DataFrame, gaps_by_district: pd.DataFrame,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    fmap = gaps_map(gaps_by_hex, gaps_by_district, load_districts())
    return save_map(fmap, tmp_path_factory.mktemp("maps") / "gaps.html")


@pytest.fixture(scope="module")
def gaps_page(chromium: None, gaps_html: Path) -> Iterator[MapPage]:
    with open_map(gaps_html) as page:
        yield page


def test_missing_share_column_is_named(gaps_by_hex: pd.DataFrame, gaps_by_district: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="share_gap_bank"):
        gaps_map(gaps_by_hex.drop(columns="share_gap_bank"), gaps_by_district, load_districts())


def test_html_is_standalone(gaps_html: Path) -> None:
    assert external_assets(gaps_html.read_text(encoding="utf-8")) == []


def test_cells_under_the_household_threshold_are_refused(gaps_html: Path, gaps_by_hex: pd.DataFrame,
                                                        gaps_by_district: pd.DataFrame) -> None:
    assert gaps_by_hex["h3"][0] in gaps_html.read_text(encoding="utf-8")
    leaky = gaps_by_hex.copy()
    leaky.loc[2, "households"] = MIN_HOUSEHOLDS_PER_CELL - 1
    with pytest.raises(ValueError, match=f"1 cell\\(s\\) with fewer than {MIN_HOUSEHOLDS_PER_CELL} households"):
        gaps_map(leaky, gaps_by_district, load_districts())


def test_renders_cells_and_never_points(gaps_page: MapPage, gaps_by_hex: pd.DataFrame, tmp_path: Path) -> None:
    assert gaps_page.errors == []
    assert gaps_page.blocked == []
    # the H3 cells plus the 8 district outlines; the district choropleth starts hidden
    published = int((gaps_by_hex["households"] >= MIN_HOUSEHOLDS_PER_CELL).sum())
    assert gaps_page.features() == {"points": 0, "polygons": published + len(load_districts()),
                                    "lines": 0, "markers": 0}
    assert gaps_page.screenshot(tmp_path / "gaps.png").stat().st_size > 10_000


def test_layer_control_and_legend(gaps_page: MapPage) -> None:
    assert gaps_page.layer_names() == [BLANK_LAYER, OSM_LAYER, HEX_LAYER, DISTRICT_LAYER, DISTRICTS_LAYER]
    legend = gaps_page.legend_text()
    assert "Share of households with a gap" in legend
    options = gaps_page.page.locator(f".{LEGEND_CLASS} select option").all_inner_texts()
    assert options == [SERVICE_LABEL[s] for s in SERVICES]


def test_service_switch_recolours_and_tooltip_follows(gaps_page: MapPage, gaps_by_hex: pd.DataFrame) -> None:
    page, centre_cell = gaps_page.page, gaps_by_hex["h3"][0]
    assert page.evaluate(FEATURE_JS, centre_cell)["fill"] == GAP_COLOURS[0]  # pharmacy: 5 %
    page.select_option(f".{LEGEND_CLASS} select", "bank")
    centre = page.evaluate(FEATURE_JS, centre_cell)
    assert centre["fill"] == GAP_COLOURS[-1]  # bank: 90 %
    page.mouse.move(centre["x"], centre["y"])
    tooltip = page.locator(".leaflet-tooltip").inner_text()
    assert centre_cell in tooltip and "Bank: 90 % with a gap" in tooltip
    assert gaps_page.errors == []


def test_district_layer_can_be_shown(gaps_page: MapPage, gaps_by_hex: pd.DataFrame,
                                     gaps_by_district: pd.DataFrame) -> None:
    gaps_page.toggle_layer(DISTRICT_LAYER)
    published = int((gaps_by_hex["households"] >= MIN_HOUSEHOLDS_PER_CELL).sum())
    assert gaps_page.features()["polygons"] == published + 2 * len(gaps_by_district)
    service = gaps_page.page.input_value(f".{LEGEND_CLASS} select")
    share = gaps_by_district.set_index("district").loc["Almaly", f"share_gap_{service}"]
    expected = GAP_COLOURS[int(np.searchsorted(GAP_BINS, share, side="right"))]
    assert gaps_page.page.evaluate(FEATURE_JS, "Almaly")["fill"] == expected

