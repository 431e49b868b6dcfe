"""Walking distances over a hand-made network: a river with one bridge, and a flyover."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely import LineString

from geogrid.network import WalkingGraph

# Metres. A river runs east-west along y = 0; a path follows each bank (y = +50 and y = -50)
# with a vertex at x = 800, where a footbridge crosses; at x = 150 a flyover crosses the river
# and both bank paths without sharing a vertex with them (it does not meet them).
NORTH = LineString([(0, 50), (800, 50), (3000, 50)])
SOUTH = LineString([(0, -50), (800, -50), (3000, -50)])
BRIDGE = LineString([(800, 50), (800, -50)])
FLYOVER = LineString([(150, 200), (150, -200)])


@pytest.fixture(scope="module")
def graph() -> WalkingGraph:
    return WalkingGraph([NORTH, SOUTH, BRIDGE, FLYOVER])


def test_across_the_river_the_walk_goes_round_by_the_bridge(graph: WalkingGraph) -> None:
    a, b = graph.join([100, 100], [60, -60])
    assert (a.access, b.access) == (pytest.approx(10), pytest.approx(10))
    straight = math.hypot(0, 120)
    walked = graph.distance(a, b)
    # 10 to the path, 700 along the bank, 100 over the bridge, 700 back, 10 to the door
    assert walked == pytest.approx(10 + 700 + 100 + 700 + 10)
    assert walked > 10 * straight  # a straight line (even times a detour factor) is wrong here


def test_lines_that_cross_without_a_shared_vertex_do_not_meet(graph: WalkingGraph) -> None:
    (on_flyover,) = graph.join([150], [0])
    (north,) = graph.join([100], [55])  # 5 m from the bank path, 50 m from the flyover
    assert on_flyover.access == pytest.approx(0)
    assert graph.distance(on_flyover, north) == math.inf  # no level crossing is invented


def test_points_on_one_path_walk_along_it(graph: WalkingGraph) -> None:
    a, b = graph.join([1000, 2500], [55, 45])
    assert graph.distance(a, b) == pytest.approx(5 + 1500 + 5)
    assert graph.distance(b, a) == pytest.approx(graph.distance(a, b))


def test_a_limit_leaves_the_far_nodes_unreached(graph: WalkingGraph) -> None:
    (a,) = graph.join([100], [60])
    near = graph.distances_from(a, limit=800)
    assert np.isfinite(near).sum() < graph.nodes
    assert np.nanmax(near[np.isfinite(near)]) <= 800
    full = graph.distances_from(a)
    reached = np.isfinite(near)
    assert np.allclose(near[reached], full[reached])


def test_an_empty_network_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one path"):
        WalkingGraph([LineString([(0, 0), (0, 0)])])
