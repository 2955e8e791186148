"""Households with at least one person with a disability (generated, sensitive).

No household register is public, so households are generated
deterministically from the city's 2025 figures: 58 400 people with
disabilities, split across districts by population, placed beside residential
streets. Each household has one primary disability group, a count of people
with disabilities (``people``), a size (``members``) and the attributes the
unified social standard scores; its welfare level 1-6 is computed from them by
:func:`welfare_level`.

Schema (``HOUSEHOLDS_SCHEMA``), geometry Points in UTM 43N:
``household_id`` (pseudonymous "HH-" + 10 hex digits), ``district``, ``group``
(one of ``passport.GROUPS``), ``people``, ``members``, ``income_per_member_tg``
(monthly, tenge), ``housing_count``, ``housing_m2``, ``vehicles``,
``overdue_debt_tg``, ``legal_entities``, ``welfare_level`` (1 = crisis ..
6 = prosperous), ``invataxi_user`` (registered with the invataxi service).
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.validate import TableSchema, validate_frame
from geo.districts import DISTRICTS, district_population
from geo.passport import GROUPS
from data.placement import sample_points, split_by_weight

PEOPLE_WITH_DISABILITIES: int = 58_400  # the city's 2025 report
INVATAXI_USERS: int = 3_400  # registered invataxi users, the city's 2025 report
SUBSISTENCE_MINIMUM_TG: float = 50_851.0  # monthly subsistence minimum, 2025, tenge

# Share of households by number of people with disabilities living in them.
PEOPLE_PER_HOUSEHOLD_SHARE: dict[int, float] = {1: 0.88, 2: 0.10, 3: 0.02}
# Primary disability group shares (assumption in line with national structure:
# musculoskeletal conditions are the largest group, then intellectual/mental).
GROUP_SHARE: dict[str, float] = {
    "wheelchair": 0.14,
    "mobility": 0.30,
    "vision": 0.14,
    "hearing": 0.12,
    "intellectual": 0.30,
}
# Groups eligible for the invataxi service.
INVATAXI_GROUPS: tuple[str, ...] = ("wheelchair", "mobility")
RESIDENTIAL_HIGHWAYS: tuple[str, ...] = ("residential", "living_street", "service", "unclassified")

# Welfare level by income per member, in subsistence minimums: upper bounds of levels 1..5.
INCOME_LEVEL_BOUNDS_SM: tuple[float, ...] = (0.7, 1.0, 1.5, 2.5, 4.0)
CROWDED_M2_PER_MEMBER: float = 9.0  # below this, housing lowers the level by one
SPACIOUS_M2_PER_MEMBER: float = 30.0  # at or above this, housing raises the level by one

HOUSEHOLDS_SCHEMA = TableSchema(
    name="households",
    id_column="household_id",
    required=("district", "group", "people", "members", "welfare_level"),
    enums={"district": DISTRICTS, "group": GROUPS, "welfare_level": range(1, 7)},
    numeric=("people", "members", "income_per_member_tg", "housing_m2", "overdue_debt_tg"),
)


def welfare_level(households: pd.DataFrame) -> np.ndarray:
    """Welfare level 1 (crisis) .. 6 (prosperous) by the unified social-standard criteria.

    The base level comes from monthly income per member in subsistence
    minimums (``SUBSISTENCE_MINIMUM_TG``) with bounds ``INCOME_LEVEL_BOUNDS_SM``;
    then one level down for no own housing or under ``CROWDED_M2_PER_MEMBER``
    m² per member, and for overdue debt; one level up for two or more dwellings
    or at least ``SPACIOUS_M2_PER_MEMBER`` m² per member, for two or more
    vehicles, and for registered legal entities. Clipped to 1..6.

    Parameters
    ----------
    households
        Columns ``income_per_member_tg`` (tenge/month), ``members``,
        ``housing_count``, ``housing_m2`` (m²), ``vehicles``,
        ``overdue_debt_tg`` (tenge), ``legal_entities``.
    """
    income_sm = households["income_per_member_tg"].to_numpy(float) / SUBSISTENCE_MINIMUM_TG
    level = 1 + np.searchsorted(np.array(INCOME_LEVEL_BOUNDS_SM), income_sm, side="right")
    m2_per_member = households["housing_m2"].to_numpy(float) / households["members"].to_numpy(float)
    housing = households["housing_count"].to_numpy()
    level -= ((housing == 0) | (m2_per_member < CROWDED_M2_PER_MEMBER)).astype(int)
    level += ((housing >= 2) | (m2_per_member >= SPACIOUS_M2_PER_MEMBER)).astype(int)
    level += (households["vehicles"].to_numpy() >= 2).astype(int)
    level -= (households["overdue_debt_tg"].to_numpy(float) > 0).astype(int)
    level += (households["legal_entities"].to_numpy() > 0).astype(int)
    return np.clip(level, 1, 6)


def _people_counts(rng: np.random.Generator) -> np.ndarray:
    """People with disabilities per household, summing exactly to the city total."""
    sizes = np.array(list(PEOPLE_PER_HOUSEHOLD_SHARE))
    shares = np.array(list(PEOPLE_PER_HOUSEHOLD_SHARE.values()))
    estimate = int(PEOPLE_WITH_DISABILITIES / (sizes @ shares)) + 100
    people = rng.choice(sizes, size=estimate, p=shares)
    cumulative = np.cumsum(people)
    n = int(np.searchsorted(cumulative, PEOPLE_WITH_DISABILITIES))
    people = people[: n + 1]
    people[-1] -= cumulative[n] - PEOPLE_WITH_DISABILITIES
    return people


def _attributes(people: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Generated household attributes scored by the social standard."""
    n = len(people)
    members = people + rng.poisson(2.0, n)
    income = rng.lognormal(np.log(1.6 * SUBSISTENCE_MINIMUM_TG), 0.6, n)  # tenge per member per month
    housing_count = rng.choice([0, 1, 2], size=n, p=[0.12, 0.80, 0.08])
    housing_m2 = np.where(housing_count > 0, rng.gamma(6.0, 11.0, n) * np.maximum(housing_count, 1), 0.0)
    return pd.DataFrame(
        {
            "people": people,
            "members": members,
            "income_per_member_tg": income.round(0),
            "housing_count": housing_count,
            "housing_m2": housing_m2.round(1),
            "vehicles": rng.choice([0, 1, 2], size=n, p=[0.55, 0.38, 0.07]),
            "overdue_debt_tg": np.where(rng.random(n) < 0.18, rng.lognormal(12.5, 1.0, n).round(0), 0.0),
            "legal_entities": (rng.random(n) < 0.04).astype(int),
        }
    )


def pseudonymous_ids(n: int, seed: int) -> list[str]:
    """Stable pseudonymous ids "HH-<10 hex>" that reveal nothing about order or place."""
    return [f"HH-{hashlib.sha256(f'{seed}:{i}'.encode()).hexdigest()[:10]}" for i in range(n)]


def build_households(seed: int = 2025) -> gpd.GeoDataFrame:
    """Generate the households deterministically.

    Parameters
    ----------
    seed
        Random seed; the same seed gives the same households.

    Returns
    -------
    GeoDataFrame
        Validated against ``HOUSEHOLDS_SCHEMA``, Points in UTM 43N; ``people``
        sums to ``PEOPLE_WITH_DISABILITIES``.
    """
    rng = np.random.default_rng(seed + 1)
    people = _people_counts(rng)
    by_district = split_by_weight(len(people), district_population())
    points = sample_points(by_district, rng, RESIDENTIAL_HIGHWAYS)
    attributes = _attributes(people, rng)
    groups = rng.choice(list(GROUP_SHARE), size=len(people), p=list(GROUP_SHARE.values()))
    households = gpd.GeoDataFrame(attributes, geometry=points.geometry.to_numpy(), crs=points.crs)
    households.insert(0, "household_id", pseudonymous_ids(len(people), seed))
    households.insert(1, "district", points["district"].to_numpy())
    households.insert(2, "group", groups)
    households["welfare_level"] = welfare_level(households)
    eligible = np.flatnonzero(np.isin(groups, INVATAXI_GROUPS))
    users = rng.choice(eligible, size=min(INVATAXI_USERS, len(eligible)), replace=False)
    households["invataxi_user"] = False
    households.loc[households.index[users], "invataxi_user"] = True
    # Shuffle so that row order does not reveal the district or the generation order.
    households = households.iloc[rng.permutation(len(households))].reset_index(drop=True)
    return validate_frame(households, HOUSEHOLDS_SCHEMA)
