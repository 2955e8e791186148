"""Adaptation candidates: what each object lacks, what fixing it costs, who pays, when it may start.

Adapting an object means adding every passport element it lacks, which makes
it accessible for every disability group (``passport.accessibility_status``);
for a housing block the city adapts the entrance only (``CATEGORY_ELEMENTS``).
The cost is the sum of the unit costs of the missing elements
(``UNIT_COST_TG``) times the category's size factor (``CATEGORY_SIZE_FACTOR``).
A missing entrance (no ramp and no step-free entrance) is fixed with a ramp.
The instrument follows ``geo.programme_policy``: state objects and housing
entrances on the city budget, other private objects by compliance order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geo.passport import GROUPS, PASSPORT_FIELDS
from geo.programme_policy import CITY_BUDGET, CITY_PAID_PRIVATE_CATEGORIES, COMPLIANCE_ORDER, INSTRUMENT_START_YEAR

# Unit cost in tenge of adding one missing element (2025 prices, Almaty
# contractors' typical quotes for a single entrance / room; assumptions).
UNIT_COST_TG: dict[str, float] = {
    "ramp": 650_000.0,  # concrete ramp with handrails, one entrance
    "door_width_ok": 300_000.0,  # widen one doorway to >= 0.9 m
    "accessible_toilet": 1_200_000.0,  # refit one toilet room
    "tactile_guidance": 350_000.0,  # tactile strips and Braille signs, ground floor
    "accessible_parking": 120_000.0,  # marking and sign for one parking bay
    "visual_info": 150_000.0,  # information display / induction loop at reception
    "clear_signage": 80_000.0,  # pictogram signage
}
# Size factor by category (large public buildings need more of everything).
CATEGORY_SIZE_FACTOR: dict[str, float] = {
    "state_health": 2.0,
    "state_higher_education": 2.0,
    "state_education": 1.5,
    "state_culture": 1.5,
    "hotel": 1.5,
    "stop": 0.5,
}
# Elements adapted per category when not all of them: the city's programme for housing
# blocks covers the entrance (ramp, door), not the flats.
CATEGORY_ELEMENTS: dict[str, tuple[str, ...]] = {"housing": ("ramp", "door_width_ok")}


def adaptation_cost_tg(objects: pd.DataFrame, unit_cost_tg: Mapping[str, float] | None = None) -> np.ndarray:
    """Cost in tenge of adding every missing passport element to each object.

    A field that is False counts as missing; True or not applicable (NA) costs
    nothing. The entrance needs a ramp only when there is neither a ramp nor a
    lift / step-free entrance. Categories in ``CATEGORY_ELEMENTS`` pay only for those elements.
    """
    costs = dict(UNIT_COST_TG if unit_cost_tg is None else unit_cost_tg)
    missing = {name: objects[name].eq(False).fillna(False).to_numpy(dtype=bool) for name in PASSPORT_FIELDS}
    total = np.zeros(len(objects))
    category = objects["category"].to_numpy()
    for name, unit in costs.items():
        if name not in missing:
            raise ValueError(f"unit cost for unknown passport element {name!r}")
        applies = np.array([name in CATEGORY_ELEMENTS.get(c, (name,)) for c in category], dtype=bool)
        needed = missing["ramp"] & missing["step_free"] if name == "ramp" else missing[name]
        total += unit * (needed & applies)
    factor = objects["category"].map(CATEGORY_SIZE_FACTOR).fillna(1.0).to_numpy(dtype=float)
    return total * factor


def instrument_of(ownership: pd.Series, category: pd.Series) -> np.ndarray:
    """City budget for state objects and city-paid private categories (housing entrances), else a compliance order."""
    city = ownership.eq("state").to_numpy() | category.isin(CITY_PAID_PRIVATE_CATEGORIES).to_numpy()
    return np.where(city, CITY_BUDGET, COMPLIANCE_ORDER)


def candidates(objects: pd.DataFrame, unit_cost_tg: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Objects not yet accessible for every group, with cost, instrument and earliest start year.

    Returns
    -------
    DataFrame
        The candidate table of ``geo.plan_instance`` (``kind`` "object"):
        ``object_id``, ``kind``, ``instrument``, ``name``, ``category``,
        ``ownership``, ``service``, ``district``, ``cost_tg`` (tenge; paid by
        the city or, for orders, by the owner), ``start_year``,
        ``wheelchair_gap`` (not wheelchair-accessible now) and ``geometry``
        when the objects have one; objects whose cost would be zero (nothing
        the programme adapts is missing) are not candidates.
    """
    statuses = objects[[f"status_{g}" for g in GROUPS]]
    lacking = objects[(statuses != "accessible").any(axis=1).to_numpy()]
    instrument = instrument_of(lacking["ownership"], lacking["category"])
    out = pd.DataFrame(
        {
            "object_id": lacking["object_id"].to_numpy(),
            "kind": "object",
            "instrument": instrument,
            "name": lacking["name"].to_numpy(),
            "category": lacking["category"].to_numpy(),
            "ownership": lacking["ownership"].to_numpy(),
            "service": lacking["service"].to_numpy(),
            "district": lacking["district"].to_numpy(),
            "cost_tg": adaptation_cost_tg(lacking, unit_cost_tg),
            "start_year": pd.Series(instrument).map(INSTRUMENT_START_YEAR).to_numpy(dtype=int),
            "wheelchair_gap": lacking["status_wheelchair"].ne("accessible").to_numpy(),
        }
    )
    if "geometry" in lacking:
        out["geometry"] = lacking.geometry.to_numpy()
    return out[out["cost_tg"] > 0].reset_index(drop=True)
