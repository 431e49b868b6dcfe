"""After dispatch, in the console: a case page's extensions, 催办, 督办, 回访 and reopening,
and the supervisor's approvals page (/console/approvals).

Every change goes through the functions the JSON API calls (geogrid.cases.supervision,
visits, records.reopen), with the same checks: a supervisor cannot approve their own request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, text

from geogrid import cases
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import CaseSettingsDep, ConnDep
from geogrid.api.routes.console.cases import _case_answer, _refused, _status
from geogrid.api.routes.console.pages import need, page, root
from geogrid.calendar import load_calendar
from geogrid.cases import duties, supervision, visits
from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.cases.stages import STAGE_ZH
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from geogrid.limits import Id, Note

router = APIRouter()


# Who may make each move at all (geogrid/cases/duties.py; the case's own rules come after).
Extender = Annotated[
    SignedIn, Depends(need(Permission.handle_department_cases, Permission.handle_cases))
]
Decider = Annotated[SignedIn, Depends(need(*duties.DUTIES["decide"].permissions))]
Urger = Annotated[SignedIn, Depends(need(*duties.DUTIES["urge"].permissions))]
Supervisor = Annotated[SignedIn, Depends(need(*duties.DUTIES["supervise"].permissions))]
Visitor = Annotated[SignedIn, Depends(need(*duties.DUTIES["visit"].permissions))]
Reopener = Annotated[SignedIn, Depends(need(*duties.DUTIES["reopen"].permissions))]
REFUSALS = (InvalidInputError, ConflictError, NotFoundError, PermissionDeniedError)


def _done(request: Request, conn: Connection, user: SignedIn, case_id: int, said: str) -> Response:
    if request.headers.get("hx-request"):
        return _case_answer(request, conn, user, case_id, message=said)
    return RedirectResponse(f"{root(request)}/console/cases/{case_id}", 303)


@router.post("/console/cases/{case_id}/extensions")
def ask_extension(
    request: Request,
    conn: ConnDep,
    user: Extender,
    case_id: Id,
    hours: Annotated[str, Form()] = "",
    reason: Annotated[Note, Form()] = "",
) -> Response:
    """延期申请: more 处置 hours, with a reason."""
    try:
        duties.authorize(conn, user.principal, case_id, "extend")
        try:
            asked = float(hours)
        except ValueError:
            asked = float("nan")
        supervision.request_extension(conn, case_id, asked, reason, user.username)
    except REFUSALS as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return _done(request, conn, user, case_id, f"已申请延期 {hours} 小时，等待审批")


@router.post("/console/cases/{case_id}/extensions/{extension_id}/decision")
def decide_extension(
    request: Request,
    conn: ConnDep,
    user: Decider,
    case_settings: CaseSettingsDep,
    case_id: Id,
    extension_id: Id,
    approve: Annotated[str, Form()] = "",
    note: Annotated[Note, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject a pending request (from the case page or the approvals page)."""
    try:
        duties.authorize(conn, user.principal, case_id, "decide")
        supervision.decide_extension(
            conn,
            case_id,
            extension_id,
            approve == "yes",
            user.username,
            note,
            load_calendar(conn, case_settings.office_hours),
        )
    except REFUSALS as exc:
        if back == "approvals":
            conn.rollback()
            return approvals_page(request, conn, user, message=exc.message_zh or exc.message)
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    said = "已批准延期" if approve == "yes" else "已驳回延期申请"
    if back == "approvals":
        return RedirectResponse(f"{root(request)}/console/approvals", 303)
    return _done(request, conn, user, case_id, said)


@router.post("/console/cases/{case_id}/urge")
def urge_case(
    request: Request, conn: ConnDep, user: Urger, case_id: Id, note: Annotated[Note, Form()] = ""
) -> Response:
    """催办."""
    try:
        duties.authorize(conn, user.principal, case_id, "urge")
        count = supervision.urge(conn, case_id, user.username, note)
    except REFUSALS as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return _done(request, conn, user, case_id, f"已催办（第 {count} 次）")


@router.post("/console/cases/{case_id}/supervise")
def supervise_case(
    request: Request,
    conn: ConnDep,
    user: Supervisor,
    case_id: Id,
    note: Annotated[Note, Form()] = "",
) -> Response:
    """督办."""
    try:
        duties.authorize(conn, user.principal, case_id, "supervise")
        supervision.supervise(conn, case_id, user.username, note)
    except REFUSALS as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return _done(request, conn, user, case_id, "已督办")


@router.post("/console/cases/{case_id}/visits")
def visit_case(
    request: Request,
    conn: ConnDep,
    user: Visitor,
    case_id: Id,
    reached: Annotated[str, Form()] = "",
    satisfaction: Annotated[str, Form()] = "",
    note: Annotated[Note, Form()] = "",
) -> Response:
    """回访 of a closed case."""
    try:
        duties.authorize(conn, user.principal, case_id, "visit")
        score = int(satisfaction) if satisfaction.strip().isdigit() else None
        visits.record_visit(
            conn, case_id, user.username, reached=reached == "yes", satisfaction=score, note=note
        )
    except REFUSALS as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return _done(request, conn, user, case_id, "已记录回访")


@router.post("/console/cases/{case_id}/reopen")
def reopen_case(
    request: Request,
    conn: ConnDep,
    user: Reopener,
    case_settings: CaseSettingsDep,
    case_id: Id,
    note: Annotated[Note, Form()] = "",
) -> Response:
    """Reopen a closed case (重新办理)."""
    try:
        duties.authorize(conn, user.principal, case_id, "reopen")
        cases.reopen(conn, case_id, user.username, note, case_settings)
    except REFUSALS as exc:
        return _refused(request, conn, user, case_id, exc, "", _status(exc))
    return _done(request, conn, user, case_id, "已重新派遣办理")


def approvals_page(
    request: Request, conn: Connection, user: SignedIn, *, message: str = ""
) -> HTMLResponse:
    pending = supervision.list_extensions(conn, status="pending")
    facts = {
        row.id: row
        for row in conn.execute(
            text(
                "SELECT id, status, category_name, grid_name, due_at, stage, warning "
                "FROM case_view WHERE id = ANY(:ids)"
            ),
            {"ids": [e.case_id for e in pending]},
        )
    }
    red = conn.execute(
        text(
            "SELECT id, status, category_name, grid_name, stage, stage_due_at, supervised_at "
            "FROM case_view WHERE warning = 'red' ORDER BY stage_due_at LIMIT 50"
        )
    ).all()
    return page(
        request,
        "approvals.html",
        user,
        title="督办审批",
        active="approvals",
        status=422 if message else 200,
        message=message,
        pending=pending,
        facts=facts,
        red=red,
        status_zh=STATUS_ZH,
        stage_name=STAGE_ZH,
    )


@router.get("/console/approvals")
def approvals(request: Request, conn: ConnDep, user: Decider) -> HTMLResponse:
    """The supervisor's page: extension requests waiting, and cases over their limit."""
    return approvals_page(request, conn, user)
