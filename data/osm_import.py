"""Turn the raw Almaty OpenStreetMap extracts into the compact files shipped in ``data/``.

This is a developer step (``invaplan data import-osm``), run once when the
source extracts change; the product itself only reads the output. Two OSM
extracts are merged by stable OSM ids and position:

* the whole city as of 2012 (sparse but complete in extent), and
* the detailed centre as of 2025 (footways, steps, kerbs, wheelchair tags).

Inside the 2025 centre's bounding box the 2025 data replace the 2012 data:
a 2012 street segment whose two end nodes both lie inside the box is dropped,
every 2025 segment is kept, and where both extracts hold the same node pair the
2025 segment wins. 2012 segments that cross the box edge keep their inner end
node, which (node ids being stable) joins the 2025 network.

Outputs (all GeoParquet, geometries in UTM 43N metres):

* ``network/drive_nodes.parquet``, ``network/drive_edges.parquet``
* ``network/walk_nodes.parquet``, ``network/walk_edges.parquet``
* ``osm/pois.parquet`` (amenities, shops, healthcare, buildings used for housing)
* ``osm/stops.parquet`` (public-transport stops)
* ``osm/districts.parquet`` (the 8 district boundaries)
* ``dem/almaty_srtm3.npz`` (SRTM3 heights cropped to the walk network, ``data.dem_import``)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd

from data.dem_import import import_dem
from geo.crs import CENTRE_2025_BBOX_DEG, UTM43N, WGS84
from geo.paths import DEM_FILE, SHIPPED_DATA_DIR

CITY_2012_FILE: str = "almaty-2012-clean.osm.bz2"
CENTRE_2025_FILE: str = "almaty-center-2025-clean.osm.bz2"
STOPS_FILE: str = "almaty-geofabrik-transport-points.shp"
DISTRICTS_FILE: str = "almaty-districts-osm.geojson"
SRTM_DIR: str = "srtm"
DEM_RELATIVE_PATH: Path = DEM_FILE.relative_to(SHIPPED_DATA_DIR)

# Highway values that carry cars (osmnx's "drive" network, plus links).
DRIVE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "road",
    }
)
# Service roads a taxi may not use.
DRIVE_EXCLUDED_SERVICE: frozenset[str] = frozenset(
    {"parking", "parking_aisle", "private", "emergency_access", "drive-through"}
)
# Highway values no pedestrian uses (osmnx's "walk" exclusions).
WALK_EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway", "motorway_link", "abandoned", "bus_guideway", "construction", "cycleway",
        "no", "planned", "platform", "proposed", "raceway", "razed", "bridleway", "corridor",
        "elevator", "escape", "busway", "rest_area", "services",
    }
)
ONEWAY_TRUE: frozenset[str] = frozenset({"yes", "true", "1"})

# Way tags kept on edges: the routing-relevant ones and those the travel
# profiles read (steps and their ramps, surface, smoothness, sac_scale,
# incline, wheelchair), plus ``kerb`` and ``kerb_node`` set per segment from
# the way's kerb and crossing nodes (``_segment_kerb``).
EDGE_TAGS: tuple[str, ...] = (
    "highway", "name", "service", "maxspeed", "surface", "smoothness", "wheelchair",
    "sac_scale", "incline", "footway", "access", "ramp", "ramp:wheelchair", "kerb", "kerb_node",
)
# Tags whose change along a way must stay a node in the simplified graph (a
# kerb segment stays its own edge, so a fix opens exactly that edge).
EDGE_TAGS_DIFFER: tuple[str, ...] = (
    "highway", "surface", "smoothness", "wheelchair", "sac_scale", "incline", "access",
    "ramp", "ramp:wheelchair", "kerb", "kerb_node",
)
# Kerb value recorded on a crossing segment whose crossing node has no kerb tag
# (the travel profiles decide what an unknown kerb means, geo.barriers).
UNTAGGED_KERB: str = "unknown"
# Tags only the walking profiles read: not kept on the drive network (so it is
# not split at kerbs and its nodes and times do not change).
WALK_ONLY_TAGS: frozenset[str] = frozenset({"ramp", "ramp:wheelchair", "kerb", "kerb_node"})
# Long simplified edges are split so that no point beside a street is far from
# a node: a building at the middle of a 3 km edge would otherwise snap 1.5 km away.
MAX_EDGE_M: float = 200.0
POI_KEYS: tuple[str, ...] = ("amenity", "shop", "healthcare", "leisure", "tourism", "office")
HOUSING_BUILDINGS: frozenset[str] = frozenset({"apartments", "residential", "dormitory"})
POI_COLUMNS: tuple[str, ...] = (
    *POI_KEYS, "building", "name", "wheelchair", "addr:street", "addr:housenumber",
)


@dataclass
class _Extract:
    """Nodes, highway ways and POIs read from one OSM file (WGS 84 degrees)."""

    node_lonlat: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_kerb: dict[int, tuple[str, bool]] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    pois: list[dict] = field(default_factory=list)


def _read_extract(path: Path, source: str) -> _Extract:
    """Read the nodes, highway ways and POIs of one OSM file with pyosmium."""
    import osmium  # imported here: only this developer step needs it

    out = _Extract()
    poi_ways: list[tuple[int, list[int], dict[str, str]]] = []

    class Handler(osmium.SimpleHandler):
        def node(self, n) -> None:  # noqa: ANN001 - osmium type
            out.node_lonlat[n.id] = (n.location.lon, n.location.lat)
            tags = dict(n.tags)
            kerb = _node_kerb(tags)
            if kerb is not None:
                out.node_kerb[n.id] = kerb
            if any(k in tags for k in POI_KEYS) or tags.get("highway") == "bus_stop":
                out.pois.append(_poi_row("node", n.id, tags, n.location.lon, n.location.lat, source))

        def way(self, w) -> None:  # noqa: ANN001 - osmium type
            tags = dict(w.tags)
            refs = [nd.ref for nd in w.nodes]
            if "highway" in tags and tags.get("area") != "yes" and len(refs) >= 2:
                out.ways.append((w.id, refs, tags))
            elif any(k in tags for k in POI_KEYS) or tags.get("building") in HOUSING_BUILDINGS:
                poi_ways.append((w.id, refs, tags))

    Handler().apply_file(str(path))
    for way_id, refs, tags in poi_ways:
        coords = np.array([out.node_lonlat[r] for r in refs if r in out.node_lonlat])
        if len(coords):
            lon, lat = coords.mean(axis=0)
            out.pois.append(_poi_row("way", way_id, tags, float(lon), float(lat), source))
    return out


def _node_kerb(tags: dict[str, str]) -> tuple[str, bool] | None:
    """Kerb of a node and whether it is a crossing node, or None for other nodes.

    A node with ``kerb=*`` or ``barrier=kerb`` is a kerb (``barrier=kerb``
    alone: ``UNTAGGED_KERB``); a ``highway=crossing`` node without a kerb tag
    is a crossing of unknown kerb.
    """
    crossing = tags.get("highway") == "crossing"
    if "kerb" in tags:
        return tags["kerb"], crossing
    if tags.get("barrier") == "kerb" or crossing:
        return UNTAGGED_KERB, crossing
    return None


def _segment_kerb(refs: list[int], tags: dict[str, str], node_kerb: dict) -> list[tuple[str, int] | None]:
    """Kerb crossed on each segment of a way, as (kerb value, kerb node id), or None.

    A kerb node counts on the segments of a crossing way (``footway=crossing``)
    that touch it, and on the segments of any other way when it lies inside the
    way (a kerb at a way's end is a junction: the crossing way carries it). A
    crossing node counts only on crossing ways (it also lies on the road).
    Where a segment touches two kerbs, a raised one wins.
    """
    is_crossing_way = tags.get("footway") == "crossing" or "crossing" in tags
    out: list[tuple[str, int] | None] = []
    for k, (u, v) in enumerate(zip(refs[:-1], refs[1:])):
        found = []
        for index, node in ((k, u), (k + 1, v)):
            if node not in node_kerb:
                continue
            value, crossing_node = node_kerb[node]
            interior = 0 < index < len(refs) - 1
            if is_crossing_way or (interior and not crossing_node):
                found.append((value, node))
        found.sort(key=lambda item: item[0] != "raised")
        out.append(found[0] if found else None)
    return out


def _poi_row(osm_type: str, osm_id: int, tags: dict[str, str], lon: float, lat: float, source: str) -> dict:
    row = {"osm_type": osm_type, "osm_id": int(osm_id), "source": source, "lon": lon, "lat": lat}
    row["highway"] = tags.get("highway")
    for key in POI_COLUMNS:
        row[key] = tags.get(key)
    return row


def _in_centre(lonlat: tuple[float, float]) -> bool:
    lon_min, lat_min, lon_max, lat_max = CENTRE_2025_BBOX_DEG
    return lon_min <= lonlat[0] <= lon_max and lat_min <= lonlat[1] <= lat_max


def _merged_segments(old: _Extract, new: _Extract) -> tuple[dict, list]:
    """Merge both extracts into node coordinates and tagged segments.

    Returns
    -------
    node_lonlat, segments
        ``node_lonlat`` maps node id to (lon, lat); ``segments`` is a list of
        ``(u, v, way_id, tags, source)`` for consecutive way nodes; ``tags``
        include ``kerb`` and ``kerb_node`` where the segment crosses a kerb.
    """
    node_lonlat = {**old.node_lonlat, **new.node_lonlat}
    node_kerb = {**old.node_kerb, **new.node_kerb}
    segments: list[tuple[int, int, int, dict, str]] = []
    seen_pairs: set[frozenset[int]] = set()
    for way_id, refs, tags in new.ways:
        for (u, v), kerb in zip(zip(refs[:-1], refs[1:]), _segment_kerb(refs, tags, node_kerb)):
            if u != v:
                segments.append((u, v, way_id, _with_kerb(tags, kerb), "2025"))
                seen_pairs.add(frozenset((u, v)))
    for way_id, refs, tags in old.ways:
        for (u, v), kerb in zip(zip(refs[:-1], refs[1:]), _segment_kerb(refs, tags, node_kerb)):
            if u == v or frozenset((u, v)) in seen_pairs:
                continue
            if _in_centre(node_lonlat[u]) and _in_centre(node_lonlat[v]):
                continue
            segments.append((u, v, way_id, _with_kerb(tags, kerb), "2012"))
    return node_lonlat, segments


def _with_kerb(tags: dict[str, str], kerb: tuple[str, int] | None) -> dict:
    """The way's tags, with the segment's ``kerb`` value and ``kerb_node`` id when it crosses one."""
    if kerb is None:
        return tags
    return {**tags, "kerb": kerb[0], "kerb_node": kerb[1]}


def _is_drive(tags: dict[str, str]) -> bool:
    return (
        tags.get("highway") in DRIVE_HIGHWAYS
        and tags.get("service") not in DRIVE_EXCLUDED_SERVICE
        and tags.get("access") not in {"private", "no"}
        and tags.get("motor_vehicle") != "no"
        and tags.get("motorcar") != "no"
    )


def _is_walk(tags: dict[str, str]) -> bool:
    return (
        tags.get("highway") not in WALK_EXCLUDED_HIGHWAYS
        and tags.get("foot") != "no"
        and tags.get("service") != "private"
        and tags.get("access") not in {"private", "no"}
    )


def _oneway_direction(tags: dict[str, str]) -> int:
    """Return 1 (forward only), -1 (backward only) or 0 (both ways) for cars."""
    value = tags.get("oneway", "")
    if value == "-1":
        return -1
    if value in ONEWAY_TRUE or tags.get("junction") == "roundabout" or tags.get("highway") == "motorway":
        return 1
    return 0


def _build_graph(node_lonlat: dict, segments: list, network: str) -> nx.MultiDiGraph:
    """Build, simplify and project one osmnx-style graph ("drive" or "walk")."""
    keep = _is_drive if network == "drive" else _is_walk
    G = nx.MultiDiGraph(crs=WGS84, network_type=network)
    for u, v, way_id, tags, source in segments:
        if not keep(tags):
            continue
        attrs = {k: tags[k] for k in EDGE_TAGS if k in tags and (network == "walk" or k not in WALK_ONLY_TAGS)}
        attrs.update(osmid=way_id, source_extract=source)
        direction = _oneway_direction(tags) if network == "drive" else 0
        for a, b in ((u, v), (v, u)):
            G.add_node(a, x=node_lonlat[a][0], y=node_lonlat[a][1])
        if direction >= 0:
            G.add_edge(u, v, oneway=direction == 1, reversed=False, **attrs)
        if direction <= 0:
            G.add_edge(v, u, oneway=direction == -1, reversed=direction == 0, **attrs)
    G = ox.distance.add_edge_lengths(G)  # great-circle metres per raw segment; summed when simplifying
    G = ox.simplify_graph(G, edge_attrs_differ=list(EDGE_TAGS_DIFFER))
    G.remove_edges_from(list(nx.selfloop_edges(G)))  # closed service loops: useless for routing
    G = ox.truncate.largest_component(G, strongly=False)
    return _densify(ox.project_graph(G, to_crs=UTM43N), MAX_EDGE_M)


def _densify(G: nx.MultiDiGraph, max_edge_m: float) -> nx.MultiDiGraph:
    """Split edges longer than ``max_edge_m`` metres into equal pieces joined by synthetic nodes.

    Synthetic nodes get negative ids. The two directions of a two-way street
    share the same synthetic nodes. Lengths are split in proportion.
    """
    from shapely.geometry import LineString
    from shapely.ops import substring

    made: dict[tuple, list[int]] = {}
    next_id = -1
    for u, v, key, attrs in list(G.edges(keys=True, data=True)):
        length = attrs["length"]
        pieces = int(np.ceil(length / max_edge_m))
        if pieces <= 1:
            continue
        line = attrs.get("geometry") or LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        forward = u < v or (u == v)
        osmid = attrs.get("osmid")
        pair = (min(u, v), max(u, v), round(line.length, 1), tuple(sorted(set(osmid))) if isinstance(osmid, list) else osmid)
        if pair not in made:
            ids = list(range(next_id, next_id - (pieces - 1), -1))
            next_id -= pieces - 1
            base = line if forward else LineString(line.coords[::-1])
            for k, node in enumerate(ids, start=1):
                point = base.interpolate(k / pieces, normalized=True)
                G.add_node(node, x=point.x, y=point.y)
            made[pair] = ids
        ids = made[pair] if forward else made[pair][::-1]
        chain = [u, *ids, v]
        G.remove_edge(u, v, key)
        for k, (a, b) in enumerate(zip(chain[:-1], chain[1:])):
            piece = substring(line, k / pieces, (k + 1) / pieces, normalized=True)
            G.add_edge(a, b, **{**attrs, "length": length / pieces, "geometry": piece})
    return G


def _scalar(value: object) -> object:
    """Collapse a simplified edge's list attribute to one value (the first)."""
    if isinstance(value, list):
        return value[0]
    return value


def _graph_frames(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Node and edge GeoDataFrames with scalar, parquet-friendly columns."""
    nodes, edges = ox.graph_to_gdfs(G)
    nodes = nodes[["x", "y", "geometry"]]
    nodes.index = nodes.index.astype("int64")
    for column in edges.columns:
        if column != "geometry" and edges[column].dtype == object:
            edges[column] = edges[column].map(_scalar)
    edges["osmid"] = edges["osmid"].astype("int64")
    edges["length"] = edges["length"].astype("float64")
    if "kerb_node" in edges.columns:
        edges["kerb_node"] = edges["kerb_node"].astype("Int64")
    for flag in ("oneway", "reversed"):
        edges[flag] = edges[flag].astype(bool)
    keep = ["osmid", "highway", "name", "oneway", "reversed", "length", "source_extract", "geometry"]
    keep += [c for c in EDGE_TAGS if c in edges.columns and c not in keep]
    return nodes, edges[keep]


def _pois_frame(old: _Extract, new: _Extract) -> gpd.GeoDataFrame:
    """POIs of both extracts: 2025 inside the centre, 2012 outside it."""
    rows = [p for p in new.pois] + [p for p in old.pois if not _in_centre((p["lon"], p["lat"]))]
    frame = pd.DataFrame(rows).drop_duplicates(["osm_type", "osm_id"], keep="first")
    geometry = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"), crs=WGS84)
    return gpd.GeoDataFrame(frame, geometry=geometry).to_crs(UTM43N).reset_index(drop=True)


def _stops_frame(source_dir: Path, pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Public-transport stops: the Geofabrik layer plus centre bus stops it lacks."""
    layer = gpd.read_file(source_dir / STOPS_FILE)
    layer = layer[layer["fclass"].isin(["bus_stop", "bus_station", "tram_stop"])]
    stops = gpd.GeoDataFrame(
        {"osm_id": layer["osm_id"].astype("int64"), "name": layer["name"], "fclass": layer["fclass"]},
        geometry=layer.geometry,
        crs=layer.crs,
    ).to_crs(UTM43N)
    extra = pois[(pois["highway"] == "bus_stop") & ~pois["osm_id"].isin(stops["osm_id"])]
    extra = gpd.GeoDataFrame(
        {"osm_id": extra["osm_id"], "name": extra["name"], "fclass": "bus_stop"}, geometry=extra.geometry
    )
    return pd.concat([stops, extra], ignore_index=True).drop_duplicates("osm_id").reset_index(drop=True)


def import_osm(source_dir: Path, out_dir: Path) -> dict[str, int]:
    """Read the raw extracts in ``source_dir`` and write the shipped files to ``out_dir``.

    Parameters
    ----------
    source_dir
        Folder holding the files named by ``CITY_2012_FILE``, ``CENTRE_2025_FILE``,
        ``STOPS_FILE`` and ``DISTRICTS_FILE``, and the SRTM tiles in ``SRTM_DIR``.
    out_dir
        The shipped data directory (``data/``).

    Returns
    -------
    dict
        Row counts of what was written.
    """
    old = _read_extract(source_dir / CITY_2012_FILE, "2012")
    new = _read_extract(source_dir / CENTRE_2025_FILE, "2025")
    node_lonlat, segments = _merged_segments(old, new)
    (out_dir / "network").mkdir(parents=True, exist_ok=True)
    (out_dir / "osm").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for network in ("drive", "walk"):
        nodes, edges = _graph_frames(_build_graph(node_lonlat, segments, network))
        nodes.to_parquet(out_dir / "network" / f"{network}_nodes.parquet", compression="zstd")
        edges.to_parquet(out_dir / "network" / f"{network}_edges.parquet", compression="zstd")
        counts[f"{network}_nodes"], counts[f"{network}_edges"] = len(nodes), len(edges)
        if network == "walk":  # the walk network spans the drive one: crop the DEM to it
            counts.update(import_dem(source_dir / SRTM_DIR, nodes, out_dir / DEM_RELATIVE_PATH))
    pois = _pois_frame(old, new)
    stops = _stops_frame(source_dir, pois)
    pois = pois[pois["highway"] != "bus_stop"].drop(columns="highway").reset_index(drop=True)
    pois.to_parquet(out_dir / "osm" / "pois.parquet", compression="zstd")
    stops.to_parquet(out_dir / "osm" / "stops.parquet", compression="zstd")
    districts = gpd.read_file(source_dir / DISTRICTS_FILE)[["name", "osm_name", "osm_id", "geometry"]]
    districts.to_crs(UTM43N).to_parquet(out_dir / "osm" / "districts.parquet", compression="zstd")
    counts.update(pois=len(pois), stops=len(stops), districts=len(districts))
    return counts

