"""``geogrid organisations ...``: the registers of the people and organisations of every grid
(geogrid.organisations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geogrid import organisations
from geogrid.cli.support import console, errors, transaction
from geogrid.moments import parse_moment

organisations_app = typer.Typer(
    help="Grid staff, party branches and groups, volunteer teams, law members, platforms and "
    "mobile grids (docs/organisations.md).",
    no_args_is_help=True,
)


@organisations_app.command("load")
def organisations_load(
    register: Annotated[str, typer.Argument(help=f"One of {', '.join(organisations.REGISTERS)}.")],
    file: Annotated[
        Path,
        typer.Argument(help="CSV or XLSX with the register's columns (docs/organisations.md)."),
    ],
) -> None:
    """Replace a register with a file's rows, all or nothing (the old rows stay as history)."""
    with errors(), transaction() as conn:
        count = organisations.load_register(conn, register, file)
    console.print(f"{count} rows of {register} loaded from {file.name}; the register is replaced")


@organisations_app.command("summary")
def organisations_summary(
    street: Annotated[str | None, typer.Option(help="Only this street (9 digits).")] = None,
    community: Annotated[str | None, typer.Option(help="Only this community (12 digits).")] = None,
    at: Annotated[
        str | None, typer.Option(help="As it was then (ISO 8601; no offset = Asia/Shanghai).")
    ] = None,
) -> None:
    """The organisations of the district, a street or a community, and their coverage gaps."""
    with errors(), transaction() as conn:
        moment = None if at is None else parse_moment(at)
        found = organisations.summary(conn, street=street, community=community, at=moment)
    table = Table("figure", "count")
    for name in organisations.SUMMARY_FIGURES:
        value = getattr(found, name)
        table.add_row(name, "-" if value is None else str(value))
    for gap in (
        "grids_without_branch",
        "compounds_without_volunteer_team",
        "communities_without_law_member",
        "resident_grids_without_platform",
    ):
        table.add_row(gap, str(getattr(found, gap)))
    console.print(table)
