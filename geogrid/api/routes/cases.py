"""Case dispatch: preview a case, report it, follow it through its life, re-route it.

Reporting a case and previewing one (which writes nothing) need the report_cases
permission, moving and re-routing handle_cases (dispatchers); reading a case is open to
viewers, with reporter and grid people masked. A 201 means the case is committed (see
geogrid.cases.records.submit_case).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response

from geogrid import cases
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api.deps import (
    CaseSettingsDep,
    ConnDep,
    EngineDep,
    PrincipalDep,
    SnapshotsDep,
    limited,
    require,
)
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.schemas.bodies import (
    Assignment,
    Escalation,
    Merge,
    Reroute,
    ReturnCase,
    Transition,
)
from geogrid.api.schemas.cases import CaseAnswer, CasePreviewAnswer, CategoryInfo
from geogrid.boundaries.grids import Grid
from geogrid.cases import duties
from geogrid.cases.categories import TYPE_ZH, list_categories
from geogrid.cases.lifecycle import STATUS_ZH, legal_moves
from geogrid.cases.photos import after_photo_categories
from geogrid.cases.preview import CasePreview
from geogrid.cases.records import Case
from geogrid.cases.report import CHANNELS, EXAMPLE, CaseReport
from geogrid.cases.routing import FLAG_ZH
from geogrid.cases.stages import STAGE_ZH, URGENCY_ZH, all_levels
from geogrid.limits import Id, IdempotencyKey
from geogrid.responsibility import Department

router = APIRouter(tags=["cases"])


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def grid_body(grid: Grid) -> dict[str, Any]:
    """The grid a case goes to and whom to call, as it is (mask it first for viewers)."""
    return {
        "code": grid.code,
        "name": grid.name,
        "kind": grid.kind,
        "community": {"code": grid.community.code, "name": grid.community.name},
        "street": {"code": grid.street.code, "name": grid.street.name},
        "leader": {"name": grid.leader.name, "phone": grid.leader.phone},
        "party_branch": {
            "name": grid.party_branch,
            "secretary": {
                "name": grid.party_secretary.name,
                "phone": grid.party_secretary.phone,
            },
        },
    }


def department_body(department: Department | None) -> dict[str, Any] | None:
    """A department as the API shows it (None: the case stays with its grid)."""
    if department is None:
        return None
    return {
        "code": department.code,
        "name": department.name,
        "kind": department.kind,
        "contact": department.contact,
        "active": department.active,
    }


def case_body(case: Case, principal: Principal) -> dict[str, Any]:
    """A case as the API shows it (masked below the dispatcher role)."""
    case = principal.visible(case)
    return {
        "id": case.id,
        "status": case.status,
        "status_zh": STATUS_ZH[case.status],
        "held_from": case.held_from,
        "next": sorted(legal_moves(case.status, case.held_from)),
        "category": {
            "code": case.category.code,
            "name": case.category.name,
            "type": case.category.type,
            "major_name": case.category.major_name,
            "handling_hours": case.category.handling_hours,
            "clock": case.category.clock,
        },
        "description": case.description,
        "channel": case.channel,
        "channel_zh": CHANNELS.get(case.channel, case.channel),
        "reporter": {"name": case.reporter.name, "phone": case.reporter.phone},
        "address": case.address,
        "photos": list(case.photos),
        "location": {"lon": case.lon, "lat": case.lat, "crs": "cgcs2000"},
        "input": case.input,
        "compound_id": case.compound_id,
        "grid": grid_body(case.grid),
        "release": case.release,
        "routed_by": case.routed_by,
        "flags": list(case.flags),
        "flags_zh": [FLAG_ZH.get(f, f) for f in case.flags],
        "created_at": _time(case.created_at),
        "created_by": case.created_by,
        "accepted_at": _time(case.accepted_at),
        "dispatched_at": _time(case.dispatched_at),
        "closed_at": _time(case.closed_at),
        "due_at": _time(case.due_at),
        "overdue": case.overdue,
        "calendar_missing": case.calendar_missing,
        "held_hours": case.held_hours,
        "events": [{**e, "at": _time(e["at"])} for e in case.events],
        "merged_into": case.merged_into,
        "other_reporters": [{"name": p.name, "phone": p.phone} for p in case.other_reporters],
        "urgency": case.urgency,
        "urgency_zh": URGENCY_ZH.get(case.urgency, case.urgency),
        "stage": case.stage,
        "stage_zh": case.stage and STAGE_ZH[case.stage],
        "stage_due_at": _time(case.stage_due_at),
        "warning": case.warning,
        "handled_at": _time(case.handled_at),
        "responsible_hours": case.responsible_hours,
        "extended_hours": case.extended_hours,
        "supervised_at": _time(case.supervised_at),
        "urged": case.urged,
        "reopened": case.reopened,
        "satisfaction": case.satisfaction,
        "department": department_body(case.department),
        "escalation": case.escalation,
        "mobile_grid": case.mobile_grid,
    }


def preview_body(preview: CasePreview, principal: Principal) -> dict[str, Any]:
    """A case preview as the API shows it (masked below the dispatcher role)."""
    preview = principal.visible(preview)
    placed, category = preview.placement, preview.placement.category
    routing = placed.routing
    compound = placed.compound
    return {
        "at": _time(preview.similar.at),
        "grid": grid_body(placed.grid),
        "release": preview.release.id,
        "flags": list(routing.flags),
        "flags_zh": [FLAG_ZH.get(f, f) for f in routing.flags],
        "routing": {
            "on_boundary": routing.on_boundary,
            "candidates": list(routing.candidates),
            "boundary_distance_m": routing.boundary_distance_m,
            "outside_distance_m": routing.outside_distance_m,
        },
        "location": {"lon": placed.lon, "lat": placed.lat, "crs": "cgcs2000"},
        "compound": None if compound is None else {"id": compound[0], "name": compound[1]},
        "category": {
            "code": category.code,
            "name": category.name,
            "type": category.type,
            "major_name": category.major_name,
            "handling_hours": category.handling_hours,
            "clock": category.clock,
        },
        "department": department_body(placed.department),
        "due_at": _time(preview.due_at),
        "calendar_missing": preview.calendar_missing,
        "similar_within": {"distance_m": preview.similar.distance_m, "days": preview.similar.days},
        "similar": [
            {
                "id": c.id,
                "status": c.status,
                "status_zh": STATUS_ZH[c.status],
                "grid": c.grid_code,
                "distance_m": c.distance_m,
                "created_at": _time(c.created_at),
                "description": c.description,
                "reporter": {"name": c.reporter.name, "phone": c.reporter.phone},
            }
            for c in preview.similar.cases
        ],
    }


def _actor(principal: Principal) -> str:
    return principal.actor


@router.get("/v1/case-categories", response_model=list[CategoryInfo])
def case_categories(conn: ConnDep) -> Response:
    """The case category catalogue (GB/T 30428 style): event and component classes."""
    found = list_categories(conn)
    after_photo = after_photo_categories(conn)
    levels = all_levels(conn, found)
    return json_response(
        [
            {
                "code": c.code,
                "name": c.name,
                "type": c.type,
                "type_zh": TYPE_ZH[c.type],
                "major_code": c.major_code,
                "major_name": c.major_name,
                "handling_hours": c.handling_hours,
                "clock": c.clock,
                "requires_after_photo": c.code in after_photo,
                "levels": [
                    {
                        "urgency": lv.urgency,
                        "urgency_zh": lv.name,
                        "condition": lv.condition,
                        "clock": lv.clock,
                        "accept_hours": lv.accept_hours,
                        "dispatch_hours": lv.dispatch_hours,
                        "handling_hours": lv.handling_hours,
                        "verify_hours": lv.verify_hours,
                    }
                    for lv in levels[c.code]
                ],
            }
            for c in found
        ]
    )


@router.post(
    "/v1/cases",
    response_model=CaseAnswer,
    status_code=201,
    dependencies=[require(Permission.report_cases), limited(Budget.writes)],
    responses=problems(409),
)
def create_case(
    engine: EngineDep,
    principal: PrincipalDep,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    report: Annotated[CaseReport, Body(examples=[EXAMPLE])],
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="Retries with the same key create the case once"),
    ] = None,
) -> Response:
    """Report a case: it is routed to one grid at once (point in any crs, or an address)."""
    case, replayed = cases.submit_case(
        engine,
        snapshots.current(),
        report,
        _actor(principal),
        case_settings,
        idempotency_key,
        account=principal.account,
    )
    headers = {"Location": f"/v1/cases/{case.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(case_body(case, principal), 201, headers)


@router.post(
    "/v1/cases/preview",
    response_model=CasePreviewAnswer,
    dependencies=[require(Permission.report_cases)],
)
def preview_case(
    conn: ConnDep,
    principal: PrincipalDep,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    report: Annotated[CaseReport, Body(examples=[EXAMPLE])],
) -> Response:
    """What a case with this body would get now: grid, people, flags, due time, similar open
    cases nearby. Writes nothing."""
    preview = cases.preview_case(conn, snapshots.current(), report, case_settings)
    return json_response(preview_body(preview, principal))


@router.get("/v1/cases/{case_id}", response_model=CaseAnswer)
def read_case(conn: ConnDep, principal: PrincipalDep, case_id: Id) -> Response:
    """One case with its full history (reporter and people masked for viewers)."""
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/transitions",
    response_model=CaseAnswer,
    dependencies=[require(*duties.ANY_MOVE), limited(Budget.writes)],
    responses=problems(409),
)
def transition_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_settings: CaseSettingsDep,
    case_id: Id,
    body: Annotated[Transition, Body(examples=[{"to": "accepted", "note": "立案"}])],
) -> Response:
    """Move a case to its next status as the role × transition table allows (403 naming the
    rule otherwise: not_your_department, separation_of_duties); an illegal move is 409."""
    duties.move_case(
        conn, principal, case_id, body.to, body.note, case_settings, body.urgency, body.at
    )
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/reroute",
    response_model=CaseAnswer,
    dependencies=[require(Permission.handle_cases), limited(Budget.writes)],
    responses=problems(409),
)
def reroute_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_settings: CaseSettingsDep,
    case_id: Id,
    body: Annotated[
        Reroute, Body(examples=[{"grid": "340102006004002", "reason": "现场核实属隔壁网格"}])
    ],
) -> Response:
    """Send a case to another grid, with a reason; later releases never override it."""
    cases.reroute(conn, case_id, body.grid, _actor(principal), body.reason, case_settings)
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/merge",
    response_model=CaseAnswer,
    dependencies=[require(Permission.handle_cases), limited(Budget.writes)],
    responses=problems(404, 409),
)
def merge_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[Merge, Body(examples=[{"into": 1042, "note": "同一处垃圾，重复上报"}])],
) -> Response:
    """Merge this case (a duplicate) into the case it repeats, keeping every reporter; answers
    the case merged into."""
    case = cases.merge_case(conn, case_id, body.into, _actor(principal), body.note)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/return",
    response_model=CaseAnswer,
    dependencies=[
        require(Permission.handle_department_cases, Permission.handle_cases),
        limited(Budget.writes),
    ],
    responses=problems(404, 409),
)
def return_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[ReturnCase, Body(examples=[{"reason": "不属本部门职责，系供电线路"}])],
) -> Response:
    """退单: the department hands a dispatched case back to the dispatchers, with a reason."""
    duties.return_case(conn, principal, case_id, body.reason)
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/escalate",
    response_model=CaseAnswer,
    dependencies=[require(*duties.DUTIES["escalate"].permissions), limited(Budget.writes)],
    responses=problems(404, 409),
)
def escalate_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[
        Escalation, Body(examples=[{"level": "street", "reason": "涉及多个部门，需街道协调"}])
    ],
) -> Response:
    """吹哨报到: escalate an open case to the street or the district, with a reason."""
    duties.escalate(conn, principal, case_id, body.level, body.reason)
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))


@router.post(
    "/v1/cases/{case_id}/department",
    response_model=CaseAnswer,
    dependencies=[require(Permission.handle_cases), limited(Budget.writes)],
    responses=problems(404, 409),
)
def assign_case(
    conn: ConnDep,
    principal: PrincipalDep,
    case_id: Id,
    body: Annotated[Assignment, Body(examples=[{"department": "GD", "reason": "电力井盖"}])],
) -> Response:
    """Name another department for a case not yet dispatched (e.g. after 退单), with a reason."""
    duties.assign_department(conn, principal, case_id, body.department, body.reason)
    case = cases.get_case(conn, case_id, with_events=True)
    return json_response(case_body(case, principal))
