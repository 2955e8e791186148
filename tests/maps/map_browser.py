"""Open a saved map (or a page of a local server) in headless Chromium (Playwright), offline, and inspect what Leaflet drew.

Debian's ``chromium`` package is used (Playwright's own browser download needs
the internet); Playwright is imported only when a map is opened. Every
request that is not a local file, a data URI or (for a server page) that
server is blocked and recorded, so a map that works here works with no network at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from maps.legend import LEGEND_CLASS

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM: Path = Path("/usr/bin/chromium")
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
VIEWPORT: dict[str, int] = {"width": 1280, "height": 900}
LOCAL_SCHEMES: tuple[str, ...] = ("file:", "data:", "blob:", "about:")

# Resolves once Leaflet has a loaded map and two animation frames have passed
# (canvas and SVG renderers redraw on the next frame).
LEAFLET_DONE_JS: str = """
() => new Promise((resolve) => {
    const ready = () => window.L && Object.values(window).some((v) => v instanceof L.Map && v._loaded);
    const wait = () => ready() ? requestAnimationFrame(() => requestAnimationFrame(resolve)) : setTimeout(wait, 20);
    wait();
})
"""
# Features drawn on the map(s): circle markers (points), polygons, lines and icon markers.
FEATURES_JS: str = """
() => {
    const counts = {points: 0, polygons: 0, lines: 0, markers: 0};
    Object.values(window).filter((v) => v instanceof L.Map).forEach((map) => map.eachLayer((layer) => {
        if (layer instanceof L.CircleMarker) counts.points += 1;
        else if (layer instanceof L.Polygon) counts.polygons += 1;
        else if (layer instanceof L.Polyline) counts.lines += 1;
        else if (layer instanceof L.Marker) counts.markers += 1;
    }));
    return counts;
}
"""

# The page position of the marker (circle or icon) nearest the centre of the map.
NEAREST_MARKER_JS: str = """
() => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    const centre = map.getSize().divideBy(2);
    let best = null, bestDistance = Infinity;
    map.eachLayer((layer) => {
        if (!(layer instanceof L.CircleMarker || layer instanceof L.Marker)) return;
        const distance = map.latLngToContainerPoint(layer.getLatLng()).distanceTo(centre);
        if (distance < bestDistance) { best = layer; bestDistance = distance; }
    });
    const point = map.latLngToContainerPoint(best.getLatLng());
    const box = map.getContainer().getBoundingClientRect();
    return {x: box.left + point.x, y: box.top + point.y};
}
"""


@dataclass
class MapPage:
    """A map opened in Chromium.

    Attributes
    ----------
    page
        The Playwright page, for further interaction.
    seconds
        Wall time from browser launch to Leaflet done (page loaded, map drawn).
    errors
        Console errors and uncaught page errors, as logged.
    blocked
        URLs of network requests the page attempted (all blocked).
    """

    page: Page
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def features(self) -> dict[str, int]:
        """Count of drawn ``points`` (circle markers), ``polygons``, ``lines`` and ``markers`` (icons)."""
        return self.page.evaluate(FEATURES_JS)

    def layer_names(self) -> list[str]:
        """Names in the layer control: base layers first, then overlays."""
        return [name.strip() for name in self.page.locator(".leaflet-control-layers label").all_text_contents()]

    def legend_text(self) -> str:
        """Text of the legend control(s)."""
        return "\n".join(self.page.locator(f".{LEGEND_CLASS}").all_inner_texts())

    def toggle_layer(self, name: str) -> None:
        """Tick or untick the layer-control entry whose label contains ``name``."""
        self.page.locator(".leaflet-control-layers label", has_text=name).click()

    def click_marker_near_centre(self) -> str:
        """Click the marker (circle or icon) nearest the map's centre; return the text of the popup it opens."""
        point = self.page.evaluate(NEAREST_MARKER_JS)
        self.page.mouse.click(point["x"], point["y"])
        return self.page.locator(".leaflet-popup-content").inner_text()

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the viewport to ``path``."""
        self.page.screenshot(path=str(path))
        return Path(path)


@contextmanager
def open_map(html: str | Path, timeout_s: float = 30.0) -> Iterator[MapPage]:
    """Open a saved map file in headless Chromium and wait until Leaflet has drawn it.

    Parameters
    ----------
    html
        Path of the map's HTML file, or the ``http://127.0.0.1:...`` URL of a page
        of a local server (requests to that server are then allowed too).
    timeout_s
        Limit for loading and drawing.

    Yields
    ------
    MapPage
        The open page with its timing, errors and blocked requests.
    """
    from playwright.sync_api import sync_playwright

    served = str(html).startswith("http://127.0.0.1:")
    url = str(html) if served else Path(html).resolve().as_uri()
    allowed = LOCAL_SCHEMES + (("/".join(url.split("/", 3)[:3]) + "/",) if served else ())
    start = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport=VIEWPORT)
            opened = MapPage(page)
            page.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
            page.on("pageerror", lambda error: opened.errors.append(str(error)))

            def block(route: Route) -> None:
                if route.request.url.startswith(allowed):
                    route.continue_()
                else:
                    opened.blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", block)
            page.set_default_timeout(timeout_s * 1000)
            page.goto(url, wait_until="load")
            page.evaluate(LEAFLET_DONE_JS)
            opened.seconds = time.perf_counter() - start
            yield opened
        finally:
            browser.close()
