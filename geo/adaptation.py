"""Adaptation candidates: what each object lacks, what fixing it costs, when it may start.

Adapting an object means adding every passport element it lacks, which makes
it accessible for every disability group (``passport.accessibility_status``).
The cost is the sum of the unit costs of the missing elements
(``UNIT_COST_TG``) times the category's size factor (``CATEGORY_SIZE_FACTOR``).
A missing entrance (no ramp and no step-free entrance) is fixed with a ramp.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geo.passport import GROUPS, PASSPORT_FIELDS

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
# Earliest year an adaptation may start, by ownership: the city funds its own
# (state) objects first; private owners follow a year later.
START_YEAR_BY_OWNERSHIP: dict[str, int] = {"state": 2026, "private": 2027}


def adaptation_cost_tg(objects: pd.DataFrame, unit_cost_tg: Mapping[str, float] | None = None) -> np.ndarray:
    """Cost in tenge of adding every missing passport element to each object.

    A field that is False counts as missing; True or not applicable (NA) costs
    nothing. The entrance needs a ramp only when there is neither a ramp nor a
    lift / step-free entrance.
    """
    costs = dict(UNIT_COST_TG if unit_cost_tg is None else unit_cost_tg)
    missing = {name: objects[name].eq(False).fillna(False).to_numpy(dtype=bool) for name in PASSPORT_FIELDS}
    total = np.zeros(len(objects))
    for name, unit in costs.items():
        if name == "ramp":
            total += unit * (missing["ramp"] & missing["step_free"])
        elif name in missing:
            total += unit * missing[name]
        else:
            raise ValueError(f"unit cost for unknown passport element {name!r}")
    factor = objects["category"].map(CATEGORY_SIZE_FACTOR).fillna(1.0).to_numpy(dtype=float)
    return total * factor


def candidates(
    objects: pd.DataFrame,
    unit_cost_tg: Mapping[str, float] | None = None,
    start_year_by_ownership: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Objects not yet accessible for every group, with cost and earliest start year.

    Returns
    -------
    DataFrame
        ``object_id``, ``name``, ``category``, ``ownership``, ``service``,
        ``district``, ``cost_tg``, ``start_year``; objects whose cost would be
        zero (nothing missing) are not candidates.
    """
    statuses = objects[[f"status_{g}" for g in GROUPS]]
    lacking = objects[(statuses != "accessible").any(axis=1).to_numpy()]
    starts = dict(START_YEAR_BY_OWNERSHIP if start_year_by_ownership is None else start_year_by_ownership)
    out = pd.DataFrame(
        {
            "object_id": lacking["object_id"].to_numpy(),
            "name": lacking["name"].to_numpy(),
            "category": lacking["category"].to_numpy(),
            "ownership": lacking["ownership"].to_numpy(),
            "service": lacking["service"].to_numpy(),
            "district": lacking["district"].to_numpy(),
            "cost_tg": adaptation_cost_tg(lacking, unit_cost_tg),
            "start_year": lacking["ownership"].map(starts).to_numpy(),
        }
    )
    if out["start_year"].isna().any():
        raise ValueError(f"no start year for ownership {sorted(set(out.loc[out['start_year'].isna(), 'ownership']))}")
    out["start_year"] = out["start_year"].astype(int)
    return out[out["cost_tg"] > 0].reset_index(drop=True)
