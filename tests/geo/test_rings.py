"""A layer's rings as edges: shared segments merged, the grid on each side, enclosed grids."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import Polygon

from geogrid.geo.rings import OUTSIDE, polygons_state, read_rings

WEST, EAST = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)


def edge_at(edges: object, x1: float, y1: float, x2: float, y2: float) -> int:
    found = np.flatnonzero(
        (edges.x1 == x1) & (edges.y1 == y1) & (edges.x2 == x2) & (edges.y2 == y2)  # type: ignore[attr-defined]
    )
    assert len(found) == 1, (x1, y1, x2, y2)
    return int(found[0])


def test_a_shared_segment_is_one_edge_with_a_grid_on_each_side() -> None:
    _, edges = read_rings([WEST, EAST])
    assert len(edges) == 7  # 8 segments, the shared one counted once
    shared = edge_at(edges, 1, 0, 1, 1)  # drawn west end first, then south to north
    assert (edges.left[shared], edges.right[shared]) == (0, 1)
    assert edges.east[shared] == 1
    outer = edge_at(edges, 0, 0, 1, 0)  # the south side of WEST: WEST is on its left
    assert (edges.left[outer], edges.right[outer]) == (0, OUTSIDE)


def test_edges_run_west_to_east_whichever_way_the_ring_goes() -> None:
    _, edges = read_rings([WEST.reverse(), EAST])
    assert (edges.x1 <= edges.x2).all()
    shared = edge_at(edges, 1, 0, 1, 1)
    assert (edges.left[shared], edges.right[shared]) == (0, 1)


def test_a_t_junction_keeps_its_segments_apart() -> None:
    # A's east side is one segment; B's and C's west sides are two: no vertex in common.
    _, edges = read_rings(
        [shapely.box(0, 0, 1, 2), shapely.box(1, 0, 2, 1), shapely.box(1, 1, 2, 2)]
    )
    long = edge_at(edges, 1, 0, 1, 2)
    assert (edges.left[long], edges.right[long]) == (0, OUTSIDE)
    assert edges.enclosed(3).tolist() == [False, False, False]


def test_zero_length_segments_are_dropped() -> None:
    repeated = Polygon([(0, 0), (1, 0), (1, 0), (1, 1), (0, 1)])
    _, edges = read_rings([repeated])
    assert len(edges) == 4 and ((edges.x1 != edges.x2) | (edges.y1 != edges.y2)).all()


def test_a_grid_whose_every_edge_is_shared_is_enclosed() -> None:
    hole = [(1.4, 0.4), (1.6, 0.4), (1.6, 0.6), (1.4, 0.6)]
    with_hole = Polygon([(1, 0), (2, 0), (2, 1), (1, 1)], holes=[hole])
    _, edges = read_rings([WEST, with_hole, Polygon(hole)])
    assert edges.enclosed(3).tolist() == [False, False, True]


def test_the_rings_answer_as_postgis_does() -> None:
    hole = [(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]
    rings, _ = read_rings([Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], holes=[hole])])
    polygons = rings.polygons(0)
    assert [len(p) for p in polygons] == [2]  # one exterior, one hole
    states = [
        polygons_state(polygons, x, y) for x, y in ((0.2, 0.2), (0.5, 0.5), (0.4, 0.5), (1, 1))
    ]
    assert states == [1, -1, 0, 0]
