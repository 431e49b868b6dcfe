"""The overview's organisation layers, off until switched on: party branches per grid,
consultation platforms per grid, compounds no 小巷管家 team covers and communities no law
member serves (issue 17), with their popups and legend rows.

The grid layers carry no geometry: each feature is drawn with the shape of the grid of the
same code in the grid layer (``DataLayer(shapes=...)``), so the page stays light. Names of
organisations are escaped here; the secretaries arrive masked for viewers
(geogrid.mapdata.views), and no party-member household is ever in the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

import folium

from geogrid.mapdata.types import Area, CompoundPlace, GridOrganisationPlace, OrganisationLayers
from geogrid.maps import popups, styles
from geogrid.maps.elements import DataLayer
from geogrid.maps.geojson import collection, feature


def _shapeless(code: str, **properties: Any) -> dict[str, Any]:
    """A feature drawn with the shape of the grid ``code`` (see ``DataLayer(shapes=...)``)."""
    return {"type": "Feature", "geometry": None, "properties": {"code": code, **properties}}


def branch_popup(grid: GridOrganisationPlace) -> str:
    """The grid's party branch and its secretary (masked for viewers), or that it has none.
    Short: the grid layer's own popup says the rest, and 596 of these are in the page."""
    if grid.branch_name is None:
        return popups.table(grid.name, [("网格党支部", "无")])
    return popups.table(
        grid.name,
        [
            ("网格党支部", escape(grid.branch_name)),
            ("书记", popups.person(grid.secretary_name, grid.secretary_phone) or "—"),
        ],
    )


def platform_popup(grid: GridOrganisationPlace) -> str:
    """The platforms serving the grid (their names say their kinds)."""
    listed = "<br>".join(escape(name) for name, _ in grid.platforms)
    return popups.table(grid.name, [(f"协商议事平台 {len(grid.platforms)} 个", listed or "无")])


def branch_features(grids: Iterable[GridOrganisationPlace]) -> dict[str, Any]:
    return collection(
        _shapeless(
            g.code,
            s="no_branch" if g.branch_name is None else "branch",
            tip="无网格党支部" if g.branch_name is None else escape(g.branch_name),
            pop=branch_popup(g),
        )
        for g in grids
    )


def platform_features(grids: Iterable[GridOrganisationPlace]) -> dict[str, Any]:
    return collection(
        _shapeless(
            g.code,
            s=styles.platform_style(len(g.platforms), g.kind),
            tip=f"协商议事平台 {len(g.platforms)} 个",
            pop=platform_popup(g),
        )
        for g in grids
    )


def uncovered_compound_features(compounds: Iterable[CompoundPlace]) -> dict[str, Any]:
    return collection(
        feature(
            c.geometry,
            s="uncovered_compound",
            tip=f"{escape(c.name)}：无小巷管家队伍",
            pop=popups.compound_popup(c),
        )
        for c in compounds
    )


def no_law_features(communities: Iterable[Area]) -> dict[str, Any]:
    return collection(
        feature(
            a.geometry,
            s="no_law",
            tip=f"{popups.community_tooltip(a.name, a.parent_name)}：无政法网格员",
        )
        for a in communities
    )


def add_organisation_layers(m: folium.Map, data: OrganisationLayers, grids: DataLayer) -> None:
    """The four organisation layers, off by default; ``grids`` is the map's grid layer,
    whose shapes the per-grid layers borrow. Their names say the counts."""
    without_branch = sum(1 for g in data.grids if g.branch_name is None)
    DataLayer(
        branch_features(data.grids),
        f"网格党支部（{len(data.grids) - without_branch} 个网格有，{without_branch} 个无）",
        "organisations",
        "gg-grids",
        show=False,
        shapes=grids,
    ).add_to(m)
    without_platform = sum(1 for g in data.grids if g.kind == "resident" and not g.platforms)
    DataLayer(
        platform_features(data.grids),
        f"协商议事平台（每网格个数；{without_platform} 个居民网格无平台）",
        "organisations",
        "gg-grids",
        show=False,
        shapes=grids,
    ).add_to(m)
    DataLayer(
        uncovered_compound_features(data.uncovered_compounds),
        f"无小巷管家队伍的小区（{len(data.uncovered_compounds)}）",
        "organisations",
        "gg-compounds",
        show=False,
    ).add_to(m)
    DataLayer(
        no_law_features(data.communities_without_law_member),
        f"无政法网格员的社区（{len(data.communities_without_law_member)}）",
        "organisations",
        "gg-communities",
        show=False,
    ).add_to(m)


def legend_rows() -> list[tuple[str, str]]:
    """The organisation layers' legend rows (shown with the layers' own styles)."""
    look = styles.ORGANISATIONS
    top = len(styles.PLATFORM_BREAKS) + 1
    return [
        (popups.swatch(look["branch"]), "有网格党支部"),
        (popups.swatch(look["no_branch"]), "无网格党支部"),
        *(
            (popups.swatch(look[f"p{i}"]), f"协商议事平台 {i} 个" + (" 及以上" if i == top else ""))
            for i in range(1, top + 1)
        ),
        (popups.swatch(look["p0_resident"]), "居民网格无协商议事平台"),
        (popups.swatch(look["p0"]), "专属网格无协商议事平台"),
        (popups.swatch(look["uncovered_compound"]), "无小巷管家队伍的小区"),
        (popups.swatch(look["no_law"]), "无政法网格员的社区"),
    ]
