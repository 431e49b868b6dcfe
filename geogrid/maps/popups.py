"""Chinese tooltips, popups and legends, as HTML with every value escaped.

Names come from loaded files and may hold anything, ``<script>`` included: every value goes
through :func:`html.escape` here, and nothing else in the page turns data into HTML.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from html import escape

from geogrid.mapdata.types import (
    CaseCell,
    CaseMapView,
    CasePlace,
    CommunityCoverage,
    CompoundPlace,
    GridCases,
    GridPlace,
    HexCell,
    ServiceArea,
    StationPlace,
)
from geogrid.maps import styles

_DAYS = {
    "Mo": "周一",
    "Tu": "周二",
    "We": "周三",
    "Th": "周四",
    "Fr": "周五",
    "Sa": "周六",
    "Su": "周日",
    "PH": "节假日",
}


def opening_hours_zh(hours: str) -> str:
    """OpenStreetMap-style opening hours in Chinese (plain text; escape before use).

    Examples
    --------
    >>> opening_hours_zh("Mo-Fr 08:30-17:30; Sa 09:00-12:00")
    '周一至周五 08:30-17:30；周六 09:00-12:00'
    >>> opening_hours_zh("24/7")
    '全天开放'
    """
    if hours.strip() == "24/7":
        return "全天开放"
    text = re.sub(
        r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)-(Mo|Tu|We|Th|Fr|Sa|Su)\b",
        lambda m: f"{_DAYS[m.group(1)]}至{_DAYS[m.group(2)]}",
        hours,
    )
    text = re.sub(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b", lambda m: _DAYS[m.group(1)], text)
    return text.replace("; ", "；").replace(";", "；").replace(",", "、").replace(" off", " 休息")


def table(title: str, rows: Iterable[tuple[str, str | None]], extra: str = "") -> str:
    """A popup: escaped title, then a row per (label, already-escaped value) with a value."""
    body = "".join(
        f"<tr><th>{escape(label)}</th><td>{value}</td></tr>" for label, value in rows if value
    )
    return f'<div class="gg-pop"><h6>{escape(title)}</h6><table>{body}</table>{extra}</div>'


def _e(value: object) -> str:
    return escape(str(value)) if value is not None else ""


def person(name: str | None, phone: str | None) -> str | None:
    """A grid leader as escaped text (already masked for viewers by geogrid.mapdata.views)."""
    shown = " ".join(p for p in (name, phone) if p)
    return escape(shown) if shown else None


def grid_tooltip(grid: GridPlace) -> str:
    return f"{escape(grid.code)} {escape(grid.name)}"


def grid_popup(grid: GridPlace, link: str | None = None) -> str:
    """The grid's popup: code, kind, community, street, households, leader."""
    kind = styles.GRID_KINDS.get(grid.kind, grid.kind)
    if grid.kind == "dedicated" and grid.dedicated_unit_name:
        kind = f"{kind}（{grid.dedicated_unit_name}）"
    more = f'<a class="gg-link" href="{escape(link, quote=True)}">查看网格地图</a>' if link else ""
    return table(
        grid.name,
        [
            ("网格编码", _e(grid.code)),
            ("类型", _e(kind)),
            ("社区", _e(grid.community_name)),
            ("街道", _e(grid.street_name)),
            ("住户", f"{grid.households:,} 户（{grid.compounds} 个小区）"),
            ("网格长", person(grid.leader_name, grid.leader_phone) or "—"),
        ],
        more,
    )


def compound_tooltip(compound: CompoundPlace) -> str:
    return escape(compound.name)


def compound_popup(compound: CompoundPlace) -> str:
    yes = {True: "是", False: "否"}
    grid = " ".join(x for x in (compound.grid_code, compound.grid_name) if x) or "不在任何网格内"
    return table(
        compound.name,
        [
            ("类型", _e(styles.COMPOUND_KINDS.get(compound.kind, compound.kind))),
            ("住户", f"{compound.households:,} 户"),
            ("智慧平安小区", yes[compound.smart_safe]),
            ("三无小区", yes[compound.three_no]),
            ("所属网格", _e(grid)),
        ],
    )


def kind_name(kind: str) -> str:
    return styles.STATION_KINDS.get(kind, (kind,))[0]


def station_tooltip(station: StationPlace) -> str:
    return f"{escape(station.name)}（{escape(kind_name(station.kind))}）"


def area_text(area: ServiceArea) -> str:
    if area.radius_m is not None:
        return (
            f"{area.minutes} 分钟：半径 {area.radius_m:,.0f} m"
            f"（步行 {area.distance_m:,.0f} m ÷ 绕行系数 {area.detour_factor:g}）"
        )
    return f"{area.minutes} 分钟：{area.method}"


def station_popup(station: StationPlace) -> str:
    areas = "<br>".join(
        escape(area_text(a)) for a in sorted(station.areas, key=lambda a: a.minutes)
    )
    return table(
        station.name,
        [
            ("类型", _e(kind_name(station.kind))),
            (
                "开放时间",
                _e(opening_hours_zh(station.opening_hours)) if station.opening_hours else None,
            ),
            ("地址", _e(station.address) if station.address else None),
            ("服务社区", _e(station.community_name) if station.community_name else None),
            ("服务圈", areas or None),
        ],
    )


def circle_tooltip(station: StationPlace, area: ServiceArea) -> str:
    return f"{escape(station.name)} · {escape(area_text(area))}"


def hex_tooltip(cell: HexCell) -> str:
    return (
        f"未覆盖住户 {cell.households_uncovered:,} 户 / 共 {cell.households:,} 户"
        f"<br><small>H3 {escape(cell.cell)}</small>"
    )


def share_text(share: float | None) -> str:
    return "无住户" if share is None else f"{share:.0%}"


def community_tooltip(name: str, parent: str | None) -> str:
    return escape(name) + (f"（{escape(parent)}）" if parent else "")


def coverage_popup(row: CommunityCoverage, minutes: int | None) -> str:
    return table(
        row.name,
        [
            ("街道", _e(row.street_name) if row.street_name else None),
            ("社区编码", _e(row.code)),
            (
                f"{circle_name(minutes)}覆盖住户",
                f"{row.households_covered:,} / {row.households:,} 户"
                f"（{share_text(row.households_share)}）",
            ),
            ("覆盖面积", f"{row.area_share:.0%}"),
            ("未覆盖面积", f"{row.gap_area_m2 / 1e6:.2f} km²"),
        ],
    )


def coverage_tooltip(row: CommunityCoverage) -> str:
    return f"{escape(row.name)}：{share_text(row.households_share)}"


# --- legends -----------------------------------------------------------------------------


def _rgba(colour: str, alpha: float) -> str:
    digits = colour.lstrip("#")
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha:.2f})"


def swatch(style: styles.Style) -> str:
    """A legend swatch drawn like the layer: outline colour, width and dash, fill."""
    filled = style.get("fill", True) and "fillColor" in style
    # a touch stronger than on the map, where fills pile up over the base
    background = (
        _rgba(style["fillColor"], min(1.0, float(style.get("fillOpacity", 0.2)) * 1.6))
        if filled
        else "transparent"
    )
    border = "dashed" if style.get("dashArray") else "solid"
    width = min(3.0, float(style.get("weight", 1))) + 0.5
    return (
        f'<i class="gg-swatch" style="border:{width:g}px {border} '
        f'{style.get("color", "#333333")};background:{background}"></i>'
    )


def _marker(kind: str) -> str:
    _, colour, icon = styles.STATION_KINDS[kind]
    return (
        f'<i class="gg-badge" style="background:{colour}"><i class="fa fa-{escape(icon)}"></i></i>'
    )


Section = tuple[str, Sequence[tuple[str, str]]]


def legend(title: str, sections: Sequence[Section], note: str | None = None) -> str:
    """Legend HTML: an escaped title, then sections of (swatch HTML, escaped label) rows."""
    parts = [f'<div class="gg-legend-title">{escape(title)}</div>']
    for heading, rows in sections:
        parts.append(f'<div class="gg-legend-section">{escape(heading)}</div>')
        parts.extend(
            f'<div class="gg-legend-row">{swatch}<span>{escape(label)}</span></div>'
            for swatch, label in rows
        )
    if note:
        parts.append(f'<div class="gg-legend-note">{escape(note)}</div>')
    return "".join(parts)


def grid_rows() -> list[tuple[str, str]]:
    return [(swatch(styles.GRIDS[k]), name) for k, name in styles.GRID_KINDS.items()]


def compound_rows() -> list[tuple[str, str]]:
    rows = [(swatch(styles.COMPOUNDS[k]), name) for k, name in styles.COMPOUND_CLASSES.items()]
    rows.append((swatch(styles.COMPOUNDS["plain_scattered"]), "零散楼栋（虚线）"))
    return rows


def station_rows(kinds: Iterable[str] | None = None) -> list[tuple[str, str]]:
    chosen = list(kinds) if kinds is not None else list(styles.STATION_KINDS)
    return [(_marker(k), styles.STATION_KINDS[k][0]) for k in chosen if k in styles.STATION_KINDS]


def circle_rows() -> list[tuple[str, str]]:
    return [
        (swatch(styles.CIRCLES[f"doorstep_{m}"]), f"{m} 分钟服务圈（颜色随站点类型）")
        for m in styles.TIERS
    ]


def circle_name(minutes: int | None) -> str:
    """The life circle a figure counts: one tier, or each station kind at its own tier."""
    return "生活圈（各类站点按其服务层级）" if minutes is None else f"{minutes} 分钟生活圈"


def gap_row(minutes: int | None) -> tuple[str, str]:
    return (swatch(styles.GAPS["gap"]), f"{circle_name(minutes)}未覆盖区域")


def hex_rows() -> list[tuple[str, str]]:
    bounds = [0, *styles.HEX_BREAKS]
    labels = [f"{lo + 1}–{hi} 户" for lo, hi in itertools.pairwise(bounds)]
    labels.append(f"> {styles.HEX_BREAKS[-1]} 户")
    return [(swatch(styles.HEXES[f"h{i}"]), label) for i, label in enumerate(labels)]


def share_rows() -> list[tuple[str, str]]:
    bounds = [0.0, *styles.SHARE_BREAKS, 1.0]
    rows = [
        (
            swatch(styles.CHOROPLETH[f"c{i}"]),
            f"{lo:.0%}–{hi:.0%}" if i < len(styles.SHARE_BREAKS) else f"≥ {lo:.0%}",
        )
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]
    rows.append((swatch(styles.CHOROPLETH["none"]), "无住户"))
    return rows


# --- the case map --------------------------------------------------------------------------

#: What each filter of the case map is called on the page.
CASE_FILTERS = {
    "status": "状态",
    "category": "类别",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "from": "起",
    "to": "止",
    "open": "仅未结",
    "overdue": "仅超期",
    "flags": "标记",
    "mobile_grid": "流动网格",
}


def case_popup(case: CasePlace) -> str:
    """A case's popup: id, category, status, time, grid. Never the reporter or the text."""
    state = " · 超期" if case.overdue else ""
    return table(
        f"案件 {case.id}",
        [
            ("类别", f"{_e(case.category_name)}（{_e(case.category_major)}，{_e(case.category)}）"),
            ("状态", f"{_e(case.status_name)}{state}"),
            ("上报时间", _e(case.created_at.strftime("%Y-%m-%d %H:%M"))),
            ("网格", f"{_e(case.grid_code)} {_e(case.grid_name)}"),
            *([("流动网格", _e(case.mobile_grid))] if case.mobile_grid else []),
        ],
    )


def _counts(cases: int, open_: int, overdue: int) -> str:
    return f"{cases:,} 件（未结 {open_:,}，超期 {overdue:,}）"


def grid_cases_tooltip(grid: GridCases) -> str:
    return f"{escape(grid.name)}：{grid.cases:,} 件"


def grid_cases_popup(grid: GridCases, link: str | None = None) -> str:
    more = f'<a class="gg-link" href="{escape(link, quote=True)}">查看网格地图</a>' if link else ""
    return table(
        grid.name,
        [
            ("网格编码", _e(grid.code)),
            ("社区", _e(grid.community_name)),
            ("街道", _e(grid.street_name)),
            ("案件", _counts(grid.cases, grid.open, grid.overdue)),
        ],
        more,
    )


def case_cell_tooltip(cell: CaseCell) -> str:
    return (
        f"{_counts(cell.cases, cell.open, cell.overdue)}<br><small>H3 {escape(cell.cell)}</small>"
    )


def case_summary(data: CaseMapView) -> str:
    """The summary line: totals, then the filters as applied (or 全部案件)."""
    shown = "；".join(f"{CASE_FILTERS.get(k, k)}：{v}" for k, v in data.filters) or "全部案件"
    more = (
        f'<div class="gg-summary-note">标注最新 {len(data.cases):,} 件（共 {data.total:,} '
        "件）；网格与热力计入全部</div>"
        if len(data.cases) < data.total
        else ""
    )
    elsewhere = (
        f'<div class="gg-summary-note">另有 {data.elsewhere:,} 件属于现行版本已撤销的'
        "网格，未画入网格图层</div>"
        if data.elsewhere
        else ""
    )
    return (
        f'<div class="gg-summary-line">共 <b data-n="total">{data.total:,}</b> 件 · '
        f'未结 <b data-n="open">{data.open:,}</b> 件 · '
        f'超期 <b data-n="overdue">{data.overdue:,}</b> 件</div>'
        f'<div class="gg-summary-filter">筛选：{escape(shown)}</div>{more}{elsewhere}'
    )


def count_rows(
    table: dict[str, styles.Style], breaks: Sequence[int], zero: str | None = None
) -> list[tuple[str, str]]:
    """Legend rows of count classes: "1–3 件" per class of ``breaks`` (and ``zero``'s row)."""
    rows = [(swatch(table["k0"]), zero)] if zero is not None else []
    low = 1
    for i, high in enumerate(breaks):
        rows.append(
            (swatch(table[f"k{i + 1}"]), f"{low} 件" if low == high else f"{low}–{high} 件")
        )
        low = high + 1
    return rows or [("", "无案件")]


def case_point_rows() -> list[tuple[str, str]]:
    return [
        (f'<i class="gg-case-dot" style="background:{look["color"]}"></i>', look["label"])
        for look in styles.CASE_POINTS.values()
    ]
