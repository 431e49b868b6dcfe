"""How every kind of thing is drawn, and the Chinese words for it: one table per layer.

Each feature carries a style key (``properties.s``) chosen here in Python; the page looks the
key up in the same tables (sent once per page as ``geogrid.styles``), and the legend is built
from them too, so map and legend cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Style = dict[str, Any]

#: Station kinds: Chinese name, the colour of badge, legend and circles, Font Awesome icon.
STATION_KINDS: dict[str, tuple[str, str, str]] = {
    "party_mass": ("左邻右舍党群服务站", "#d63e2a", "flag"),
    "doorstep": ("家门口服务站", "#2b8cc4", "house"),
    "courier_rest": ("小哥暖心站", "#f69730", "mug-hot"),
    "happiness": ("幸福驿站", "#5a9a1f", "face-smile"),
    "mediation": ("百姓说事点", "#b245a0", "comments"),
    "legal": ("法治e站", "#436978", "scale-balanced"),
}
GRID_KINDS = {"resident": "居民网格", "dedicated": "专属网格"}
COMPOUND_KINDS = {"organised": "建制小区", "scattered": "零散楼栋"}
TIERS = (5, 10, 15)

MISSING = "#d7191c"  # coverage gaps: a red that reads as "not reached"

BASE: dict[str, Style] = {
    "district": {
        "color": "#1a202c",
        "weight": 2.5,
        "fillColor": "#f8f5ee",
        "fillOpacity": 1.0,
        "interactive": False,
    },
}
AREAS: dict[str, Style] = {
    "street": {
        "color": "#2d3748",
        "weight": 2.5,
        "opacity": 0.9,
        "fill": False,
        "interactive": False,
    },
    "community": {
        "color": "#4a5568",
        "weight": 1.2,
        "opacity": 0.8,
        "dashArray": "5 4",
        "fill": False,
        "interactive": False,
    },
}
GRIDS: dict[str, Style] = {
    "resident": {
        "color": "#2b6cb0",
        "weight": 0.8,
        "opacity": 0.8,
        "fillColor": "#63b3ed",
        "fillOpacity": 0.06,
    },
    "dedicated": {
        "color": "#6b46c1",
        "weight": 1.4,
        "opacity": 0.9,
        "fillColor": "#9f7aea",
        "fillOpacity": 0.28,
        "dashArray": "4 3",
    },
    # the grid a map is about, and a grid found by the search box
    "focus": {
        "color": "#c53030",
        "weight": 3.5,
        "opacity": 1.0,
        "fillColor": "#feb2b2",
        "fillOpacity": 0.18,
        "dashArray": None,
    },
    "hover": {"weight": 2.5, "opacity": 1.0},
}
COMPOUND_CLASSES = {
    "three_no": "三无小区（智慧平安小区中的三无小区）",
    "smart_safe": "智慧平安小区",
    "plain": "其他小区",
}
_COMPOUND_FILL = {
    "three_no": ("#c05621", "#f6ad55"),
    "smart_safe": ("#276749", "#68d391"),
    "plain": ("#4a5568", "#cbd5e0"),
}
COMPOUNDS: dict[str, Style] = {}
for _key, (_line, _fill) in _COMPOUND_FILL.items():
    COMPOUNDS[_key] = {"color": _line, "weight": 1, "fillColor": _fill, "fillOpacity": 0.65}
    COMPOUNDS[f"{_key}_scattered"] = {**COMPOUNDS[_key], "dashArray": "2 2", "fillOpacity": 0.45}

_TIER_LOOK = {5: (0.9, 0.10, None), 10: (0.75, 0.06, "6 3"), 15: (0.6, 0.035, "2 4")}
CIRCLES: dict[str, Style] = {
    f"{kind}_{minutes}": {
        "color": hex_,
        "weight": 1.2,
        "opacity": opacity,
        "fillColor": hex_,
        "fillOpacity": fill,
        "dashArray": dash,
        "interactive": False,
    }
    for kind, (_, hex_, _) in STATION_KINDS.items()
    for minutes, (opacity, fill, dash) in _TIER_LOOK.items()
}
GAPS: dict[str, Style] = {
    "gap": {
        "color": MISSING,
        "weight": 1,
        "opacity": 0.8,
        "fillColor": MISSING,
        "fillOpacity": 0.26,
        "interactive": False,
    },
}
#: Uncovered households per H3 cell: upper bounds of the classes and their colours.
HEX_BREAKS = (50, 200, 500, 1000)
HEX_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
HEXES: dict[str, Style] = {
    f"h{i}": {"color": "#ffffff", "weight": 0.6, "fillColor": c, "fillOpacity": 0.72}
    for i, c in enumerate(HEX_COLOURS)
}
#: Covered share of households per community: lower bounds of the classes and colours.
SHARE_BREAKS = (0.5, 0.7, 0.85, 0.95)
SHARE_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
CHOROPLETH: dict[str, Style] = {
    **{
        f"c{i}": {"color": "#4a5568", "weight": 0.8, "fillColor": c, "fillOpacity": 0.85}
        for i, c in enumerate(SHARE_COLOURS)
    },
    "none": {
        "color": "#4a5568",
        "weight": 0.8,
        "fillColor": "#e2e8f0",
        "fillOpacity": 0.6,
        "dashArray": "3 3",
    },
}
LOCATE: dict[str, Style] = {
    "grid": {"color": "#c53030", "weight": 3.5, "fillColor": "#feb2b2", "fillOpacity": 0.25},
    "line": {"color": "#2d3748", "weight": 2, "dashArray": "6 4", "opacity": 0.9},
}
#: The plan map: every base grid faint, the touched grids before (dashed) and after (bold).
PLAN: dict[str, Style] = {
    "base": {
        "color": "#718096",
        "weight": 0.6,
        "opacity": 0.6,
        "fillColor": "#cbd5e0",
        "fillOpacity": 0.05,
    },
    "before": {
        "color": "#4a5568",
        "weight": 1.6,
        "opacity": 0.9,
        "dashArray": "5 4",
        "fillColor": "#a0aec0",
        "fillOpacity": 0.12,
    },
    "after": {
        "color": "#dd6b20",
        "weight": 3,
        "opacity": 1.0,
        "fillColor": "#fbd38d",
        "fillOpacity": 0.3,
    },
    "from": {"color": "#c53030", "weight": 3, "fillColor": "#feb2b2", "fillOpacity": 0.35},
    "to": {"color": "#2f855a", "weight": 3, "fillColor": "#9ae6b4", "fillOpacity": 0.35},
    # where the preview or a refused edit locates a broken invariant
    "violation": {
        "color": MISSING,
        "weight": 3,
        "opacity": 1.0,
        "fillColor": MISSING,
        "fillOpacity": 0.45,
        "radius": 7,
    },
}

#: The release diff map: grids of the later release (faint), the earlier outline of changed
#: grids (dashed), grids added, removed and changed, and the area each changed grid gained or
#: lost.
DIFF: dict[str, Style] = {
    "context": {
        "color": "#718096",
        "weight": 0.6,
        "opacity": 0.6,
        "fillColor": "#cbd5e0",
        "fillOpacity": 0.05,
    },
    "old": {"color": "#4a5568", "weight": 1.6, "opacity": 0.9, "dashArray": "5 4", "fill": False},
    "added": {"color": "#2f855a", "weight": 2.5, "fillColor": "#9ae6b4", "fillOpacity": 0.35},
    "removed": {
        "color": "#c53030",
        "weight": 2.5,
        "dashArray": "6 4",
        "fillColor": "#feb2b2",
        "fillOpacity": 0.3,
    },
    "changed": {"color": "#dd6b20", "weight": 2.5, "fillColor": "#fbd38d", "fillOpacity": 0.2},
    "gained": {"color": "#276749", "weight": 1, "fillColor": "#38a169", "fillOpacity": 0.6},
    "lost": {"color": "#9b2c2c", "weight": 1, "fillColor": "#e53e3e", "fillOpacity": 0.6},
}

#: The case map. Cases per grid and per H3 cell fall into up to five classes whose bounds are
#: the data's quantiles (:func:`count_breaks`): a month of one street and a year of the
#: district both spread over the colours. Class k0 is "no case".
CASE_CLASSES = 5
CASE_GRID_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
CASE_GRIDS: dict[str, Style] = {
    "k0": {
        "color": "#a0aec0",
        "weight": 0.6,
        "opacity": 0.8,
        "fillColor": "#ffffff",
        "fillOpacity": 0.0,
    },
    **{
        f"k{i + 1}": {
            "color": "#4a5568",
            "weight": 0.6,
            "opacity": 0.8,
            "fillColor": c,
            "fillOpacity": 0.8,
        }
        for i, c in enumerate(CASE_GRID_COLOURS)
    },
}
CASE_HEXES: dict[str, Style] = {
    f"k{i + 1}": {"color": "#ffffff", "weight": 0.6, "fillColor": c, "fillOpacity": 0.75}
    for i, c in enumerate(HEX_COLOURS)
}
#: Case markers by state: overdue over open over done (closed or void).
CASE_POINTS: dict[str, Style] = {
    "overdue": {"color": "#c53030", "label": "超期未结"},
    "open": {"color": "#dd6b20", "label": "未结"},
    "done": {"color": "#718096", "label": "已结案或作废"},
}

#: The siting map: proposed sites, the area each would reach, and the uncovered compounds.
SITING: dict[str, Style] = {
    "site": {"color": "#2b6cb0", "weight": 2, "fillColor": "#2b6cb0", "fillOpacity": 0.9},
    "reach": {
        "color": "#2b6cb0",
        "weight": 1.5,
        "dashArray": "4 3",
        "fillColor": "#63b3ed",
        "fillOpacity": 0.18,
        "interactive": False,
    },
    "uncovered": {"color": "#c53030", "weight": 1, "fillColor": "#fc8181", "fillOpacity": 0.7},
}

#: Platforms per grid: upper bounds of the classes p1, p2, … (the last open-ended).
PLATFORM_BREAKS = (1, 2)
_PLATFORM_COLOURS = ("#c7e9c0", "#74c476", "#238b45")
#: The overview's organisation layers: grids with and without a party branch, platforms per
#: grid (a resident grid with none in the gaps' red), compounds no 小巷管家 team covers and
#: communities no law member serves.
ORGANISATIONS: dict[str, Style] = {
    "branch": {
        "color": "#c53030",
        "weight": 0.8,
        "opacity": 0.7,
        "fillColor": "#feb2b2",
        "fillOpacity": 0.15,
    },
    "no_branch": {
        "color": "#1a202c",
        "weight": 1.6,
        "opacity": 0.9,
        "dashArray": "4 3",
        "fillColor": "#4a5568",
        "fillOpacity": 0.45,
    },
    "p0": {
        "color": "#a0aec0",
        "weight": 0.6,
        "opacity": 0.8,
        "fillColor": "#e2e8f0",
        "fillOpacity": 0.3,
    },
    "p0_resident": {
        "color": MISSING,
        "weight": 1.8,
        "opacity": 1.0,
        "fillColor": MISSING,
        "fillOpacity": 0.5,
    },
    **{
        f"p{i + 1}": {
            "color": "#276749",
            "weight": 0.6,
            "opacity": 0.8,
            "fillColor": c,
            "fillOpacity": 0.6,
        }
        for i, c in enumerate(_PLATFORM_COLOURS)
    },
    "uncovered_compound": {
        "color": "#9b2c2c",
        "weight": 1.5,
        "fillColor": "#f56565",
        "fillOpacity": 0.75,
    },
    "no_law": {
        "color": MISSING,
        "weight": 2.5,
        "dashArray": "6 4",
        "fillColor": MISSING,
        "fillOpacity": 0.2,
    },
}

#: Everything the page needs, by table name (``geogrid.styles`` in maps.js).
TABLES: dict[str, dict[str, Style]] = {
    "base": BASE,
    "areas": AREAS,
    "grids": GRIDS,
    "compounds": COMPOUNDS,
    "circles": CIRCLES,
    "gaps": GAPS,
    "hexes": HEXES,
    "choropleth": CHOROPLETH,
    "locate": LOCATE,
    "plan": PLAN,
    "diff": DIFF,
    "caseGrids": CASE_GRIDS,
    "caseHexes": CASE_HEXES,
    "casePoints": CASE_POINTS,
    "siting": SITING,
    "organisations": ORGANISATIONS,
}


def station_icon(kind: str) -> dict[str, str]:
    """How a station of ``kind`` is drawn: a round badge of the kind's colour with its Font
    Awesome icon (small enough for 170 stations on one district view). Unknown kinds: grey."""
    _, colour, icon = STATION_KINDS.get(kind, (kind, "#575757", "circle"))
    return {"icon": icon, "colour": colour, "className": f"geogrid-station geogrid-station-{kind}"}


def station_icons() -> dict[str, dict[str, str]]:
    return {kind: station_icon(kind) for kind in STATION_KINDS}


def grid_style(kind: str) -> str:
    """Style key of a grid kind.

    Examples
    --------
    >>> grid_style("dedicated"), grid_style("resident"), grid_style("other")
    ('dedicated', 'resident', 'resident')
    """
    return kind if kind in GRIDS else "resident"


def compound_style(kind: str, smart_safe: bool, three_no: bool) -> str:
    """Style key of a compound: three-no over smart-safe over the rest; scattered dashed.

    Examples
    --------
    >>> compound_style("organised", True, True), compound_style("scattered", True, False)
    ('three_no', 'smart_safe_scattered')
    """
    key = "three_no" if three_no else "smart_safe" if smart_safe else "plain"
    return f"{key}_scattered" if kind == "scattered" else key


def circle_style(kind: str, minutes: int) -> str:
    key = f"{kind}_{minutes}"
    return key if key in CIRCLES else f"party_mass_{minutes}"


def hex_style(uncovered: int) -> str:
    """Class of a heat cell by its uncovered households.

    Examples
    --------
    >>> hex_style(10), hex_style(50), hex_style(51), hex_style(5000)
    ('h0', 'h0', 'h1', 'h4')
    """
    for i, bound in enumerate(HEX_BREAKS):
        if uncovered <= bound:
            return f"h{i}"
    return f"h{len(HEX_BREAKS)}"


def share_style(share: float | None) -> str:
    """Choropleth class of a covered share of households (None: nobody lives there).

    Examples
    --------
    >>> share_style(None), share_style(0.2), share_style(0.95), share_style(1.0)
    ('none', 'c0', 'c4', 'c4')
    """
    if share is None:
        return "none"
    return f"c{sum(share >= b for b in SHARE_BREAKS)}"


def count_breaks(counts: Iterable[int], classes: int = CASE_CLASSES) -> tuple[int, ...]:
    """Upper bounds of up to ``classes`` classes of the positive ``counts``: their quantiles,
    each taken once, the last the largest count (empty when no count is positive).

    Examples
    --------
    >>> count_breaks([0, 1, 1, 1, 2, 3, 5, 8, 13, 21, 34])
    (1, 2, 5, 13, 34)
    >>> count_breaks([3, 3, 3]), count_breaks([0])
    ((3,), ())
    """
    values = sorted(c for c in counts if c > 0)
    bounds: list[int] = []
    for i in range(1, classes + 1):
        bound = values[math.ceil(i * len(values) / classes) - 1] if values else 0
        if values and (not bounds or bound > bounds[-1]):
            bounds.append(bound)
    return tuple(bounds)


def count_style(count: int, breaks: Sequence[int]) -> str:
    """Class key of a count among ``breaks`` (:func:`count_breaks`); k0 for none.

    Examples
    --------
    >>> [count_style(n, (1, 2, 5, 13, 34)) for n in (0, 1, 3, 13, 14, 99)]
    ['k0', 'k1', 'k3', 'k4', 'k5', 'k5']
    """
    if count <= 0:
        return "k0"
    for i, bound in enumerate(breaks):
        if count <= bound:
            return f"k{i + 1}"
    return f"k{max(1, len(breaks))}"


def case_point_style(open_: bool, overdue: bool) -> str:
    """Marker key of a case: overdue, open or done.

    Examples
    --------
    >>> case_point_style(True, True), case_point_style(True, False), case_point_style(False, False)
    ('overdue', 'open', 'done')
    """
    return "overdue" if overdue else "open" if open_ else "done"


def platform_style(platforms: int, kind: str) -> str:
    """Class of a grid by the platforms serving it: p0_resident for a resident grid with
    none (it should have one), p0 for another grid with none, then p1, p2, p3 (3 or more).

    Examples
    --------
    >>> [platform_style(n, "resident") for n in (0, 1, 2, 3, 9)]
    ['p0_resident', 'p1', 'p2', 'p3', 'p3']
    >>> platform_style(0, "dedicated")
    'p0'
    """
    if platforms <= 0:
        return "p0_resident" if kind == "resident" else "p0"
    for i, bound in enumerate(PLATFORM_BREAKS):
        if platforms <= bound:
            return f"p{i + 1}"
    return f"p{len(PLATFORM_BREAKS) + 1}"
