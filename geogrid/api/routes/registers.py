"""The registers of people and organisations as files, for admins: list them, download one
(CSV or XLSX, Chinese headers) and load one back, all or nothing, as `geogrid organisations
load` does — a download edited in a spreadsheet replaces the register with what it shows."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from sqlalchemy import Connection

from geogrid import organisations
from geogrid.access import audit
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission
from geogrid.api.deps import ConnDep, PrincipalDep, limited, require
from geogrid.api.openapi import problems
from geogrid.api.responses import json_response
from geogrid.api.schemas.organisations import RegisterInfo, RegisterLoaded
from geogrid.api.uploads import saved_upload
from geogrid.io.spreadsheets import text_cell, xlsx_table
from geogrid.limits import Word

router = APIRouter(prefix="/v1/organisations/registers", tags=["organisations"])
MANAGE = [require(Permission.manage_organisations)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The largest register file taken over HTTP (the demo's biggest, households, is 120 KB).
MAX_FILE_BYTES = 10 * 1024 * 1024


@router.get("", response_model=list[RegisterInfo], dependencies=MANAGE)
def list_registers(conn: ConnDep) -> Response:
    """Every register with how many rows serve now."""
    return json_response(
        [
            {"name": r.name, "title": r.title, "rows": organisations.current_rows(conn, r.name)}
            for r in organisations.REGISTERS.values()
        ]
    )


def table_file(conn: Connection, register: str, file_format: str) -> tuple[bytes, str, str]:
    """A register's current rows as (file content, media type, file name)."""
    found = organisations.register_named(register)
    headers, rows = organisations.register_table(conn, found.name)
    if file_format == "xlsx":
        cells: list[list[object]] = [list(row) for row in rows]
        return xlsx_table(headers, cells, found.title), XLSX, f"{found.name}.xlsx"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    # guarded as every CSV this tool writes; reading the file back takes the guard off
    writer.writerows([text_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8", f"{found.name}.csv"


@router.get(
    "/{register}",
    dependencies=MANAGE,
    response_class=Response,
    responses={
        **problems(404, 422),
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The register's file"},
    },
)
def download_register(
    conn: ConnDep,
    register: Word,
    file_format: Annotated[
        Literal["csv", "xlsx"], Query(alias="format", description="csv (UTF-8 with BOM) or xlsx")
    ] = "csv",
) -> Response:
    """A register's serving rows as the file that loads it (Chinese headers)."""
    return file_response(conn, register, file_format)


def load_upload(conn: Connection, register: str, file: UploadFile, actor: str) -> int:
    """Replace ``register`` with the uploaded file's rows (CSV or XLSX by its name), all or
    nothing, and say so in the audit log; LoadError names every bad row."""
    found = organisations.register_named(register)
    with saved_upload(file, MAX_FILE_BYTES, "file.csv") as path:
        count = organisations.load_register(conn, found.name, path)
    audit.record(
        conn,
        "register_loaded",
        None,
        actor=actor,
        register=found.name,
        file=file.filename,
        rows=count,
    )
    return count


def file_response(conn: Connection, register: str, file_format: str) -> Response:
    """A register's serving rows as an attachment (CSV or XLSX)."""
    content, media_type, name = table_file(conn, register, file_format)
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.put(
    "/{register}",
    response_model=RegisterLoaded,
    dependencies=[*MANAGE, limited(Budget.writes)],
    responses=problems(404, 413, 422),
)
def load_register(
    conn: ConnDep,
    principal: PrincipalDep,
    register: Word,
    file: Annotated[
        UploadFile, File(description="CSV (UTF-8) or XLSX, Chinese or English headers")
    ],
) -> Response:
    """Replace a register with a file's rows, all or nothing (every bad row named)."""
    count = load_upload(conn, register, file, principal.actor)
    return json_response({"register": register, "rows": count})
