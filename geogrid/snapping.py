"""Snapping an imported grid layer onto itself and onto the fixed community lines.

Files drawn in desktop GIS rarely share vertices exactly. Before validation, every grid's
vertices within the tolerance (0.5 m) of a community boundary or of a neighbouring grid are
moved onto it, and the neighbour's vertices lying on a grid's edges are inserted into that edge
(GEOS snapping does both), so that neighbours end up sharing vertices (DESIGN.md "Storage").
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry.base import BaseGeometry

SNAP_TOLERANCE_M = 0.5


def snap_layer(
    grids: Sequence[BaseGeometry],
    fixed_lines: Sequence[BaseGeometry | None],
    tolerance: float = SNAP_TOLERANCE_M,
    passes: int = 2,
) -> list[BaseGeometry]:
    """Snap metric grid polygons to fixed lines and to each other.

    Parameters
    ----------
    grids : sequence of Polygon/MultiPolygon
        In metres (EPSG:4548).
    fixed_lines : sequence
        Per grid, the boundary it must fit (its community's), or None.
    tolerance : float
        Metres.
    passes : int
        Neighbour snapping passes; the second picks up vertices the first inserted.

    Returns
    -------
    list of geometries, same order; a grid that needed no change is returned as the same object.

    Examples
    --------
    >>> from shapely import box
    >>> a, b = box(0, 0, 10, 10), box(10.3, 0, 20, 10)
    >>> snapped = snap_layer([a, b], [None, None])
    >>> round(snapped[0].union(snapped[1]).area, 6)
    200.0
    """
    out = list(grids)
    for i, line in enumerate(fixed_lines):
        if line is not None:
            out[i] = _keep_if_same(out[i], shapely.snap(out[i], line, tolerance))
    for _ in range(passes):
        tree = shapely.STRtree(out)
        for i, geom in enumerate(out):
            near = [j for j in tree.query(geom, predicate="dwithin", distance=tolerance)
                    if j != i]
            if not near:
                continue
            reference = shapely.union_all([out[j].boundary for j in near])
            out[i] = _keep_if_same(geom, shapely.snap(geom, reference, tolerance))
    return out


def _keep_if_same(before: BaseGeometry, after: BaseGeometry) -> BaseGeometry:
    if shapely.equals_exact(before, after, 0.0):
        return before
    if not after.is_valid:
        repaired = shapely.make_valid(after)
        polygons = [p for p in shapely.get_parts(repaired)
                    if p.geom_type in ("Polygon", "MultiPolygon")]
        after = shapely.union_all(polygons) if polygons else before
    return after
