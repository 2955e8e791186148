"""Street-barrier fixes as programme candidates on the city budget, with the gaps they close.

Each fix of ``geo.barriers.barrier_candidates`` (a kerb ramp at a raised-kerb
crossing, a ramp or a platform lift at steps) that closes at least one
household gap becomes a row of the generic candidate table
(``geo.plan_instance.CANDIDATE_COLUMNS``): kind ``barrier_fix``, the city
budget, category ``street_barrier``, its cost from the one unit-cost table
(``geo.barriers.BARRIER_UNIT_COST_TG``), the district it lies in, and the same
earliest year as any city-budget action. Its value is in the same terms as any
candidate's, weighted person-years of the gaps it closes (people x welfare x
group priority x the ``gap`` weight); it has no value of its own (home
entrance, choice, footfall).

Its pairs say when a gap closes: the gaps it closes alone (a way opens to an
object that is accessible today) as ordinary pairs, and the gaps it closes
only together with adapting an object behind it as pairs that *require* that
object (``geo.plan_instance.REQUIRES``), so the programme counts such a gap
only from the year both are done. Gaps that need two or more fixes are not
credited, and fixes that close no gap alone or with one object are left out:
the programme never counts a gap its actions do not close.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo.barriers import barrier_candidates
from geo.crs import UTM43N
from geo.districts import assign_district
from geo.gaps import GapAnalysis
from geo.plan_instance import PAIR_COLUMNS, REQUIRES
from geo.programme_policy import CITY_BUDGET, INSTRUMENT_START_YEAR

BARRIER_FIX_KIND: str = "barrier_fix"
BARRIER_CATEGORY: str = "street_barrier"
FIX_LABEL: dict[str, str] = {"kerb_ramp": "Kerb ramp at a crossing", "ramp": "Ramp at steps", "lift": "Platform lift at steps"}


@dataclass(frozen=True)
class BarrierFixes:
    """Barrier fixes for the programme.

    Attributes
    ----------
    candidates
        Generic candidate rows (UTM 43N) with ``name``, ``fix`` (``kerb_ramp``,
        ``ramp``, ``lift``), ``barrier`` and the barrier's geometry.
    pairs
        ``PAIR_COLUMNS`` + ``requires`` (the object a joint gap also needs, else None).
    """

    candidates: gpd.GeoDataFrame
    pairs: pd.DataFrame


def barrier_fixes(analysis: GapAnalysis, object_ids: pd.Series, object_pairs: pd.DataFrame) -> BarrierFixes:
    """The fixes that close a gap, alone or with one object adapted, as programme candidates.

    Parameters
    ----------
    analysis
        The baseline gap analysis.
    object_ids
        Ids of the candidate objects (those the programme may adapt).
    object_pairs
        The gaps each candidate object closes alone (``geo.gaps.coverage`` layout).
    """
    partners = analysis.objects[analysis.objects["object_id"].isin(object_ids)]
    found = barrier_candidates(analysis, partners, object_pairs)
    alone = found.coverage.rename(columns={"candidate_id": "object_id"}).assign(**{REQUIRES: None})
    joint = found.joint.rename(columns={"object_id": REQUIRES, "candidate_id": "object_id"})
    pairs = pd.concat([alone, joint], ignore_index=True)
    welfare = analysis.households.set_index("household_id")["welfare_level"]
    pairs = pairs.assign(welfare_level=welfare.loc[pairs["household_id"]].to_numpy())[[*PAIR_COLUMNS, REQUIRES]]
    useful = found.candidates[found.candidates["candidate_id"].isin(pairs["object_id"])]
    candidates = gpd.GeoDataFrame({
        "object_id": useful["candidate_id"].to_numpy(), "kind": BARRIER_FIX_KIND, "instrument": CITY_BUDGET,
        "name": [f"{FIX_LABEL[k]} ({c})" for k, c in zip(useful["kind"], useful["candidate_id"])],
        "category": BARRIER_CATEGORY, "ownership": "state", "service": None,
        "district": assign_district(useful.geometry), "cost_tg": useful["cost_tg"].to_numpy(dtype=float),
        "start_year": INSTRUMENT_START_YEAR[CITY_BUDGET], "wheelchair_gap": False, "extra_value": 0.0,
        "fix": useful["kind"].to_numpy(), "barrier": useful["barrier"].to_numpy(),
    }, geometry=useful.geometry.to_numpy(), crs=UTM43N)
    return BarrierFixes(candidates, pairs.reset_index(drop=True))
