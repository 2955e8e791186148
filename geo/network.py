"""Load the shipped Almaty street networks as osmnx graphs (UTM 43N, metres)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import geopandas as gpd
import networkx as nx
import osmnx as ox

from geo.crs import UTM43N
from geo.paths import NETWORK_DIR

Network = Literal["drive", "walk"]
NETWORKS: tuple[str, ...] = ("drive", "walk")


def _check(network: str) -> None:
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {NETWORKS}")


@lru_cache(maxsize=2)
def load_network_frames(network: Network) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of the ``drive`` or ``walk`` network as GeoDataFrames.

    Nodes are indexed by OSM node id with ``x``, ``y`` in metres (EPSG:32643);
    edges by ``(u, v, key)`` with ``length`` in metres, ``highway``, ``oneway``
    and the accessibility tags kept by the import (surface, smoothness,
    wheelchair, sac_scale, incline, footway). Callers must not mutate them.
    """
    _check(network)
    nodes = gpd.read_parquet(NETWORK_DIR / f"{network}_nodes.parquet")
    edges = gpd.read_parquet(NETWORK_DIR / f"{network}_edges.parquet")
    if nodes.crs != UTM43N or edges.crs != UTM43N:
        raise ValueError(f"{network} network files must be in {UTM43N}")
    return nodes, edges


def load_graph(network: Network) -> nx.MultiDiGraph:
    """A fresh osmnx MultiDiGraph of the ``drive`` or ``walk`` network (UTM 43N).

    The drive graph is directed (one-way streets); the walk graph holds both
    directions of every way. Edge ``length`` is in metres.
    """
    nodes, edges = load_network_frames(network)
    return ox.graph_from_gdfs(nodes, edges, graph_attrs={"crs": UTM43N, "network_type": network})
