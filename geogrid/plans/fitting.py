"""The precision pipeline every plan edit goes through: incoming geometry is fitted onto the
grids it touches, then checked.

geogrid stores full precision but answers with 7 decimals (about 1 cm, geogrid.geo.output),
and a geometry may come back through GCJ-02 or BD-09 (round trip under 1 cm) or a desktop
GIS's own rounding. An edge a planner cut "along" a grid boundary from such an answer then
wanders a few millimetres either side of the stored edge, and the edit would leave slivers:
a grid in two pieces joined at a point, or a hair-thin gap. So, before any rule is checked,
each incoming vertex within :data:`SNAP_TOLERANCE_M` of the touched grids' outlines is put on
them:

1. onto a grid vertex within reach (the stored vertex, bit for bit), and the stored vertices
   within reach of an incoming segment are inserted into it (GEOS snapping, ``shapely.snap``);
2. a vertex still within reach of a grid edge, but of none of its vertices, is moved onto the
   nearest point of that edge (GEOS snaps only to vertices, so this step is ours);
3. step 1 once more, for the segments step 2 moved.

Where the edge is depends on who looks: GCJ-02, BD-09 and projections are not linear, so a
straight stored edge between two vertices is, seen in the client's system, a slightly bent
line, and the client's own straight edge between the same two vertices misses it by the bend
(over 10 cm on a 1 km edge in BD-09). The client means its straight edge. So a geometry that
comes in a client's system is fitted there first (:func:`to_storage_fitted`): a vertex on a
grid's vertex as the client sees it becomes the stored vertex, and a vertex at fraction t of
an edge as the client sees it becomes the point at fraction t of the stored edge. Then it is
fitted again in storage at every replay (:func:`fit`), which changes nothing that came in
fitted, and catches what a rebase moved.

A geometry that was exact passes through unchanged; a geometry cut from geogrid's own output
becomes the exact one it was cut from, so it is accepted wherever the exact one would be.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.geo.datum import CRS_NAMES, from_storage, geometry_to_storage
from geogrid.plans.geometry import ON_EDGE, clean

#: Metres: incoming vertices this close to a grid's vertex or edge are put on it. Five times
#: the rounding of geogrid's answers (about 0.7 cm at worst, both axes) plus a GCJ-02 round
#: trip (under 1 cm); far below anything a planner means to draw (edits under 1 m² are
#: slivers, geogrid.plans.geometry.MIN_AREA_M2).
SNAP_TOLERANCE_M = 0.05
#: The tolerance in storage degrees, as a degree of latitude measures it (111,320 m). A
#: degree of longitude is shorter (cos 31.9° ≈ 0.85 in Yaohai), so east–west the reach is
#: about 4.2 cm: never more than :data:`SNAP_TOLERANCE_M` in any direction.
SNAP_TOLERANCE_DEGREES = SNAP_TOLERANCE_M / 111_320.0


def outlines(geometries: Iterable[BaseGeometry], near: BaseGeometry) -> BaseGeometry | None:
    """The boundaries of ``geometries`` whose boxes come within reach of ``near``'s box.

    Returns None when none does (nothing to fit to).
    """
    reach = shapely.box(*near.bounds).buffer(SNAP_TOLERANCE_DEGREES, join_style="mitre")
    found = [g.boundary for g in geometries if reach.intersects(shapely.box(*g.bounds))]
    return shapely.union_all(found) if found else None


def fit(geom: BaseGeometry, reference: BaseGeometry | None) -> BaseGeometry:
    """``geom`` with its vertices put on ``reference`` (grid outlines) where within reach.

    Parameters
    ----------
    geom : shapely geometry
        An incoming area or line, in storage coordinates.
    reference : shapely geometry or None
        The outlines to fit to (:func:`outlines`); None returns ``geom`` as it is.

    Returns
    -------
    shapely geometry
        Of the same type; the same object when nothing was within reach.

    Examples
    --------
    >>> import shapely
    >>> grid = shapely.box(117.0, 31.0, 117.01, 31.01)
    >>> cut = shapely.box(117.0, 31.0, 117.005, 31.0100001)  # its top 1 cm off
    >>> fitted = fit(cut, grid.boundary)
    >>> sorted({round(y, 10) for _, y in fitted.exterior.coords})
    [31.0, 31.01]
    """
    if reference is None or geom.is_empty:
        return geom
    tolerance = SNAP_TOLERANCE_DEGREES
    snapped = shapely.snap(geom, reference, tolerance)
    coords = shapely.get_coordinates(snapped)
    points = shapely.points(coords)
    distance = shapely.distance(points, reference)
    # A vertex within a float's width of an edge is on it already (it becomes a vertex of
    # the edge, geogrid.plans.layer.Layer.fit); moving it by 1e-10 m can only fold a ring.
    loose = np.flatnonzero((distance > ON_EDGE) & (distance <= tolerance))
    if len(loose):
        nearest = shapely.shortest_line(points[loose], reference)
        coords[loose] = shapely.get_coordinates(nearest)[1::2]
        snapped = shapely.snap(shapely.set_coordinates(snapped, coords), reference, tolerance)
    if shapely.equals_exact(snapped, geom, 0.0):
        return geom
    return _settled(geom, snapped)


def _settled(before: BaseGeometry, after: BaseGeometry) -> BaseGeometry:
    """``after`` (fitted), unless fitting made a valid ``before`` invalid.

    Two vertices of a ring put on one stored vertex make a zero-width spike: it is dropped
    (geogrid.plans.geometry.clean). Anything else fitting spoilt keeps the geometry as sent,
    and the checks that follow say what its centimetres break, if anything.
    """
    if after.is_valid or not before.is_valid:
        return after
    if after.geom_type in ("Polygon", "MultiPolygon"):
        cleaned = clean(after)
        if cleaned.is_valid:
            return cleaned
    return before


def client_tolerance(crs: str) -> float:
    """:data:`SNAP_TOLERANCE_M` in the units of ``crs`` (degrees, or metres when projected)."""
    if crs in CRS_NAMES or pyproj.CRS.from_user_input(crs).is_geographic:
        return SNAP_TOLERANCE_DEGREES
    return SNAP_TOLERANCE_M


def to_storage_fitted(geom: BaseGeometry, crs: str, grids: Iterable[BaseGeometry]) -> BaseGeometry:
    """``geom``, in ``crs``, converted to storage with its vertices that lie on the outlines
    of ``grids`` *as the client sees them* put on those outlines as stored.

    Parameters
    ----------
    geom : shapely geometry
        As the client sent it, in ``crs``.
    crs : str
        A name of geogrid.geo.datum.CRS_NAMES or ``EPSG:n``.
    grids : iterable of shapely geometries
        The grids of the layer the edit goes to, in storage coordinates.

    Returns
    -------
    shapely geometry
        In storage coordinates, fitted (see the module's text); vertices off every outline are
        converted as they are.
    """
    rough = geometry_to_storage(geom, crs)
    reference = outlines(grids, rough)
    if reference is None:
        return rough
    tolerance = client_tolerance(crs)
    rings = [r for r in shapely.get_parts(reference) if len(r.coords) > 1]
    stored = [np.asarray(r.coords) for r in rings]
    seen = [np.column_stack(from_storage(c[:, 0], c[:, 1], crs)) for c in stored]
    stored_xy, seen_xy = np.vstack(stored), np.vstack(seen)
    # segment k runs from vertex k to k + 1 of the stacked rings, never across two rings
    starts = np.concatenate(
        [np.arange(len(c) - 1) + o for c, o in zip(stored, _offsets(stored), strict=True)]
    )
    segments = shapely.linestrings(np.stack([seen_xy[starts], seen_xy[starts + 1]], axis=1))

    coords = shapely.get_coordinates(geom)
    points = shapely.points(coords)
    fitted = shapely.get_coordinates(rough)
    on_vertex = shapely.STRtree(shapely.points(seen_xy)).query_nearest(
        points, max_distance=tolerance, all_matches=False
    )
    fitted[on_vertex[0]] = stored_xy[on_vertex[1]]
    rest = np.setdiff1d(np.arange(len(points)), on_vertex[0])
    on_edge = shapely.STRtree(segments).query_nearest(
        points[rest], max_distance=tolerance, all_matches=False
    )
    which, k = rest[on_edge[0]], starts[on_edge[1]]
    t = shapely.line_locate_point(segments[on_edge[1]], points[which], normalized=True)
    fitted[which] = stored_xy[k] + t[:, None] * (stored_xy[k + 1] - stored_xy[k])
    result = shapely.set_coordinates(rough, fitted)
    return _settled(rough, shapely.snap(result, reference, SNAP_TOLERANCE_DEGREES))


def _offsets(arrays: list[np.ndarray]) -> list[int]:
    """Where each of ``arrays`` starts once they are stacked."""
    return list(np.cumsum([0, *(len(a) for a in arrays[:-1])]))
