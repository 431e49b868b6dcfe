"""The geometry discipline of plan edits: pieces measured in metres, one noding per edit,
shared vertices between neighbours and no zero-width spikes.

Pure functions on shapely geometries in storage coordinates (EPSG:4490); areas and lengths are
measured in EPSG:4548 metres. Nothing here reads the database.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.boundaries.validation import Violation
from geogrid.geo.datum import to_metric

#: Pieces smaller than this (m²) are slivers, not edits.
MIN_AREA_M2 = 1.0
#: Degrees: a vertex this close to a neighbour's edge is on it (about 0.1 mm).
ON_EDGE = 1e-9
#: A vertex where the ring turns back by more than this (cosine) is a spike.
_SPIKE_COSINE = -0.99999999


def metric_area(geom: BaseGeometry) -> float:
    """Area of a storage-CRS geometry in m² (EPSG:4548)."""
    return float(to_metric(geom).area)


def single_part(label: str, code: str, geom: BaseGeometry) -> list[Violation]:
    """What keeps ``geom`` from being one valid, non-empty polygon (``[]`` when it is)."""
    found = []
    if geom.is_empty or metric_area(geom) < MIN_AREA_M2:
        found.append(Violation("empty_geometry", f"{label} {code} would be left empty", (code,)))
    elif not geom.is_valid:
        found.append(
            Violation(
                "invalid_geometry",
                f"{label} {code} would not be a valid polygon: {shapely.is_valid_reason(geom)}",
                (code,),
                geom.representative_point(),
            )
        )
    elif shapely.get_num_geometries(geom) > 1:
        found.append(
            Violation(
                "not_contiguous",
                f"{label} {code} would be in {shapely.get_num_geometries(geom)} separate pieces",
                (code,),
                geom,
            )
        )
    return found


def adjacent(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Whether ``a`` and ``b`` share an edge (more than 1 cm of boundary, not just a vertex)."""
    return bool(to_metric(shapely.intersection(a.boundary, b.boundary)).length > 0.01)


def multi(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of ``geom`` as one MultiPolygon (lines and points dropped)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts)


def holder(grids: dict[str, dict[str, Any]], point: BaseGeometry) -> str | None:
    """The grid holding ``point``: the smallest code on a shared edge (docs/architecture.md, "Storage")."""
    hits = [c for c, g in grids.items() if g["geometry"].covers(point)]
    return min(hits) if hits else None


def faces(
    source: BaseGeometry, target: BaseGeometry, area: BaseGeometry
) -> tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]]:
    """The faces of ONE noding of the three outlines: ``source``'s inside ``area`` (moved),
    ``source``'s outside it (kept) and ``target``'s own.

    Assembled from one noding, the new edge between source and target has the very same
    vertices on both sides.
    """
    lines = shapely.union_all([source.boundary, target.boundary, area.boundary])
    moved: list[BaseGeometry] = []
    kept: list[BaseGeometry] = []
    own: list[BaseGeometry] = []
    for face in shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))):
        inside = face.representative_point()
        if source.covers(inside):
            (moved if area.covers(inside) else kept).append(face)
        elif target.covers(inside):
            own.append(face)
    return moved, kept, own


def union_faces(found: list[BaseGeometry]) -> BaseGeometry:
    """The union of faces of one noding (empty polygon for none)."""
    return shapely.coverage_union_all(found) if found else shapely.Polygon()


def reassign_faces(
    source: BaseGeometry, target: BaseGeometry, area: BaseGeometry
) -> tuple[BaseGeometry, BaseGeometry]:
    """``target`` plus, and ``source`` minus, the part of ``source`` inside ``area``."""
    moved, kept, own = faces(source, target, area)
    return union_faces(own + moved), union_faces(kept)


def despike_ring(coords: Any) -> list[tuple[float, float]]:
    """A closed ring's coordinates without zero-width spikes and repeated points."""
    points = [(float(x), float(y)) for x, y in list(coords)[:-1]]
    changed = True
    while changed and len(points) > 3:
        changed = False
        for i in range(len(points)):
            (px, py), (cx, cy) = points[i - 1], points[i]
            nx, ny = points[(i + 1) % len(points)]
            ux, uy, vx, vy = cx - px, cy - py, nx - cx, ny - cy
            lengths = math.hypot(ux, uy) * math.hypot(vx, vy)
            if lengths == 0 or (ux * vx + uy * vy) / lengths < _SPIKE_COSINE:
                del points[i]
                changed = True
                break
    return [*points, points[0]]


def clean(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` as a MultiPolygon without spikes.

    Overlay can leave a zero-width spike where a cut crosses a straight edge near one of its
    own vertices; flat in degrees, it opens a sliver once projected to metres.
    """
    parts = []
    for part in shapely.get_parts(multi(geom)):
        parts.append(
            shapely.Polygon(
                despike_ring(part.exterior.coords), [despike_ring(r.coords) for r in part.interiors]
            )
        )
    cleaned = shapely.MultiPolygon(parts)
    return cleaned if cleaned.is_valid and not cleaned.is_empty else multi(geom)


def share_vertices(grids: dict[str, dict[str, Any]], codes: set[str]) -> set[str]:
    """Insert the vertices of ``codes`` into every neighbour edge they lie on.

    A cut that ends on a neighbour's edge makes a T-junction; projected to metres (where
    validation measures) a straight edge bends slightly away from the new vertex. Neighbours
    must share vertices (docs/architecture.md, "Storage"), so the neighbour gets the vertex too.

    Returns
    -------
    set of str
        The neighbours that changed.
    """
    changed: set[str] = set()
    for code in sorted(codes):
        if code in grids:
            vertices = shapely.multipoints(shapely.get_coordinates(grids[code]["geometry"]))
            changed |= insert_vertices(grids, vertices, skip=code)
    return changed


def insert_vertices(
    grids: dict[str, dict[str, Any]], vertices: BaseGeometry, skip: str | None = None
) -> set[str]:
    """Insert ``vertices`` (a MultiPoint) into every grid edge they lie on (within
    :data:`ON_EDGE`), except grid ``skip``'s; returns the grids that changed."""
    changed: set[str] = set()
    box = shapely.box(*vertices.bounds).buffer(ON_EDGE)
    for other, grid in grids.items():
        if other == skip or not box.intersects(shapely.box(*grid["geometry"].bounds)):
            continue
        snapped = shapely.snap(grid["geometry"], vertices, ON_EDGE)
        if not shapely.equals_exact(snapped, grid["geometry"], 0.0) and snapped.is_valid:
            grid["geometry"] = multi(snapped)
            changed.add(other)
    return changed
