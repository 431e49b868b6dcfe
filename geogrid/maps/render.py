"""The four geogrid maps as folium Maps, from the plain data of geogrid.mapdata.views.

Every data layer is a GeoJSON FeatureCollection whose features carry only what the page
needs: a style key ``s`` (see maps.styles), an escaped ``tip`` and ``pop`` (maps.popups), and
for grids their ``code`` and the search text ``q``. Coordinates are rounded to 1e-6 degree
(about 10 cm, maps.geojson), far below a pixel at any zoom these maps are read at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import folium
import shapely
from branca.element import Element
from folium.map import CustomPane
from folium.plugins import Fullscreen
from shapely.geometry.base import BaseGeometry

from geogrid.mapdata.types import (
    HEX_RESOLUTION,
    Area,
    CaseMapView,
    CompoundPlace,
    CoverageView,
    GridPlace,
    GridView,
    HexCell,
    LocateView,
    Overview,
    SitingView,
    StationPlace,
)
from geogrid.maps import popups, styles
from geogrid.maps.elements import (
    CaseCluster,
    DataLayer,
    GridSearch,
    Legend,
    LocateClient,
    Panel,
    Runtime,
    TileGroup,
    base_layers,
)
from geogrid.maps.geojson import DECIMALS, collection, feature
from geogrid.maps.org_layers import add_organisation_layers, legend_rows

#: Panes, bottom to top (Leaflet's overlay pane is 400, markers 600).
PANES = {
    "gg-base": 210,
    "gg-choropleth": 300,
    "gg-hexes": 320,
    "gg-grids": 360,
    "gg-compounds": 370,
    "gg-communities": 380,
    "gg-streets": 390,
    "gg-gaps": 420,
    "gg-circles": 440,
    "gg-focus": 450,
    "gg-locate": 460,
}


# --- features ----------------------------------------------------------------------------


def grid_features(
    grids: Iterable[GridPlace], link: str | None = None, focus: str | None = None
) -> dict[str, Any]:
    """Grids with style key by kind (``focus``: the grid a map is about), search text, popups.

    ``link`` is a URL prefix for each grid's own map (``{link}{code}``) or None for none.
    """
    return collection(
        feature(
            g.geometry,
            code=g.code,
            q=f"{g.code} {g.name}",
            s="focus" if g.code == focus else styles.grid_style(g.kind),
            tip=popups.grid_tooltip(g),
            pop=popups.grid_popup(g, None if link is None else f"{link}{g.code}"),
        )
        for g in grids
    )


def compound_features(compounds: Iterable[CompoundPlace]) -> dict[str, Any]:
    return collection(
        feature(
            c.geometry,
            s=styles.compound_style(c.kind, c.smart_safe, c.three_no),
            tip=popups.compound_tooltip(c),
            pop=popups.compound_popup(c),
        )
        for c in compounds
    )


def station_features(stations: Iterable[StationPlace]) -> dict[str, Any]:
    return collection(
        feature(
            shapely.Point(s.lon, s.lat),
            k=s.kind,
            tip=popups.station_tooltip(s),
            pop=popups.station_popup(s),
        )
        for s in stations
    )


def circle_features(stations: Iterable[StationPlace], minutes: int) -> dict[str, Any]:
    """Tier ``minutes`` of each station's service area: a centre and radius for circles (a
    few bytes where a polygon would take hundreds), the polygon for other methods."""
    found = []
    for s in stations:
        for area in s.areas:
            if area.minutes != minutes:
                continue
            shape = shapely.Point(s.lon, s.lat) if area.radius_m is not None else area.geometry
            props: dict[str, Any] = {"s": styles.circle_style(s.kind, minutes)}
            if area.radius_m is not None:
                props["r"] = round(area.radius_m, 1)
            found.append(feature(shape, **props))
    return collection(found)


def area_features(areas: Iterable[Area], style: str) -> dict[str, Any]:
    return collection(
        feature(a.geometry, s=style, tip=popups.community_tooltip(a.name, a.parent_name))
        for a in areas
    )


def hex_features(hexes: Iterable[HexCell]) -> dict[str, Any]:
    return collection(
        feature(h.geometry, s=styles.hex_style(h.households_uncovered), tip=popups.hex_tooltip(h))
        for h in hexes
    )


# --- layers ------------------------------------------------------------------------------


def _new_map(bounds: BaseGeometry, title: str, zoom: int = 12, **config: Any) -> folium.Map:
    minx, miny, maxx, maxy = bounds.bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=zoom,
        tiles=None,
        control_scale=False,
        zoom_snap=0.25,
    )
    figure = m.get_root()
    # branca writes the title into <title> as it is: escape it here
    figure.title = escape(title)  # type: ignore[attr-defined]
    # an empty icon, or the browser asks the server for /favicon.ico
    figure.header.add_child(  # type: ignore[attr-defined]
        Element('<link rel="icon" href="data:,">'), name="favicon"
    )
    # geogrid.attach fits the view without animation: an animated first zoom would still be
    # running when the page moves the view again (a located point), and undo that move
    Runtime(bounds=[[miny, minx], [maxy, maxx]], **config).add_to(m)
    for name, z_index in PANES.items():
        CustomPane(name, z_index=z_index).add_to(m)
    return m


def _offline_base(m: folium.Map, district: Area) -> None:
    """The default base layer: the district drawn as paper, so no tile server is needed."""
    DataLayer(
        collection([feature(district.geometry, s="district")]),
        "离线底图（区界）",
        "base",
        "gg-base",
        overlay=False,
        interactive=False,
    ).add_to(m)


def _finish(
    m: folium.Map, legend_html: str, tianditu_key: str | None, legend_position: str = "bottomright"
) -> folium.Map:
    base_layers(m, tianditu_key)
    Fullscreen(  # type: ignore[no-untyped-call]
        position="topleft", title="全屏", title_cancel="退出全屏"
    ).add_to(m)
    Legend(legend_html, legend_position).add_to(m)
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    return m


def _stations_by_kind(m: folium.Map, stations: Sequence[StationPlace]) -> None:
    for kind, (label, *_) in styles.STATION_KINDS.items():
        chosen = [s for s in stations if s.kind == kind]
        if chosen:
            DataLayer(
                station_features(chosen),
                f"站点：{label}（{len(chosen)}）",
                "stations",
                "markerPane",
                points="stationMarker",
            ).add_to(m)
    others = [s for s in stations if s.kind not in styles.STATION_KINDS]
    if others:
        DataLayer(
            station_features(others),
            f"站点：其他（{len(others)}）",
            "stations",
            "markerPane",
            points="stationMarker",
        ).add_to(m)


def _circles(m: folium.Map, stations: Sequence[StationPlace], shown: Iterable[int]) -> None:
    visible = set(shown)
    for minutes in styles.TIERS:
        DataLayer(
            circle_features(stations, minutes),
            f"{minutes} 分钟服务圈",
            "circles",
            "gg-circles",
            show=minutes in visible,
            points="serviceCircle",
            interactive=False,
        ).add_to(m)


# --- the maps ----------------------------------------------------------------------------


def overview_map(
    data: Overview, *, grid_link: str | None = None, tianditu_key: str | None = None
) -> folium.Map:
    """The district overview: streets, communities, grids, compounds, stations, circles,
    coverage gaps and the heat of uncovered households, the organisation layers (off until
    switched on: maps.org_layers), with layer control, legend, search by grid code or name,
    fullscreen and a scale bar."""
    m = _new_map(
        data.district.geometry,
        f"{data.district.name}网格总览 · 边界版本 {data.release}",
        page="overview",
        release=data.release,
    )
    _offline_base(m, data.district)
    DataLayer(
        hex_features(data.hexes),
        f"未覆盖住户热力（H3 第 {HEX_RESOLUTION} 级）",
        "hexes",
        "gg-hexes",
        show=False,
    ).add_to(m)
    grids = DataLayer(
        grid_features(data.grids, grid_link), f"网格（{len(data.grids)}）", "grids", "gg-grids"
    )
    grids.add_to(m)
    DataLayer(
        compound_features(data.compounds),
        f"小区（{len(data.compounds)}）",
        "compounds",
        "gg-compounds",
    ).add_to(m)
    DataLayer(
        area_features(data.communities, "community"),
        f"社区（{len(data.communities)}）",
        "areas",
        "gg-communities",
        interactive=False,
    ).add_to(m)
    DataLayer(
        area_features(data.streets, "street"),
        f"街道（{len(data.streets)}）",
        "areas",
        "gg-streets",
        interactive=False,
    ).add_to(m)
    DataLayer(
        collection([feature(data.gap, s="gap")] if not data.gap.is_empty else []),
        f"{popups.circle_name(data.gap_minutes)}缺口（{data.gap_area_m2 / 1e6:.1f} km²）",
        "gaps",
        "gg-gaps",
        interactive=False,
    ).add_to(m)
    if data.organisations is not None:
        add_organisation_layers(m, data.organisations, grids)
    _circles(m, data.stations, shown=(15,))
    _stations_by_kind(m, data.stations)
    GridSearch(grids, "q", "搜索网格编码或名称").add_to(m)
    organisations = [("组织覆盖（图层默认关闭）", legend_rows())] if data.organisations else []
    legend = popups.legend(
        f"{data.district.name}网格总览（边界版本 {data.release}）",
        [
            ("网格", popups.grid_rows()),
            ("小区", popups.compound_rows()),
            ("服务站点", popups.station_rows()),
            ("生活圈", [*popups.circle_rows(), popups.gap_row(data.gap_minutes)]),
            ("未覆盖住户（H3）", popups.hex_rows()),
            *organisations,
        ],
        None
        if data.personal_data
        else "网格长、党支部书记姓名、电话已脱敏"
        if data.organisations
        else "网格长姓名、电话已脱敏",
    )
    return _finish(m, legend, tianditu_key)


def grid_map(
    data: GridView, *, grid_link: str | None = None, tianditu_key: str | None = None
) -> folium.Map:
    """One grid with its neighbours, its community, the compounds around it, and the
    stations whose 5/10/15-minute areas reach it (with those areas)."""
    grid = data.grid
    m = _new_map(
        grid.geometry.buffer(0.002),
        f"{grid.name}（{grid.code}）",
        zoom=15,
        page="grid",
        release=data.release,
        focus=grid.code,
    )
    # the paper under everything drawn: the community and the neighbours (which may cross it)
    paper = shapely.union_all([data.community.geometry, *(g.geometry for g in data.neighbours)])
    _offline_base(m, Area(data.community.code, data.community.name, paper))
    DataLayer(
        area_features([data.community], "community"),
        f"社区：{data.community.name}",
        "areas",
        "gg-communities",
        interactive=False,
    ).add_to(m)
    grids = DataLayer(
        grid_features([grid, *data.neighbours], grid_link, focus=grid.code),
        f"网格及相邻网格（{1 + len(data.neighbours)}）",
        "grids",
        "gg-grids",
    )
    grids.add_to(m)
    DataLayer(
        compound_features(data.compounds),
        f"小区（{len(data.compounds)}）",
        "compounds",
        "gg-compounds",
    ).add_to(m)
    _circles(m, data.stations, shown=styles.TIERS)
    _stations_by_kind(m, data.stations)
    GridSearch(grids, "q", "搜索网格编码或名称").add_to(m)
    legend = popups.legend(
        f"{grid.name}（{grid.code}）",
        [
            ("网格", [(popups.swatch(styles.GRIDS["focus"]), "本网格"), *popups.grid_rows()]),
            ("小区", popups.compound_rows()),
            (
                "覆盖本网格的服务站点",
                popups.station_rows(
                    [k for k in styles.STATION_KINDS if any(s.kind == k for s in data.stations)]
                )
                or [("", "无")],
            ),
            ("生活圈", popups.circle_rows()),
        ],
        None if data.personal_data else "网格长姓名、电话已脱敏",
    )
    return _finish(m, legend, tianditu_key)


def coverage_map(data: CoverageView, *, tianditu_key: str | None = None) -> folium.Map:
    """Share of households covered per community by one tier, gaps on top."""
    m = _new_map(
        data.district.geometry,
        f"{popups.circle_name(data.minutes)}覆盖 · 边界版本 {data.release}",
        page="coverage",
        release=data.release,
    )
    _offline_base(m, data.district)
    rows = data.communities
    DataLayer(
        collection(
            feature(
                r.geometry,
                s=styles.share_style(r.households_share),
                tip=popups.coverage_tooltip(r),
                pop=popups.coverage_popup(r, data.minutes),
            )
            for r in rows
        ),
        f"社区住户覆盖率（{len(rows)}）",
        "choropleth",
        "gg-choropleth",
    ).add_to(m)
    gaps = [r.gap for r in rows if not r.gap.is_empty]
    DataLayer(
        collection(feature(g, s="gap") for g in gaps),
        f"{popups.circle_name(data.minutes)}缺口",
        "gaps",
        "gg-gaps",
        interactive=False,
    ).add_to(m)
    _circles(m, data.stations, shown=())
    _stations_by_kind(m, data.stations)
    households = sum(r.households for r in rows)
    covered = sum(r.households_covered for r in rows)
    share = covered / households if households else None
    kinds = "、".join(popups.kind_name(k) for k in data.kinds)
    legend = popups.legend(
        f"{popups.circle_name(data.minutes)}住户覆盖率（按社区）",
        [
            ("覆盖住户占比", popups.share_rows()),
            ("缺口", [popups.gap_row(data.minutes)]),
            ("服务站点", popups.station_rows(data.kinds)),
        ],
        f"全区 {covered:,} / {households:,} 户（{popups.share_text(share)}）；"
        f"计入：{kinds}；服务圈：{data.method}",
    )
    return _finish(m, legend, tianditu_key)


def locate_map(
    data: LocateView,
    *,
    api_root: str = "",
    grid_link: str | None = None,
    tianditu_key: str | None = None,
) -> folium.Map:
    """The dispatcher's map: click anywhere to locate the point; the page asks the API
    (same origin) which grid holds it and which stations are nearest, and draws the answer."""
    m = _new_map(data.district.geometry, "网格定位（调度）", page="locate", release=data.release)
    _offline_base(m, data.district)
    # Not interactive: a click anywhere is a point to locate, not a grid's popup.
    grids = DataLayer(
        grid_features(data.grids, grid_link),
        f"网格（{len(data.grids)}）",
        "grids",
        "gg-grids",
        interactive=False,
    )
    grids.add_to(m)
    DataLayer(
        area_features(data.communities, "community"),
        f"社区（{len(data.communities)}）",
        "areas",
        "gg-communities",
        interactive=False,
    ).add_to(m)
    GridSearch(grids, "q", "搜索网格编码或名称").add_to(m)
    LocateClient(
        api=f"{api_root}/v1", link=grid_link, point=None if data.point is None else list(data.point)
    ).add_to(m)
    legend = popups.legend(
        "网格定位",
        [
            (
                "",
                [
                    (popups.swatch(styles.LOCATE["grid"]), "点所在网格"),
                    (popups.swatch(styles.LOCATE["line"]), "到最近站点（直线距离）"),
                    *popups.grid_rows(),
                ],
            ),
        ],
        "点击地图任意位置即可定位",
    )
    return _finish(m, legend, tianditu_key)


def case_map(
    data: CaseMapView, *, grid_link: str | None = None, tianditu_key: str | None = None
) -> folium.Map:
    """The case map: cases per grid (choropleth), per H3 cell (heat), and each case as a
    clustered marker whose popup says id, category, status, time and grid — never who
    reported it; a summary line with the totals and the filters applied."""
    m = _new_map(
        data.district.geometry,
        f"案件分布 · 边界版本 {data.release}",
        page="cases",
        release=data.release,
    )
    # Leaflet.markercluster needs the map's maxZoom, which no tile layer gives this map
    m.options["max_zoom"] = 19
    _offline_base(m, data.district)
    grid_breaks = styles.count_breaks(g.cases for g in data.grids)
    with_cases = sum(1 for g in data.grids if g.cases)
    DataLayer(
        collection(
            feature(
                g.geometry,
                code=g.code,
                n=g.cases,
                s=styles.count_style(g.cases, grid_breaks),
                tip=popups.grid_cases_tooltip(g),
                pop=popups.grid_cases_popup(
                    g, None if grid_link is None else f"{grid_link}{g.code}"
                ),
            )
            for g in data.grids
        ),
        f"网格案件数（{with_cases} / {len(data.grids)} 个网格有案件）",
        "caseGrids",
        "gg-choropleth",
    ).add_to(m)
    hex_breaks = styles.count_breaks(h.cases for h in data.hexes)
    DataLayer(
        collection(
            feature(
                h.geometry,
                n=h.cases,
                s=styles.count_style(h.cases, hex_breaks),
                tip=popups.case_cell_tooltip(h),
            )
            for h in data.hexes
        ),
        f"案件热力（H3 第 {data.hex_resolution} 级，{len(data.hexes)} 格）",
        "caseHexes",
        "gg-hexes",
        show=False,
    ).add_to(m)
    rows = [
        [
            round(c.lat, DECIMALS),
            round(c.lon, DECIMALS),
            styles.case_point_style(c.open, c.overdue),
            popups.case_popup(c),
        ]
        for c in data.cases
    ]
    shown = (
        f"{len(data.cases):,}"
        if len(data.cases) == data.total
        else f"最新 {len(data.cases):,} / {data.total:,}"
    )
    CaseCluster(rows, f"案件点位（{shown}）").add_to(m)
    Panel(popups.case_summary(data), "topright", "geogrid-case-summary").add_to(m)
    legend = popups.legend(
        f"案件分布（边界版本 {data.release}）",
        [
            ("每网格案件数", popups.count_rows(styles.CASE_GRIDS, grid_breaks, "无案件")),
            (
                f"H3 热力（第 {data.hex_resolution} 级）",
                popups.count_rows(styles.CASE_HEXES, hex_breaks),
            ),
            ("案件点位（数字为聚合件数）", popups.case_point_rows()),
        ],
        "地图不显示报告人姓名、电话及案件描述",
    )
    return _finish(m, legend, tianditu_key)


__all__ = [
    "TileGroup",
    "case_map",
    "coverage_map",
    "grid_map",
    "locate_map",
    "overview_map",
]


def siting_map(data: SitingView, *, tianditu_key: str | None = None) -> folium.Map:
    """Where to build next: the tier's gaps, the compounds left out, and the proposed sites
    with the area each would reach."""
    m = _new_map(
        data.district.geometry,
        f"{data.minutes} 分钟生活圈 · 新建站点建议 · 边界版本 {data.release}",
        page="siting",
        release=data.release,
    )
    _offline_base(m, data.district)
    if not data.gaps.is_empty:
        DataLayer(
            collection([feature(data.gaps, s="gap")]),
            f"{data.minutes} 分钟生活圈缺口",
            "gaps",
            "gg-gaps",
            interactive=False,
        ).add_to(m)
    DataLayer(
        collection(
            feature(u.footprint, s="uncovered", tip=f"{escape(u.name)}：{u.households:,} 户")
            for u in data.uncovered
        ),
        f"未覆盖小区（{len(data.uncovered)}）",
        "siting",
        "overlayPane",
    ).add_to(m)
    DataLayer(
        collection(feature(site.reach, s="reach") for site in data.sites),
        f"建议站点服务范围（{len(data.sites)}）",
        "siting",
        "gg-circles",
        interactive=False,
    ).add_to(m)
    DataLayer(
        collection(
            feature(
                shapely.buffer(site.point, 0.0004),
                s="site",
                tip=f"建议站点 {i}：{escape(site.name)}",
                pop=f"<b>建议站点 {i}</b><br>{escape(site.name)}<br>"
                f"新覆盖 {site.households:,} 户（{site.compounds} 个小区）",
            )
            for i, site in enumerate(data.sites, start=1)
        ),
        f"建议站点（{len(data.sites)}）",
        "siting",
        "markerPane",
    ).add_to(m)
    share = popups.share_text
    before = data.covered_before / data.households if data.households else None
    after = data.covered_after / data.households if data.households else None
    method = "沿步行网络" if data.method == "network" else "直线距离折算"
    legend = popups.legend(
        f"新建{popups.kind_name(data.kind)} {data.k} 处：{data.minutes} 分钟生活圈",
        [
            (
                "图例",
                [
                    (popups.swatch(styles.SITING["site"]), "建议站点"),
                    (popups.swatch(styles.SITING["reach"]), "建议站点服务范围"),
                    (popups.swatch(styles.SITING["uncovered"]), "未覆盖小区"),
                    popups.gap_row(data.minutes),
                ],
            )
        ],
        f"覆盖住户 {data.covered_before:,} → {data.covered_after:,} 户"
        f"（{share(before)} → {share(after)}，共 {data.households:,} 户）；"
        f"贪心算法可达 {data.greedy_covered_after:,} 户；"
        f"{'已证明最优' if data.optimal else '未证明最优'}；{method} {data.reach_m:.0f} 米",
    )
    return _finish(m, legend, tianditu_key)
