"""The one accessibility rule, on hand-made passports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.passport import CATEGORIES, PASSPORT_FIELDS, TOTAL_OBJECTS, accessibility_status, generate_passport_fields


def passport(**present: bool | None) -> pd.DataFrame:
    row = {name: False for name in PASSPORT_FIELDS}
    row.update(present)
    return pd.DataFrame([row]).astype("boolean")


def test_nothing_present_is_not_accessible_for_every_group() -> None:
    status = accessibility_status(passport()).iloc[0]
    assert set(status) == {"not_accessible"}


def test_wheelchair_needs_entrance_door_and_toilet() -> None:
    full = accessibility_status(passport(ramp=True, door_width_ok=True, accessible_toilet=True)).iloc[0]
    assert full["status_wheelchair"] == "accessible"
    assert full["status_mobility"] == "accessible"
    no_toilet = accessibility_status(passport(step_free=True, door_width_ok=True)).iloc[0]
    assert no_toilet["status_wheelchair"] == "partly"
    assert no_toilet["status_mobility"] == "accessible"
    assert no_toilet["status_vision"] == "partly"  # step-free entrance supports, tactile missing


def test_not_applicable_fields_count_as_present() -> None:
    stop = passport(ramp=True, door_width_ok=None, accessible_toilet=None, accessible_parking=None)
    assert accessibility_status(stop).iloc[0]["status_wheelchair"] == "accessible"


def test_not_applicable_fields_alone_do_not_make_partly() -> None:
    housing = passport(accessible_toilet=None, accessible_parking=None)
    assert accessibility_status(housing).iloc[0]["status_wheelchair"] == "not_accessible"


def test_hearing_and_intellectual() -> None:
    status = accessibility_status(passport(visual_info=True)).iloc[0]
    assert status["status_hearing"] == "accessible"
    assert status["status_intellectual"] == "partly"


def test_category_counts_follow_the_2025_passportisation() -> None:
    state = {c: s.count for c, s in CATEGORIES.items() if c.startswith("state_")}
    assert state == {"state_education": 516, "state_health": 81, "state_culture": 41,
                     "state_higher_education": 37, "state_sport_admin": 58}
    private = sum(s.count for c, s in CATEGORIES.items() if s.ownership == "private" and c != "housing")
    assert private == 20_199
    assert TOTAL_OBJECTS == 34_000


def test_generated_fields_respect_not_applicable_and_shares() -> None:
    categories = pd.Series(["stop"] * 2000 + ["bank"] * 2000)
    fields = generate_passport_fields(categories, np.random.default_rng(1))
    assert fields.loc[:1999, "accessible_toilet"].isna().all()
    assert fields.loc[2000:, "accessible_toilet"].notna().all()
    # banks are adapted more often than stops, so ramps are more common there
    assert fields.loc[2000:, "ramp"].mean() > fields.loc[:1999, "ramp"].mean()
