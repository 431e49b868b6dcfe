"""What the release diff map draws: the grids that differ between two boundary releases."""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from geogrid.boundaries.history import release_diff
from geogrid.geo.datum import to_metric
from geogrid.mapdata.types import DiffGrid, DiffPiece, PlanGrid, ReleaseDiffView
from geogrid.mapdata.views import OVERVIEW_ZOOM, district_area, simplify_coverage, tolerance_m

#: Zoom the diff map is read at: a changed strip may be 20 m wide.
DIFF_ZOOM = 17


def _area(shape: BaseGeometry) -> float:
    return float(to_metric(shape).area)


def release_diff_view(conn: Connection, from_release: int, to_release: int) -> ReleaseDiffView:
    """The grids added, removed and changed from ``from_release`` to ``to_release``, with the
    area each changed grid gained and lost (:func:`geogrid.boundaries.history.release_diff`),
    and every grid of ``to_release`` for orientation. NotFoundError names a missing release.
    """
    from geogrid.plans.layer import base_layer  # plans imports much; lazily

    diff = release_diff(conn, from_release, to_release, "cgcs2000")  # storage coordinates
    old = base_layer(conn, diff.from_release).grids
    new = base_layer(conn, diff.to_release).grids
    fine = tolerance_m(DIFF_ZOOM)
    grids: list[DiffGrid] = []
    for unit in diff.added:
        shape = new[unit.code]["geometry"]
        grids.append(DiffGrid(unit.code, unit.name, "added", shape, None, None, _area(shape)))
    for unit in diff.removed:
        shape = old[unit.code]["geometry"]
        grids.append(DiffGrid(unit.code, unit.name, "removed", shape, None, _area(shape), None))
    for grid in diff.changed:
        grids.append(
            DiffGrid(
                grid.code,
                grid.name,
                "changed",
                new[grid.code]["geometry"],
                old[grid.code]["geometry"],
                grid.from_area_m2,
                grid.to_area_m2,
            )
        )
    grids.sort(key=lambda g: g.code)
    shapes = simplify_coverage([g.geometry for g in grids], fine)
    olds = [g.old_geometry for g in grids if g.old_geometry is not None]
    old_shapes = iter(simplify_coverage(olds, fine))
    grids = [
        DiffGrid(
            g.code,
            g.name,
            g.change,
            shape,
            None if g.old_geometry is None else next(old_shapes),
            g.area_before_m2,
            g.area_after_m2,
        )
        for g, shape in zip(grids, shapes, strict=True)
    ]
    codes = sorted(new)
    context = simplify_coverage([new[c]["geometry"] for c in codes], tolerance_m(OVERVIEW_ZOOM))
    return ReleaseDiffView(
        from_release=diff.from_release,
        to_release=diff.to_release,
        district=district_area(conn, tolerance_m(OVERVIEW_ZOOM)),
        context=tuple(
            PlanGrid(
                c,
                str(new[c].get("name") or c),
                str(new[c].get("kind") or ""),
                str(new[c].get("community_code") or ""),
                shape,
            )
            for c, shape in zip(codes, context, strict=True)
        ),
        grids=tuple(grids),
        pieces=tuple(
            DiffPiece(a.code, a.name, a.change, a.area_m2, a.geometry) for a in diff.changes
        ),
    )
