"""The ``geogrid`` command: the one composition root that may reach into api/ and maps/."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import shapely
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, Engine, text

from geogrid import backup as backups
from geogrid import db, embedded, keys, loading, plans, releases
from geogrid.access import Principal, Role
from geogrid.errors import GeogridError, LoadError
from geogrid.files import LAYERS, read_layer, write_layer
from geogrid.settings import (
    ApiSettings,
    DatabaseSettings,
    DemoSettings,
    MapSettings,
    ServiceAreaSettings,
)
from geogrid.validation import Violation, check_release

app = typer.Typer(help="geogrid: grid governance on PostGIS.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded cluster or GEOGRID_DATABASE_URL.",
                     no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
map_app = typer.Typer(help="Web maps as self-contained HTML files that open offline.",
                      no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
plan_app = typer.Typer(help="Boundary plans: edits checked at once, previewed, published as "
                       "a new boundary release.", no_args_is_help=True)
app.add_typer(map_app, name="map")
app.add_typer(plan_app, name="plan")
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except GeogridError as exc:
        if isinstance(exc, LoadError | plans.EditRejectedError) and isinstance(
                exc.details, list) and exc.details and all(
                isinstance(v, Violation) for v in exc.details):
            _print_violations(exc.details, stream=err)
        raise _fail(exc.message) from None


def _steps() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=err, transient=False)


def _database(migrate: bool = True) -> str:
    settings = DatabaseSettings()
    with _steps() as progress:
        task = progress.add_task("starting the database", total=None)
        url = db.resolve_url(settings)
        if migrate:
            progress.update(task, description="migrating the schema")
            db.migrate(url)
        progress.update(task, description="database ready", completed=1, total=1)
    return url


@contextmanager
def _transaction() -> Iterator[Connection]:
    engine: Engine = db.make_engine(_database(), pool_size=1)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


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
    with _errors():
        url = _database()
    console.print(f"database ready: {_describe_location()}")
    console.print(f"url: {url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded database cleanly."""
    settings = DatabaseSettings()
    if settings.database_url:
        raise _fail("GEOGRID_DATABASE_URL is set: geogrid did not start that server and "
                    "will not stop it")
    with _errors():
        stopped = embedded.stop(db.embedded_cluster(settings))
    console.print("stopped" if stopped else "was not running")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, and the current release."""
    settings = DatabaseSettings()
    console.print(_describe_location())
    if not settings.database_url:
        with _errors():
            cluster = db.embedded_cluster(settings)
        if not embedded.is_running(cluster):
            console.print("not running (start it with: geogrid db up)")
            raise typer.Exit(3)
    with _errors(), _transaction() as conn:
        release = releases.current_release(conn)
    console.print("running; current boundary release: "
                  f"{release.id if release else 'none (run: geogrid load demo)'}")


@db_app.command("reset")
def db_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Delete every table and row, leaving an empty, migrated database."""
    if not yes:
        typer.confirm(f"Delete all data in the {_describe_location()}?", abort=True)
    with _errors():
        url = _database(migrate=False)
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
    with _errors():
        url = _database()
        backups.backup(url, file, _bin_dir())
    console.print(f"backup written to {file} ({file.stat().st_size / 1e6:.1f} MB)")


@db_app.command("restore")
def db_restore(file: Annotated[Path, typer.Argument(help="Backup file to read.")]) -> None:
    """Replace the database with the backup in FILE (all or nothing)."""
    with _errors():
        url = _database(migrate=False)
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
    crs: Annotated[str | None, typer.Option(
        help="wgs84|cgcs2000|gcj02|bd09|EPSG:n; default: the file's own.")] = None,
) -> None:
    """Load the Yaohai demo (idempotent) or a user's layer file (all or nothing)."""
    service = ServiceAreaSettings()
    with _errors(), _transaction() as conn:
        if source == "demo":
            path = DemoSettings().demo_path
            with _steps() as progress:
                progress.add_task(f"loading the Yaohai demo from {path.name}", total=None)
                reports = loading.load_demo(conn, path, service)
        else:
            if layer is None:
                raise LoadError(f"loading {source} needs --layer {'|'.join(LAYERS)}")
            with _steps() as progress:
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


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Output .gpkg, .geojson or .shp.")],
    layer: Annotated[str, typer.Option(
        help="grids, compounds, stations, service_areas, communities, streets, district")],
    release: Annotated[int | None, typer.Option(help="Boundary release (grids); default current.")]
    = None,
    crs: Annotated[str, typer.Option(help="Output coordinates.")] = "cgcs2000",
) -> None:
    """Write a layer to a GeoPackage, GeoJSON or Shapefile."""
    from geogrid.layers import read_layer_from_db

    with _errors(), _transaction() as conn:
        frame = read_layer_from_db(conn, layer, release)
        write_layer(frame, file, layer, crs)
    console.print(f"{layer}: {len(frame)} features written to {file}")


def _print_violations(violations: list[Violation], stream: Console) -> None:
    table = Table("rule", "where", "what", title=f"{len(violations)} violation(s)")
    for v in violations[:200]:
        where = "" if v.location is None else v.location.representative_point().wkt
        table.add_row(v.rule, where, v.message)
    stream.print(table)


@app.command("validate")
def validate(
    file: Annotated[Path | None, typer.Argument(
        help="A grids file to check instead of a stored release (nothing is loaded).")] = None,
    release: Annotated[int | None, typer.Option(help="Boundary release; default current.")]
    = None,
    crs: Annotated[str | None, typer.Option(help="The file's coordinates (with FILE).")] = None,
    geojson: Annotated[Path | None, typer.Option(
        help="Also write the violations as a GeoJSON FeatureCollection ('-' for stdout).")]
    = None,
) -> None:
    """Check a release (or a grids file) against every invariant; exit 1 when any is broken."""
    with _errors(), _transaction() as conn:
        if file is not None:
            _, _, violations = loading.check_grids(conn, read_layer(file, "grids", crs))
            subject = str(file)
        else:
            chosen = releases.get_release(conn, release) if release else \
                releases.current_release(conn)
            if chosen is None:
                raise _fail("no boundary release yet (run: geogrid load demo)")
            violations = check_release(conn, chosen.id)
            subject = f"release {chosen.id}"
    if geojson is not None:
        collection = json.dumps({"type": "FeatureCollection",
                                 "features": [v.as_feature() for v in violations]},
                                ensure_ascii=False)
        if str(geojson) == "-":
            sys.stdout.write(collection + "\n")
        else:
            geojson.write_text(collection, encoding="utf-8")
    if violations:
        _print_violations(violations, stream=err)
        raise typer.Exit(1)
    err.print(f"{subject}: every invariant holds")


# ---- keys -----------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, dispatcher, planner or admin.")],
    name: Annotated[str, typer.Option(help="Unique name, e.g. the person or system.")],
) -> None:
    """Create a key and print it once (it is stored only as a hash)."""
    with _errors(), _transaction() as conn:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        _, secret = keys.create_key(conn, name, parsed)
    err.print(f'key "{name}" ({parsed.name}) created; it is shown only now:')
    print(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with _errors(), _transaction() as conn:
        found = keys.list_keys(conn)
    table = Table("name", "role", "prefix", "created", "revoked")
    for k in found:
        table.add_row(k.name, k.role.name, k.prefix, f"{k.created_at:%Y-%m-%d %H:%M}",
                      "" if k.revoked_at is None else f"{k.revoked_at:%Y-%m-%d %H:%M}")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: requests carrying it get 401 from then on."""
    with _errors(), _transaction() as conn:
        keys.revoke_key(conn, name)
    console.print(f'key "{name}" revoked')


# ---- plan -----------------------------------------------------------------------------------

ActorOption = Annotated[str | None, typer.Option(
    "--as", help="Who acts (recorded in the audit log); default the OS user.")]
PlanId = Annotated[int, typer.Argument(help="The plan's id.")]


def _actor(name: str | None) -> str:
    return name or getpass.getuser()


def _plan_table(found: list[plans.Plan]) -> Table:
    table = Table("id", "status", "base release", "edits", "created by", "created", "comment")
    for p in found:
        table.add_row(str(p.id), p.status, str(p.base_release), str(len(p.edits)),
                      p.created_by, f"{p.created_at:%Y-%m-%d %H:%M}", p.comment)
    return table


@plan_app.command("create")
def plan_create(
    comment: Annotated[str, typer.Option(help="Why: kept with the plan and its release.")],
    actor: ActorOption = None,
) -> None:
    """Open a plan on the current boundary release; prints its id and base release."""
    with _errors(), _transaction() as conn:
        plan = plans.create_plan(conn, comment, _actor(actor))
    console.print(f"plan {plan.id} created on base release {plan.base_release}")


@plan_app.command("list")
def plan_list() -> None:
    """Open plans."""
    with _errors(), _transaction() as conn:
        found = plans.open_plans(conn)
    console.print(_plan_table(found) if found else "no open plans")


@plan_app.command("show")
def plan_show(plan_id: PlanId) -> None:
    """One plan with its active edits."""
    with _errors(), _transaction() as conn:
        plan = plans.get_plan(conn, plan_id)
    console.print(_plan_table([plan]))
    table = Table("edit", "op", "touches", "created by", "created", "comment",
                  title=f"{len(plan.edits)} active edit(s)")
    for e in plan.edits:
        touches = ", ".join(sorted(plans.OPS[e.op].touches(e.params))) if e.op in plans.OPS \
            else ""
        table.add_row(str(e.id), e.op, touches, e.created_by,
                      f"{e.created_at:%Y-%m-%d %H:%M}", e.comment)
    console.print(table)


def _read_json(source: str) -> dict[str, Any]:
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {source}: {exc.strerror}") from None
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(f"{'stdin' if source == '-' else source} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _fail("the edit must be a JSON object, as for POST /v1/plans/{id}/edits")
    return body


@plan_app.command("edit")
def plan_edit(
    plan_id: PlanId,
    json_file: Annotated[str | None, typer.Option(
        "--json", help="The edit as for POST /v1/plans/{id}/edits: a file, or '-' for stdin.")
    ] = None,
    drawing: Annotated[Path | None, typer.Option(
        "--file", help="replace: the drawing, a GeoPackage or GeoJSON file (features may "
        "carry code, name, kind).")] = None,
    grids: Annotated[str | None, typer.Option(
        help="replace with --file: the codes of the grids the drawing replaces, "
        "comma-separated.")] = None,
    crs: Annotated[str | None, typer.Option(
        help="replace with --file: wgs84|cgcs2000|gcj02|bd09|EPSG:n; default the file's "
        "own.")] = None,
    comment: Annotated[str | None, typer.Option(
        help="Why (kept with the edit); default the plan's comment.")] = None,
    actor: ActorOption = None,
) -> None:
    """Add an edit; refused (exit 1, naming the rule) when it breaks a rule by itself.

    A replace drawing can come as a file: --file drawing.gpkg --grids CODE,CODE [--crs].
    """
    from geogrid.plan_replace import read_drawing

    if json_file is None and drawing is None:
        raise _fail("give the edit as --json FILE, or a replace drawing as --file FILE")
    body: dict[str, Any] = (_read_json(json_file) if json_file is not None
                            else {"op": "replace"})
    if drawing is not None:
        if body.setdefault("op", "replace") != "replace":
            raise _fail(f'--file is only for op "replace", but the edit\'s op is "{body["op"]}"')
        if not drawing.exists():
            raise _fail(f"{drawing}: no such file")
        if grids is not None:
            body["grids"] = [c.strip() for c in grids.split(",") if c.strip()]
        with _errors():
            body["layer"], body["crs"] = read_drawing(drawing, crs or body.get("crs"),
                                                      drawing.name)
    if comment is not None:
        body["comment"] = comment
    with _errors(), _transaction() as conn:
        edit_id = plans.add_edit(conn, plan_id, body, _actor(actor))
    console.print(f"edit {edit_id} added to plan {plan_id}")


@plan_app.command("undo")
def plan_undo(plan_id: PlanId, edit_id: Annotated[int, typer.Argument(help="The edit's id.")],
              actor: ActorOption = None) -> None:
    """Undo an edit of an open plan."""
    with _errors(), _transaction() as conn:
        plans.undo_edit(conn, plan_id, edit_id, _actor(actor))
    console.print(f"edit {edit_id} of plan {plan_id} undone")


def _pair(figures: dict[str, Any] | None, key: str) -> str:
    value = None if figures is None else figures.get(key)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def _print_preview(shown: dict[str, Any]) -> None:
    table = Table("grid", "name", "area m² before", "after", "households before", "after",
                  "Polsby-Popper after", "parts", "in norm",
                  title=f"plan {shown['plan']} on release {shown['base_release']}: "
                        f"{shown['edits']} edit(s), {len(shown['grids'])} grid(s) changed")
    for g in shown["grids"]:
        before, after = g["before"], g["after"]
        name = (after or before or {}).get("name") or ""
        table.add_row(g["code"], name, _pair(before, "area_m2"), _pair(after, "area_m2"),
                      _pair(before, "households"), _pair(after, "households"),
                      _pair(after, "polsby_popper"), _pair(after, "parts"),
                      _pair(after, "households_within_norm"))
    console.print(table)
    if shown["compounds_moved"]:
        moved = Table("compound", "name", "households", "from", "to", title="compounds moved")
        for c in shown["compounds_moved"]:
            moved.add_row(str(c["id"]), c["name"], str(c["households"]), str(c["from"]),
                          str(c["to"]))
        console.print(moved)
    if shown["compounds_cut"]:
        cut = Table("compound", "name", "shares", title="compounds a new edge cuts")
        for c in shown["compounds_cut"]:
            cut.add_row(str(c["id"]), c["name"],
                        ", ".join(f"{k}: {v:.1%}" for k, v in c["shares"].items()))
        console.print(cut)
    features = shown["violations"]["features"]
    if features:
        found = Table("rule", "where", "what", title=f"{len(features)} violation(s)")
        for f in features[:200]:
            props = f.get("properties") or {}
            geometry = f.get("geometry")
            where = "" if not geometry else \
                shapely.geometry.shape(geometry).representative_point().wkt
            found.add_row(str(props.get("rule", "")), where, str(props.get("message", "")))
        console.print(found)
    console.print("every invariant holds" if shown["valid"] else
                  "[red]the plan breaks an invariant: publish would be refused[/red]")


@plan_app.command("preview")
def plan_preview(plan_id: PlanId, as_json: Annotated[bool, typer.Option(
        "--json", help="Print the preview as JSON (as GET /v1/plans/{id}/preview).")] = False
                 ) -> None:
    """Every grid the plan changes, before and after, and the plan's invariant check."""
    from geogrid.plan_preview import preview

    with _errors(), _transaction() as conn:
        shown = preview(conn, plan_id)
    if as_json:
        sys.stdout.write(json.dumps(shown, ensure_ascii=False, default=str) + "\n")
    else:
        _print_preview(shown)


@plan_app.command("publish")
def plan_publish(plan_id: PlanId, actor: ActorOption = None) -> None:
    """Publish the plan as a new boundary release (all edits or none)."""
    with _errors(), _transaction() as conn:
        release = plans.publish_plan(conn, plan_id, _actor(actor))
    console.print(f"plan {plan_id} published as boundary release {release.id}")


@plan_app.command("discard")
def plan_discard(plan_id: PlanId, actor: ActorOption = None) -> None:
    """Discard an open plan (kept for the record, never published)."""
    with _errors(), _transaction() as conn:
        plans.discard_plan(conn, plan_id, _actor(actor))
    console.print(f"plan {plan_id} discarded")


# ---- map ------------------------------------------------------------------------------------

OutOption = Annotated[Path, typer.Option("--out", help="HTML file to write.")]
PersonalOption = Annotated[bool, typer.Option(
    "--show-personal", help="Show grid leaders' names and phones (as dispatchers see them); "
    "masked by default, as for viewers.")]
MinutesOption = Annotated[int, typer.Option(help="Tier: 5, 10 or 15 minutes.")]


def _write_map(out: Path, draw: Callable[[Connection, Principal], object],
               show_personal: bool = False) -> None:
    """Gather a map's data, draw it with every asset inlined, and write it to ``out``."""
    import maps

    principal = Principal("geogrid map", Role.dispatcher if show_personal else Role.viewer)
    with _errors(), _transaction() as conn:
        drawn = draw(conn, principal)
    page = maps.page(drawn, None)
    out.write_text(page, encoding="utf-8")
    console.print(f"map written to {out} ({len(page.encode()) / 1e6:.1f} MB, "
                  "scripts, styles and fonts inlined: opens offline)")


@map_app.command("overview")
def map_overview(out: OutOption, minutes: MinutesOption = 15,
                 show_personal: PersonalOption = False) -> None:
    """The district overview: grids, compounds, stations, circles, gaps, heat of uncovered."""
    import maps
    from geogrid import mapdata

    key = MapSettings().tianditu_key
    _write_map(out, lambda conn, who: maps.overview_map(
        mapdata.overview(conn, who, minutes=minutes), tianditu_key=key), show_personal)


@map_app.command("grid")
def map_grid(code: Annotated[str, typer.Argument(help="The grid's 15-digit code.")],
             out: OutOption, show_personal: PersonalOption = False) -> None:
    """One grid with its neighbours, compounds and the stations whose circles reach it."""
    import maps
    from geogrid import mapdata

    key = MapSettings().tianditu_key
    _write_map(out, lambda conn, who: maps.grid_map(mapdata.grid_view(conn, code, who),
                                                    tianditu_key=key), show_personal)


@map_app.command("coverage")
def map_coverage(out: OutOption, minutes: MinutesOption = 15,
                 kind: Annotated[str | None, typer.Option(
                     help="Station kinds, comma-separated; default all.")] = None) -> None:
    """Share of households covered per community by one tier, with the gaps on top."""
    import maps
    from geogrid import mapdata

    key = MapSettings().tianditu_key
    kinds = [k for k in (kind or "").split(",") if k.strip()] or None
    _write_map(out, lambda conn, who: maps.coverage_map(
        mapdata.coverage_view(conn, minutes=minutes, kinds=kinds), tianditu_key=key))


# ---- cases ----------------------------------------------------------------------------------

cases_app = typer.Typer(help="Citizen cases: import, export the filtered list, replace the "
                        "category catalogue.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")


@cases_app.command("export")
def cases_export(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv (UTF-8 with BOM) or xlsx.")] = "csv",
    status: Annotated[list[str] | None, typer.Option(
        help="Any of these statuses; repeat or comma-separate.")] = None,
    grid: Annotated[str | None, typer.Option(help="Grid code (15 digits).")] = None,
    community: Annotated[str | None, typer.Option(help="Community code (12 digits).")] = None,
    street: Annotated[str | None, typer.Option(help="Street code (9 digits).")] = None,
    category: Annotated[str | None, typer.Option(
        help="Category code (E0102), major class (E01) or a name (市容环境).")] = None,
    created_from: Annotated[str | None, typer.Option(
        "--from", help="Created at or after (date or ISO time, Asia/Shanghai).")] = None,
    created_to: Annotated[str | None, typer.Option(
        "--to", help="Created before this time, or up to the end of this date.")] = None,
    overdue: Annotated[bool | None, typer.Option(
        "--overdue/--not-overdue", help="Only overdue cases, or only the others.")] = None,
    open_: Annotated[bool | None, typer.Option(
        "--open/--finished", help="Only open cases, or only closed and void ones.")] = None,
    flag: Annotated[list[str] | None, typer.Option(
        help="Any of these flags; repeat or comma-separate.")] = None,
    show_personal: PersonalOption = False,
) -> None:
    """Export the filtered cases with Chinese headers (personal data masked unless asked)."""
    from geogrid.case_export import export_cases
    from geogrid.case_queries import CaseFilter

    with _errors():
        found = CaseFilter.parse(status=status, grid=grid, community=community, street=street,
                                 category=category, created_from=created_from,
                                 created_to=created_to, overdue=overdue, open=open_,
                                 flags=flag)
        with _transaction() as conn:
            content = export_cases(conn, found, fmt, masked=not show_personal)
    out.write_bytes(content)
    console.print(f"cases written to {out} ({len(content) / 1e3:,.1f} kB)")


@cases_app.command("import")
def cases_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX, one case a row.")],
    crs: Annotated[str, typer.Option(
        help="crs of lon/lat where a row has no crs column: wgs84, cgcs2000, gcj02, bd09."
    )] = "wgs84",
    actor: Annotated[str, typer.Option(help="Recorded as who reported the cases.")] = "import",
    skip_bad: Annotated[bool, typer.Option(
        "--skip-bad", help="Import the good rows and list the bad ones (default: all or "
                           "nothing).")] = False,
) -> None:
    """Import cases, each routed to its grid; rows with an external_id are imported once."""
    from geogrid import snapshot
    from geogrid.case_import import import_cases, read_rows
    from geogrid.errors import NotFoundError
    from geogrid.releases import current_release
    from geogrid.settings import CaseSettings

    with _errors():
        rows = read_rows(file)
        with _transaction() as conn:
            release = current_release(conn)
            if release is None:
                raise NotFoundError("no boundary release yet: load grids first")
            result = import_cases(conn, snapshot.build(conn, release.id), rows, actor,
                                  CaseSettings(), crs=crs, skip_bad=skip_bad)
    for line, why in result.refused:
        console.print(f"[yellow]line {line} skipped:[/] {why}")
    console.print(f"{len(result.created)} cases imported, {len(result.already)} already "
                  f"imported, {len(result.refused)} rows skipped")


@cases_app.command("categories")
def cases_categories(file: Annotated[Path, typer.Argument(
        help="CSV with columns code, type, major_name, name, handling_hours.")]) -> None:
    """Replace the category catalogue; categories no longer listed are deactivated."""
    from geogrid.case_categories import read_catalogue, replace_catalogue

    with _errors():
        found = read_catalogue(file)
        with _transaction() as conn:
            active, gone = replace_catalogue(conn, found)
    console.print(f"{active} categories active, {gone} deactivated")


# ---- serve, demo ----------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Default GEOGRID_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default GEOGRID_PORT or 8000.")] = None,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the API (starting the embedded database when needed)."""
    import uvicorn

    settings = ApiSettings()
    with _errors():
        _database()
    uvicorn.run("api.main:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="info")


@app.command("demo")
def demo(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the database, migrate, load the Yaohai demo and serve the API."""
    load("demo")
    serve(host=host, port=port, workers=1)


if __name__ == "__main__":
    app()
