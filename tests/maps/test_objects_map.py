"""The objects map on the real dataset, rendered in headless Chromium with no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.districts import load_districts
from geo.passport import CATEGORIES
from data.dataset import load_objects
from maps.base import BLANK_LAYER, DISTRICTS_LAYER, OSM_LAYER
from map_browser import MapPage, open_map
from maps.objects_map import CATEGORY_GROUPS, FIELD_LABEL, GROUP_LABEL, STATUS_LABEL, objects_map
from maps.render import external_assets, save_map

MAX_MB: float = 15.0


@pytest.fixture(scope="module")
def objects(dataset_dir: Path):
    return load_objects(dataset_dir)


@pytest.fixture(scope="module")
def objects_html(objects, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_map(objects_map(objects, load_districts()), tmp_path_factory.mktemp("maps") / "objects.html")


@pytest.fixture(scope="module")
def objects_page(chromium: None, objects_html: Path) -> Iterator[MapPage]:
    with open_map(objects_html) as page:
        yield page


def test_category_groups_partition_the_categories() -> None:
    grouped = [c for categories in CATEGORY_GROUPS.values() for c in categories]
    assert sorted(grouped) == sorted(CATEGORIES)


def test_bad_group_or_tiles_is_refused(objects) -> None:
    with pytest.raises(ValueError, match="group"):
        objects_map(objects.head(), load_districts(), group="wheelchairs")
    with pytest.raises(ValueError, match="tiles"):
        objects_map(objects.head(), load_districts(), tiles="google")


def test_html_is_standalone_and_small(objects_html: Path) -> None:
    html = objects_html.read_text(encoding="utf-8")
    assert external_assets(html) == []
    assert "window.L" in html  # Leaflet itself is inlined
    assert objects_html.stat().st_size / 1e6 < MAX_MB


def test_renders_every_object_offline(objects_page: MapPage, objects, tmp_path: Path) -> None:
    assert objects_page.errors == []
    assert objects_page.blocked == []
    assert objects_page.features()["points"] == len(objects) == 34_000
    screenshot = objects_page.screenshot(tmp_path / "objects.png")
    assert screenshot.stat().st_size > 20_000


def test_layer_control_and_legend(objects_page: MapPage) -> None:
    names = objects_page.layer_names()
    assert names[:3] == [BLANK_LAYER, OSM_LAYER, DISTRICTS_LAYER]
    assert [name.rsplit(" (", 1)[0] for name in names[3:]] == list(CATEGORY_GROUPS)
    legend = objects_page.legend_text()
    assert f"Accessibility for {GROUP_LABEL['wheelchair']}" in legend
    assert all(label in legend for label in STATUS_LABEL.values())


def test_toggling_a_group_hides_its_points(objects_page: MapPage, objects) -> None:
    objects_page.toggle_layer("Housing")
    assert objects_page.features()["points"] == len(objects) - (objects["category"] == "housing").sum()
    objects_page.toggle_layer("Housing")
    assert objects_page.features()["points"] == len(objects)


def test_click_opens_the_passport_popup(objects_page: MapPage) -> None:
    popup = objects_page.click_marker_near_centre()
    assert "OBJ-" in popup
    assert all(label in popup for label in FIELD_LABEL.values())
    assert all(label.capitalize() in popup for label in GROUP_LABEL.values())
    assert objects_page.errors == []
