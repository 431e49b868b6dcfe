"""``geogrid departments ...`` and ``geogrid responsibility ...``: the departments cases are
dispatched to and the list of which one answers for what, where."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geogrid import responsibility
from geogrid.cli.support import console, errors, transaction

departments_app = typer.Typer(
    help="Functional departments (职能部门) cases are dispatched to.", no_args_is_help=True
)
responsibility_app = typer.Typer(
    help="The responsibility list: category × area → department (most specific area wins).",
    no_args_is_help=True,
)


@departments_app.command("load")
def departments_load(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX with columns 部门编码 (code), 部门名称 (name), 部门类别 (kind), "
            "联系方式 (contact) and optionally 启用 (active: 是/否)."
        ),
    ],
) -> None:
    """Add or change the departments a file lists, all or nothing (others stay as they are)."""
    with errors(), transaction() as conn:
        count = responsibility.load_departments(conn, file)
    console.print(f"{count} departments loaded from {file.name}")


@departments_app.command("list")
def departments_list() -> None:
    """Every department."""
    with errors(), transaction() as conn:
        found = responsibility.list_departments(conn)
    table = Table("code", "name", "kind", "contact", "active")
    for d in found:
        table.add_row(d.code, d.name, d.kind, d.contact, "是" if d.active else "否")
    console.print(table)


@responsibility_app.command("load")
def responsibility_load(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX with columns 案件类别 (category: code, major class or type "
            "letter), 区域编码 (area: district, street, community or grid code) and 责任部门编码 "
            "(department)."
        ),
    ],
) -> None:
    """Replace the responsibility list with a file's rows, all or nothing."""
    with errors(), transaction() as conn:
        count = responsibility.load_responsibility(conn, file)
    console.print(f"{count} responsibility rows loaded from {file.name}; the list is replaced")


@responsibility_app.command("list")
def responsibility_list(
    department: Annotated[str | None, typer.Option(help="Only this department's rows.")] = None,
) -> None:
    """The responsibility list, by area then category."""
    with errors(), transaction() as conn:
        found = responsibility.list_responsibility(conn, department_code=department)
    table = Table("category", "area", "level", "department")
    for r in found:
        table.add_row(r.category, r.area_code, r.area_level, r.department_code)
    console.print(table)
