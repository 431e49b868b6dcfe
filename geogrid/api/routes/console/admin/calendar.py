"""/console/admin/calendar: the working calendar that working-hour deadlines count on.

The page lists the years loaded, each with its notice (source) and its holidays and make-up
working days (调休上班), and says when next year's notice is missing: a due time that would
fall in a year without a calendar is flagged calendar_missing, never guessed. An admin loads a
year's notice from a file in the format ``geogrid calendar load`` reads; all of it or none,
every bad line named, recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import CaseSettingsDep, ConnDep
from geogrid.api.routes.console.admin.forms import done, done_message, refused
from geogrid.api.routes.console.pages import need, page
from geogrid.calendar import calendar_years
from geogrid.calendar.store import CalendarFileError
from geogrid.cases.calendar_notices import (
    MAX_NOTICE_BYTES,
    days_by_year,
    load_notice,
    next_year,
    read_notice,
)
from geogrid.errors import ConflictError, InvalidInputError, LoadError, NotFoundError

router = APIRouter()
KeeperDep = Annotated[SignedIn, Depends(need(Permission.manage_calendar))]
KIND_ZH = {"holiday": "放假", "workday": "调休上班"}
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DONE = {"loaded": "已载入 {name}。"}


def _calendar_page(
    request: Request,
    conn: ConnDep,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    problems: list[str] | None = None,
    source: str = "",
) -> HTMLResponse:
    params = request.query_params
    years = sorted(calendar_years(conn), key=lambda y: y.year, reverse=True)
    loaded = {y.year for y in years}
    coming = next_year()
    return page(
        request,
        "admin_calendar.html",
        user,
        title="工作日历",
        active="calendar",
        status=status,
        years=years,
        days=days_by_year(conn),
        next_year=coming,
        next_missing=coming not in loaded,
        this_missing=coming - 1 not in loaded,
        kind_zh=KIND_ZH,
        weekday_zh=WEEKDAY_ZH,
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        problems=problems or [],
        source=source,
        max_kb=MAX_NOTICE_BYTES // 1024,
    )


@router.get("/calendar")
def calendar_page(request: Request, user: KeeperDep, conn: ConnDep) -> HTMLResponse:
    """The years of the working calendar, their notices and days; loading the next one."""
    return _calendar_page(request, conn, user)


@router.post("/calendar")
def load_calendar_notice(
    request: Request,
    user: KeeperDep,
    conn: ConnDep,
    case_settings: CaseSettingsDep,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Load a year's holiday notice from a calendar file: all of it or none."""
    name = (file.filename or "calendar.csv").rsplit("/", 1)[-1][:100]
    try:
        notice = read_notice(file.file.read(MAX_NOTICE_BYTES + 1), name, source)
        loaded = load_notice(conn, notice, user.username, case_settings.office_hours)
    except CalendarFileError as exc:
        conn.rollback()
        problems = [p.render("zh") for p in exc.problems][:50]
        error = f"“{name}”未载入：有 {len(exc.problems)} 处错误。"
        return _calendar_page(
            request, conn, user, status=422, error=error, problems=problems, source=source
        )
    except LoadError as exc:
        conn.rollback()
        error = f"“{name}”未载入：{exc.message_zh or exc.message}"
        return _calendar_page(request, conn, user, status=422, error=error, source=source)
    except (InvalidInputError, ConflictError, NotFoundError) as exc:
        status, text = refused(conn, exc)
        error = f"“{name}”未载入：{text}"
        return _calendar_page(request, conn, user, status=status, error=error, source=source)
    said = "、".join(f"{y} 年" for y in loaded.years)
    summary = (
        f"{said}的节假日安排（放假 {loaded.holidays} 天，调休上班 {loaded.workdays} 天"
        + (f"，替换了原有的 {'、'.join(map(str, loaded.replaced))} 年" if loaded.replaced else "")
        + f"）；{loaded.due_times} 件案件的截止时间随之算出"
    )
    return done(request, "/calendar", "loaded", summary)
