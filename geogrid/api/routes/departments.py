"""Departments (职能部门) and the responsibility list: read by anyone, changed by holders of
manage_departments (admins).

The responsibility list says which department answers for a category of case in an area; the
most specific area wins (grid > community > street > district), see
geogrid.responsibility.rules.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from geogrid import responsibility
from geogrid.access import audit
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api.deps import ConnDep, PrincipalDep, limited, require
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.schemas.bodies import DepartmentBody, ResponsibilityBody
from geogrid.api.schemas.cases import DepartmentInfo, ResponsibilityInfo
from geogrid.limits import Word
from geogrid.responsibility import Department, Responsibility

router = APIRouter(tags=["departments"])
MANAGE = [require(Permission.manage_departments), limited(Budget.writes)]


def _actor(principal: Principal) -> str:
    return principal.actor


def _department(d: Department) -> dict[str, object]:
    return {
        "code": d.code,
        "name": d.name,
        "kind": d.kind,
        "contact": d.contact,
        "active": d.active,
    }


def _row(r: Responsibility) -> dict[str, object]:
    return {
        "category": r.category,
        "area": r.area_code,
        "area_level": r.area_level,
        "department": r.department_code,
    }


@router.get("/v1/departments", response_model=list[DepartmentInfo])
def list_departments(conn: ConnDep) -> Response:
    """Every department, by code (inactive ones included)."""
    return json_response([_department(d) for d in responsibility.list_departments(conn)])


@router.get("/v1/departments/{code}", response_model=DepartmentInfo, responses=problems(404))
def read_department(conn: ConnDep, code: Word) -> Response:
    """One department."""
    return json_response(_department(responsibility.get_department(conn, code)))


@router.put(
    "/v1/departments/{code}",
    response_model=DepartmentInfo,
    dependencies=MANAGE,
)
def save_department(
    conn: ConnDep,
    principal: PrincipalDep,
    code: Word,
    body: Annotated[
        DepartmentBody,
        Body(
            examples=[
                {"name": "合肥燃气集团瑶海服务所", "kind": "燃气", "contact": "0551-6000 0103"}
            ]
        ),
    ],
) -> Response:
    """Create or change a department (active false: it takes no new cases)."""
    checked = responsibility.check_department(code, body.name, body.kind, body.contact)
    saved = responsibility.save_department(
        conn, Department(checked.code, checked.name, checked.kind, checked.contact, body.active)
    )
    # the same audit events as the console's admin pages, in the same transaction
    audit.record(
        conn,
        "department_saved",
        None,
        actor=_actor(principal),
        department=saved.code,
        name=saved.name,
        active=saved.active,
    )
    return json_response(_department(saved))


@router.get("/v1/responsibility", response_model=list[ResponsibilityInfo])
def list_responsibility(
    conn: ConnDep,
    department: Annotated[Word | None, Query(description="Only this department's rows")] = None,
) -> Response:
    """The responsibility list: category × area → department, by area then category."""
    rows = responsibility.list_responsibility(conn, department_code=department)
    return json_response([_row(r) for r in rows])


@router.get(
    "/v1/responsibility/resolve", response_model=DepartmentInfo | None, responses=problems(404)
)
def resolve(
    conn: ConnDep,
    category: Annotated[Word, Query(description="A category code", examples=["E0403"])],
    grid: Annotated[Word, Query(description="A grid code", examples=["340102006004001"])],
) -> Response:
    """The department that answers for a case of ``category`` in ``grid`` (null: the grid's
    street office)."""
    found = responsibility.responsible_department(conn, category.strip().upper(), grid)
    return json_response(None if found is None else _department(found))


@router.put("/v1/responsibility", response_model=ResponsibilityInfo, dependencies=MANAGE)
def save_responsibility(
    conn: ConnDep,
    principal: PrincipalDep,
    body: Annotated[
        ResponsibilityBody,
        Body(examples=[{"category": "E0403", "area": "340102", "department": "RQ"}]),
    ],
) -> Response:
    """Add a row, or give the (category, area) row another department."""
    row = responsibility.check_row(conn, body.category, body.area, body.department)
    saved = responsibility.save_row(conn, row)
    audit.record(
        conn,
        "responsibility_saved",
        None,
        actor=_actor(principal),
        category=saved.category,
        area=saved.area_code,
        department=saved.department_code,
    )
    return json_response(_row(saved))


@router.delete(
    "/v1/responsibility/{category}/{area}",
    status_code=204,
    dependencies=MANAGE,
    responses=problems(404),
)
def delete_responsibility(
    conn: ConnDep, principal: PrincipalDep, category: Word, area: Word
) -> Response:
    """Remove the (category, area) row."""
    responsibility.delete_row(conn, category, area)
    audit.record(
        conn,
        "responsibility_deleted",
        None,
        actor=_actor(principal),
        category=category.strip().upper(),
        area=area.strip(),
    )
    return Response(status_code=204)
