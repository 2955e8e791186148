"""The gap map's street layers: steep edges, barriers and barrier fixes, small counts withheld."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from geo.crs import UTM43N
from geo.districts import load_districts
from maps.gaps_map import ARROW_M, BARRIER_LAYER, FIX_LAYER, STEEP_LAYER, gaps_map, uphill_arrows
from maps.render import save_map

LINE = LineString([(630_000, 4_790_000), (630_050, 4_790_010)])


def _streets() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    steep = gpd.GeoDataFrame({"grade": [0.123]}, geometry=[LINE], crs=UTM43N)
    barriers = gpd.GeoDataFrame({"kind": ["steps", "raised_kerb"]}, geometry=[LINE, LINE], crs=UTM43N)
    fixes = gpd.GeoDataFrame({"candidate_id": ["steps-1", "kerb-2"], "kind": ["lift", "kerb_ramp"],
                              "cost_tg": [12e6, 3e5], "households_closed": [3, 12], "pairs_closed": [4, 15]},
                             geometry=[LINE, LINE], crs=UTM43N)
    return steep, barriers, fixes


def test_street_layers_are_drawn_and_small_counts_withheld(gaps_by_hex: pd.DataFrame, gaps_by_district: pd.DataFrame,
                                                           tmp_path) -> None:
    html = save_map(gaps_map(gaps_by_hex, gaps_by_district, load_districts(), streets=_streets()),
                    tmp_path / "gaps.html").read_text()
    for name in (STEEP_LAYER, BARRIER_LAYER, FIX_LAYER):
        assert name in html
    assert "Uphill 12.3%" in html
    assert '"MultiLineString"' in html  # the steep edge with its uphill arrowhead
    assert "closes gaps of fewer than 5 households" in html  # 3 households: withheld
    assert "closes gaps of 12 households" in html


def test_street_layers_name_a_missing_column(gaps_by_hex: pd.DataFrame, gaps_by_district: pd.DataFrame) -> None:
    steep, barriers, fixes = _streets()
    with pytest.raises(ValueError, match="cost_tg"):
        gaps_map(gaps_by_hex, gaps_by_district, load_districts(), streets=(steep, barriers, fixes.drop(columns="cost_tg")))


def test_uphill_arrow_sits_mid_edge_and_points_the_way_it_climbs() -> None:
    """The edge is drawn uphill (u -> v): the arrow's tip is at its middle and both barbs trail behind it."""
    for line in (LINE, LineString(LINE.coords[::-1])):
        drawn = uphill_arrows(gpd.GeoSeries([line], crs=UTM43N)).iloc[0]
        edge, head = drawn.geoms
        assert edge.equals(line)
        left, tip, right = head.coords
        middle = line.interpolate(0.5, normalized=True)
        assert tip == pytest.approx((middle.x, middle.y))
        direction = (line.coords[-1][0] - line.coords[0][0], line.coords[-1][1] - line.coords[0][1])
        for barb in (left, right):
            back = (barb[0] - tip[0], barb[1] - tip[1])
            assert back[0] * direction[0] + back[1] * direction[1] < 0  # behind the tip
            assert (back[0] ** 2 + back[1] ** 2) ** 0.5 == pytest.approx(ARROW_M)


def test_gap_map_without_barrier_fixes_still_draws_steep_edges_and_barriers(gaps_by_hex: pd.DataFrame,
                                                                            gaps_by_district: pd.DataFrame, tmp_path) -> None:
    steep, barriers, _ = _streets()
    html = save_map(gaps_map(gaps_by_hex, gaps_by_district, load_districts(), streets=(steep, barriers, None)),
                    tmp_path / "gaps.html").read_text()
    assert STEEP_LAYER in html and BARRIER_LAYER in html and FIX_LAYER not in html
