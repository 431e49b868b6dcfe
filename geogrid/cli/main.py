"""The ``geogrid`` command: the one composition root that may reach into api/ and maps/."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from geogrid import db, organisations
from geogrid.access import keys
from geogrid.access.roles import Principal, Role
from geogrid.access.users import list_users
from geogrid.boundaries import releases
from geogrid.boundaries.validation import check_release
from geogrid.cli.calendar import calendar_app
from geogrid.cli.cases import (
    CategoryOption,
    FromOption,
    OpenOption,
    StatusOption,
    ToOption,
    cases_app,
)
from geogrid.cli.departments import departments_app, responsibility_app
from geogrid.cli.notify import notify_app
from geogrid.cli.organisations import organisations_app
from geogrid.cli.plan import plan_app
from geogrid.cli.serving import serve_api
from geogrid.cli.support import (
    PersonalOption,
    console,
    database,
    err,
    errors,
    fail,
    personal_viewer,
    print_violations,
    steps,
    transaction,
)
from geogrid.cli.users import ACTOR as USERS_ACTOR
from geogrid.cli.users import users_app
from geogrid.db import backup as backups
from geogrid.db import embedded
from geogrid.errors import GeogridError, LoadError
from geogrid.io import loading
from geogrid.io.files import LAYERS, read_layer, write_layer
from geogrid.settings import (
    ApiSettings,
    DatabaseSettings,
    DemoSettings,
    MapSettings,
    ServiceAreaSettings,
)

app = typer.Typer(
    help="geogrid: grid governance on PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: embedded cluster or GEOGRID_DATABASE_URL.", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
map_app = typer.Typer(
    help="Web maps as self-contained HTML files that open offline.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(map_app, name="map")
app.add_typer(plan_app, name="plan")
app.add_typer(cases_app, name="cases")
app.add_typer(calendar_app, name="calendar")
app.add_typer(departments_app, name="departments")
app.add_typer(responsibility_app, name="responsibility")
app.add_typer(notify_app, name="notify")
app.add_typer(organisations_app, name="organisations")


def _describe_location() -> str:
    settings = DatabaseSettings()
    if settings.database_url:
        return f"server from GEOGRID_DATABASE_URL ({settings.database_url.split('@')[-1]})"
    cluster = db.embedded_cluster(settings)
    runner = f", run as system user {cluster.run_as}" if cluster.run_as else ""
    return f"embedded cluster in {cluster.data_dir}{runner}"


# ---- db -------------------------------------------------------------------------------------


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded database, and migrate the schema."""
    with errors():
        url = database()
    console.print(f"database ready: {_describe_location()}")
    console.print(f"url: {url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded database cleanly."""
    settings = DatabaseSettings()
    if settings.database_url:
        raise fail(
            "GEOGRID_DATABASE_URL is set: geogrid did not start that server and will not stop it"
        )
    with errors():
        stopped = embedded.stop(db.embedded_cluster(settings))
    console.print("stopped" if stopped else "was not running")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, and the current release."""
    settings = DatabaseSettings()
    console.print(_describe_location())
    if not settings.database_url:
        with errors():
            cluster = db.embedded_cluster(settings)
        if not embedded.is_running(cluster):
            console.print("not running (start it with: geogrid db up)")
            raise typer.Exit(3)
    with errors(), transaction() as conn:
        release = releases.current_release(conn)
    console.print(
        "running; current boundary release: "
        f"{release.id if release else 'none (run: geogrid load demo)'}"
    )


@db_app.command("reset")
def db_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Delete every table and row, leaving an empty, migrated database."""
    if not yes:
        typer.confirm(f"Delete all data in the {_describe_location()}?", abort=True)
    with errors():
        url = database(migrate=False)
        engine = db.make_engine(url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            conn.execute(text("CREATE EXTENSION postgis"))
        engine.dispose()
        db.migrate(url)
    console.print("database reset: empty schema, no release")


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="Backup file to write.")]) -> None:
    """Write the whole database to FILE (pg_dump custom format)."""
    with errors():
        url = database()
        backups.backup(url, file, _bin_dir())
    console.print(f"backup written to {file} ({file.stat().st_size / 1e6:.1f} MB)")


@db_app.command("restore")
def db_restore(file: Annotated[Path, typer.Argument(help="Backup file to read.")]) -> None:
    """Replace the database with the backup in FILE (all or nothing)."""
    with errors():
        url = database(migrate=False)
        backups.restore(url, file, _bin_dir())
        db.migrate(url)
    console.print(f"restored from {file}")


def _bin_dir() -> Path | None:
    try:
        return embedded.find_bin_dir()
    except GeogridError:
        return None


# ---- load, export, validate ----------------------------------------------------------------


@app.command("load")
def load(
    source: Annotated[str, typer.Argument(help='"demo", or a GeoPackage/GeoJSON/Shapefile.')],
    layer: Annotated[str | None, typer.Option(help=f"One of {', '.join(LAYERS)}.")] = None,
    crs: Annotated[
        str | None, typer.Option(help="wgs84|cgcs2000|gcj02|bd09|EPSG:n; default: the file's own.")
    ] = None,
) -> None:
    """Load the Yaohai demo (idempotent) or a user's layer file (all or nothing)."""
    service = ServiceAreaSettings()
    with errors(), transaction() as conn:
        if source == "demo":
            path = DemoSettings().demo_path
            with steps() as progress:
                progress.add_task(f"loading the Yaohai demo from {path.name}", total=None)
                reports = loading.load_demo(conn, path, service)
                registers = organisations.load_demo_registers(conn, path.parent)
        else:
            registers = {}
            if layer is None:
                raise LoadError(f"loading {source} needs --layer {'|'.join(LAYERS)}")
            with steps() as progress:
                progress.add_task(f"loading {layer} from {source}", total=None)
                reports = [loading.load_file(conn, Path(source), layer, crs, service)]
    for report in reports:
        line = f"{report.layer}: {report.features} features"
        if report.release is not None:
            state = "published as new" if report.new_release else "unchanged, still"
            line += f"; {state} boundary release {report.release}"
        if report.snapped:
            line += f"; {report.snapped} grids snapped (0.5 m)"
        for note in report.notes:
            line += f"; {note}"
        console.print(line)
    if registers:
        loaded = ", ".join(f"{name} {count}" for name, count in registers.items())
        console.print(f"registers of people and organisations (generated): {loaded}")


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Output .gpkg, .geojson or .shp.")],
    layer: Annotated[
        str,
        typer.Option(
            help="grids, compounds, stations, service_areas, communities, streets, district"
        ),
    ],
    release: Annotated[
        int | None, typer.Option(help="Boundary release (grids); default current.")
    ] = None,
    crs: Annotated[str, typer.Option(help="Output coordinates.")] = "cgcs2000",
) -> None:
    """Write a layer to a GeoPackage, GeoJSON or Shapefile."""
    from geogrid.io.layers import read_layer_from_db

    with errors(), transaction() as conn:
        frame = read_layer_from_db(conn, layer, release)
        write_layer(frame, file, layer, crs)
    console.print(f"{layer}: {len(frame)} features written to {file}")


@app.command("validate")
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="A grids file to check instead of a stored release (nothing is loaded)."
        ),
    ] = None,
    release: Annotated[int | None, typer.Option(help="Boundary release; default current.")] = None,
    crs: Annotated[str | None, typer.Option(help="The file's coordinates (with FILE).")] = None,
    geojson: Annotated[
        Path | None,
        typer.Option(
            help="Also write the violations as a GeoJSON FeatureCollection ('-' for stdout)."
        ),
    ] = None,
) -> None:
    """Check a release (or a grids file) against every invariant; exit 1 when any is broken."""
    with errors(), transaction() as conn:
        if file is not None:
            _, _, violations = loading.check_grids(conn, read_layer(file, "grids", crs))
            subject = str(file)
        else:
            chosen = (
                releases.get_release(conn, release) if release else releases.current_release(conn)
            )
            if chosen is None:
                raise fail("no boundary release yet (run: geogrid load demo)")
            violations = check_release(conn, chosen.id)
            subject = f"release {chosen.id}"
    if geojson is not None:
        collection = json.dumps(
            {"type": "FeatureCollection", "features": [v.as_feature() for v in violations]},
            ensure_ascii=False,
        )
        if str(geojson) == "-":
            sys.stdout.write(collection + "\n")
        else:
            geojson.write_text(collection, encoding="utf-8")
    if violations:
        print_violations(violations, stream=err)
        raise typer.Exit(1)
    err.print(f"{subject}: every invariant holds")


# ---- keys -----------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str,
        typer.Option(help="viewer, dispatcher, planner, handler, supervisor, admin or reporter."),
    ],
    name: Annotated[str, typer.Option(help="Unique name, e.g. the person or system.")],
    department: Annotated[
        str | None, typer.Option(help="The department (code) a handler's key acts for.")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            help="The user name of the person the key acts for (their steps are recorded "
            "under that name; the key stops when the account is disabled). Leave out for a "
            "system's key."
        ),
    ] = None,
) -> None:
    """Create a key and print it once (it is stored only as a hash)."""
    with errors(), transaction() as conn:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise fail(str(exc)) from None
        _, secret = keys.create_key(
            conn, name, parsed, actor=USERS_ACTOR, department=department, owner=owner
        )
    err.print(f'key "{name}" ({parsed.name}) created; it is shown only now:')
    print(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with errors(), transaction() as conn:
        found = keys.list_keys(conn)
    table = Table("name", "role", "owner", "prefix", "created", "revoked")
    for k in found:
        table.add_row(
            k.name,
            k.role.name,
            k.owner or "",
            k.prefix,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            "" if k.revoked_at is None else f"{k.revoked_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: requests carrying it get 401 from then on."""
    with errors(), transaction() as conn:
        keys.revoke_key(conn, name, actor=USERS_ACTOR)
    console.print(f'key "{name}" revoked')


# ---- map ------------------------------------------------------------------------------------

OutOption = Annotated[Path, typer.Option("--out", help="HTML file to write.")]
MinutesOption = Annotated[
    int | None,
    typer.Option(help="Tier: 5, 10 or 15 minutes for every kind; default each kind's own tier."),
]


def _write_map(
    out: Path, draw: Callable[[Connection, Principal], object], show_personal: bool = False
) -> None:
    """Gather a map's data, draw it with every asset inlined, and write it to ``out``."""
    from geogrid import maps

    principal = personal_viewer(show_personal)
    with errors(), transaction() as conn:
        drawn = draw(conn, principal)
    page = maps.page(drawn, None)
    out.write_text(page, encoding="utf-8")
    console.print(
        f"map written to {out} ({len(page.encode()) / 1e6:.1f} MB, "
        "scripts, styles and fonts inlined: opens offline)"
    )


@map_app.command("overview")
def map_overview(
    out: OutOption, minutes: MinutesOption = None, show_personal: PersonalOption = False
) -> None:
    """The district overview: grids, compounds, stations, circles, gaps, heat of uncovered."""
    from geogrid import maps
    from geogrid.mapdata import views as mapdata

    key = MapSettings().tianditu_key
    _write_map(
        out,
        lambda conn, who: maps.overview_map(
            mapdata.overview(conn, who, minutes=minutes), tianditu_key=key
        ),
        show_personal,
    )


@map_app.command("grid")
def map_grid(
    code: Annotated[str, typer.Argument(help="The grid's 15-digit code.")],
    out: OutOption,
    show_personal: PersonalOption = False,
) -> None:
    """One grid with its neighbours, compounds and the stations whose circles reach it."""
    from geogrid import maps
    from geogrid.mapdata import views as mapdata

    key = MapSettings().tianditu_key
    _write_map(
        out,
        lambda conn, who: maps.grid_map(mapdata.grid_view(conn, code, who), tianditu_key=key),
        show_personal,
    )


@map_app.command("coverage")
def map_coverage(
    out: OutOption,
    minutes: MinutesOption = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Station kinds, comma-separated; default the residents' services."),
    ] = None,
) -> None:
    """Share of households covered per community by one tier, with the gaps on top."""
    from geogrid import maps
    from geogrid.mapdata import views as mapdata

    key = MapSettings().tianditu_key
    kinds = [k for k in (kind or "").split(",") if k.strip()] or None
    _write_map(
        out,
        lambda conn, who: maps.coverage_map(
            mapdata.coverage_view(conn, minutes=minutes, kinds=kinds), tianditu_key=key
        ),
    )


@map_app.command("cases")
def map_cases(
    out: OutOption,
    status: StatusOption = None,
    category: CategoryOption = None,
    created_from: FromOption = None,
    created_to: ToOption = None,
    open_: OpenOption = None,
    resolution: Annotated[int, typer.Option(help="H3 resolution of the heat layer: 8 or 9.")] = 8,
) -> None:
    """Cases per grid, per H3 cell and as clustered markers (never personal data)."""
    from geogrid import maps
    from geogrid.cases.queries import CaseFilter
    from geogrid.mapdata import cases as mapdata_cases

    with errors():
        found = CaseFilter.parse(
            status=status,
            category=category,
            created_from=created_from,
            created_to=created_to,
            open=open_,
        )
    key = MapSettings().tianditu_key
    _write_map(
        out,
        lambda conn, who: maps.case_map(
            mapdata_cases.case_view(conn, found, hex_resolution=resolution), tianditu_key=key
        ),
    )


# ---- serve, demo ----------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Default GEOGRID_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default GEOGRID_PORT or 8000.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes serving the same port; each follows new releases by itself "
            "(docs/operations.md, Running as a fleet).",
        ),
    ] = 1,
) -> None:
    """Serve the API (starting the embedded database when needed)."""
    settings = ApiSettings()
    with errors():
        try:
            database()
        except OperationalError:
            # A configured server that does not answer yet: serve anyway. /livez answers,
            # /readyz and database routes say 503 until it does (docs/operations.md).
            err.print("[yellow]the database does not answer; serving anyway (503 until it does)")
    address = (host or settings.host, port or settings.port)
    if workers > 1:
        err.print(f"serving on http://{address[0]}:{address[1]} with {workers} workers")
    serve_api(*address, workers, settings)


@app.command("demo")
def demo(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the database, migrate, load the Yaohai demo and serve the API."""
    load("demo")
    with errors(), transaction() as conn:
        people = len(list_users(conn))
    if people == 0:  # no account ships with a password: the district makes its own first admin
        err.print(
            "the staff console (/console) has no accounts yet; create the first admin with\n"
            "  .venv/bin/geogrid users create admin --role admin"
        )
    serve(host=host, port=port, workers=1)


if __name__ == "__main__":
    app()
