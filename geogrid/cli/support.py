"""What every `geogrid` sub-command shares: consoles, the database, errors as exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, Engine

from geogrid import db
from geogrid.access.roles import Principal, Role
from geogrid.boundaries.validation import Violation
from geogrid.errors import GeogridError, LoadError
from geogrid.plans.layer import EditRejectedError
from geogrid.settings import DatabaseSettings

PersonalOption = Annotated[
    bool,
    typer.Option(
        "--show-personal",
        help="Show names and phones (as dispatchers see them); masked by default, as for viewers.",
    ),
]

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except GeogridError as exc:
        if (
            isinstance(exc, LoadError | EditRejectedError)
            and isinstance(exc.details, list)
            and exc.details
            and all(isinstance(v, Violation) for v in exc.details)
        ):
            print_violations(exc.details, stream=err)
        raise fail(exc.message) from None


def steps() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def database(migrate: bool = True) -> str:
    settings = DatabaseSettings()
    with steps() as progress:
        task = progress.add_task("starting the database", total=None)
        url = db.resolve_url(settings)
        if migrate:
            progress.update(task, description="migrating the schema")
            db.migrate(url)
        progress.update(task, description="database ready", completed=1, total=1)
    return url


@contextmanager
def transaction() -> Iterator[Connection]:
    engine: Engine = db.make_engine(database(), pool_size=1)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def print_violations(violations: list[Violation], stream: Console) -> None:
    table = Table("rule", "where", "what", title=f"{len(violations)} violation(s)")
    for v in violations[:200]:
        where = "" if v.location is None else v.location.representative_point().wkt
        table.add_row(v.rule, where, v.message)
    stream.print(table)


def personal_viewer(show_personal: bool) -> Principal:
    """Who a command that writes maps or exports acts as: a dispatcher with --show-personal."""
    return Principal("geogrid cli", Role.dispatcher if show_personal else Role.viewer)
