"""Snapping an imported grid layer's vertices onto each other and onto the community lines.

Files drawn in desktop GIS rarely share vertices exactly. A vertex is *settled* when two or
more grids already use it or it is a vertex of the fixed community lines; settled vertices never
move. Every other vertex within the tolerance (0.5 m) of a settled one moves onto the nearest;
loose vertices of different grids that are within the tolerance of each other meet at one of
them. A clean layer therefore passes through unchanged, and vertex-to-vertex snapping never
drags an edge across a neighbour the way GEOS segment snapping can; what it cannot mend,
validation reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

SNAP_TOLERANCE_M = 0.5


def _find(parent: npt.NDArray[np.int64], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def snap_layer(
    grids: Sequence[BaseGeometry],
    fixed_lines: Sequence[BaseGeometry | None],
    tolerance: float = SNAP_TOLERANCE_M,
) -> list[BaseGeometry]:
    """Snap metric grid polygons' vertices onto each other and onto fixed lines.

    Parameters
    ----------
    grids : sequence of Polygon/MultiPolygon
        In metres (EPSG:4548).
    fixed_lines : sequence
        Lines that must not move (community boundaries), any number, None entries ignored.
    tolerance : float
        Metres.

    Returns
    -------
    list of geometries, same order; a grid that needed no change is the same object.

    Examples
    --------
    >>> from shapely import box
    >>> a, b = box(0, 0, 10, 10), box(10.3, 0, 20, 10)
    >>> snapped = snap_layer([a, b], [])
    >>> round(snapped[0].union(snapped[1]).area, 6), snapped[0] is a
    (200.0, True)
    """
    coords, owner = shapely.get_coordinates(list(grids), return_index=True)
    unique, inverse = np.unique(coords, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    # Which grids use each unique vertex (ring closures repeat a vertex within one grid).
    pairs = np.unique(np.column_stack([inverse, owner]), axis=0)
    support = np.bincount(pairs[:, 0], minlength=len(unique))
    single_owner = np.full(len(unique), -1)
    single_owner[pairs[:, 0]] = pairs[:, 1]
    fixed = [g for g in fixed_lines if g is not None]
    fixed_coords = np.unique(shapely.get_coordinates(fixed), axis=0) if fixed else np.empty((0, 2))
    on_fixed = np.zeros(len(unique), dtype=bool)
    if len(fixed_coords):
        hits = shapely.STRtree(shapely.points(fixed_coords)).query(
            shapely.points(unique), predicate="dwithin", distance=0.0
        )[0]
        on_fixed[hits] = True
    settled = (support >= 2) | on_fixed
    targets = np.vstack([unique[settled], fixed_coords])
    candidates = np.vstack([unique, targets])
    target = np.arange(len(unique))
    loose = np.flatnonzero(~settled)
    if len(loose) and len(targets):
        found, nearest = shapely.STRtree(shapely.points(targets)).query_nearest(
            shapely.points(unique[loose]), max_distance=tolerance
        )
        target[loose[found]] = len(unique) + nearest
    still = loose[target[loose] == loose]
    if len(still) > 1:
        points = shapely.points(unique[still])
        left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=tolerance)
        parent = np.arange(len(still))
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if single_owner[still[a]] != single_owner[still[b]]:
                ra, rb = _find(parent, a), _find(parent, b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        for k in range(len(still)):
            target[still[k]] = still[_find(parent, k)]
    moved = target != np.arange(len(unique))
    if not moved.any():
        return list(grids)
    new_coords = candidates[target[inverse]]
    out: list[BaseGeometry] = []
    for index, geom in enumerate(grids):
        mine = owner == index
        if not moved[inverse[mine]].any():
            out.append(geom)
            continue
        replacement = new_coords[mine]
        snapped = shapely.transform(geom, lambda _xy, r=replacement: r)
        snapped = shapely.remove_repeated_points(snapped)
        if not snapped.is_valid:
            snapped = _polygonal(shapely.make_valid(snapped))
        out.append(snapped)
    return out


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom
