"""/console/admin/departments and /console/admin/responsibility: the departments (职能部门)
and the responsibility list (category × area → department), with the "who answers?" check.

Every change goes through geogrid.responsibility, the same functions as ``/v1/departments``,
``/v1/responsibility`` and the command line, and is written to the audit log in the same
transaction. Files load all or nothing with the command line's loader; a bad file changes
nothing and the page lists every bad row by its line.

A department still holding open cases is not deactivated (409, naming how many): a district
re-routes its open cases first, so none waits on an office that no longer takes cases.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, text

from geogrid import responsibility
from geogrid.access import audit
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.admin.forms import REFUSALS, done, done_message, refused
from geogrid.api.routes.console.pages import need, page
from geogrid.api.uploads import saved_upload
from geogrid.boundaries.grids import grid_choices
from geogrid.cases.categories import list_categories
from geogrid.errors import ConflictError, GeogridError, LoadError
from geogrid.i18n import tr
from geogrid.responsibility import Department

router = APIRouter()
AdminDep = Annotated[SignedIn, Depends(need(Permission.manage_departments))]
Text = Annotated[str, Form(max_length=200)]
#: The largest departments or responsibility file taken from the browser.
MAX_FILE_BYTES = 5 * 1024 * 1024
LEVEL_ZH = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}
TYPE_ZH = {"E": "事件", "C": "部件"}

DONE = {
    "added": "已保存部门 {name}。",
    "saved": "已保存部门 {name}。",
    "deactivated": "已停用部门 {name}：责任清单不再把新案件派给它。",
    "reactivated": "已启用部门 {name}。",
    "loaded": "已导入部门文件：{name}。",
}
RDONE = {
    "saved": "已保存责任清单条目 {name}。",
    "deleted": "已删除责任清单条目 {name}。",
    "loaded": "已用文件替换责任清单：{name}。",
}


def _file_error(exc: GeogridError) -> tuple[str, list[str]]:
    """The message and, for a bad file, one line per bad row."""
    rows = []
    if isinstance(exc, LoadError) and isinstance(exc.details, list):
        rows = [f"第 {d.get('line')} 行：{d.get('reason')}" for d in exc.details[:200]]
    return exc.message_zh or exc.message, rows


def _load(upload: UploadFile, conn: Connection, loader: Any) -> int:
    """Run ``loader(conn, path)`` on the upload."""
    with saved_upload(upload, MAX_FILE_BYTES) as path:
        count: int = loader(conn, path)
        return count


# --- departments -------------------------------------------------------------------------


def _departments_page(
    request: Request,
    conn: Connection,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    bad_rows: list[str] | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    return page(
        request,
        "admin_departments.html",
        user,
        title="职能部门",
        active="departments",
        status=status,
        departments=responsibility.list_departments(conn),
        open_cases=responsibility.open_case_counts(conn),
        kinds=responsibility.KINDS,
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        bad_rows=bad_rows or [],
        draft=draft or {"code": "", "name": "", "kind": "", "contact": ""},
    )


@router.get("/departments")
def departments_page(request: Request, user: AdminDep, conn: ConnDep) -> HTMLResponse:
    """Every department with its open cases, and the forms that change them."""
    return _departments_page(request, conn, user)


@router.post("/departments")
def add_department(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    code: Text = "",
    name: Text = "",
    kind: Text = "",
    contact: Text = "",
) -> Response:
    """Add a department (active); an existing code is refused, not overwritten."""
    try:
        checked = responsibility.check_department(code, name, kind, contact)
        exists = conn.execute(
            text("SELECT 1 FROM department WHERE code = :c"), {"c": checked.code}
        ).first()
        if exists:
            raise responsibility_conflict(checked.code)
        saved = responsibility.save_department(conn, checked)
        audit.record(
            conn,
            "department_saved",
            None,
            actor=user.username,
            department=saved.code,
            name=saved.name,
        )
    except REFUSALS as exc:
        status, message = refused(conn, exc)
        draft = {"code": code, "name": name, "kind": kind, "contact": contact}
        return _departments_page(request, conn, user, status=status, error=message, draft=draft)
    return done(request, "/departments", "added", f"{saved.code} {saved.name}")


def responsibility_conflict(code: str) -> GeogridError:
    """A new department may not take the code of one that exists (which it would change)."""
    return ConflictError(
        tr('a department with code "{code}" exists already; change it in its row', code=code)
    )


@router.post("/departments/{code}")
def edit_department(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    code: str,
    name: Text = "",
    kind: Text = "",
    contact: Text = "",
) -> Response:
    """Change a department's name, kind and contact (its code and state stay)."""
    try:
        old = responsibility.get_department(conn, code)
        checked = responsibility.check_department(old.code, name, kind, contact)
        saved = responsibility.save_department(
            conn, Department(old.code, checked.name, checked.kind, checked.contact, old.active)
        )
        audit.record(
            conn,
            "department_saved",
            None,
            actor=user.username,
            department=saved.code,
            name=saved.name,
        )
    except REFUSALS as exc:
        status, message = refused(conn, exc)
        return _departments_page(
            request, conn, user, status=status, error=f"{code[:32]}：{message}"
        )
    return done(request, "/departments", "saved", f"{saved.code} {saved.name}")


@router.post("/departments/{code}/active")
def activate_department(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    code: str,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Deactivate (``active=0``) or reactivate (``active=1``) a department."""
    on = active == "1"
    try:
        saved = responsibility.set_active(conn, code, on)
        event = "department_reactivated" if on else "department_deactivated"
        audit.record(conn, event, None, actor=user.username, department=saved.code)
    except REFUSALS as exc:
        status, message = refused(conn, exc)
        return _departments_page(
            request, conn, user, status=status, error=f"{code[:32]}：{message}"
        )
    what = "reactivated" if on else "deactivated"
    return done(request, "/departments", what, f"{saved.code} {saved.name}")


@router.post("/departments-file")
def load_departments(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Add or change the departments a CSV/XLSX file lists, all or nothing."""
    try:
        count = _load(file, conn, responsibility.load_departments)
        audit.record(
            conn, "departments_loaded", None, actor=user.username, file=file.filename, rows=count
        )
    except (*REFUSALS, LoadError) as exc:
        conn.rollback()
        message, rows = _file_error(exc)
        return _departments_page(request, conn, user, status=422, error=message, bad_rows=rows)
    return done(request, "/departments", "loaded", f"{file.filename}（{count} 个部门）")


# --- the responsibility list -------------------------------------------------------------


def _names(conn: Connection, table: str, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = conn.execute(
        text(f"SELECT code, name FROM {table} WHERE code = ANY(:codes)"),  # fixed table names
        {"codes": sorted(codes)},
    )
    return {r.code.strip(): r.name for r in rows}


def _category_names(conn: Connection, codes: set[str]) -> dict[str, str]:
    """A name for each category of the list: a category's, a major class's, a type's."""
    names = {c: TYPE_ZH.get(c, c) for c in codes if len(c) == 1}
    rows = conn.execute(
        text("SELECT code, name, major_name FROM case_category WHERE active ORDER BY code")
    ).all()
    for r in rows:
        if r.code in codes:
            names[r.code] = r.name
        if r.code[:3] in codes:
            names.setdefault(r.code[:3], r.major_name)
    return names


def _responsibility_page(
    request: Request,
    conn: Connection,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    bad_rows: list[str] | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    department = params.get("department", "")[:32]
    category = params.get("category", "").strip().upper()[:5]
    area = params.get("area", "").strip()[:15]
    rows = responsibility.list_responsibility(conn, department_code=department or None)
    rows = [
        r
        for r in rows
        if (not category or r.category.startswith(category) or category.startswith(r.category))
        and (not area or r.area_code.startswith(area) or area.startswith(r.area_code))
    ]
    by_level: dict[str, set[str]] = {}
    for r in rows:
        by_level.setdefault(r.area_level, set()).add(r.area_code)
    area_names: dict[str, str] = {}
    for level, codes in by_level.items():
        area_names.update(_names(conn, level, codes))
    departments = responsibility.list_departments(conn)
    check = _resolve(conn, params.get("check_category", ""), params.get("check_grid", ""))
    return page(
        request,
        "admin_responsibility.html",
        user,
        title="责任清单",
        active="responsibility",
        status=status,
        rows=rows,
        filters={"department": department, "category": category, "area": area},
        category_names=_category_names(conn, {r.category for r in rows}),
        area_names=area_names,
        level_zh=LEVEL_ZH,
        departments=departments,
        department_names={d.code: d.name for d in departments},
        check=check,
        grid_choices=grid_choices(conn),
        categories=list_categories(conn),
        done=done_message(RDONE, params.get("done"), params.get("name")),
        error=error,
        bad_rows=bad_rows or [],
        draft=draft or {"category": "", "area": "", "department": ""},
    )


def _resolve(conn: Connection, category: str, grid: str) -> dict[str, Any] | None:
    """The "who answers?" check: the department and the row that won, or why there is none."""
    category, grid = category.strip().upper()[:5], grid.strip()[:15]
    if not category and not grid:
        return None
    answer: dict[str, Any] = {"category": category, "grid": grid, "error": ""}
    if not re.fullmatch(r"[EC][0-9]{4}", category):
        answer["error"] = f"类别“{category}”不是分类代码（如 E0403）。"
        return answer
    if (
        not re.fullmatch(r"[0-9]{15}", grid)
        or not conn.execute(text("SELECT 1 FROM grid WHERE code = :g"), {"g": grid}).first()
    ):
        answer["error"] = f"“{grid}”不是本区的网格代码（15 位数字）。"
        return answer
    department = responsibility.responsible_department(conn, category, grid)
    answer["department"] = department
    if department is not None:
        active = {d.code for d in responsibility.list_departments(conn, active_only=True)}
        answer["row"] = responsibility.most_specific(
            (r for r in responsibility.list_responsibility(conn) if r.department_code in active),
            category,
            grid,
        )
    return answer


@router.get("/responsibility")
def responsibility_page(request: Request, user: AdminDep, conn: ConnDep) -> HTMLResponse:
    """The list, filtered by department, category and area, and the "who answers?" check."""
    return _responsibility_page(request, conn, user)


@router.post("/responsibility")
def save_row(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    category: Text = "",
    area: Text = "",
    department: Text = "",
) -> Response:
    """Add a row, or give the (category, area) row another department."""
    try:
        row = responsibility.check_row(conn, category, area, department)
        responsibility.save_row(conn, row)
        audit.record(
            conn,
            "responsibility_saved",
            None,
            actor=user.username,
            category=row.category,
            area=row.area_code,
            department=row.department_code,
        )
    except REFUSALS as exc:
        status, message = refused(conn, exc)
        draft = {"category": category, "area": area, "department": department}
        return _responsibility_page(request, conn, user, status=status, error=message, draft=draft)
    name = f"{row.category} × {row.area_code} → {row.department_code}"
    return done(request, "/responsibility", "saved", name)


@router.post("/responsibility/delete")
def delete_row(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    category: Text = "",
    area: Text = "",
) -> Response:
    """Remove the (category, area) row."""
    try:
        responsibility.delete_row(conn, category, area)
        audit.record(
            conn,
            "responsibility_deleted",
            None,
            actor=user.username,
            category=category.strip().upper(),
            area=area.strip(),
        )
    except REFUSALS as exc:
        status, message = refused(conn, exc)
        return _responsibility_page(request, conn, user, status=status, error=message)
    return done(request, "/responsibility", "deleted", f"{category.strip().upper()} × {area}")


@router.post("/responsibility-file")
def load_responsibility(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Replace the whole list with a CSV/XLSX file's rows, all or nothing."""
    try:
        count = _load(file, conn, responsibility.load_responsibility)
        audit.record(
            conn,
            "responsibility_loaded",
            None,
            actor=user.username,
            file=file.filename,
            rows=count,
        )
    except (*REFUSALS, LoadError) as exc:
        conn.rollback()
        message, rows = _file_error(exc)
        return _responsibility_page(request, conn, user, status=422, error=message, bad_rows=rows)
    return done(request, "/responsibility", "loaded", f"{file.filename}（{count} 条）")
