"""The release diff map: what changed between two boundary releases."""

from __future__ import annotations

from html import escape

import folium
import shapely

from geogrid.mapdata.types import DiffGrid, ReleaseDiffView
from geogrid.maps import popups, styles
from geogrid.maps.elements import DataLayer
from geogrid.maps.geojson import collection, feature
from geogrid.maps.render import _finish, _new_map, _offline_base

#: How the map and its legend name each kind of change.
CHANGE_ZH = {
    "added": "新增网格",
    "removed": "撤销网格",
    "changed": "边界调整的网格",
    "gained": "划入的区域",
    "lost": "划出的区域",
}


def _area(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} m²"


def _tip(grid: DiffGrid) -> str:
    figures = f"{_area(grid.area_before_m2)} → {_area(grid.area_after_m2)}"
    return escape(f"{grid.code} {grid.name}（{CHANGE_ZH[grid.change]}）：{figures}")


def release_diff_map(data: ReleaseDiffView, *, tianditu_key: str | None = None) -> folium.Map:
    """Release ``from_release`` against ``to_release``: the later release's grids faint,
    grids added (green), removed (red, dashed) and changed (orange, with the earlier outline
    dashed), and the area each changed grid gained or lost, each kind a layer of its own."""
    changed = [g.geometry for g in data.grids]
    bounds = shapely.union_all(changed).buffer(0.002) if changed else data.district.geometry
    m = _new_map(
        bounds,
        f"边界版本 {data.from_release} → {data.to_release} 的变化",
        zoom=15,
        page="diff",
        release=data.to_release,
    )
    _offline_base(m, data.district)
    DataLayer(
        collection(
            feature(g.geometry, code=g.code, s="context", tip=escape(f"{g.code} {g.name}"))
            for g in data.context
        ),
        f"版本 {data.to_release} 的网格（{len(data.context)}）",
        "diff",
        "gg-grids",
    ).add_to(m)
    DataLayer(
        collection(
            feature(g.old_geometry, code=g.code, s="old")
            for g in data.grids
            if g.old_geometry is not None
        ),
        f"调整前的边界（版本 {data.from_release}）",
        "diff",
        "gg-communities",
        interactive=False,
    ).add_to(m)
    for change in ("added", "removed", "changed"):
        grids = [g for g in data.grids if g.change == change]
        DataLayer(
            collection(
                feature(g.geometry, code=g.code, change=change, s=change, tip=_tip(g))
                for g in grids
            ),
            f"{CHANGE_ZH[change]}（{len(grids)}）",
            "diff",
            "gg-focus",
        ).add_to(m)
    DataLayer(
        collection(
            feature(
                p.geometry,
                code=p.code,
                change=p.change,
                s=p.change,
                tip=escape(f"{p.code} {p.name}：{CHANGE_ZH[p.change]} {_area(p.area_m2)}"),
            )
            for p in data.pieces
        ),
        f"划入与划出的区域（{len(data.pieces)}）",
        "diff",
        "gg-gaps",
    ).add_to(m)
    counts = {c: sum(g.change == c for g in data.grids) for c in ("added", "removed", "changed")}
    legend = popups.legend(
        f"边界版本 {data.from_release} → {data.to_release}",
        [
            (
                "网格",
                [
                    (popups.swatch(styles.DIFF[c]), f"{CHANGE_ZH[c]}（{counts[c]}）")
                    for c in ("added", "removed", "changed")
                ]
                + [
                    (popups.swatch(styles.DIFF["old"]), f"调整前的边界（版本 {data.from_release}）")
                ],
            ),
            (
                "面积",
                [(popups.swatch(styles.DIFF[c]), CHANGE_ZH[c]) for c in ("gained", "lost")],
            ),
        ],
        None if data.grids else "两个版本的网格边界相同",
    )
    return _finish(m, legend, tianditu_key)


__all__ = ["CHANGE_ZH", "release_diff_map"]
