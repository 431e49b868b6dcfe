"""/console/admin/organisations: the registers of people and organisations — how many serve
in each, each one's file to download (CSV or XLSX, Chinese headers) and a file to load back,
all or nothing, as `geogrid organisations load` does; and a page per register listing its
current rows (admins see names and phones as they are) and the rows a plan left on retired
grids for the admin to assign (geogrid.organisations.lineage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from geogrid import organisations
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.admin.departments import _file_error
from geogrid.api.routes.console.admin.forms import REFUSALS, done, done_message
from geogrid.api.routes.console.pages import need, page
from geogrid.api.routes.registers import file_response, load_upload
from geogrid.errors import LoadError
from geogrid.limits import Word
from geogrid.organisations.lineage import stranded

router = APIRouter()
AdminDep = Annotated[SignedIn, Depends(need(Permission.manage_organisations))]
#: The rows a register's page shows; its download has them all.
SHOWN = 500
DONE = {"loaded": "已用文件替换名册：{name}。"}


def _page(
    request: Request,
    conn: Connection,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    failed: str = "",
    bad_rows: list[str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    registers = [
        {
            "name": r.name,
            "title": r.title,
            "rows": organisations.current_rows(conn, r.name),
            "columns": "、".join(aliases[1] for aliases in r.headers.values()),
        }
        for r in organisations.REGISTERS.values()
    ]
    return page(
        request,
        "admin_registers.html",
        user,
        title="人员与组织名册",
        active="registers",
        status=status,
        registers=registers,
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        failed=failed,
        bad_rows=bad_rows or [],
    )


@router.get("/organisations")
def registers_page(request: Request, user: AdminDep, conn: ConnDep) -> HTMLResponse:
    return _page(request, conn, user)


@router.get("/organisations/{register}")
def register_page(request: Request, user: AdminDep, conn: ConnDep, register: Word) -> HTMLResponse:
    """One register's current rows, and those a plan left on retired grids."""
    found = organisations.register_named(register)
    headers, rows = organisations.register_table(conn, found.name)
    return page(
        request,
        "admin_register.html",
        user,
        title=f"名册：{found.title}",
        active="registers",
        register={"name": found.name, "title": found.title},
        headers=headers,
        rows=rows[:SHOWN],
        total=len(rows),
        stranded=[m for m in stranded(conn) if m.register == found.name],
    )


@router.get("/organisations/{register}/file")
def register_file(
    user: AdminDep,
    conn: ConnDep,
    register: Word,
    file_format: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    return file_response(conn, register, file_format)


@router.post("/organisations/{register}")
def load_register_file(
    request: Request,
    user: AdminDep,
    conn: ConnDep,
    register: Word,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Replace a register with a CSV/XLSX file's rows, all or nothing."""
    try:
        count = load_upload(conn, register, file, user.username)
    except (*REFUSALS, LoadError) as exc:
        conn.rollback()
        message, rows = _file_error(exc)
        return _page(request, conn, user, status=422, error=message, failed=register, bad_rows=rows)
    title = organisations.register_named(register).title
    return done(request, "/organisations", "loaded", f"{title}（{count} 条，{file.filename}）")
