"""Walks from every station agree with the one-station reach the service areas are drawn from."""

from __future__ import annotations

import numpy as np
import pytest
from shapely import LineString

from geogrid.network import WalkingGraph
from geogrid.network.areas import Reach, walking_metres
from geogrid.network.walks import StationWalks

NORTH = LineString([(0, 50), (800, 50), (3000, 50)])
SOUTH = LineString([(0, -50), (800, -50), (3000, -50)])
BRIDGE = LineString([(800, 50), (800, -50)])


def test_every_station_s_walk_to_a_point_equals_its_reach() -> None:
    graph = WalkingGraph([NORTH, SOUTH, BRIDGE])
    stations = [(100.0, 70.0), (2000.0, -55.0), (805.0, 0.0), (300.0, 60.0)]
    walks = StationWalks(graph, stations, access_m=40)
    rng = np.random.default_rng(3)
    for x, y in zip(rng.uniform(-100, 3100, 300), rng.uniform(-120, 120, 300), strict=True):
        found = walks.metres_to(x, y)
        for i, (sx, sy) in enumerate(stations):
            reach = Reach.from_origin(graph, graph.join([sx], [sy])[0], np.inf)
            expected = walking_metres(reach, [x], [y], 40)[0]
            if np.isinf(expected):
                assert np.isinf(found[i])
            else:  # float32 node metres: within a centimetre
                assert found[i] == pytest.approx(expected, abs=0.01)


def test_a_point_across_the_river_is_walked_round_by_the_bridge() -> None:
    graph = WalkingGraph([NORTH, SOUTH, BRIDGE])
    walks = StationWalks(graph, [(100.0, 70.0)], access_m=40)
    shortcut = np.sqrt(40**2 - 10**2)  # the last leg leaves the path 40 m before the door
    assert walks.metres_to(100, -60)[0] == pytest.approx(20 + 700 + 100 + 700 - shortcut + 40)
    assert walks.metres_to(100, -200)[0] == np.inf  # 150 m from any path
