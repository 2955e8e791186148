"""Accessibility gap analysis: who cannot reach an accessible essential service in time.

For each essential service (``passport.SERVICES``) and disability group, the
travel time from every household to the nearest object of that service whose
passport status is *accessible* for the household's group is computed in one
multi-source Dijkstra pass per (service, group, profile) on the household's
travel profile (``profiles.household_profiles``: by group, wheelchair
households split between manual and powered chairs; or one forced profile).
Walking profiles are terrain-aware by default (directed grades from the DEM,
``terrain=False`` for the flat analysis). A household has a gap when that time
exceeds the service's threshold (``GAP_THRESHOLD_MIN``).

Households and objects farther than ``max_snap_m`` from the profile's
network are flagged (``snap_too_far``) instead of being silently snapped: their
times are NaN and their gap flags missing, and such objects are not used.

The result (:class:`GapAnalysis`) keeps what the what-if functions need to
recompute gaps when objects are adapted (made accessible for every group).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from geo.validate import TableSchema, validate_frame
from geo.crs import WGS84
from geo.passport import GROUPS, SERVICES, STATUSES
from geo.profiles import UNTAGGED_KERB_DEFAULT, get_profile, household_profiles
from geo.shortest_paths import ProfileGraph, profile_graph, snap, times_to_nearest, times_within

# Travel-time thresholds in minutes per essential service (planning defaults:
# daily needs within a 15-minute trip, periodic services within 30 minutes).
GAP_THRESHOLD_MIN: dict[str, float] = {
    "pharmacy": 15.0,
    "grocery": 15.0,
    "stop": 15.0,
    "medical": 30.0,
    "school": 30.0,
    "bank": 30.0,
    "social_services": 30.0,
}
MAX_SNAP_M: float = 500.0  # farther from the network than this: flagged, not snapped
H3_RESOLUTION: int = 8
MIN_HOUSEHOLDS_PER_CELL: int = 5  # smaller H3 cells are never published (privacy; applied in summarise)

GAP_HOUSEHOLDS_SCHEMA = TableSchema(
    name="households",
    id_column="household_id",
    required=("group", "people"),
    enums={"group": GROUPS},
    numeric=("people",),
)
GAP_OBJECTS_SCHEMA = TableSchema(
    name="objects",
    id_column="object_id",
    required=("service", *[f"status_{g}" for g in GROUPS]),
    enums={"service": SERVICES, **{f"status_{g}": STATUSES for g in GROUPS}},
    nullable=("service",),
)

Progress = Callable[[str], None]


@dataclass
class GapAnalysis:
    """The result of :func:`compute_gaps`.

    Attributes
    ----------
    households
        One row per household: ``household_id``, ``district``, ``h3``, ``group``,
        ``people``, ``welfare_level`` (when given), ``profile``, ``snap_m``,
        ``snap_too_far``, ``time_<service>_s`` (seconds; NaN if not snapped,
        inf if unreachable) and ``gap_<service>`` (nullable boolean), geometry.
    objects
        The service objects with ``object_id``, ``service``, statuses,
        ``snap_m``, ``snap_too_far`` and per profile ``pos_<profile>`` /
        ``access_<profile>_s`` (matrix position and access leg in seconds).
    thresholds_s
        Threshold per service in seconds.
    terrain
        Whether grades from the DEM were applied.
    untagged_kerb
        The untagged-crossing assumption used.
    """

    households: gpd.GeoDataFrame
    objects: pd.DataFrame
    thresholds_s: dict[str, float]
    terrain: bool = True
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT

    @property
    def services(self) -> list[str]:
        """The services analysed."""
        return list(self.thresholds_s)

    def graph(self, name: str) -> ProfileGraph:
        """The profile graph this analysis used for profile ``name``."""
        return profile_graph(name, self.terrain, self.untagged_kerb)

    def nearest_times(self, service: str, group: str, name: str, extra_sources: pd.DataFrame | None = None) -> np.ndarray:
        """Seconds from every node of profile ``name`` to the nearest usable object of ``service``
        accessible for ``group`` (plus ``extra_sources``, rows of ``objects``), access legs included."""
        usable = self.objects[~self.objects["snap_too_far"]]
        sources = usable[(usable["service"] == service) & (usable[f"status_{group}"] == "accessible")]
        if extra_sources is not None:
            sources = pd.concat([sources, extra_sources])
        return times_to_nearest(self.graph(name), sources[f"pos_{name}"].to_numpy(), sources[f"access_{name}_s"].to_numpy())


def _thresholds_s(thresholds_min: Mapping[str, float] | None) -> dict[str, float]:
    chosen = dict(GAP_THRESHOLD_MIN if thresholds_min is None else thresholds_min)
    unknown = set(chosen) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown service(s) {sorted(unknown)}; expected some of {list(SERVICES)}")
    bad = {s: t for s, t in chosen.items() if not (np.isfinite(t) and t > 0)}
    if bad:
        raise ValueError(f"thresholds must be positive minutes, got {bad}")
    return {s: float(t) * 60.0 for s, t in chosen.items()}


def _snap_columns(graph: ProfileGraph, points: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix positions, snap distances (m) and access legs (s) of points on ``graph``."""
    positions, distance_m = snap(graph, points.x.to_numpy(), points.y.to_numpy())
    return positions, distance_m, distance_m / graph.profile.access_speed_mps


def h3_cells(points: gpd.GeoSeries, resolution: int = H3_RESOLUTION) -> np.ndarray:
    """H3 cell id of each point at ``resolution``."""
    lonlat = points.to_crs(WGS84)
    return np.array([h3.latlng_to_cell(lat, lon, resolution) for lon, lat in zip(lonlat.x, lonlat.y)], dtype=object)


def compute_gaps(
    households: gpd.GeoDataFrame,
    objects: gpd.GeoDataFrame,
    profile: str | None = None,
    thresholds_min: Mapping[str, float] | None = None,
    max_snap_m: float = MAX_SNAP_M,
    on_pass: Progress | None = None,
    terrain: bool = True,
    untagged_kerb: str = UNTAGGED_KERB_DEFAULT,
) -> GapAnalysis:
    """Travel time from each household to the nearest accessible object of each service.

    Parameters
    ----------
    households
        Points with ``household_id``, ``group`` and ``people`` (``district`` and
        ``welfare_level`` are carried through when present).
    objects
        The passport registry (``object_id``, ``service``, ``status_<group>``).
    profile
        Force one travel profile for every household; None: by group
        (``profiles.household_profiles``).
    thresholds_min
        Threshold in minutes per service (default ``GAP_THRESHOLD_MIN``); only
        the services given are analysed.
    max_snap_m
        Points farther than this many metres from the network are flagged.
    on_pass
        Called with a label before each shortest-path pass (progress bars).
    terrain
        Directed grades from the DEM (speeds and grade limits); False: flat city.
    untagged_kerb
        What an untagged crossing's kerb is (``profiles.UNTAGGED_KERB_ASSUMPTIONS``).

    Returns
    -------
    GapAnalysis
    """
    thresholds_s = _thresholds_s(thresholds_min)
    if not max_snap_m > 0:
        raise ValueError(f"max_snap_m must be positive metres, got {max_snap_m}")
    households = validate_frame(households, GAP_HOUSEHOLDS_SCHEMA).reset_index(drop=True)
    objects = validate_frame(objects, GAP_OBJECTS_SCHEMA)
    objects = objects[objects["service"].isin(list(thresholds_s))]
    step = on_pass or (lambda label: None)

    out = households[[c for c in ("household_id", "district", "group", "people", "welfare_level") if c in households]].copy()
    out.insert(2, "h3", h3_cells(households.geometry))
    if profile is None:
        out["profile"] = household_profiles(households["household_id"], households["group"])
    else:
        get_profile(profile)
        out["profile"] = profile
    out["snap_m"] = np.nan
    service_objects = pd.DataFrame(objects.drop(columns="geometry"))
    service_objects["snap_m"] = np.inf
    positions = np.zeros(len(out), dtype=np.int64)
    access_s = np.zeros(len(out))
    for name in sorted(set(out["profile"])):
        graph = profile_graph(name, terrain, untagged_kerb)
        mine = (out["profile"] == name).to_numpy()
        positions[mine], out.loc[mine, "snap_m"], access_s[mine] = _snap_columns(graph, households.geometry[mine])
        pos, dist, acc = _snap_columns(graph, objects.geometry)
        service_objects[f"pos_{name}"], service_objects[f"access_{name}_s"] = pos, acc
        service_objects["snap_m"] = np.minimum(service_objects["snap_m"], dist)
    out["snap_too_far"] = out["snap_m"] > max_snap_m
    service_objects["snap_too_far"] = service_objects["snap_m"] > max_snap_m
    analysis = GapAnalysis(gpd.GeoDataFrame(), service_objects, thresholds_s, terrain, untagged_kerb)  # households below

    combinations = sorted(set(zip(out["group"], out["profile"])))
    for service, threshold_s in thresholds_s.items():
        times = np.full(len(out), np.nan)
        for group, name in combinations:
            step(f"{service} · {group} · {name}")
            mine = ((out["group"] == group) & (out["profile"] == name)).to_numpy()
            times[mine] = access_s[mine] + analysis.nearest_times(service, group, name)[positions[mine]]
        times[out["snap_too_far"].to_numpy()] = np.nan
        out[f"time_{service}_s"] = times
        out[f"gap_{service}"] = pd.array(np.where(np.isnan(times), None, times > threshold_s), dtype="boolean")
    out["_pos"], out["_access_s"] = positions, access_s
    analysis.households = gpd.GeoDataFrame(out, geometry=households.geometry, crs=households.crs)
    return analysis


def public_households(analysis: GapAnalysis) -> gpd.GeoDataFrame:
    """The per-household table without the internal snapping columns."""
    return analysis.households.drop(columns=["_pos", "_access_s"])


def summarise(analysis: GapAnalysis, by: str) -> pd.DataFrame:
    """Households, people and the share with a gap per service, grouped by ``by``.

    Parameters
    ----------
    analysis
        A gap analysis.
    by
        ``"district"``, ``"h3"`` or ``"profile"``.

    Returns
    -------
    DataFrame
        ``by``, ``households``, ``people``, ``households_flagged`` (not snapped),
        ``share_gap_<service>`` (fraction of snapped households with a gap),
        and ``people_gap_<service>``. H3 cells with fewer than
        ``MIN_HOUSEHOLDS_PER_CELL`` households are left out (privacy): this is
        the one place the threshold is applied to the gap tables, so the API,
        the maps and the files written from them never see those cells.
    """
    table = analysis.households
    if by not in ("district", "h3", "profile") or by not in table:
        raise ValueError(f"cannot summarise by {by!r}; expected 'district', 'h3' or 'profile'")
    grouped = table.groupby(by, sort=True)
    summary = pd.DataFrame({"households": grouped.size(), "people": grouped["people"].sum(),
                            "households_flagged": grouped["snap_too_far"].sum()})
    for service in analysis.services:
        gap = table[f"gap_{service}"]
        summary[f"share_gap_{service}"] = gap.astype("Float64").groupby(table[by]).mean().astype(float)
        summary[f"people_gap_{service}"] = (table["people"] * gap.fillna(False).astype(int)).groupby(table[by]).sum()
    if by == "h3":
        summary = summary[summary["households"] >= MIN_HOUSEHOLDS_PER_CELL]
    return summary.reset_index()


def group_gap_shares(analysis: GapAnalysis, group: str, by: str | None = None) -> pd.DataFrame:
    """Share of one group's snapped households with at least one gap, and the mean per-service share.

    Parameters
    ----------
    analysis
        A gap analysis.
    group
        Disability group (e.g. ``"wheelchair"``).
    by
        ``"district"``, ``"profile"`` or None (one row for the whole city, ``by`` = "all").

    Returns
    -------
    DataFrame
        ``by``, ``households`` (snapped), ``share_any_gap``, ``share_gap_mean``
        (mean over services of the share with a gap).
    """
    table = analysis.households
    table = table[(table["group"] == group) & ~table["snap_too_far"]]
    gaps = table[[f"gap_{s}" for s in analysis.services]].fillna(False).astype(bool)
    key = table[by] if by is not None else pd.Series("all", index=table.index)
    frame = pd.DataFrame({"households": 1, "share_any_gap": gaps.any(axis=1).astype(float),
                          "share_gap_mean": gaps.mean(axis=1)}, index=table.index)
    grouped = frame.groupby(key.rename(by or "by"), sort=True)
    return pd.DataFrame({"households": grouped["households"].sum(), "share_any_gap": grouped["share_any_gap"].mean(),
                         "share_gap_mean": grouped["share_gap_mean"].mean()}).reset_index()


def flat_vs_terrain(flat: GapAnalysis, terrain: GapAnalysis) -> pd.DataFrame:
    """Wheelchair households' gap shares per district and for the whole city ("Almaty"), flat against terrain-aware.

    Returns
    -------
    DataFrame
        ``district``, ``households``, ``share_any_gap_flat`` / ``_terrain``,
        ``share_gap_mean_flat`` / ``_terrain`` (``group_gap_shares``) and their
        changes ``change_any_gap``, ``change_gap_mean`` (terrain minus flat).
    """
    rows = []
    for by in ("district", None):
        both = group_gap_shares(flat, "wheelchair", by).merge(group_gap_shares(terrain, "wheelchair", by),
                                                               on=[by or "by", "households"], suffixes=("_flat", "_terrain"))
        rows.append(both.rename(columns={by or "by": "district"}).replace({"district": {"all": "Almaty"}}))
    table = pd.concat(rows, ignore_index=True)
    table["change_any_gap"] = table["share_any_gap_terrain"] - table["share_any_gap_flat"]
    table["change_gap_mean"] = table["share_gap_mean_terrain"] - table["share_gap_mean_flat"]
    return table


def hex_polygons(summary: pd.DataFrame) -> gpd.GeoDataFrame:
    """Attach the H3 cell polygons (WGS 84) to a per-cell summary."""
    from shapely.geometry import Polygon

    polygons = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]) for cell in summary["h3"]]
    return gpd.GeoDataFrame(summary, geometry=polygons, crs=WGS84)


def what_if(analysis: GapAnalysis, adapted_object_ids: Iterable[str]) -> pd.DataFrame:
    """Exactly recompute gaps after adapting objects (accessible for every group).

    Parameters
    ----------
    analysis
        The baseline analysis.
    adapted_object_ids
        Objects made accessible; they must be service objects of the analysis.

    Returns
    -------
    DataFrame
        One row per household and service whose gap closes: ``household_id``,
        ``service``, ``group``, ``people``, ``time_before_s``, ``time_after_s``.
    """
    adapted = _lookup(analysis, adapted_object_ids)
    table = analysis.households
    rows = []
    for service in sorted(set(adapted["service"]) & set(analysis.services)):
        for (group, name), households in table.groupby(["group", "profile"]):
            to_nearest = analysis.nearest_times(service, group, name, adapted[adapted["service"] == service])
            after = households["_access_s"].to_numpy() + to_nearest[households["_pos"].to_numpy()]
            before = households[f"time_{service}_s"].to_numpy()
            closes = households[f"gap_{service}"].fillna(False).to_numpy(dtype=bool) & (after <= analysis.thresholds_s[service])
            rows.append(pd.DataFrame({"household_id": households["household_id"].to_numpy()[closes], "service": service,
                                      "group": group, "people": households["people"].to_numpy()[closes],
                                      "time_before_s": before[closes], "time_after_s": after[closes]}))
    columns = ["household_id", "service", "group", "people", "time_before_s", "time_after_s"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def _lookup(analysis: GapAnalysis, object_ids: Iterable[str]) -> pd.DataFrame:
    """Rows of ``analysis.objects`` for ``object_ids``; a clear error for unknown or unusable ids."""
    ids = pd.Index(list(object_ids))
    indexed = analysis.objects.set_index("object_id", drop=False)
    unknown = ids.difference(indexed.index)
    if len(unknown):
        raise ValueError(f"object(s) {list(unknown[:5])} are not service objects of this analysis")
    chosen = indexed.loc[ids]
    flagged = chosen.loc[chosen["snap_too_far"], "object_id"]
    if len(flagged):
        raise ValueError(f"object(s) {list(flagged[:5])} lie farther than the snap limit from the network")
    return chosen.reset_index(drop=True)


def coverage(analysis: GapAnalysis, candidate_ids: Iterable[str], chunk: int = 256) -> pd.DataFrame:
    """Which gaps each candidate would close if it alone were adapted (sparse, long format).

    One bounded Dijkstra per candidate and profile (limited to the largest
    threshold), batched in chunks of ``chunk`` candidates.

    Returns
    -------
    DataFrame
        ``object_id``, ``household_id``, ``service``, ``group``, ``people``,
        ``time_after_s`` for every (candidate, household) pair where the
        household has a gap for the candidate's service and the candidate
        would bring it within the threshold.
    """
    candidates = _lookup(analysis, candidate_ids)
    candidates = candidates[candidates["service"].isin(analysis.services)]
    table = analysis.households
    services = analysis.services
    gap_matrix = np.column_stack([table[f"gap_{s}"].fillna(False).to_numpy(dtype=bool) for s in services])
    threshold_of = np.array([analysis.thresholds_s[s] for s in services])
    service_index = candidates["service"].map({s: i for i, s in enumerate(services)}).to_numpy(dtype=np.int64)
    limit = max(analysis.thresholds_s.values())
    frames = []
    for name, households in table.groupby("profile"):
        graph = analysis.graph(name)
        rows = households.index.to_numpy()
        node_of, access = households["_pos"].to_numpy(), households["_access_s"].to_numpy()
        for start in range(0, len(candidates), chunk):
            part = candidates.iloc[start : start + chunk]
            part_service = service_index[start : start + chunk]
            reach = times_within(graph, part[f"pos_{name}"].to_numpy(), limit).tocsc()[:, node_of].tocoo()
            k, h = reach.row, reach.col  # candidate within part, household within `households`
            total = reach.data + access[h] + part[f"access_{name}_s"].to_numpy()[k]
            ok = gap_matrix[rows[h], part_service[k]] & (total <= threshold_of[part_service[k]])
            frames.append(pd.DataFrame({"object_id": part["object_id"].to_numpy()[k[ok]],
                                        "household_id": households["household_id"].to_numpy()[h[ok]],
                                        "service": np.asarray(services, dtype=object)[part_service[k[ok]]],
                                        "group": households["group"].to_numpy()[h[ok]],
                                        "people": households["people"].to_numpy()[h[ok]], "time_after_s": total[ok]}))
    columns = ["object_id", "household_id", "service", "group", "people", "time_after_s"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
