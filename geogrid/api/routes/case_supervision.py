"""After dispatch: extensions (延期) and their approval, 催办, 督办, 回访 and reopening.

Who may do what is the table in the README ("Who may do what"); the rules that bind people
rather than roles (nobody approves their own extension) are in geogrid.cases.supervision.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field

from geogrid import cases
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api.deps import CaseSettingsDep, ConnDep, PrincipalDep, limited, require
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.routes.cases import case_body
from geogrid.api.schemas.cases import CaseAnswer
from geogrid.calendar import load_calendar
from geogrid.cases import duties, supervision, visits
from geogrid.cases.supervision import EXTENSION_STATUS_ZH, Extension
from geogrid.cases.visits import SATISFACTION_ZH, Visit
from geogrid.limits import Id, Note
from geogrid.moments import LOCAL

router = APIRouter(tags=["cases"])


class ExtensionRequest(BaseModel):
    hours: float = Field(gt=0, le=2160, description="More 处置 hours, on the case's clock")
    reason: Note = Field(min_length=1)


class ExtensionDecision(BaseModel):
    approve: bool
    note: Note = ""


class Remark(BaseModel):
    note: Note = ""


class VisitBody(BaseModel):
    reached: bool = Field(description="Whether the reporter was reached")
    satisfaction: int | None = Field(
        default=None, ge=1, le=5, description="1 very dissatisfied … 5 very satisfied"
    )
    note: Note = ""


class ExtensionInfo(BaseModel):
    id: int
    case_id: int
    hours: float
    reason: str
    requested_by: str
    requested_at: str
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    status_zh: str
    decided_by: str | None
    decided_at: str | None
    decision_note: str


class VisitInfo(BaseModel):
    id: int
    case_id: int
    at: str
    actor: str
    reached: bool
    satisfaction: int | None
    satisfaction_zh: str | None
    note: str


def _actor(principal: Principal) -> str:
    return principal.actor


def extension_body(extension: Extension) -> dict[str, Any]:
    return {
        "id": extension.id,
        "case_id": extension.case_id,
        "hours": extension.hours,
        "reason": extension.reason,
        "requested_by": extension.requested_by,
        "requested_at": extension.requested_at.astimezone(LOCAL).isoformat(),
        "status": extension.status,
        "status_zh": EXTENSION_STATUS_ZH[extension.status],
        "decided_by": extension.decided_by,
        "decided_at": extension.decided_at and extension.decided_at.astimezone(LOCAL).isoformat(),
        "decision_note": extension.decision_note,
    }


def visit_body(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.id,
        "case_id": visit.case_id,
        "at": visit.at.astimezone(LOCAL).isoformat(),
        "actor": visit.actor,
        "reached": visit.reached,
        "satisfaction": visit.satisfaction,
        "satisfaction_zh": visit.satisfaction and SATISFACTION_ZH[visit.satisfaction],
        "note": visit.note,
    }


def _case(conn: ConnDep, principal: Principal, case_id: int) -> Response:
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/extensions",
    response_model=ExtensionInfo,
    status_code=201,
    dependencies=[
        require(*duties.DUTIES["extend"].permissions, Permission.handle_cases),
        limited(Budget.writes),
    ],
    responses=problems(404, 409),
)
def request_extension(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[
        ExtensionRequest, Body(examples=[{"hours": 8, "reason": "需协调燃气公司停气后施工"}])
    ],
) -> Response:
    """Ask a supervisor for more 处置 time (延期) on a case in 处置, with a reason: the handler
    of the case's department (dispatchers for a case with none)."""
    duties.authorize(conn, principal, case_id, "extend")
    found = supervision.request_extension(conn, case_id, body.hours, body.reason, _actor(principal))
    return json_response(extension_body(found), 201)


@router.get(
    "/v1/cases/{case_id}/extensions",
    response_model=list[ExtensionInfo],
    dependencies=[
        require(
            Permission.handle_cases,
            Permission.supervise_cases,
            Permission.handle_department_cases,
        )
    ],
)
def case_extensions(conn: ConnDep, case_id: Id) -> Response:
    """A case's extension requests, newest first."""
    cases.get_case(conn, case_id)  # 404 for a case that does not exist
    return json_response(
        [extension_body(e) for e in supervision.list_extensions(conn, case_id=case_id)]
    )


@router.get(
    "/v1/extensions",
    response_model=list[ExtensionInfo],
    dependencies=[require(Permission.supervise_cases)],
)
def extensions(
    conn: ConnDep,
    status: Annotated[
        Literal["pending", "approved", "rejected", "withdrawn"] | None, Query()
    ] = "pending",
) -> Response:
    """Extension requests (by default those waiting for a supervisor), newest first."""
    found = supervision.list_extensions(conn, status=status)
    return json_response([extension_body(e) for e in found])


@router.post(
    "/v1/cases/{case_id}/extensions/{extension_id}/decision",
    response_model=ExtensionInfo,
    dependencies=[require(Permission.supervise_cases), limited(Budget.writes)],
    responses=problems(404, 409),
)
def decide_extension(
    conn: ConnDep,
    principal: PrincipalDep,
    case_settings: CaseSettingsDep,
    case_id: Id,
    extension_id: Id,
    body: Annotated[ExtensionDecision, Body(examples=[{"approve": True, "note": "同意延期"}])],
) -> Response:
    """Approve or reject a pending extension; approval moves the 处置 due time on. Nobody
    decides their own request (403 ``separation_of_duties``)."""
    duties.authorize(conn, principal, case_id, "decide")
    calendar = load_calendar(conn, case_settings.office_hours)
    found = supervision.decide_extension(
        conn, case_id, extension_id, body.approve, _actor(principal), body.note, calendar
    )
    return json_response(extension_body(found))


@router.post(
    "/v1/cases/{case_id}/urge",
    response_model=CaseAnswer,
    dependencies=[
        require(Permission.handle_cases, Permission.supervise_cases),
        limited(Budget.writes),
    ],
    responses=problems(404, 409),
)
def urge_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[Remark, Body(examples=[{"note": "群众再次来电催促"}])],
) -> Response:
    """催办: remind whoever holds an open case that it is waiting (counted on the case)."""
    duties.authorize(conn, principal, case_id, "urge")
    supervision.urge(conn, case_id, _actor(principal), body.note)
    return _case(conn, principal, case_id)


@router.post(
    "/v1/cases/{case_id}/supervise",
    response_model=CaseAnswer,
    dependencies=[require(Permission.supervise_cases), limited(Budget.writes)],
    responses=problems(404, 409),
)
def supervise_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[Remark, Body(examples=[{"note": "请于明日12时前处置完毕并反馈"}])],
) -> Response:
    """督办: a supervisor orders an open case seen through; it stays marked supervised."""
    duties.authorize(conn, principal, case_id, "supervise")
    supervision.supervise(conn, case_id, _actor(principal), body.note)
    return _case(conn, principal, case_id)


@router.post(
    "/v1/cases/{case_id}/visits",
    response_model=VisitInfo,
    status_code=201,
    dependencies=[require(Permission.handle_cases), limited(Budget.writes)],
    responses=problems(404, 409),
)
def record_visit(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[
        VisitBody, Body(examples=[{"reached": True, "satisfaction": 4, "note": "已清理"}])
    ],
) -> Response:
    """回访: the reporter of a closed case was called back; reached or not, and how satisfied."""
    duties.authorize(conn, principal, case_id, "visit")
    visit = visits.record_visit(
        conn,
        case_id,
        _actor(principal),
        reached=body.reached,
        satisfaction=body.satisfaction,
        note=body.note,
    )
    return json_response(visit_body(visit), 201)


@router.get(
    "/v1/cases/{case_id}/visits",
    response_model=list[VisitInfo],
    dependencies=[require(Permission.handle_cases, Permission.supervise_cases)],
)
def case_visits(conn: ConnDep, case_id: Id) -> Response:
    """A case's 回访 calls, oldest first."""
    cases.get_case(conn, case_id)
    return json_response([visit_body(v) for v in visits.list_visits(conn, case_id)])


@router.post(
    "/v1/cases/{case_id}/reopen",
    response_model=CaseAnswer,
    dependencies=[
        require(Permission.handle_cases, Permission.supervise_cases),
        limited(Budget.writes),
    ],
    responses=problems(404, 409),
)
def reopen_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_settings: CaseSettingsDep,
    case_id: Id,
    body: Annotated[Remark, Body(examples=[{"note": "回访不满意：垃圾仍未清运"}])],
) -> Response:
    """Reopen a closed case, with a note: back to its grid, dispatched, with a fresh 处置
    clock."""
    duties.authorize(conn, principal, case_id, "reopen")
    cases.reopen(conn, case_id, _actor(principal), body.note, case_settings)
    return _case(conn, principal, case_id)
