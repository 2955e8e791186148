"""The shipped Almaty networks load in osmnx, are metric and connected."""

from __future__ import annotations

import networkx as nx
import pytest

from geo.crs import UTM43N
from geo.network import load_graph, load_network_frames


@pytest.fixture(scope="module")
def drive() -> nx.MultiDiGraph:
    return load_graph("drive")


def test_drive_network_is_strongly_connected_where_it_should_be(drive: nx.MultiDiGraph) -> None:
    largest = max(nx.strongly_connected_components(drive), key=len)
    assert len(largest) >= 0.95 * drive.number_of_nodes()
    assert drive.number_of_nodes() > 10_000  # whole city, not a clip


def test_networks_are_projected_to_utm_metres(drive: nx.MultiDiGraph) -> None:
    assert drive.graph["crs"] == UTM43N
    nodes, edges = load_network_frames("walk")
    assert nodes.crs == UTM43N and edges.crs == UTM43N
    assert (edges["length"] > 0).all()
    # the stored length (metres) matches the projected geometry within 1 %
    ratio = edges["length"] / edges.geometry.length
    assert ratio.between(0.99, 1.01).mean() > 0.99


def test_2025_centre_is_joined_to_the_2012_city(drive: nx.MultiDiGraph) -> None:
    _, edges = load_network_frames("drive")
    largest = max(nx.strongly_connected_components(drive), key=len)
    in_largest = edges.index.get_level_values("u").isin(largest)
    sources = set(edges.loc[in_largest, "source_extract"])
    assert sources == {"2012", "2025"}


def test_walk_network_has_both_directions_and_steps() -> None:
    walk = load_graph("walk")
    largest = max(nx.strongly_connected_components(walk), key=len)
    assert len(largest) == walk.number_of_nodes()  # pedestrians may walk every way both ways
    _, edges = load_network_frames("walk")
    assert (edges["highway"] == "steps").sum() > 100  # the 2025 centre maps steps
    assert edges["wheelchair"].notna().any()


def test_unknown_network_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown network 'bike'"):
        load_graph("bike")  # type: ignore[arg-type]
