"""/console/dashboard: cases per street and community over a period, with charts and tables,
and the organisations' coverage per street.

The figures are geogrid.cases.queries.performance and count_cases over the cases created in
the period, so they equal GET /v1/cases/performance and /v1/cases/counts for the same period;
the organisations' are geogrid.organisations.coverage_by_area as the registers serve now, so
they equal GET /v1/organisations/coverage?by=street.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from geogrid import organisations
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.pages import StaffDep, page
from geogrid.cases import queries
from geogrid.errors import InvalidInputError
from geogrid.limits import Word
from geogrid.moments import LOCAL

router = APIRouter()


def this_month(today: date | None = None) -> tuple[str, str]:
    """The first and last day of the month (Asia/Shanghai) as ISO dates."""
    today = today or datetime.now(LOCAL).date()
    last = monthrange(today.year, today.month)[1]
    return today.replace(day=1).isoformat(), today.replace(day=last).isoformat()


def _units(units: list[queries.UnitPerformance]) -> list[dict[str, Any]]:
    return [asdict(u) for u in units]


#: The organisations' coverage figures the dashboard tables, as /v1/organisations/coverage.
COVERAGE_FIGURES = (
    "grids",
    "grids_without_branch",
    "resident_grids",
    "resident_grids_without_platform",
    "compounds",
    "compounds_without_volunteer_team",
    "communities",
    "communities_without_law_member",
)


def _coverage(areas: tuple[organisations.AreaCoverage, ...]) -> list[dict[str, Any]]:
    """Each street's coverage figures, then the district's (their sums) as code None."""
    rows = [
        {"code": a.code, "name": a.name, **{f: getattr(a, f) for f in COVERAGE_FIGURES}}
        for a in areas
    ]
    total = {f: sum(r[f] for r in rows) for f in COVERAGE_FIGURES}
    return [*rows, {"code": None, "name": "全区", **total}]


@router.get("/console/dashboard")
def dashboard(
    request: Request,
    conn: ConnDep,
    user: StaffDep,
    created_from: Annotated[Word, Query(alias="from")] = "",
    created_to: Annotated[Word, Query(alias="to")] = "",
) -> HTMLResponse:
    """Cases per street, community and department in a period (this month by default), charted
    and tabled; each unit is charged only the 处置 hours it held its cases. Below them, the
    organisations' coverage per street as the registers serve now."""
    first, last = this_month()
    start, end = created_from or first, created_to or last
    message = ""
    try:
        found = queries.CaseFilter.parse(created_from=start, created_to=end)
    except InvalidInputError as exc:
        message = exc.message_zh or exc.message
        start, end = first, last
        found = queries.CaseFilter.parse(created_from=start, created_to=end)
    streets, total = queries.performance(conn, found, by="street")
    communities, _ = queries.performance(conn, found, by="community")
    departments, _ = queries.performance(conn, found, by="department")
    statuses = queries.count_cases(conn, found, by="status")
    coverage = _coverage(organisations.coverage_by_area(conn, "street").areas)
    figures = {
        "from": start,
        "to": end,
        "total": asdict(total),
        "streets": _units(streets),
        "communities": _units(communities),
        "departments": _units(departments),
        "statuses": [asdict(s) for s in statuses],
        "organisations": coverage,
    }
    return page(
        request,
        "dashboard.html",
        user,
        title="统计",
        active="dashboard",
        status=422 if message else 200,
        message=message,
        start=start,
        end=end,
        total=total,
        streets=streets,
        communities=communities,
        departments=departments,
        statuses=statuses,
        coverage=coverage,
        figures=figures,
    )
