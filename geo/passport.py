"""The accessibility passport: categories, passport fields and the status rule.

Category counts follow Almaty's 2025 passportisation report. The passport
fields are generated (no public registry exists); the per-category shares
below are plausible assumptions, not measurements.

Status rule (one rule for every disability group)
-------------------------------------------------
Each group has *required* elements and *supporting* elements (table
``GROUP_ELEMENTS``). An element is present when its passport field is True or
not applicable (missing value, e.g. a toilet at a bus stop). A derived element
``entrance`` is present when the object has an entrance ramp or a lift /
step-free entrance.

* ``accessible``: every required element is present (or not applicable);
* ``partly``: not all required, but some required or supporting element is
  actually present (a not-applicable element does not count here);
* ``not_accessible``: otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

GROUPS: tuple[str, ...] = ("wheelchair", "mobility", "vision", "hearing", "intellectual")
STATUSES: tuple[str, ...] = ("accessible", "partly", "not_accessible")
OWNERSHIPS: tuple[str, ...] = ("state", "private")

# Passport fields (nullable booleans: True present, False absent, NA not applicable).
PASSPORT_FIELDS: tuple[str, ...] = (
    "ramp",  # entrance ramp
    "door_width_ok",  # entrance door clear width >= 0.9 m
    "step_free",  # lift or step-free (level) entrance
    "accessible_toilet",
    "tactile_guidance",  # tactile paving / guidance strips, Braille signs
    "accessible_parking",  # marked parking bay for disabled drivers
    "visual_info",  # visual / text information, induction loop (hearing)
    "clear_signage",  # simple pictogram signage (intellectual disabilities)
)

# group -> (required elements, supporting elements); "entrance" = ramp or step_free.
GROUP_ELEMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wheelchair": (("entrance", "door_width_ok", "accessible_toilet"), ("accessible_parking",)),
    "mobility": (("entrance", "door_width_ok"), ("accessible_parking",)),
    "vision": (("tactile_guidance",), ("entrance",)),
    "hearing": (("visual_info",), ()),
    "intellectual": (("clear_signage",), ("visual_info",)),
}


@dataclass(frozen=True)
class CategorySpec:
    """One passport category.

    Attributes
    ----------
    ownership
        "state" or "private".
    count
        Objects in the city (2025 passportisation; housing and stops: see notes).
    adapted_share
        Share of objects already largely adapted (fields then mostly present).
    not_applicable
        Passport fields that do not apply to the category (stored as NA).
    """

    ownership: str
    count: int
    adapted_share: float
    not_applicable: tuple[str, ...] = ()


# Housing (11 068 multi-storey blocks, about Almaty's stock of apartment
# buildings) and stops (2 000, about the city's stop count) fill the registry to
# 34 000 objects. Adapted shares: state objects were the first adapted under
# the national programmes; private trade and services lag behind.
CATEGORIES: dict[str, CategorySpec] = {
    "state_education": CategorySpec("state", 516, 0.35),
    "state_health": CategorySpec("state", 81, 0.55),
    "state_culture": CategorySpec("state", 41, 0.40),
    "state_higher_education": CategorySpec("state", 37, 0.35),
    "state_sport_admin": CategorySpec("state", 58, 0.45),
    "trade": CategorySpec("private", 7_148, 0.20),
    "consumer_services": CategorySpec("private", 2_024, 0.10),
    "catering": CategorySpec("private", 1_698, 0.15),
    "medical_centre": CategorySpec("private", 218, 0.35),
    "pharmacy": CategorySpec("private", 592, 0.20),
    "private_education": CategorySpec("private", 691, 0.15),
    "bank": CategorySpec("private", 56, 0.50),
    "leisure": CategorySpec("private", 186, 0.25),
    "hotel": CategorySpec("private", 68, 0.40),
    "religious": CategorySpec("private", 43, 0.20),
    "sport": CategorySpec("private", 49, 0.25),
    "other": CategorySpec("private", 7_426, 0.10),
    "housing": CategorySpec("private", 11_068, 0.15, ("accessible_toilet", "accessible_parking")),
    "stop": CategorySpec("state", 2_000, 0.30, ("door_width_ok", "accessible_toilet", "accessible_parking")),
}
TOTAL_OBJECTS: int = sum(spec.count for spec in CATEGORIES.values())

# Essential services for the gap analysis (an object serves at most one).
SERVICES: tuple[str, ...] = (
    "pharmacy", "medical", "grocery", "school", "bank", "stop", "social_services",
)

# Chance that a passport field is present in an adapted / a not adapted object.
FIELD_SHARE_ADAPTED: dict[str, float] = {
    "ramp": 0.85, "door_width_ok": 0.9, "step_free": 0.6, "accessible_toilet": 0.6,
    "tactile_guidance": 0.45, "accessible_parking": 0.6, "visual_info": 0.5, "clear_signage": 0.55,
}
FIELD_SHARE_NOT_ADAPTED: dict[str, float] = {
    "ramp": 0.12, "door_width_ok": 0.45, "step_free": 0.15, "accessible_toilet": 0.04,
    "tactile_guidance": 0.03, "accessible_parking": 0.08, "visual_info": 0.06, "clear_signage": 0.08,
}


def generate_passport_fields(categories: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Draw passport fields for objects of the given categories.

    Each object is first drawn adapted or not (``CategorySpec.adapted_share``),
    then each field is present with ``FIELD_SHARE_ADAPTED`` or
    ``FIELD_SHARE_NOT_ADAPTED``; fields that do not apply are NA.

    Returns
    -------
    DataFrame
        One nullable-boolean column per ``PASSPORT_FIELDS``, aligned with ``categories``.
    """
    adapted_share = categories.map({c: s.adapted_share for c, s in CATEGORIES.items()}).to_numpy(float)
    adapted = rng.random(len(categories)) < adapted_share
    fields = {}
    for name in PASSPORT_FIELDS:
        share = np.where(adapted, FIELD_SHARE_ADAPTED[name], FIELD_SHARE_NOT_ADAPTED[name])
        column = pd.array(rng.random(len(categories)) < share, dtype="boolean")
        not_applicable = categories.isin([c for c, s in CATEGORIES.items() if name in s.not_applicable])
        column[not_applicable.to_numpy()] = pd.NA
        fields[name] = column
    return pd.DataFrame(fields, index=categories.index)


def _elements(passport: pd.DataFrame, not_applicable: bool) -> dict[str, np.ndarray]:
    """Flag of every element (including ``entrance``); NA fields count as ``not_applicable``."""
    present = {name: passport[name].fillna(not_applicable).to_numpy(dtype=bool) for name in PASSPORT_FIELDS}
    present["entrance"] = present["ramp"] | present["step_free"]
    return present


def accessibility_status(passport: pd.DataFrame) -> pd.DataFrame:
    """Accessibility status per disability group, by the module's one rule.

    Parameters
    ----------
    passport
        Columns ``PASSPORT_FIELDS`` (nullable booleans).

    Returns
    -------
    DataFrame
        Columns ``status_<group>`` for each of ``GROUPS`` with values in ``STATUSES``.
    """
    satisfied, actual = _elements(passport, True), _elements(passport, False)
    out = {}
    for group, (required, supporting) in GROUP_ELEMENTS.items():
        all_required = np.logical_and.reduce([satisfied[e] for e in required])
        any_element = np.logical_or.reduce([actual[e] for e in (*required, *supporting)])
        status = np.where(all_required, "accessible", np.where(any_element, "partly", "not_accessible"))
        out[f"status_{group}"] = status
    return pd.DataFrame(out, index=passport.index)
