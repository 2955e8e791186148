"""The programme's policy tables: instruments, targets and value weights, each in one place.

These are the assumptions a city planner may change; the report shows the ones
used. Files override them (``read_targets``, ``read_weights``); every bad row is
one ``ValueError`` naming the file, the row and the field.

Instruments (``INSTRUMENTS``)
    *city_budget*: the city's annual budget (tenge) pays for state objects (state
    social objects and stops), the entrances of housing blocks and new
    accessible service points; never for private objects.
    *compliance_order*: the city inspects and orders private owners to adapt;
    the owner pays; limited by the inspectors' capacity (orders a year); the
    expected value is discounted by the compliance rate.

Targets (``DEFAULT_TARGETS``), three kinds:
    ``count``: at least ``value`` objects of ``category`` adapted in ``year``;
    ``all``: every object of ``category`` that is not wheelchair-accessible is
    adapted by ``year``; ``share``: at least the fraction ``value`` of them by
    ``year``. ``district`` limits a target to one district; ``*`` makes one
    target per district (equity).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.districts import DISTRICTS
from geo.passport import CATEGORIES

# ----- instruments -------------------------------------------------------------------------------
CITY_BUDGET: str = "city_budget"
COMPLIANCE_ORDER: str = "compliance_order"
INSTRUMENT_LABEL: dict[str, str] = {CITY_BUDGET: "City budget", COMPLIANCE_ORDER: "Compliance orders (owners pay)"}
DEFAULT_BUDGET_TG: float = 2.8e9  # per year, tenge: the city's 2025 line for barrier-free environment
DEFAULT_ORDER_CAPACITY: int = 1_500  # orders a year: ~25 inspectors x ~60 inspections a year that end in an order
DEFAULT_COMPLIANCE_RATE: float = 1.0  # share of ordered owners who comply in the year (fines enforce it)
# Categories paid by the city although privately owned: the entrances of apartment blocks
# (the city's programme for common areas of housing).
CITY_PAID_PRIVATE_CATEGORIES: frozenset[str] = frozenset({"housing"})
# Earliest start year by instrument: both start in the programme's first year.
INSTRUMENT_START_YEAR: dict[str, int] = {CITY_BUDGET: 2026, COMPLIANCE_ORDER: 2026}

# ----- what counts as a social object -------------------------------------------------------------
STATE_SOCIAL_CATEGORIES: frozenset[str] = frozenset(
    c for c, spec in CATEGORIES.items() if spec.ownership == "state" and c != "stop")  # the 733 state social objects
# Private objects of social significance (the city's definition): medical centres, pharmacies, private education.
SOCIAL_CATEGORIES: frozenset[str] = STATE_SOCIAL_CATEGORIES | {"medical_centre", "pharmacy", "private_education"}
CATEGORY_GROUPS: dict[str, frozenset[str]] = {"social": SOCIAL_CATEGORIES, "state_social": STATE_SOCIAL_CATEGORIES}

# ----- new accessible service points (city-run services only) ------------------------------------
# Cost in tenge of opening one accessible service point where no object of the service is in reach.
NEW_SITE_COST_TG: dict[str, float] = {
    "social_services": 60e6,  # fit-out of a rented accessible ground-floor office as a social-services branch
    "medical": 180e6,  # an accessible outpatient point (general practitioner's office) with equipment
    "school": 600e6,  # an accessible inclusive-education resource centre annexed to a school building
}
NEW_SITE_START_YEAR: int = 2027  # siting, design and procurement take the first year
NEW_SITE_CATEGORY: str = "new_site"
# Services whose structural gaps get recommended sites (private operators or other agencies decide).
RECOMMENDED_SITE_SERVICES: tuple[str, ...] = ("pharmacy", "grocery", "bank", "stop")
RECOMMENDED_SITES_PER_SERVICE: int = 5

# ----- value weights (policy: shown in the report) ------------------------------------------------
# Each term is earned for every remaining plan year, in weighted person-years.
VALUE_WEIGHTS: dict[str, float] = {
    "gap": 1.0,  # closing a household's gap for one service (no accessible option in reach before)
    "home_entrance": 1.5,  # a wheelchair/mobility household's block entrance: without it they cannot leave home
    "choice": 0.1,  # a further accessible option for people who already have one in reach
    "footfall": 0.05,  # a mass-visit object without an essential service, per person living nearby
}
# Priority by welfare level (1 = crisis ... 6 = prosperous): worse-off households first.
WELFARE_PRIORITY: dict[int, float] = {1: 2.0, 2: 1.6, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.6}
# Priority by disability group: physical barriers hurt wheelchair users most.
GROUP_PRIORITY: dict[str, float] = {"wheelchair": 1.5, "mobility": 1.2, "vision": 1.2, "hearing": 1.0, "intellectual": 1.0}
HOME_GROUPS: tuple[str, ...] = ("wheelchair", "mobility")  # groups kept at home by an inaccessible entrance
HOME_LINK_MAX_M: float = 150.0  # a household farther than this from every housing block lives in a house
NEARBY_RING: int = 1  # H3 res-8 cell and its neighbours (~1.3 km across): within a 15-30 min trip
MASS_VISIT_CATEGORIES: frozenset[str] = frozenset(
    {"state_culture", "state_higher_education", "state_sport_admin", "trade", "catering", "leisure", "hotel",
     "religious", "sport", "consumer_services"})

TARGET_KINDS: tuple[str, ...] = ("count", "all", "share")


@dataclass(frozen=True)
class Target:
    """One programme target (see the module docstring for the kinds).

    Attributes
    ----------
    kind
        ``count``, ``all`` or ``share``.
    year
        The year of a count target; the deadline of ``all`` and ``share``.
    category
        A passport category, ``social``, ``state_social`` or ``new_site``.
    district
        One district, ``*`` (one target per district) or None (the whole city).
    value
        Objects for ``count``, a fraction for ``share``; unused for ``all``.
    """

    kind: str
    year: int
    category: str
    district: str | None = None
    value: float = 0.0

    def label(self) -> str:
        """The target in words."""
        where = "" if self.district is None else (" in each district" if self.district == "*" else f" in {self.district}")
        what = self.category.replace("_", " ")
        if self.kind == "count":
            return f"at least {self.value:,.0f} {what} objects adapted in {self.year}{where}"
        if self.kind == "all":
            return f"every {what} object accessible for wheelchair users by {self.year}{where}"
        return f"at least {self.value:.0%} of {what} objects accessible by {self.year}{where}"


DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("count", 2026, "social", None, 1_800),  # the city's "1.8k social objects adapted in 2026"
    Target("all", 2030, "state_social"),  # every state social object accessible by 2030
)


def category_members(category: str) -> frozenset[str]:
    """Passport categories a target category stands for (``social``, ``state_social`` or one category)."""
    if category in CATEGORY_GROUPS:
        return CATEGORY_GROUPS[category]
    if category in CATEGORIES or category == NEW_SITE_CATEGORY:
        return frozenset({category})
    raise ValueError(f"unknown category {category!r}")


def _where(source: str, row: int, field: str) -> str:
    return f"{source} row {row}, field {field!r}"


def parse_target(record: Mapping[str, object], source: str = "targets", row: int = 1) -> Target:
    """One target from a record with ``kind``, ``year``, ``category``, ``district`` and ``value``."""
    kind = str(record.get("kind", "")).strip()
    if kind not in TARGET_KINDS:
        raise ValueError(f"{_where(source, row, 'kind')}: {kind!r} is not one of {list(TARGET_KINDS)}")
    year = pd.to_numeric(pd.Series([record.get("year")]), errors="coerce").iloc[0]
    if pd.isna(year) or year % 1:
        raise ValueError(f"{_where(source, row, 'year')}: {record.get('year')!r} is not a year")
    category = str(record.get("category", "")).strip()
    try:
        category_members(category)
    except ValueError:
        known = sorted([*CATEGORY_GROUPS, *CATEGORIES, NEW_SITE_CATEGORY])
        raise ValueError(f"{_where(source, row, 'category')}: unknown category {category!r}; expected one of {known}") from None
    district = record.get("district")
    district = None if district is None or (isinstance(district, float) and math.isnan(district)) or str(district).strip() == "" \
        else str(district).strip()
    if district is not None and district != "*" and district not in DISTRICTS:
        raise ValueError(f"{_where(source, row, 'district')}: unknown district {district!r}; expected one of {list(DISTRICTS)} or '*'")
    raw = record.get("value", 0.0)
    value = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
    if kind == "all":
        value = 0.0 if pd.isna(value) else value
    if pd.isna(value) or value < 0 or (kind == "share" and value > 1) or (kind == "count" and value % 1):
        expected = {"count": "a whole number >= 0", "share": "a fraction between 0 and 1", "all": "empty"}[kind]
        raise ValueError(f"{_where(source, row, 'value')}: {raw!r} is not {expected}")
    return Target(kind, int(year), category, district, float(value))


def read_targets(path: Path) -> tuple[Target, ...]:
    """Targets from a CSV with columns ``kind,year,category[,district][,value]`` (replaces the defaults)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"kind", "year", "category"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected kind,year,category,district,value")
    return tuple(parse_target(record, str(path), i + 2) for i, record in enumerate(frame.to_dict("records")))


def check_weights(weights: Mapping[str, float], source: str = "value weights") -> dict[str, float]:
    """Validate value weights: known terms, finite and non-negative numbers."""
    out = dict(VALUE_WEIGHTS)
    for row, (term, raw) in enumerate(weights.items(), start=2):
        if term not in VALUE_WEIGHTS:
            raise ValueError(f"{_where(source, row, 'term')}: unknown value term {term!r}; expected one of {list(VALUE_WEIGHTS)}")
        value = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
        if pd.isna(value) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{_where(source, row, 'weight')}: weight of {term!r} must be a non-negative number, got {raw!r}")
        out[term] = float(value)
    return out


def read_weights(path: Path) -> dict[str, float]:
    """Value weights from a CSV with columns ``term,weight`` (terms not listed keep their default)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"term", "weight"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected term,weight")
    if frame["term"].duplicated().any():
        raise ValueError(f"{path}: term {frame.loc[frame['term'].duplicated(), 'term'].iloc[0]!r} appears twice")
    return check_weights(dict(zip(frame["term"], frame["weight"])), str(path))


@dataclass(frozen=True)
class Policy:
    """The programme's settings: budgets, order capacity, compliance rate, targets and value weights.

    Attributes
    ----------
    budget_tg
        City budget per year, tenge.
    order_capacity
        Compliance orders per year.
    compliance_rate
        Expected share of ordered owners who comply (0-1).
    targets
        The programme targets.
    weights
        The value weights (``VALUE_WEIGHTS`` keys).
    """

    budget_tg: Mapping[int, float]
    order_capacity: Mapping[int, int]
    compliance_rate: float = DEFAULT_COMPLIANCE_RATE
    targets: tuple[Target, ...] = DEFAULT_TARGETS
    weights: Mapping[str, float] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", check_weights(self.weights or {}))
        if not (math.isfinite(self.compliance_rate) and 0 < self.compliance_rate <= 1):
            raise ValueError(f"compliance rate must be in (0, 1], got {self.compliance_rate!r}")


def default_policy(years: range, budget_tg: float = DEFAULT_BUDGET_TG, order_capacity: int = DEFAULT_ORDER_CAPACITY) -> Policy:
    """The default programme over ``years``: the same budget and order capacity every year, default targets."""
    targets = tuple(t for t in DEFAULT_TARGETS if years[0] <= t.year <= years[-1])
    return Policy(dict.fromkeys(years, budget_tg), dict.fromkeys(years, order_capacity), targets=targets)
