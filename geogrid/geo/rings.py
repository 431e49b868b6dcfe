"""A grid layer's rings, as PostGIS reads them and as edges between grids.

* :func:`polygons_state` is PostGIS's own point-in-polygon test (the winding number of
  ``itree_point_in_ring``, the same ``side`` expression compared with exactly 0.0): the
  reference that :class:`geogrid.geo.locator.GridIndex` falls back on, whose answer is
  PostGIS's by construction.
* :class:`Edges` are the rings' segments with the grid on each side: the two copies of a segment
  that two grids share (the same two vertices) become one edge that knows both grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

OUTSIDE = -1


def ring_state(ring: F64, x: float, y: float) -> int:
    """PostGIS's point-in-ring: 1 inside, 0 on the boundary, -1 outside (same arithmetic)."""
    x1, y1 = ring[:-1, 0], ring[:-1, 1]
    x2, y2 = ring[1:, 0], ring[1:, 1]
    side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
    on = (
        (side == 0.0)
        & (x >= np.minimum(x1, x2))
        & (x <= np.maximum(x1, x2))
        & (y >= np.minimum(y1, y2))
        & (y <= np.maximum(y1, y2))
    )
    if on.any():
        return 0
    up = (y1 <= y) & (y < y2) & (side > 0)
    down = (y2 <= y) & (y < y1) & (side < 0)
    return 1 if int(up.sum()) - int(down.sum()) != 0 else -1


def polygons_state(polygons: list[list[F64]], x: float, y: float) -> int:
    """PostGIS's point-in-multipolygon: 1 inside, 0 boundary, -1 outside."""
    for rings in polygons:
        state = ring_state(rings[0], x, y)
        if state == 0:
            return 0
        if state == 1:
            inside = True
            for hole in rings[1:]:
                hole_state = ring_state(hole, x, y)
                if hole_state == 0:
                    return 0
                if hole_state == 1:
                    inside = False
                    break
            if inside:
                return 1
    return -1


@dataclass(frozen=True)
class Rings:
    """Every grid's rings in one coordinate array, for the exact test."""

    coords: F64
    ring_start: I64  #: ring r is coords[ring_start[r] : ring_start[r + 1]]
    ring_grid: I64  #: the grid of each ring, ascending
    exterior: Bools
    _polygons: dict[int, list[list[F64]]] = field(default_factory=dict, repr=False)

    def polygons(self, grid: int) -> list[list[F64]]:
        """The grid's polygons, each as its exterior ring and then its holes."""
        cached = self._polygons.get(grid)
        if cached is not None:
            return cached
        found: list[list[F64]] = []
        first, last = np.searchsorted(self.ring_grid, [grid, grid + 1]).tolist()
        for r in range(first, last):
            ring = self.coords[self.ring_start[r] : self.ring_start[r + 1]]
            if self.exterior[r]:
                found.append([ring])
            else:
                found[-1].append(ring)
        self._polygons[grid] = found
        return found


@dataclass(frozen=True)
class Edges:
    """Segments of the grids' rings, west end first, with the grid on each side.

    ``left`` and ``right`` are the grids on either side looking from the first end to the second
    (-1: none known). A segment that two grids share is one edge with both; any other segment is
    an edge of its own, its grid on one side and -1 on the other.
    """

    x1: F64
    y1: F64
    x2: F64  #: x1 <= x2
    y2: F64
    left: I32
    right: I32

    def __len__(self) -> int:
        return len(self.x1)

    @property
    def east(self) -> I32:
        """The grid east of each edge (where a walk from the west ends up once it crosses)."""
        return np.where(self.y2 > self.y1, self.right, self.left)

    def enclosed(self, grids: int) -> Bools:
        """Whether every edge of each grid is another grid's too (same two vertices)."""
        found = np.ones(grids, dtype=bool)
        found[self.left[self.right == OUTSIDE]] = False
        found[self.right[self.left == OUTSIDE]] = False
        return found


def read_rings(geoms: Sequence[BaseGeometry]) -> tuple[Rings, Edges]:
    """The rings of ``geoms`` (Polygon/MultiPolygon; grid i is ``geoms[i]``), and their edges."""
    array = np.array(geoms, dtype=object)
    polygons, polygon_grid = shapely.get_parts(array, return_index=True)
    rings, ring_polygon = shapely.get_rings(polygons, return_index=True)
    exterior = np.concatenate([[True], ring_polygon[1:] != ring_polygon[:-1]])
    ccw = shapely.is_ccw(rings)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    seg_ring = ring_of[:-1][same]
    edges = merge_edges(
        coords[:-1, 0][same],
        coords[:-1, 1][same],
        coords[1:, 0][same],
        coords[1:, 1][same],
        polygon_grid[ring_polygon[seg_ring]],
        # The polygon's interior is left of an exterior CCW ring or a hole CW ring.
        exterior[seg_ring] == ccw[seg_ring],
    )
    found = Rings(
        coords,
        np.searchsorted(ring_of, np.arange(len(rings) + 1)),
        polygon_grid[ring_polygon],
        exterior,
    )
    return found, edges


def merge_edges(x1: F64, y1: F64, x2: F64, y2: F64, owner: I64, inner_left: Bools) -> Edges:
    """Ring segments as :class:`Edges`.

    The two copies of a segment that two grids share (the same two vertices, the grids on
    opposite sides) become one edge with both grids; every other segment stays an edge of its
    own. Zero-length segments separate nothing and are dropped.

    Parameters
    ----------
    x1, y1, x2, y2
        The segments of every ring, in ring order.
    owner
        The grid of each segment's ring.
    inner_left
        Whether that grid's interior is on the segment's left (as drawn, from x1, y1).

    Examples
    --------
    >>> a = np.array
    >>> edges = merge_edges(
    ...     a([1.0, 1.0, 0.0]), a([0.0, 1.0, 0.0]), a([1.0, 1.0, 1.0]), a([1.0, 0.0, 0.0]),
    ...     a([0, 1, 0]), a([True, True, True]),
    ... )
    >>> len(edges), edges.left.tolist(), edges.right.tolist()
    (2, [0, 0], [1, -1])
    """
    keep = (x1 != x2) | (y1 != y2)
    x1, y1, x2, y2, owner, inner_left = (a[keep] for a in (x1, y1, x2, y2, owner, inner_left))
    flip = (x1 > x2) | ((x1 == x2) & (y1 > y2))
    x1, y1, x2, y2 = (
        np.where(flip, x2, x1),
        np.where(flip, y2, y1),
        np.where(flip, x1, x2),
        np.where(flip, y1, y2),
    )
    on_left = inner_left != flip
    left = np.where(on_left, owner, OUTSIDE)
    right = np.where(on_left, OUTSIDE, owner)
    # Copies are the same four floats: sorted, they are neighbours.
    order = np.lexsort((y2, x2, y1, x1))
    ends = np.column_stack([x1, y1, x2, y2])[order]
    same = (ends[1:] == ends[:-1]).all(axis=1)
    starts = np.flatnonzero(np.concatenate([[True], ~same, [True]]))
    pairs = starts[:-1][np.diff(starts) == 2]
    a, b = order[pairs], order[pairs + 1]
    shared = (on_left[a] != on_left[b]) & (owner[a] != owner[b])
    a, b = a[shared], b[shared]
    left[a] = np.maximum(left[a], left[b])
    right[a] = np.maximum(right[a], right[b])
    edge = np.ones(len(x1), dtype=bool)
    edge[b] = False
    return Edges(
        x1[edge],
        y1[edge],
        x2[edge],
        y2[edge],
        left[edge].astype(np.int32),
        right[edge].astype(np.int32),
    )
