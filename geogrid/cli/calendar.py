"""`geogrid calendar ...`: the Chinese working calendar behind working-hour deadlines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geogrid.cli.support import console, errors, transaction

calendar_app = typer.Typer(
    help="The working calendar (public holidays and 调休 working days) deadlines count on.",
    no_args_is_help=True,
)


@calendar_app.command("load")
def calendar_load(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns date, kind (holiday|workday), name and optionally year "
            "(the notice's year)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Where the days come from: the notice's title, number and address."),
    ] = None,
) -> None:
    """Load a year's notice: replace the years the file names, all or nothing."""
    from geogrid.calendar import read_calendar_file
    from geogrid.cases.calendar_notices import load_notice
    from geogrid.cli.users import ACTOR
    from geogrid.settings import CaseSettings

    with errors():
        found = read_calendar_file(file, source)
        with transaction() as conn:
            loaded = load_notice(conn, found, ACTOR, CaseSettings().office_hours)
    named = ", ".join(str(y) for y in loaded.years)
    years, days, fixed = len(loaded.years), len(found.days), loaded.due_times
    console.print(f"{days} days of {years} year(s) loaded ({named}); {fixed} due times set")


@calendar_app.command("show")
def calendar_show(year: Annotated[int, typer.Argument(help="The notice's year.")]) -> None:
    """The holidays and make-up working days of a year, with the notice they come from."""
    from geogrid.calendar import calendar_years, year_days

    with errors(), transaction() as conn:
        known = {y.year: y for y in calendar_years(conn)}
        days = year_days(conn, year)
    if year not in known:
        listed = f"{min(known)}-{max(known)}" if known else "none"
        console.print(
            f"[red]no calendar for {year}[/red] (known: {listed}); working-hour due times "
            f"in {year} are flagged calendar_missing until it is loaded"
        )
        raise typer.Exit(1)
    console.print(f"{year}: {known[year].source}")
    table = Table("date", "weekday", "kind", "name")
    for d in days:
        kind = "放假 holiday" if d.kind == "holiday" else "上班 workday"
        table.add_row(d.day.isoformat(), d.day.strftime("%a"), kind, d.name)
    console.print(table)
