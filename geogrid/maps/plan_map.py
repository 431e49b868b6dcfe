"""The plan map: a plan before and after, with a drawing tool and the plan's panel."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

import folium
import shapely
from folium.plugins import Draw

from geogrid.mapdata.types import PlanGrid, PlanView
from geogrid.maps import popups, styles
from geogrid.maps.elements import DataLayer, PlanEditor
from geogrid.maps.geojson import collection, feature
from geogrid.maps.render import _finish, _new_map, _offline_base


def plan_grid_features(grids: Iterable[PlanGrid], style: str) -> dict[str, Any]:
    return collection(
        feature(g.geometry, code=g.code, s=style, tip=escape(f"{g.code} {g.name}")) for g in grids
    )


#: What the Draw control offers: a transfer area (polygon) or a split line (polyline).
DRAW_OPTIONS = {
    "polyline": {"shapeOptions": {"color": "#c53030", "weight": 3}},
    "polygon": {
        "allowIntersection": False,
        "showArea": False,
        "shapeOptions": {"color": "#c53030", "weight": 2},
    },
    "rectangle": False,
    "circle": False,
    "marker": False,
    "circlemarker": False,
}


def plan_layers(data: PlanView) -> dict[str, Any]:
    """What the plan map redraws after an edit, an undo or a publish, as JSON: the plan's
    status, its edits, and the touched grids before and after (as ``plan_map`` draws them)."""
    return {
        "plan": data.plan_id,
        "status": data.status,
        "base_release": data.base_release,
        "edits": _plan_edits(data),
        "touched": list(data.touched),
        "before": plan_grid_features(data.before, "before"),
        "after": plan_grid_features(data.after, "after"),
    }


def _plan_edits(data: PlanView) -> list[dict[str, Any]]:
    return [{"id": e.id, "op": e.op, "comment": e.comment} for e in data.edits]


def plan_map(
    data: PlanView,
    *,
    api_root: str = "",
    tianditu_key: str | None = None,
    csrf_token: str | None = None,
    login_url: str = "",
) -> folium.Map:
    """A plan before and after, with a side panel: a drawing tool and a form that submits the
    drawing as an edit (transfer area or split line) to ``{api_root}/v1/plans/{id}/edits``,
    the edits with an undo button each, a publish button, and the plan's preview figures and
    invariant violations (from ``/v1/plans/{id}/preview``).

    ``csrf_token`` is the signed-in planner's session token: the panel's calls go with the
    session cookie and this token. Without one (nobody signed in) the panel only links to
    ``login_url``: people sign in, keys are for machines.
    """
    focus = shapely.union_all([g.geometry for g in data.after]) if data.after else None
    bounds = data.district.geometry if focus is None else focus.buffer(0.002)
    m = _new_map(
        bounds,
        f"方案 {data.plan_id} · 基于边界版本 {data.base_release}",
        zoom=15,
        page="plan",
        release=data.base_release,
        plan=data.plan_id,
    )
    _offline_base(m, data.district)
    base = DataLayer(
        plan_grid_features(data.base, "base"),
        f"基准网格（版本 {data.base_release}，{len(data.base)}）",
        "plan",
        "gg-grids",
    )
    base.add_to(m)
    before = DataLayer(
        plan_grid_features(data.before, "before"),
        "修改前",
        "plan",
        "gg-communities",
        interactive=False,
    )
    before.add_to(m)
    after = DataLayer(plan_grid_features(data.after, "after"), "修改后", "plan", "gg-focus")
    after.add_to(m)
    drawn = folium.FeatureGroup(name="绘制", control=False)
    drawn.add_to(m)
    Draw(
        feature_group=drawn,
        show_geometry_on_click=False,  # type: ignore[no-untyped-call]
        draw_options=DRAW_OPTIONS,
        edit_options={"edit": False, "remove": True},
        position="topleft",
    ).add_to(m)
    PlanEditor(
        drawn,
        [base, after],
        before=before,
        after=after,
        api=f"{api_root}/v1",
        root=api_root,
        plan=data.plan_id,
        comment=data.comment,
        status=data.status,
        base_release=data.base_release,
        edits=_plan_edits(data),
        touched=list(data.touched),
        csrf=csrf_token,
        login=login_url,
    ).add_to(m)
    legend = popups.legend(
        f"方案 {data.plan_id}：{data.comment}",
        [
            (
                "网格",
                [
                    (popups.swatch(styles.PLAN["base"]), "基准网格"),
                    (popups.swatch(styles.PLAN["before"]), "修改前"),
                    (popups.swatch(styles.PLAN["after"]), "修改后"),
                    (popups.swatch(styles.PLAN["violation"]), "违反不变量之处"),
                ],
            ),
        ],
        "点击网格选择“转出/转入”网格，用左侧工具绘制划转范围（多边形）或拆分线（折线）",
    )
    return _finish(m, legend, tianditu_key, legend_position="bottomleft")


__all__ = ["DRAW_OPTIONS", "plan_grid_features", "plan_layers", "plan_map"]
