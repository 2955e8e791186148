"""The programme's value terms beyond closing gaps: home entrances, choice and footfall.

* *Home entrance*: each household of a ``HOME_GROUPS`` group is linked to its
  nearest housing block (within ``HOME_LINK_MAX_M``); if that block is a
  candidate (its entrance lacks a ramp or a wide door) adapting it is worth the
  household's weight x ``VALUE_WEIGHTS["home_entrance"]``.
* *Choice*: an adapted object of an essential service also serves the people
  nearby (its H3 res-8 cell and ``NEARBY_RING`` rings around it) who already
  have an accessible option in reach and for whose group the object is not yet
  accessible: their weight x ``VALUE_WEIGHTS["choice"]``.
* *Footfall*: a mass-visit object (``MASS_VISIT_CATEGORIES``) without an
  essential service serves visitors: the weight of the people nearby for whose
  group it is not accessible x ``VALUE_WEIGHTS["footfall"]``.

The weight of a household is people x welfare priority x group priority
(``geo.plan_instance.household_weights``). All values are per remaining year.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from geo.gaps import GapAnalysis, h3_cells
from geo.passport import GROUPS
from geo.plan_instance import household_weights
from geo.programme_policy import HOME_GROUPS, HOME_LINK_MAX_M, MASS_VISIT_CATEGORIES, NEARBY_RING


def home_links(households: gpd.GeoDataFrame, objects: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each ``HOME_GROUPS`` household's nearest housing block within ``HOME_LINK_MAX_M`` metres.

    Returns
    -------
    DataFrame
        ``household_id``, ``object_id`` (the block), ``distance_m``, ``people``,
        ``group``, ``welfare_level``; households with no block that near are left out.
    """
    mine = households[households["group"].isin(HOME_GROUPS)][["household_id", "people", "group", "welfare_level", "geometry"]]
    blocks = objects.loc[objects["category"] == "housing", ["object_id", "geometry"]].to_crs(mine.crs)
    joined = gpd.sjoin_nearest(mine, blocks, how="inner", max_distance=HOME_LINK_MAX_M, distance_col="distance_m")
    joined = joined.sort_values(["household_id", "distance_m", "object_id"]).drop_duplicates("household_id")
    return pd.DataFrame(joined[["household_id", "object_id", "distance_m", "people", "group", "welfare_level"]]).reset_index(drop=True)


def home_entrance_value(links: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Per housing block: ``home_households``, ``home_people`` and ``home_value`` (weight x linked households' weights)."""
    table = links.assign(value=household_weights(links) * weight)
    return table.groupby("object_id").agg(home_households=("household_id", "size"), home_people=("people", "sum"),
                                          home_value=("value", "sum"))


def _weighted_by_cell(analysis: GapAnalysis, mask: np.ndarray) -> dict[tuple[str, str], float]:
    """Household weight summed per (H3 cell, group) over the households in ``mask``."""
    table = analysis.households[mask]
    weight = household_weights(table)
    return pd.Series(weight).groupby([table["h3"].to_numpy(), table["group"].to_numpy()]).sum().to_dict()


def nearby_value(analysis: GapAnalysis, candidates: gpd.GeoDataFrame, objects: pd.DataFrame,
                 weights: Mapping[str, float]) -> pd.DataFrame:
    """Choice and footfall value of each candidate (index ``object_id``: ``choice_value``, ``footfall_value``).

    ``objects`` gives the candidates' per-group statuses (``status_<group>``).
    """
    households = analysis.households
    snapped = ~households["snap_too_far"].to_numpy()
    everyone = _weighted_by_cell(analysis, snapped)
    has_option = {s: _weighted_by_cell(analysis, snapped & households[f"gap_{s}"].eq(False).fillna(False).to_numpy(bool))
                  for s in analysis.services}
    statuses = objects.set_index("object_id").loc[candidates["object_id"], [f"status_{g}" for g in GROUPS]].to_numpy()
    cells = h3_cells(candidates.geometry)
    rings: dict[str, list[str]] = {}
    choice, footfall = np.zeros(len(candidates)), np.zeros(len(candidates))
    services = candidates["service"].to_numpy()
    footfall_ok = candidates["category"].isin(MASS_VISIT_CATEGORIES).to_numpy()
    for i, cell in enumerate(cells):
        service = services[i]
        table = has_option.get(service) if isinstance(service, str) else (everyone if footfall_ok[i] else None)
        if table is None:
            continue
        ring = rings.setdefault(cell, list(h3.grid_disk(cell, NEARBY_RING)))
        groups = [g for g, status in zip(GROUPS, statuses[i]) if status != "accessible"]
        total = sum(table.get((c, g), 0.0) for c in ring for g in groups)
        if isinstance(service, str):
            choice[i] = total * weights["choice"]
        else:
            footfall[i] = total * weights["footfall"]
    return pd.DataFrame({"choice_value": choice, "footfall_value": footfall}, index=candidates["object_id"].to_numpy())


def add_value_terms(analysis: GapAnalysis, candidates: gpd.GeoDataFrame, objects: gpd.GeoDataFrame,
                    weights: Mapping[str, float]) -> pd.DataFrame:
    """The candidates with ``home_households``, ``home_people``, ``home_value``, ``choice_value``,
    ``footfall_value`` and their sum ``extra_value`` (per remaining year)."""
    links = home_links(analysis.households, objects)
    home = home_entrance_value(links, weights["home_entrance"])
    near = nearby_value(analysis, candidates, objects, weights)
    out = candidates.copy()
    for column in ("home_households", "home_people", "home_value"):
        out[column] = out["object_id"].map(home[column]).fillna(0).to_numpy()
    out.loc[out["category"] != "housing", ["home_households", "home_people", "home_value"]] = 0
    out["choice_value"] = near["choice_value"].to_numpy()
    out["footfall_value"] = near["footfall_value"].to_numpy()
    out["extra_value"] = out["home_value"] + out["choice_value"] + out["footfall_value"]
    return out
