"""The passport registry of Almaty's objects (~34 000) as a GeoDataFrame.

Schema (``OBJECTS_SCHEMA``), geometry Points in UTM 43N:

=====================  =====================================================
``object_id``          "OBJ-000001"...; unique, stable for a seed
``name``               real OSM name where known, else a generated label
``category``           one of ``passport.CATEGORIES``
``ownership``          "state" / "private"
``service``            essential service for the gap analysis or None
                       (one of ``passport.SERVICES``)
``district``           one of the 8 districts
``address``            "street housenumber" from OSM, or the street of a
                       generated object; may be None
``source``             "osm" (real location and name) or "generated"
``osm_id``             OSM id of real objects, else None
passport fields        ``passport.PASSPORT_FIELDS`` (nullable booleans)
``status_<group>``     accessible / partly / not_accessible per group
=====================  =====================================================

Each category's count is split across districts by population; in each
district real OSM objects of the category fill its share first and the
remainder are generated beside the district's streets. Passport fields are generated for all objects, except that a real
OSM ``wheelchair=yes/limited/no`` tag fixes the entrance fields.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.validate import TableSchema, validate_frame
from geo.crs import UTM43N
from geo.districts import DISTRICTS, assign_district, district_population
from geo.passport import (
    CATEGORIES,
    GROUPS,
    OWNERSHIPS,
    PASSPORT_FIELDS,
    SERVICES,
    STATUSES,
    accessibility_status,
    generate_passport_fields,
)
from geo.paths import OSM_DIR
from data.placement import sample_points, split_by_weight

OBJECTS_SCHEMA = TableSchema(
    name="objects",
    id_column="object_id",
    required=("name", "category", "ownership", "service", "district", *PASSPORT_FIELDS),
    enums={
        "category": tuple(CATEGORIES),
        "ownership": OWNERSHIPS,
        "service": SERVICES,
        "district": DISTRICTS,
        **{f"status_{g}": STATUSES for g in GROUPS},
    },
    nullable=("service",),
)

GROCERY_SHOPS: frozenset[str] = frozenset(
    {"supermarket", "convenience", "grocery", "greengrocer", "butcher", "bakery", "food",
     "beverages", "deli", "dairy", "confectionery", "general", "kiosk"}
)
SERVICE_SHOPS: frozenset[str] = frozenset(
    {"hairdresser", "beauty", "laundry", "dry_cleaning", "tailor", "shoe_repair", "copyshop",
     "photo", "travel_agency", "optician", "massage", "tattoo", "funeral_directors", "repair"}
)
# OSM amenity / healthcare / tourism / leisure value -> (category, service).
OSM_TAG_CATEGORY: dict[tuple[str, str], tuple[str, str | None]] = {
    ("amenity", "pharmacy"): ("pharmacy", "pharmacy"),
    ("healthcare", "pharmacy"): ("pharmacy", "pharmacy"),
    ("amenity", "hospital"): ("state_health", "medical"),
    ("amenity", "clinic"): ("state_health", "medical"),
    ("amenity", "doctors"): ("medical_centre", "medical"),
    ("amenity", "dentist"): ("medical_centre", "medical"),
    ("healthcare", "laboratory"): ("medical_centre", "medical"),
    ("healthcare", "dentist"): ("medical_centre", "medical"),
    ("healthcare", "doctor"): ("medical_centre", "medical"),
    ("amenity", "school"): ("state_education", "school"),
    ("amenity", "kindergarten"): ("state_education", None),
    ("amenity", "university"): ("state_higher_education", None),
    ("amenity", "college"): ("state_higher_education", None),
    ("amenity", "theatre"): ("state_culture", None),
    ("amenity", "library"): ("state_culture", None),
    ("amenity", "arts_centre"): ("state_culture", None),
    ("tourism", "museum"): ("state_culture", None),
    ("amenity", "social_facility"): ("state_sport_admin", "social_services"),
    ("amenity", "townhall"): ("state_sport_admin", "social_services"),
    ("amenity", "community_centre"): ("state_sport_admin", "social_services"),
    ("amenity", "post_office"): ("state_sport_admin", None),
    ("amenity", "police"): ("state_sport_admin", None),
    ("amenity", "courthouse"): ("state_sport_admin", None),
    ("amenity", "public_building"): ("state_sport_admin", None),
    ("office", "government"): ("state_sport_admin", None),
    ("amenity", "bank"): ("bank", "bank"),
    ("amenity", "restaurant"): ("catering", None),
    ("amenity", "cafe"): ("catering", None),
    ("amenity", "fast_food"): ("catering", None),
    ("amenity", "bar"): ("catering", None),
    ("amenity", "pub"): ("catering", None),
    ("amenity", "food_court"): ("catering", None),
    ("tourism", "hotel"): ("hotel", None),
    ("tourism", "hostel"): ("hotel", None),
    ("tourism", "guest_house"): ("hotel", None),
    ("tourism", "motel"): ("hotel", None),
    ("amenity", "place_of_worship"): ("religious", None),
    ("leisure", "sports_centre"): ("sport", None),
    ("leisure", "fitness_centre"): ("sport", None),
    ("leisure", "stadium"): ("sport", None),
    ("leisure", "swimming_pool"): ("sport", None),
    ("amenity", "cinema"): ("leisure", None),
    ("amenity", "nightclub"): ("leisure", None),
    ("leisure", "amusement_arcade"): ("leisure", None),
    ("leisure", "bowling_alley"): ("leisure", None),
    ("tourism", "attraction"): ("leisure", None),
    ("amenity", "marketplace"): ("trade", "grocery"),
    ("amenity", "fuel"): ("other", None),
    ("amenity", "car_wash"): ("other", None),
    ("amenity", "bureau_de_change"): ("other", None),
}
POI_TAG_KEYS: tuple[str, ...] = ("amenity", "healthcare", "tourism", "leisure", "office")
HOUSING_BUILDINGS: frozenset[str] = frozenset({"apartments", "residential", "dormitory"})

# Service of generated objects: category -> (service, share of the category's objects).
GENERATED_SERVICE: dict[str, tuple[str, float]] = {
    "pharmacy": ("pharmacy", 1.0),
    "state_health": ("medical", 1.0),
    "medical_centre": ("medical", 1.0),
    "bank": ("bank", 1.0),
    "stop": ("stop", 1.0),
    "trade": ("grocery", 0.45),  # food retail share of Almaty's trade objects
    "state_education": ("school", 0.40),  # schools; the rest are kindergartens
    "state_sport_admin": ("social_services", 0.30),  # social-service and PSC offices
}
# District departments of employment and social programmes plus public service
# centres: generated in every district so that each has social-service offices.
SOCIAL_SERVICE_OFFICES_PER_DISTRICT: int = 2
CATEGORY_LABEL: dict[str, str] = {c: c.replace("_", " ").capitalize() for c in CATEGORIES}
# Wheelchair OSM tag -> (ramp, step_free, door_width_ok) fixed from the real tag.
OSM_WHEELCHAIR_ENTRANCE: dict[str, tuple[bool, bool, bool]] = {
    "yes": (True, True, True),
    "limited": (True, False, True),
    "no": (False, False, False),
}


def _poi_category(poi: pd.Series) -> tuple[str, str | None] | None:
    """Category and service of one OSM POI row, or None if it is not passported."""
    if isinstance(poi["shop"], str):
        if poi["shop"] in GROCERY_SHOPS:
            return "trade", "grocery"
        return ("consumer_services", None) if poi["shop"] in SERVICE_SHOPS else ("trade", None)
    for key in POI_TAG_KEYS:
        value = poi[key]
        if isinstance(value, str) and (key, value) in OSM_TAG_CATEGORY:
            return OSM_TAG_CATEGORY[(key, value)]
    if poi["building"] in HOUSING_BUILDINGS:
        return "housing", None
    return None


def _address(poi: pd.DataFrame) -> pd.Series:
    street, number = poi["addr:street"], poi["addr:housenumber"]
    joined = street.fillna("") + " " + number.fillna("")
    return joined.str.strip().replace("", None)


def real_objects() -> gpd.GeoDataFrame:
    """Passport categories of the real OSM POIs and stops (before capping to counts).

    Returns
    -------
    GeoDataFrame
        Columns ``name``, ``category``, ``service``, ``address``, ``osm_id``,
        ``wheelchair`` (the OSM tag), geometry in UTM 43N.
    """
    pois = gpd.read_parquet(OSM_DIR / "pois.parquet")
    mapped = pois.apply(_poi_category, axis=1)
    pois = pois[mapped.notna()].copy()
    pois["category"] = [m[0] for m in mapped.dropna()]
    pois["service"] = [m[1] for m in mapped.dropna()]
    pois["address"] = _address(pois)
    pois = pois[["name", "category", "service", "address", "osm_id", "wheelchair", "geometry"]]
    stops = gpd.read_parquet(OSM_DIR / "stops.parquet")
    stops = stops.assign(category="stop", service="stop", address=None, wheelchair=None)
    stops = stops[["name", "category", "service", "address", "osm_id", "wheelchair", "geometry"]]
    return gpd.GeoDataFrame(pd.concat([pois, stops], ignore_index=True), crs=UTM43N)


def _generated(
    category: str, by_district: dict[str, int], rng: np.random.Generator, service_share: float | None = None
) -> gpd.GeoDataFrame:
    """Generated objects of ``category``, ``by_district[d]`` of them in district ``d``.

    ``service_share`` overrides the category's share in ``GENERATED_SERVICE``.
    """
    count = sum(by_district.values())
    housing_streets = ("residential", "living_street", "service", "unclassified")
    points = sample_points(by_district, rng, housing_streets if category == "housing" else None)
    service, share = GENERATED_SERVICE.get(category, (None, 0.0))
    has_service = rng.random(count) < (share if service_share is None else service_share)
    label = CATEGORY_LABEL[category]
    return gpd.GeoDataFrame(
        {
            "name": [f"{label} (generated)"] * count,
            "category": category,
            "service": np.where(has_service, service, None),
            "address": points["street"].to_numpy(),
            "osm_id": None,
            "wheelchair": None,
        },
        geometry=points.geometry.to_numpy(),
        crs=UTM43N,
    )


def build_objects(seed: int = 2025) -> gpd.GeoDataFrame:
    """Build the passport registry deterministically from the shipped OSM data.

    Parameters
    ----------
    seed
        Random seed; the same seed gives the same registry.

    Returns
    -------
    GeoDataFrame
        The registry, validated against ``OBJECTS_SCHEMA``, in UTM 43N.
    """
    rng = np.random.default_rng(seed)
    real = real_objects()
    real["district"] = assign_district(real.geometry, max_distance_m=1e-6)
    real = real[real["district"].notna()]
    offices = {d: SOCIAL_SERVICE_OFFICES_PER_DISTRICT for d in DISTRICTS}
    parts = [_generated("state_sport_admin", offices, rng, service_share=1.0)]
    for category, spec in CATEGORIES.items():
        quota = spec.count - (sum(offices.values()) if category == "state_sport_admin" else 0)
        quota_by_district = split_by_weight(quota, district_population())
        mine = real[real["category"] == category].sort_values("osm_id")
        mine = mine[mine.groupby("district").cumcount() < mine["district"].map(quota_by_district).astype("int64")]
        parts.append(mine.assign(source="osm"))
        have = mine["district"].value_counts()
        missing = {d: q - int(have.get(d, 0)) for d, q in quota_by_district.items()}
        if sum(missing.values()):
            parts.append(_generated(category, missing, rng))
    objects = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=UTM43N)
    generated = objects["source"].isna().to_numpy()
    objects.loc[generated, "source"] = "generated"
    objects.loc[generated, "district"] = assign_district(objects.geometry[generated])
    objects["service"] = objects["service"].astype(object).where(objects["service"].notna(), None)
    objects["name"] = objects["name"].fillna(objects["category"].map(CATEGORY_LABEL))
    objects.insert(0, "object_id", [f"OBJ-{i + 1:06d}" for i in range(len(objects))])
    objects["ownership"] = objects["category"].map({c: s.ownership for c, s in CATEGORIES.items()})
    passport = generate_passport_fields(objects["category"], rng)
    for tag, (ramp, step_free, door) in OSM_WHEELCHAIR_ENTRANCE.items():
        tagged = (objects["wheelchair"] == tag).to_numpy()
        passport.loc[tagged, ["ramp", "step_free", "door_width_ok"]] = [ramp, step_free, door]
    objects = pd.concat([objects.drop(columns="wheelchair"), passport, accessibility_status(passport)], axis=1)
    objects["osm_id"] = objects["osm_id"].astype("Int64")
    columns = ["object_id", "name", "category", "ownership", "service", "district", "address", "source", "osm_id"]
    objects = objects[[*columns, *PASSPORT_FIELDS, *[f"status_{g}" for g in GROUPS], "geometry"]]
    return validate_frame(gpd.GeoDataFrame(objects, crs=UTM43N), OBJECTS_SCHEMA)
