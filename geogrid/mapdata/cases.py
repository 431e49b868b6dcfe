"""What the case map draws: cases per grid, per H3 cell and one by one (no personal data)."""

from __future__ import annotations

import h3
import shapely
from sqlalchemy import Connection, text

from geogrid.cases import queries as case_queries
from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.cases.queries import CaseFilter
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.lookup import collections as features
from geogrid.mapdata.types import (
    CaseCell,
    CaseMapView,
    CasePlace,
    GridCases,
)
from geogrid.mapdata.views import (
    OVERVIEW_ZOOM,
    all_pages,
    current_release_id,
    district_area,
    simplify_coverage,
    tolerance_m,
)
from geogrid.moments import LOCAL

#: H3 resolutions the case heat layer offers: 8 (cells of about 0.74 km², a district view)
#: and 9 (about 0.11 km², a street view).
CASE_HEX_RESOLUTIONS = (8, 9)
#: The newest this many selected cases are drawn as markers; counts always cover them all.
MAX_CASE_MARKERS = 5_000

_CASE_MARKERS = """
SELECT id, lon, lat, status, category, category_name, category_major, created_at,
       grid_code, grid_name, status NOT IN ('closed', 'void') AS open,
       coalesce(overdue, false) AS overdue, mobile_grid
FROM case_view
WHERE {filter}
ORDER BY created_at DESC, id DESC
LIMIT :fetch
"""


_UNIT_NAME = {
    "street": "SELECT name FROM street WHERE code = :c",
    "community": "SELECT name FROM community WHERE code = :c",
}


def _unit_name(conn: Connection, level: str, code: str) -> str:
    name = conn.execute(text(_UNIT_NAME[level]), {"c": code}).scalar_one_or_none()
    return code if name is None else f"{code} {name}"


def _case_filters(conn: Connection, found: CaseFilter) -> tuple[tuple[str, str], ...]:
    start, end = found.period()
    shown: list[tuple[str, str]] = []
    if found.statuses:
        shown.append(("status", "、".join(STATUS_ZH.get(s, s) for s in found.statuses)))
    if found.category:
        shown.append(("category", found.category))
    if found.street:
        shown.append(("street", _unit_name(conn, "street", found.street)))
    if found.community:
        shown.append(("community", _unit_name(conn, "community", found.community)))
    if found.grid:
        shown.append(("grid", found.grid))
    if start is not None:
        shown.append(("from", start.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")))
    if end is not None:
        shown.append(("to", end.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")))
    if found.open is not None:
        shown.append(("open", "是" if found.open else "否"))
    if found.overdue is not None:
        shown.append(("overdue", "是" if found.overdue else "否"))
    if found.flags:
        shown.append(("flags", "、".join(found.flags)))
    if found.mobile_grid:
        shown.append(("mobile_grid", found.mobile_grid))
    return tuple(shown)


def case_view(
    conn: Connection, found: CaseFilter | None = None, *, hex_resolution: int = 8
) -> CaseMapView:
    """Everything the case map draws for the cases ``found`` selects (default: all).

    Parameters
    ----------
    conn
        An open connection.
    found
        Which cases (geogrid.cases.queries.CaseFilter); the same predicate as /v1/cases.
    hex_resolution
        H3 resolution of the heat layer, one of :data:`CASE_HEX_RESOLUTIONS`.

    Returns
    -------
    CaseMapView
        Counts per grid of the current release (coverage-simplified outlines, as the
        overview's) and per H3 cell, the newest cases as points without any personal data,
        and the totals. Raises InvalidInputError for a bad filter value or resolution.
    """
    if hex_resolution not in CASE_HEX_RESOLUTIONS:
        raise InvalidInputError(
            tr(
                "resolution was {hex_resolution} but must be one of {CASE_HEX_RESOLUTIONS}",
                hex_resolution=hex_resolution,
                CASE_HEX_RESOLUTIONS=list(CASE_HEX_RESOLUTIONS),
            ),
        )
    chosen = found or CaseFilter()
    release = current_release_id(conn)
    tolerance = tolerance_m(OVERVIEW_ZOOM)
    counts = {u.code: u for u in case_queries.count_cases(conn, chosen, by="grid")}
    grids = all_pages(lambda after: features.grids(conn, limit=features.MAX_LIMIT, after=after))
    shapes = simplify_coverage([g.geometry for g in grids], tolerance)
    places = []
    for grid, shape in zip(grids, shapes, strict=True):
        unit = counts.get(grid.code)
        places.append(
            GridCases(
                grid.code,
                grid.name,
                grid.community.name,
                grid.street.name,
                0 if unit is None else unit.cases,
                0 if unit is None else unit.open,
                0 if unit is None else unit.overdue,
                shape,
            )
        )
    current = {g.code for g in grids}
    hexes = []
    for cell in case_queries.count_h3(conn, chosen, hex_resolution):
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell.cell)]
        hexes.append(
            CaseCell(cell.cell, cell.cases, cell.open, cell.overdue, shapely.Polygon(ring))
        )
    query = _CASE_MARKERS.replace("{filter}", sql("case_filter"))
    rows = conn.execute(
        text(query), {**case_queries.filter_params(conn, chosen), "fetch": MAX_CASE_MARKERS}
    )
    cases = tuple(
        CasePlace(
            int(r.id),
            float(r.lon),
            float(r.lat),
            r.status,
            STATUS_ZH.get(r.status, r.status),
            r.category,
            r.category_name,
            r.category_major,
            r.created_at.astimezone(LOCAL),
            str(r.grid_code).strip(),
            r.grid_name,
            bool(r.open),
            bool(r.overdue),
            r.mobile_grid,
        )
        for r in rows
    )
    return CaseMapView(
        release=release,
        district=district_area(conn, tolerance),
        grids=tuple(places),
        hexes=tuple(hexes),
        hex_resolution=hex_resolution,
        cases=cases,
        total=sum(u.cases for u in counts.values()),
        open=sum(u.open for u in counts.values()),
        overdue=sum(u.overdue for u in counts.values()),
        elsewhere=sum(u.cases for code, u in counts.items() if code not in current),
        filters=_case_filters(conn, chosen),
    )
