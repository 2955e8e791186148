"""The plan map of a small real plan (2026–2030, 300 M tg a year), rendered in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo.districts import load_districts
from data.dataset import load_objects
from invaplan.maps_report import read_plan
from invaplan.plan_report import PLAN_YEARS
from maps.base import BLANK_LAYER, DISTRICTS_LAYER, OSM_LAYER
from map_browser import MapPage, open_map
from maps.plan_map import plan_map, tenge
from maps.render import external_assets, save_map


@pytest.fixture(scope="module")
def objects(dataset_dir: Path) -> gpd.GeoDataFrame:
    return load_objects(dataset_dir)


@pytest.fixture(scope="module")
def plan_tables(small_plan_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_plan(small_plan_dir)


@pytest.fixture(scope="module")
def plan_html(plan_tables: tuple[pd.DataFrame, pd.DataFrame], objects: gpd.GeoDataFrame,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_map(plan_map(*plan_tables, objects, load_districts()), tmp_path_factory.mktemp("maps") / "plan.html")


@pytest.fixture(scope="module")
def plan_page(chromium: None, plan_html: Path) -> Iterator[MapPage]:
    with open_map(plan_html) as page:
        yield page


def test_one_layer_per_year_and_every_object_drawn(plan_page: MapPage, plan_html: Path, plan_tables,
                                                   tmp_path: Path) -> None:
    plan, _ = plan_tables
    assert external_assets(plan_html.read_text(encoding="utf-8")) == []
    assert plan_page.errors == [] and plan_page.blocked == []
    counts = plan.groupby("year").size()
    assert list(counts.index) == list(PLAN_YEARS)  # the small budget spreads the plan over every year
    assert plan_page.layer_names() == [BLANK_LAYER, OSM_LAYER, DISTRICTS_LAYER,
                                       *(f"{year} ({n:,} objects)" for year, n in counts.items())]
    assert plan_page.features()["points"] == len(plan)
    assert plan_page.screenshot(tmp_path / "plan.png").stat().st_size > 20_000


def test_legend_gives_objects_spend_and_people_per_year(plan_page: MapPage, plan_tables) -> None:
    _, summary = plan_tables
    legend = plan_page.legend_text()
    assert "Adaptation plan 2026–2030" in legend
    for year, row in summary.groupby("year")[["objects", "spend_tg", "people_covered"]].sum().iterrows():
        assert f"{year}: {row['objects']:,.0f} objects · {tenge(row['spend_tg'])} · {row['people_covered']:,.0f} people" in legend


def test_toggling_a_year_hides_its_objects(plan_page: MapPage, plan_tables) -> None:
    plan, _ = plan_tables
    plan_page.toggle_layer("2026")
    assert plan_page.features()["points"] == len(plan) - (plan["year"] == 2026).sum()
    plan_page.toggle_layer("2026")
    assert plan_page.features()["points"] == len(plan)


def test_click_opens_the_object_popup(plan_page: MapPage, plan_tables) -> None:
    plan, _ = plan_tables
    popup = plan_page.click_marker_near_centre()
    object_id = popup.splitlines()[1].rsplit(" · ", 1)[1]  # second line: category · object id
    row = plan.set_index("object_id").loc[object_id]
    assert row["name"] in popup and row["district"] in popup
    verb = "Open" if row["kind"] == "new_site" else "Adapt"
    assert f"{verb} in {row['year']} for {row['cost_tg']:,.0f} tg, paid by the " in popup
    assert f"{row['households_covered']:,} households, {row['people_covered']:,} people" in popup
    assert plan_page.errors == []


def test_tenge_is_short() -> None:
    assert [tenge(v) for v in (1.185e9, 3.5e8, 80_000)] == ["1.19 bn tg", "350.0 M tg", "80,000 tg"]


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda plan, summary: (plan.drop(columns="cost_tg"), summary), r"plan lacks column\(s\) \['cost_tg'\]"),
    (lambda plan, summary: (plan, summary.drop(columns="spend_tg")), r"plan_summary lacks column\(s\) \['spend_tg'\]"),
    (lambda plan, summary: (plan.head(0), summary), "plan is empty: no object to adapt"),
    (lambda plan, summary: (plan.assign(object_id="OBJ-NOWHERE"), summary), "not in the objects registry, e.g. 'OBJ-NOWHERE'"),
], ids=["no cost column", "no spend column", "empty plan", "unknown object"])
def test_bad_plan_is_refused_with_a_clear_message(plan_tables, objects: gpd.GeoDataFrame, spoil, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_map(*spoil(*plan_tables), objects, load_districts())


def test_barrier_fixes_are_drawn_in_their_year_with_aggregated_counts(plan_tables, objects: gpd.GeoDataFrame,
                                                                       tmp_path: Path) -> None:
    plan, summary = plan_tables
    first = plan.iloc[0]
    fixes = pd.DataFrame([{**first.to_dict(), "object_id": "kerb-7", "kind": "barrier_fix", "name": "Kerb ramp (kerb-7)",
                           "category": "street_barrier", "instrument": "city_budget", "year": 2027, "cost_tg": 300_000.0,
                           "households_covered": 3, "fix": "kerb_ramp"},
                          {**first.to_dict(), "object_id": "steps-9", "kind": "barrier_fix", "name": "Ramp (steps-9)",
                           "category": "street_barrier", "instrument": "city_budget", "year": 2027, "cost_tg": 1.5e6,
                           "households_covered": 12, "fix": "ramp"}])
    summary = summary.assign(barrier_fixes=0)
    summary.loc[summary["year"] == 2027, "barrier_fixes"] = [2] + [0] * (int((summary["year"] == 2027).sum()) - 1)
    html = save_map(plan_map(pd.concat([plan, fixes], ignore_index=True), summary, objects, load_districts()),
                    tmp_path / "plan.html").read_text(encoding="utf-8")
    objects_2027 = int((plan["year"] == 2027).sum())
    assert f"2027 ({objects_2027:,} objects, 2 barrier fixes)" in html  # the year's layer holds them
    assert "Kerb ramp at a crossing · kerb-7" in html and "Ramp at steps · steps-9" in html
    assert "Closes gaps of fewer than 5 households" in html  # 3 households: withheld
    assert "Closes gaps of 12 households" in html
    assert "+ 2 barrier fixes" in html and "street-barrier fix" in html  # legend
