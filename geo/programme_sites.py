"""Structural gaps (no adaptation can close them) and new accessible service points to close them.

A gap of a household for a service is *structural* when no candidate object of
that service lies within the service's threshold: adapting objects cannot
close it. For each service, the candidate sites are the centres of the H3
res-8 cells holding structural gaps, snapped to the walk network; their
coverage comes from ``geo.gaps.coverage`` on the analysis extended with the
sites (accessible for every group). Sites that close fewer than
``MIN_HOUSEHOLDS_PER_CELL`` structural gaps are not proposed (too few people,
and too close to a single household to publish).

* City-run services (``NEW_SITE_COST_TG``: social services, state polyclinic,
  state school): every site is a programme candidate (kind ``new_site`` on the
  city budget), and the MIP decides which to open and when.
* Other services (``RECOMMENDED_SITE_SERVICES``): the best sites by structural
  people served (greedy maximal covering) are reported as recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from shapely.geometry import Point

from geo.crs import UTM43N, WGS84
from geo.gaps import MAX_SNAP_M, MIN_HOUSEHOLDS_PER_CELL, GapAnalysis, coverage
from geo.passport import GROUPS
from geo.plan_instance import household_weights
from geo.programme_policy import (
    CITY_BUDGET,
    NEW_SITE_CATEGORY,
    NEW_SITE_COST_TG,
    NEW_SITE_START_YEAR,
    RECOMMENDED_SITE_SERVICES,
    RECOMMENDED_SITES_PER_SERVICE,
)
from geo.shortest_paths import profile_graph, snap

SITE_NETWORK_PROFILE: str = "walk"  # sites are placed on the walk network (pavements and paths)


@dataclass(frozen=True)
class SiteCandidates:
    """Structural gaps and the sites that could close them.

    Attributes
    ----------
    structural
        One row per structural gap: ``household_id``, ``service``, ``district``,
        ``h3``, ``people``, ``group``, ``welfare_level``.
    candidates
        New-site candidates for city-run services, in the generic candidate
        table (``geo.plan_instance.CANDIDATE_COLUMNS``) with ``service``,
        ``h3``, ``structural_households``, ``structural_people`` and ``geometry``.
    pairs
        Their coverage pairs (every gap each would close).
    recommendations
        The best sites for the other services: ``service``, ``rank``, ``h3``,
        ``district``, ``structural_households``, ``structural_people``, ``geometry``.
    """

    structural: pd.DataFrame
    candidates: gpd.GeoDataFrame
    pairs: pd.DataFrame
    recommendations: gpd.GeoDataFrame


def structural_gaps(analysis: GapAnalysis, pairs: pd.DataFrame) -> pd.DataFrame:
    """Gaps no candidate object closes (``pairs``: the coverage of every candidate object)."""
    table = analysis.households
    closable = set(zip(pairs["household_id"], pairs["service"]))
    rows = []
    for service in analysis.services:
        gap = table[table[f"gap_{service}"].fillna(False).to_numpy(dtype=bool)]
        open_ = [(h, service) not in closable for h in gap["household_id"]]
        rows.append(gap.loc[open_, ["household_id", "district", "h3", "people", "group", "welfare_level"]].assign(service=service))
    return pd.concat(rows, ignore_index=True)


def _site_points(structural: pd.DataFrame, services: tuple[str, ...]) -> gpd.GeoDataFrame:
    """One site per (service, H3 cell with structural gaps): the cell centre snapped to the walk network."""
    cells = structural[structural["service"].isin(services)].groupby(["service", "h3"])["district"].agg(
        lambda s: s.mode().iloc[0]).reset_index()
    centres = gpd.GeoSeries([Point(h3.cell_to_latlng(c)[::-1]) for c in cells["h3"]], crs=WGS84).to_crs(UTM43N)
    graph = profile_graph(SITE_NETWORK_PROFILE)
    position, _ = snap(graph, centres.x.to_numpy(), centres.y.to_numpy())
    xy = graph.xy[position]
    ids = [f"SITE-{s}-{c}" for s, c in zip(cells["service"], cells["h3"])]
    return gpd.GeoDataFrame({"object_id": ids, "service": cells["service"].to_numpy(), "h3": cells["h3"].to_numpy(),
                             "district": cells["district"].to_numpy()},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM43N)


def _with_sites(analysis: GapAnalysis, sites: gpd.GeoDataFrame) -> GapAnalysis:
    """The analysis with the sites added as service objects accessible for every group."""
    rows = pd.DataFrame({"object_id": sites["object_id"].to_numpy(), "service": sites["service"].to_numpy(),
                         **{f"status_{g}": "accessible" for g in GROUPS}})
    distance = np.zeros(len(sites))
    for column in [c for c in analysis.objects if c.startswith("pos_")]:
        graph = profile_graph(column.removeprefix("pos_"))
        rows[column], dist = snap(graph, sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
        rows[f"access_{column.removeprefix('pos_')}_s"] = dist / graph.profile.access_speed_mps
        distance = np.maximum(distance, dist)
    rows["snap_m"] = distance
    rows["snap_too_far"] = distance > MAX_SNAP_M
    return replace(analysis, objects=pd.concat([analysis.objects, rows], ignore_index=True))


def _structural_served(site_pairs: pd.DataFrame, structural: pd.DataFrame) -> pd.DataFrame:
    keys = set(zip(structural["household_id"], structural["service"]))
    served = site_pairs[[k in keys for k in zip(site_pairs["household_id"], site_pairs["service"])]]
    return served


def _greedy_cover(sites: gpd.GeoDataFrame, served: pd.DataFrame, count: int) -> list[tuple[str, set[str]]]:
    """Up to ``count`` sites of one service, each covering the most not yet covered structural weight."""
    by_site = {o: dict(zip(g["household_id"], g["weight"])) for o, g in served.groupby("object_id")}
    covered: set[str] = set()
    chosen = []
    for _ in range(count):
        gains = {o: sum(w for h, w in hh.items() if h not in covered) for o, hh in by_site.items() if o not in dict(chosen)}
        if not gains:
            break
        best = max(sorted(gains), key=lambda o: gains[o])
        new = set(by_site[best]) - covered
        if len(new) < MIN_HOUSEHOLDS_PER_CELL:
            break
        chosen.append((best, new))
        covered |= new
    return chosen


def site_candidates(analysis: GapAnalysis, object_pairs: pd.DataFrame) -> SiteCandidates:
    """Structural gaps, new-site candidates for city-run services with their coverage, and recommended sites."""
    structural = structural_gaps(analysis, object_pairs)
    services = tuple(s for s in (*NEW_SITE_COST_TG, *RECOMMENDED_SITE_SERVICES) if s in analysis.services)
    sites = _site_points(structural, services)
    extended = _with_sites(analysis, sites)
    usable = sites[~extended.objects.set_index("object_id").loc[sites["object_id"], "snap_too_far"].to_numpy()]
    site_pairs = coverage(extended, usable["object_id"])
    welfare = analysis.households.set_index("household_id")["welfare_level"]
    site_pairs = site_pairs.assign(welfare_level=welfare.loc[site_pairs["household_id"]].to_numpy())
    served = _structural_served(site_pairs, structural)
    served = served.assign(weight=household_weights(served))
    households = served.groupby("object_id")["household_id"].nunique()
    people = served.groupby("object_id")["people"].sum()
    usable = usable.assign(structural_households=usable["object_id"].map(households).fillna(0).astype(int),
                           structural_people=usable["object_id"].map(people).fillna(0).astype(int))
    usable = usable[usable["structural_households"] >= MIN_HOUSEHOLDS_PER_CELL]
    city = usable[usable["service"].isin(list(NEW_SITE_COST_TG))]
    candidates = city.assign(kind="new_site", instrument=CITY_BUDGET, category=NEW_SITE_CATEGORY,
                             name=[f"New accessible {s.replace('_', ' ')} point" for s in city["service"]],
                             ownership="state", cost_tg=city["service"].map(NEW_SITE_COST_TG).to_numpy(dtype=float),
                             start_year=NEW_SITE_START_YEAR, wheelchair_gap=False).reset_index(drop=True)
    recommended = []
    for service in RECOMMENDED_SITE_SERVICES:
        mine = usable[usable["service"] == service]
        picks = _greedy_cover(mine, served[served["object_id"].isin(mine["object_id"])], RECOMMENDED_SITES_PER_SERVICE)
        for rank, (object_id, new) in enumerate(picks, start=1):
            row = mine.set_index("object_id").loc[object_id]
            people_new = int(served[(served["object_id"] == object_id) & served["household_id"].isin(new)]["people"].sum())
            recommended.append({"service": service, "rank": rank, "h3": row["h3"], "district": row["district"],
                                "structural_households": len(new), "structural_people": people_new, "geometry": row.geometry})
    columns = ["service", "rank", "h3", "district", "structural_households", "structural_people", "geometry"]
    recommendations = gpd.GeoDataFrame(pd.DataFrame(recommended, columns=columns), geometry="geometry", crs=UTM43N)
    return SiteCandidates(structural, gpd.GeoDataFrame(candidates, geometry="geometry", crs=UTM43N),
                          site_pairs[site_pairs["object_id"].isin(candidates["object_id"])].reset_index(drop=True),
                          recommendations)
