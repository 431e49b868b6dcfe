"""Functional departments (职能部门): the 城管, 市政, 燃气, 供电, 水务 … offices and street
offices a case is dispatched to, besides its grid.

A department is never deleted (cases and accounts name it); one that stops taking cases is
made inactive, and the responsibility list then skips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.i18n import tr

CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: Kinds a department may have (the demo's and the usual ones); any other is refused, so a
#: typo does not make a new kind.
KINDS = (
    "城管",
    "市政",
    "燃气",
    "供电",
    "水务",
    "园林",
    "交通",
    "住建",
    "消防",
    "公安",
    "街道",
    "社区",
    "其他",
)


@dataclass(frozen=True)
class Department:
    """A department as stored."""

    code: str
    name: str
    kind: str
    contact: str = ""
    active: bool = True


def check_department(code: str, name: str, kind: str, contact: str = "") -> Department:
    """A Department from raw values, or InvalidInputError naming the bad one.

    Examples
    --------
    >>> check_department("RQ", "燃气公司", "燃气").kind
    '燃气'
    """
    code, name, kind, contact = code.strip(), name.strip(), kind.strip(), contact.strip()
    if not CODE.fullmatch(code):
        raise InvalidInputError(
            tr(
                'department code was "{code}" but must be 1 to 32 letters, digits, _ or -',
                code=code[:40],
            )
        )
    if not 1 <= len(name) <= 100:
        raise InvalidInputError(tr("a department name must have 1 to 100 characters"))
    if kind not in KINDS:
        raise InvalidInputError(
            tr(
                'department kind was "{kind}" but must be one of {kinds}',
                kind=kind[:40],
                kinds=list(KINDS),
            )
        )
    return Department(code, name, kind, contact[:200])


def _department(row: Any) -> Department:
    return Department(row.code, row.name, row.kind, row.contact, row.active)


def list_departments(conn: Connection, *, active_only: bool = False) -> list[Department]:
    """Every department, by code."""
    rows = conn.execute(
        text(
            "SELECT code, name, kind, contact, active FROM department "
            "WHERE active OR NOT :active_only ORDER BY code"
        ),
        {"active_only": active_only},
    )
    return [_department(r) for r in rows]


def get_department(conn: Connection, code: str) -> Department:
    """The department ``code``; NotFoundError naming it when there is none."""
    row = conn.execute(
        text("SELECT code, name, kind, contact, active FROM department WHERE code = :code"),
        {"code": code.strip()},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr('no department has code "{code}"', code=code.strip()[:40]))
    return _department(row)


def save_department(conn: Connection, department: Department) -> Department:
    """Create or change a department (by its code). An active department that still holds
    open cases is not deactivated (see :func:`set_active`), whichever door asks."""
    if not department.active:
        _check_deactivation(conn, department.code)
    conn.execute(
        text(
            "INSERT INTO department (code, name, kind, contact, active) "
            "VALUES (:code, :name, :kind, :contact, :active) ON CONFLICT (code) DO UPDATE SET "
            "name = EXCLUDED.name, kind = EXCLUDED.kind, contact = EXCLUDED.contact, "
            "active = EXCLUDED.active, updated_at = now()"
        ),
        {
            "code": department.code,
            "name": department.name,
            "kind": department.kind,
            "contact": department.contact,
            "active": department.active,
        },
    )
    return get_department(conn, department.code)


def save_departments(conn: Connection, departments: Iterable[Department]) -> int:
    """Save many departments (see :func:`save_department`); returns how many."""
    saved = 0
    for department in departments:
        save_department(conn, department)
        saved += 1
    return saved


def open_case_counts(conn: Connection) -> dict[str, int]:
    """How many open cases (neither closed nor void) each department holds, by code; the
    console shows them, and a department holding any is not deactivated (see
    :func:`set_active`)."""
    rows = conn.execute(
        text(
            "SELECT department_code, count(*) AS n FROM civic_case "
            "WHERE department_code IS NOT NULL AND status NOT IN ('closed', 'void') "
            "GROUP BY department_code"
        )
    )
    return {r.department_code: r.n for r in rows}


def _check_deactivation(conn: Connection, code: str) -> None:
    was_active = conn.execute(
        text("SELECT active FROM department WHERE code = :code"), {"code": code}
    ).scalar()
    if not was_active:
        return  # new, or inactive already
    held = open_case_counts(conn).get(code, 0)
    if held:
        raise ConflictError(
            tr(
                "department {code} still holds {count} open cases; re-route them before "
                "deactivating it",
                code=code,
                count=held,
            )
        )


def set_active(conn: Connection, code: str, active: bool) -> Department:
    """Deactivate or reactivate a department. A department still holding open cases is not
    deactivated (ConflictError naming how many): its handlers would lose the cases' tasks
    from the responsibility list's point of view while the cases still wait on them, so the
    district re-routes them first."""
    department = get_department(conn, code)
    return save_department(
        conn,
        Department(department.code, department.name, department.kind, department.contact, active),
    )
