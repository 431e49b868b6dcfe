"""`geogrid cases ...`: import and export cases, replace the category catalogue, say which
categories need an after-photo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geogrid.cli.support import PersonalOption, console, errors, personal_viewer, transaction

cases_app = typer.Typer(
    help="Citizen cases: import, export the filtered list, replace the category catalogue.",
    no_args_is_help=True,
)


#: Case filters, as /v1/cases takes them (shared with `geogrid map cases`).
StatusOption = Annotated[
    list[str] | None, typer.Option(help="Any of these statuses; repeat or comma-separate.")
]
CategoryOption = Annotated[
    str | None, typer.Option(help="Category code (E0102), major class (E01) or a name (市容环境).")
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", help="Created at or after (date or ISO time, Asia/Shanghai)."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Created before this time, or up to the end of this date."),
]
OpenOption = Annotated[
    bool | None,
    typer.Option("--open/--finished", help="Only open cases, or only closed and void ones."),
]


@cases_app.command("export")
def cases_export(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv (UTF-8 with BOM) or xlsx.")] = "csv",
    status: StatusOption = None,
    grid: Annotated[str | None, typer.Option(help="Grid code (15 digits).")] = None,
    community: Annotated[str | None, typer.Option(help="Community code (12 digits).")] = None,
    street: Annotated[str | None, typer.Option(help="Street code (9 digits).")] = None,
    category: CategoryOption = None,
    created_from: FromOption = None,
    created_to: ToOption = None,
    overdue: Annotated[
        bool | None,
        typer.Option("--overdue/--not-overdue", help="Only overdue cases, or only the others."),
    ] = None,
    open_: OpenOption = None,
    flag: Annotated[
        list[str] | None, typer.Option(help="Any of these flags; repeat or comma-separate.")
    ] = None,
    show_personal: PersonalOption = False,
) -> None:
    """Export the filtered cases with Chinese headers (personal data masked unless asked)."""
    from geogrid.cases.export import export_cases
    from geogrid.cases.queries import CaseFilter

    with errors():
        found = CaseFilter.parse(
            status=status,
            grid=grid,
            community=community,
            street=street,
            category=category,
            created_from=created_from,
            created_to=created_to,
            overdue=overdue,
            open=open_,
            flags=flag,
        )
        with transaction() as conn:
            content = export_cases(conn, found, fmt, personal_viewer(show_personal))
    out.write_bytes(content)
    console.print(f"cases written to {out} ({len(content) / 1e3:,.1f} kB)")


@cases_app.command("import")
def cases_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX, one case a row.")],
    crs: Annotated[
        str,
        typer.Option(
            help="crs of lon/lat where a row has no crs column: wgs84, cgcs2000, gcj02, bd09."
        ),
    ] = "wgs84",
    actor: Annotated[str, typer.Option(help="Recorded as who reported the cases.")] = "import",
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Import the good rows and list the bad ones (default: all or nothing).",
        ),
    ] = False,
) -> None:
    """Import cases, each routed to its grid; rows with an external_id are imported once."""
    from geogrid.boundaries.releases import current_release
    from geogrid.cases.importing import import_cases, read_rows
    from geogrid.errors import NotFoundError
    from geogrid.lookup import snapshot
    from geogrid.settings import CaseSettings

    with errors():
        rows = read_rows(file)
        with transaction() as conn:
            release = current_release(conn)
            if release is None:
                raise NotFoundError("no boundary release yet: load grids first")
            result = import_cases(
                conn,
                snapshot.build(conn, release.id),
                rows,
                actor,
                CaseSettings(),
                crs=crs,
                skip_bad=skip_bad,
            )
    for line, why in result.refused:
        console.print(f"[yellow]line {line} skipped:[/] {why}")
    console.print(
        f"{len(result.created)} cases imported, {len(result.already)} already "
        f"imported, {len(result.refused)} rows skipped"
    )


@cases_app.command("categories")
def cases_categories(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns code, type, major_name, name, handling_hours.")
    ],
) -> None:
    """Replace the category catalogue; categories no longer listed are deactivated."""
    from geogrid.cases.categories import read_catalogue, replace_catalogue

    with errors():
        found = read_catalogue(file)
        with transaction() as conn:
            active, gone = replace_catalogue(conn, found)
    console.print(f"{active} categories active, {gone} deactivated")


@cases_app.command("after-photo")
def cases_after_photo(
    category: Annotated[str, typer.Argument(help="Category code, e.g. E0502.")],
    required: Annotated[
        bool,
        typer.Option(
            "--required/--not-required",
            help="Whether its cases need a photo of stage after before 反馈 (handled).",
        ),
    ] = True,
) -> None:
    """Make a category's cases need (or no longer need) an after-photo before 反馈."""
    from geogrid.cases.photos import require_after_photo

    with errors(), transaction() as conn:
        require_after_photo(conn, category.strip().upper(), required)
    console.print(
        f"{category}: an after-photo is {'required' if required else 'not required'} before 反馈"
    )


@cases_app.command("levels")
def cases_levels(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns code, urgency, condition, handling_hours and optionally clock."
        ),
    ],
) -> None:
    """Replace the categories' urgency levels (a missing cover urgent, a cracked one normal)."""
    from geogrid.cases.stages import read_levels, replace_levels

    with errors():
        found = read_levels(file)
        with transaction() as conn:
            count = replace_levels(conn, found)
    console.print(f"{count} levels loaded")


@cases_app.command("warn")
def cases_warn(
    every: Annotated[
        float,
        typer.Option(help="Seconds between passes; 0 gives one pass and stops.", min=0),
    ] = 0,
) -> None:
    """Give the yellow and red warnings that are due (a ``warning`` event on each case)."""
    import time

    from geogrid.cases.warnings import issue_warnings

    with errors():
        while True:
            with transaction() as conn:
                given = issue_warnings(conn)
            for w in given:
                console.print(f"case {w.case_id}: {w.level} in stage {w.stage} (due {w.due_at})")
            if not every:
                break
            time.sleep(every)
