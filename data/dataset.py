"""The default Almaty dataset: build it once, load it validated, summarise it.

Files in the generated data directory (see ``geo.paths.generated_data_dir``):
``objects.parquet``, ``households.parquet``, ``fleet.parquet`` (GeoParquet,
UTM 43N), ``trips.csv`` (a busy day's requests, WGS 84) and
``manifest.json`` (seed, date, row counts).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.validate import validate_frame
from data.household import HOUSEHOLDS_SCHEMA, build_households
from data.objects import OBJECTS_SCHEMA, build_objects
from geo.passport import CATEGORIES
from geo.paths import generated_data_dir
from data.demand import generate_trips
from data.fleet import build_fleet, validate_fleet, vehicles_by_operator
from data.trips import read_trips, validate_trips

DEFAULT_SEED: int = 2025
DEFAULT_DATE: dt.date = dt.date(2026, 3, 2)  # a Monday: a busy clinic day
MANIFEST: str = "manifest.json"
VERSION: int = 2  # bumped when a generated table changes shape; ensure_dataset rebuilds older datasets
FILES: dict[str, str] = {
    "objects": "objects.parquet",
    "households": "households.parquet",
    "fleet": "fleet.parquet",
    "trips": "trips.csv",
}

Step = Callable[[str], None]


def build_dataset(
    data_dir: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    date: dt.date = DEFAULT_DATE,
    on_step: Step | None = None,
) -> Path:
    """Generate the default dataset deterministically and write it to ``data_dir``.

    Parameters
    ----------
    data_dir
        Output directory (default: ``generated_data_dir()``).
    seed
        Random seed: the same seed writes the same data.
    date
        Service day of the generated trip requests.
    on_step
        Called with a short label before each step (for progress bars).

    Returns
    -------
    Path
        The data directory.
    """
    out = generated_data_dir(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = on_step or (lambda label: None)
    step("passport registry")
    objects = build_objects(seed)
    objects.to_parquet(out / FILES["objects"], compression="zstd")
    step("households")
    households = build_households(seed)
    households.to_parquet(out / FILES["households"], compression="zstd")
    step("fleet")
    fleet = build_fleet()
    fleet.to_parquet(out / FILES["fleet"], compression="zstd")
    step("trip requests")
    trips = generate_trips(households, objects, date, seed)
    trips.to_csv(out / FILES["trips"], index=False)
    manifest = {"version": VERSION, "seed": seed, "date": date.isoformat(), "rows": {
        "objects": len(objects), "households": len(households), "fleet": len(fleet), "trips": len(trips)}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out


def ensure_dataset(data_dir: str | Path | None = None, on_step: Step | None = None) -> Path:
    """The data directory, building the default dataset first if it is missing or of an older version."""
    out = generated_data_dir(data_dir)
    if not (out / MANIFEST).exists() or _manifest(out).get("version") != VERSION:
        build_dataset(out, on_step=on_step)
    return out


def _manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def dataset_date(data_dir: str | Path | None = None) -> dt.date:
    """The service day of the dataset's generated trips (from its manifest)."""
    path = generated_data_dir(data_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `invaplan data build` first")
    return dt.date.fromisoformat(_manifest(path.parent)["date"])


def dataset_seed(data_dir: str | Path | None = None) -> int:
    """The random seed the dataset was generated with (from its manifest)."""
    return int(_manifest(generated_data_dir(data_dir))["seed"])


def day_trips(date: dt.date, data_dir: str | Path | None = None, extra_users: pd.Series | None = None,
              n_trips: int | None = None) -> pd.DataFrame:
    """Generated trip requests of any ``date`` for the dataset's users (validated, as ``load_trips``).

    ``extra_users`` (household ids) become eligible too: a demand scenario.
    ``n_trips``: how many requests (None: the day's usual number), e.g. a
    doubled day for a scale test.
    """
    trips = generate_trips(load_households(data_dir), load_objects(data_dir), date, dataset_seed(data_dir), extra_users,
                           n_trips)
    return validate_trips(trips)


def _path(data_dir: str | Path | None, table: str) -> Path:
    path = generated_data_dir(data_dir) / FILES[table]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `invaplan data build` first")
    return path


def load_objects(data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The passport registry (validated, UTM 43N)."""
    return validate_frame(gpd.read_parquet(_path(data_dir, "objects")), OBJECTS_SCHEMA)


def load_households(data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The households (validated, UTM 43N). Sensitive: aggregate before showing."""
    return validate_frame(gpd.read_parquet(_path(data_dir, "households")), HOUSEHOLDS_SCHEMA)


def load_fleet(data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The 170 vehicles (validated, depot geometry in UTM 43N)."""
    return validate_fleet(gpd.read_parquet(_path(data_dir, "fleet")))


def load_trips(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The generated day's trip requests (validated)."""
    return read_trips(_path(data_dir, "trips"))


def dataset_info(data_dir: str | Path | None = None) -> dict:
    """Counts per category, district and operator, plus households and people.

    Returns
    -------
    dict
        Keys ``objects``, ``objects_by_category`` (ordered as the passport
        table), ``objects_by_district``, ``objects_by_ownership``,
        ``vehicles``, ``vehicles_by_operator``, ``households``, ``people``,
        ``households_by_district``, ``people_by_group``,
        ``households_by_welfare_level``, ``invataxi_users``, ``trips``.
    """
    objects, households, fleet = load_objects(data_dir), load_households(data_dir), load_fleet(data_dir)
    by_category = objects["category"].value_counts()
    return {
        "objects": len(objects),
        "objects_by_category": {c: int(by_category.get(c, 0)) for c in CATEGORIES},
        "objects_by_district": _counts(objects["district"]),
        "objects_by_ownership": _counts(objects["ownership"]),
        "vehicles": len(fleet),
        "vehicles_by_operator": vehicles_by_operator(fleet),
        "households": len(households),
        "people": int(households["people"].sum()),
        "households_by_district": _counts(households["district"]),
        "people_by_group": {k: int(v) for k, v in households.groupby("group")["people"].sum().items()},
        "households_by_welfare_level": {int(k): int(v) for k, v in households["welfare_level"].value_counts().sort_index().items()},
        "invataxi_users": int(households["invataxi_user"].sum()),
        "trips": len(load_trips(data_dir)),
    }


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}
