"""Many cases at once: the filtered list, counts per unit and H3 cell, performance, exports
and imports.

Every route takes the same filters (status, grid, community, street, category, from, to,
overdue, open, flag); viewers may read everything here, with reporter and grid people masked.
Registered before the cases router, so /v1/cases/counts is never read as a case id.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission
from geogrid.api.deps import (
    CaseSettingsDep,
    ConnDep,
    LongConnDep,
    PrincipalDep,
    SnapshotsDep,
    limited,
    require,
)
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.routes.cases import case_body
from geogrid.api.schemas.cases import (
    CaseCells,
    CaseCounts,
    CaseImportAnswer,
    CasePage,
    CasePerformance,
)
from geogrid.cases import export as case_export
from geogrid.cases import importing as case_importing
from geogrid.cases import queries as case_queries
from geogrid.cases.lifecycle import STATUSES
from geogrid.cases.queries import CaseFilter
from geogrid.cases.routing import FLAGS
from geogrid.limits import INT64_MAX, Int64, Title, Word

router = APIRouter(tags=["cases"])


def case_filter(
    status: Annotated[
        list[Word] | None,
        Query(description=f"Any of {', '.join(STATUSES)}; repeat or comma-separate"),
    ] = None,
    grid: Annotated[Word | None, Query(description="Grid code (15 digits)")] = None,
    community: Annotated[Word | None, Query(description="Community code (12 digits)")] = None,
    street: Annotated[Word | None, Query(description="Street code (9 digits)")] = None,
    category: Annotated[
        Word | None,
        Query(description="Category code (E0102), major class (E01, C01) or a name (市容环境)"),
    ] = None,
    created_from: Annotated[
        Word | None,
        Query(
            alias="from",
            description="Created at or after: a date or ISO time; Asia/Shanghai without an "
            "offset; 1900-01-01 to 2100-12-31",
            examples=["2026-05-01"],
        ),
    ] = None,
    created_to: Annotated[
        Word | None,
        Query(
            alias="to",
            description="Created before this time, or up to the end of this date",
            examples=["2026-05-31"],
        ),
    ] = None,
    overdue: Annotated[Word | None, Query(description="true or false")] = None,
    open: Annotated[
        Word | None, Query(description="true: not closed or void; false: closed or void")
    ] = None,
    flag: Annotated[
        list[Word] | None, Query(description=f"Any of {', '.join(FLAGS)}; repeat or comma-separate")
    ] = None,
    mobile_grid: Annotated[
        Title | None,
        Query(description="The mobile grid (流动网格) whose member reported the case, by name"),
    ] = None,
) -> CaseFilter:
    """The filters every case query takes, checked (422 naming the value and the choices)."""
    return CaseFilter.parse(
        status=status,
        grid=grid,
        community=community,
        street=street,
        category=category,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
        open=open,
        flags=flag,
        mobile_grid=mobile_grid,
    )


FilterDep = Annotated[CaseFilter, Depends(case_filter)]


@router.get("/v1/cases", response_model=CasePage)
def list_cases(
    request: Request,
    conn: ConnDep,
    principal: PrincipalDep,
    found: FilterDep,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=INT64_MAX,
            description=f"Page size; above {case_queries.MAX_LIMIT} it is clamped",
        ),
    ] = case_queries.DEFAULT_LIMIT,
    after: Annotated[
        Int64 | None, Query(description="Continue after this case id; follow the next link")
    ] = None,
) -> Response:
    """Cases matching the filters, oldest id first, paged (personal data masked for viewers)."""
    page = case_queries.list_cases(conn, found, limit, after)
    following = (
        None
        if page.next_after is None
        else str(request.url.include_query_params(after=page.next_after, limit=page.limit))
    )
    links = [{"rel": "self", "href": str(request.url)}]
    if following is not None:
        links.append({"rel": "next", "href": following})
    return json_response(
        {
            "filter": found.describe(),
            "numberMatched": page.number_matched,
            "numberReturned": len(page.items),
            "limit": page.limit,
            "limit_requested": page.limit_requested,
            "next": following,
            "links": links,
            "cases": [case_body(case, principal) for case in page.items],
        }
    )


@router.get("/v1/cases/counts", response_model=CaseCounts)
def count_cases(
    conn: ConnDep,
    found: FilterDep,
    by: Annotated[Word, Query(description=f"One of {', '.join(case_queries.COUNT_BY)}")] = "grid",
) -> Response:
    """How many cases per grid, community, street, category, class, status or mobile grid."""
    counts = case_queries.count_cases(conn, found, by)
    return json_response(
        {
            "by": by,
            "filter": found.describe(),
            "total": sum(c.cases for c in counts),
            "counts": [asdict(c) for c in counts],
        }
    )


@router.get("/v1/cases/h3", response_model=CaseCells)
def count_h3(
    conn: ConnDep,
    found: FilterDep,
    resolution: Annotated[int, Query(ge=0, le=15, description="H3 resolution, 0..15")] = 9,
) -> Response:
    """How many cases per H3 cell, for heat maps."""
    cells = case_queries.count_h3(conn, found, resolution)
    return json_response(
        {
            "resolution": resolution,
            "filter": found.describe(),
            "total": sum(c.cases for c in cells),
            "cells": [asdict(c) for c in cells],
        }
    )


@router.get("/v1/cases/performance", response_model=CasePerformance)
def performance(
    conn: ConnDep,
    found: FilterDep,
    by: Annotated[Word, Query(description="grid, community, street or department")] = "grid",
) -> Response:
    """Per unit: cases closed, share closed on time, mean handling hours, open and overdue."""
    units, total = case_queries.performance(conn, found, by)
    return json_response(
        {
            "by": by,
            "filter": found.describe(),
            "total": asdict(total),
            "units": [asdict(u) for u in units],
        }
    )


@router.get(
    "/v1/cases/export",
    response_class=Response,
    responses={
        **problems(413),
        200: {
            "description": "A CSV (UTF-8 with BOM) or XLSX file with Chinese headers",
            "content": {media: {} for media in case_export.FORMATS.values()},
        },
    },
)
def export_cases(
    conn: LongConnDep,
    principal: PrincipalDep,
    found: FilterDep,
    format: Annotated[Word, Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
) -> Response:
    """The filtered cases as a CSV or XLSX file with Chinese headers (masked for viewers)."""
    content = case_export.export_cases(conn, found, format, principal)
    name = case_export.file_name(format)
    chinese = name.replace("cases", "案件清单", 1)
    return Response(
        content,
        media_type=case_export.FORMATS[format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"; '
            f"filename*=UTF-8''{quote(chinese)}"
        },
    )


@router.post(
    "/v1/cases/import",
    response_model=CaseImportAnswer,
    dependencies=[require(Permission.import_cases), limited(Budget.writes)],
    responses=problems(413),
)
def import_cases(
    conn: LongConnDep,
    principal: PrincipalDep,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX, one case a row")],
    crs: Annotated[
        Word, Query(description="crs of lon/lat where a row names none: wgs84, cgcs2000, ...")
    ] = "wgs84",
    skip_bad: Annotated[
        bool, Query(description="Import the good rows and list the bad ones")
    ] = False,
) -> Response:
    """Import cases from a file (an export of geogrid re-imports as the same cases, once)."""
    # The body is at most GEOGRID_MAX_BODY_BYTES (413 before it is read); bigger files are
    # for `geogrid cases import`.
    rows = case_importing.read_upload(file.file.read(), file.filename or "")
    result = case_importing.import_cases(
        conn,
        snapshots.current(),
        rows,
        principal.actor,
        case_settings,
        crs=crs,
        skip_bad=skip_bad,
    )
    return json_response(
        {
            "created": result.created,
            "already": result.already,
            "refused": [{"line": line, "reason": why} for line, why in result.refused],
        }
    )
