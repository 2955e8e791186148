"""Welfare levels by the unified social-standard criteria."""

from __future__ import annotations

import pandas as pd

from data.household import SUBSISTENCE_MINIMUM_TG, welfare_level


def household(**overrides: float) -> dict:
    row = {"income_per_member_tg": 2.0 * SUBSISTENCE_MINIMUM_TG, "members": 3, "housing_count": 1,
           "housing_m2": 60.0, "vehicles": 1, "overdue_debt_tg": 0.0, "legal_entities": 0}
    row.update(overrides)
    return row


def levels(*rows: dict) -> list[int]:
    return welfare_level(pd.DataFrame(list(rows))).tolist()


def test_income_bands_set_the_base_level() -> None:
    sm = SUBSISTENCE_MINIMUM_TG
    assert levels(*(household(income_per_member_tg=x * sm) for x in (0.5, 0.8, 1.2, 2.0, 3.0, 5.0))) == [1, 2, 3, 4, 5, 6]


def test_housing_debt_vehicles_and_entities_adjust() -> None:
    assert levels(household(housing_count=0, housing_m2=0.0)) == [3]  # no own housing: one down
    assert levels(household(housing_m2=20.0)) == [3]  # 6.7 m² per member: crowded
    assert levels(household(housing_m2=100.0)) == [5]  # 33 m² per member: spacious
    assert levels(household(overdue_debt_tg=150_000.0)) == [3]
    assert levels(household(vehicles=2, legal_entities=1)) == [6]


def test_levels_are_clipped_to_one_and_six() -> None:
    poor = household(income_per_member_tg=1_000.0, housing_count=0, housing_m2=0.0, overdue_debt_tg=10.0)
    rich = household(income_per_member_tg=1e7, housing_count=3, housing_m2=500.0, vehicles=3, legal_entities=2)
    assert levels(poor, rich) == [1, 6]
