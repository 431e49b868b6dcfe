"""What the plan map draws: a plan's grids before and after, and its edits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from geogrid.boundaries.releases import GRID_FIELDS
from geogrid.geo.datum import to_metric
from geogrid.mapdata.types import (
    PlanEditItem,
    PlanGrid,
    PlanView,
)
from geogrid.mapdata.views import (
    OVERVIEW_ZOOM,
    district_area,
    simplify_coverage,
    tolerance_m,
)

#: Zoom the plan map is read at: planners draw at street level.
PLAN_ZOOM = 17


#: Grids whose outline moved by less than this (m²; snapped shared vertices) count as unchanged.
_RESHAPED_M2 = 0.5


def _reshaped(old: BaseGeometry, new: BaseGeometry) -> bool:
    if shapely.equals(old, new):
        return False
    return bool(to_metric(shapely.symmetric_difference(old, new)).area >= _RESHAPED_M2)


def _plan_grids(
    grids: dict[str, dict[str, Any]],
    codes: Iterable[str],
    tolerance: float,
) -> tuple[PlanGrid, ...]:
    chosen = sorted(c for c in codes if c in grids)
    shapes = simplify_coverage([grids[c]["geometry"] for c in chosen], tolerance)
    return tuple(
        PlanGrid(
            c,
            str(grids[c].get("name") or c),
            str(grids[c].get("kind") or ""),
            str(grids[c].get("community_code") or ""),
            shape,
        )
        for c, shape in zip(chosen, shapes, strict=True)
    )


def plan_view(conn: Connection, plan_id: int, *, with_base: bool = True) -> PlanView:
    """What the plan map of ``plan_id`` draws (NotFoundError when there is no such plan).

    ``with_base=False`` leaves ``base`` empty: the page refreshing its touched grids after an
    edit already has the base release's grids.
    """
    from geogrid.plans.lifecycle import (  # plans imports much; lazily
        base_layer,
        build_layer,
        get_plan,
    )

    plan = get_plan(conn, plan_id)
    tolerance = tolerance_m(PLAN_ZOOM)
    before = base_layer(conn, plan.base_release)
    after = build_layer(conn, plan)
    # changed: created, removed, reshaped or re-attributed. A neighbour that only gained a
    # shared vertex (plans insert them, snapping within 1e-9 degree) looks the same.
    changed = set(before.grids) ^ set(after.grids)
    for code in set(before.grids) & set(after.grids):
        old, new = before.grids[code], after.grids[code]
        if any(old.get(k) != new.get(k) for k in GRID_FIELDS) or _reshaped(
            old["geometry"], new["geometry"]
        ):
            changed.add(code)
    shown = set(changed)
    if changed:
        tree_codes = sorted(before.grids)
        tree = shapely.STRtree([before.grids[c]["geometry"] for c in tree_codes])
        for code in changed & set(before.grids):
            for hit in tree.query(before.grids[code]["geometry"], predicate="intersects"):
                shown.add(tree_codes[int(hit)])
    return PlanView(
        plan_id=plan.id,
        comment=plan.comment,
        status=plan.status,
        base_release=plan.base_release,
        district=district_area(conn, tolerance_m(OVERVIEW_ZOOM)),
        edits=tuple(PlanEditItem(e.id, e.op, e.comment) for e in plan.edits),
        base=(
            _plan_grids(before.grids, before.grids, tolerance_m(OVERVIEW_ZOOM)) if with_base else ()
        ),
        before=_plan_grids(before.grids, shown, tolerance),
        after=_plan_grids(after.grids, changed, tolerance),
        touched=tuple(sorted(changed)),
    )
