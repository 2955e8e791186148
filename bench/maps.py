"""Benchmark: the objects map of all of Almaty, its file size and its render time in headless Chromium.

Builds ``maps.objects_map`` for all 34 000 passported objects, saves it as one
standalone HTML file, then opens it in headless Chromium with no network and
times launch -> page load -> Leaflet done (every point drawn on the canvas).

Writes ``bench/results/maps.json`` with ``objects_map_mb``, ``render_seconds``
(targets: under ``TARGET_MB`` and ``TARGET_SECONDS``), ``build_seconds``,
``points`` and ``errors``; the HTML goes to ``--html`` and a screenshot beside it.

Usage: ``python bench/maps.py [--html out/maps/objects_map.html] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the ``maps`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
# the headless-browser helper is test tooling, shared with the map tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "maps"))

from geo.districts import load_districts
from data.dataset import ensure_dataset, load_objects
from map_browser import open_map
from maps.objects_map import objects_map
from maps.render import save_map

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_HTML = Path(__file__).resolve().parents[1] / "out" / "maps" / "objects_map.html"
TARGET_MB: float = 15.0
TARGET_SECONDS: float = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML, help="where to write the map")
    parser.add_argument("--json", type=Path, default=RESULTS / "maps.json")
    args = parser.parse_args()
    objects, districts = load_objects(ensure_dataset()), load_districts()
    start = time.perf_counter()
    html = save_map(objects_map(objects, districts), args.html)
    build = time.perf_counter() - start
    size_mb = html.stat().st_size / 1e6
    with open_map(html) as page:
        points = page.features()["points"]
        page.screenshot(html.with_suffix(".png"))
        render, errors = page.seconds, page.errors + [f"blocked request {url}" for url in page.blocked]
    print(f"objects map: {len(objects):,} objects, {size_mb:.2f} MB (target < {TARGET_MB:g}), built in {build:.2f} s")
    print(f"headless Chromium: {render:.2f} s launch -> Leaflet done (target < {TARGET_SECONDS:g}), "
          f"{points:,} points drawn, {len(errors)} errors")
    result = {"objects_map_mb": round(size_mb, 2), "render_seconds": round(render, 2), "build_seconds": round(build, 2),
              "objects": len(objects), "points": points, "errors": errors,
              "meets_targets": size_mb < TARGET_MB and render < TARGET_SECONDS and points == len(objects)
              and not errors}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
