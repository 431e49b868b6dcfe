"""Service areas over a walking network agree with the walking distance of every point."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import LineString

from geogrid.network import WalkingGraph
from geogrid.network.areas import Reach, polygon_tolerance_m, service_area, walking_metres

# Metres. A river 100 m wide between its bank paths (y = +50 and y = -50), one footbridge at
# x = 800: the same hand-made network as test_graph.py.
NORTH = LineString([(0, 50), (800, 50), (3000, 50)])
SOUTH = LineString([(0, -50), (800, -50), (3000, -50)])
BRIDGE = LineString([(800, 50), (800, -50)])
ACCESS_M = 40.0


@pytest.fixture(scope="module")
def river() -> WalkingGraph:
    return WalkingGraph([NORTH, SOUTH, BRIDGE])


def _lattice(seed: int) -> WalkingGraph:
    """A city block lattice (80 m blocks) with a fifth of its streets missing."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(15):
        for j in range(15):
            for dx, dy in ((1, 0), (0, 1)):
                if rng.random() > 0.2:
                    lines.append(LineString([(i * 80, j * 80), ((i + dx) * 80, (j + dy) * 80)]))
    return WalkingGraph(lines)


def test_the_area_stays_on_its_bank_until_the_bridge(river: WalkingGraph) -> None:
    (station,) = river.join([100], [70])  # 20 m north of the north bank path
    area = service_area(Reach.from_origin(river, station, 1000), 1000, ACCESS_M)
    assert shapely.contains_xy(area, 100, 60)
    assert not shapely.contains_xy(area, 100, -60)  # 120 m away, across the river
    # over the bridge: 20 + 700 + 100 = 820 m at its south end, 180 m left along the bank
    assert shapely.contains_xy(area, 800 - 170, -60)
    assert not shapely.contains_xy(area, 800 - 200, -60)
    _minx, miny, maxx, _maxy = area.bounds
    # 1000 m from the station's foot at x = 100, less its 20 m to the path: x = 1080
    assert miny == pytest.approx(-50 - ACCESS_M) and maxx == pytest.approx(1080)


def test_a_point_and_the_polygon_never_disagree(river: WalkingGraph) -> None:
    rng = np.random.default_rng(16)
    for graph, origins in ((river, [(100, 70), (2000, -55)]), (_lattice(3), [(520, 530)])):
        for ox, oy in origins:
            (station,) = graph.join([ox], [oy])
            reach = Reach.from_origin(graph, station, 1000)
            for metres in (300, 500, 1000):
                area = service_area(reach, metres, ACCESS_M)
                x = ox + rng.uniform(-metres - 100, metres + 100, 1000)
                y = oy + rng.uniform(-metres - 100, metres + 100, 1000)
                d = walking_metres(reach, x, y, ACCESS_M)
                inside = shapely.contains_xy(area, x, y)
                # inside the drawn polygon: within, exactly
                assert not (inside & (d > metres)).any()
                # within with the polygon's tolerance to spare (on both the distance and the
                # access leg): inside the drawn polygon
                tol = polygon_tolerance_m(ACCESS_M)
                clear = walking_metres(reach, x, y, ACCESS_M - tol) <= metres - tol
                assert inside[clear].all()
                assert clear.sum() > 20 and (~inside).sum() > 20  # both sides were tried


def test_a_point_walks_the_best_way_to_the_door(river: WalkingGraph) -> None:
    (station,) = river.join([100], [70])
    reach = Reach.from_origin(river, station, 5000)
    # on the station's own path: along it, leaving it for the door as soon as the door is
    # within the access leg (40 m) rather than at the door's foot
    shortcut = 200 - np.sqrt(40**2 - 10**2)
    assert walking_metres(reach, [300], [60], ACCESS_M)[0] == pytest.approx(20 + shortcut + 40)
    # across the river: round by the bridge, then back along the south bank
    assert walking_metres(reach, [100], [-60], ACCESS_M)[0] == pytest.approx(
        20 + 700 + 100 + 700 - np.sqrt(40**2 - 10**2) + 40
    )
    # too far from any path: not reached on the network
    assert walking_metres(reach, [300], [200], ACCESS_M)[0] == np.inf


def test_nothing_beyond_the_reach_is_drawn(river: WalkingGraph) -> None:
    (station,) = river.join([100], [70])
    reach = Reach.from_origin(river, station, 500)
    with pytest.raises(ValueError, match="only goes to 500"):
        service_area(reach, 800, ACCESS_M)
    assert walking_metres(reach, [900], [60], ACCESS_M)[0] == np.inf
