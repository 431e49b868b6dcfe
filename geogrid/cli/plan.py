"""`geogrid plan ...`: boundary plans from the command line (the same as /v1/plans)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import shapely
import typer
from rich.table import Table

from geogrid import plans
from geogrid.cli.support import console, errors, fail, transaction

plan_app = typer.Typer(
    help="Boundary plans: edits checked at once, previewed, published as a new boundary release.",
    no_args_is_help=True,
)

ActorOption = Annotated[
    str | None,
    typer.Option("--as", help="Who acts (recorded in the audit log); default the OS user."),
]
PlanId = Annotated[int, typer.Argument(help="The plan's id.")]


def _actor(name: str | None) -> str:
    return name or getpass.getuser()


def _plan_table(found: list[plans.Plan]) -> Table:
    table = Table("id", "status", "base release", "edits", "created by", "created", "comment")
    for p in found:
        table.add_row(
            str(p.id),
            p.status,
            str(p.base_release),
            str(len(p.edits)),
            p.created_by,
            f"{p.created_at:%Y-%m-%d %H:%M}",
            p.comment,
        )
    return table


@plan_app.command("create")
def plan_create(
    comment: Annotated[str, typer.Option(help="Why: kept with the plan and its release.")],
    actor: ActorOption = None,
) -> None:
    """Open a plan on the current boundary release; prints its id and base release."""
    with errors(), transaction() as conn:
        plan = plans.create_plan(conn, comment, _actor(actor))
    console.print(f"plan {plan.id} created on base release {plan.base_release}")


@plan_app.command("list")
def plan_list() -> None:
    """Open plans."""
    with errors(), transaction() as conn:
        found = plans.open_plans(conn)
    console.print(_plan_table(found) if found else "no open plans")


@plan_app.command("show")
def plan_show(plan_id: PlanId) -> None:
    """One plan with its active edits."""
    with errors(), transaction() as conn:
        plan = plans.get_plan(conn, plan_id)
    console.print(_plan_table([plan]))
    table = Table(
        "edit",
        "op",
        "touches",
        "created by",
        "created",
        "comment",
        title=f"{len(plan.edits)} active edit(s)",
    )
    for e in plan.edits:
        touches = ", ".join(sorted(plans.OPS[e.op].touches(e.params))) if e.op in plans.OPS else ""
        table.add_row(
            str(e.id), e.op, touches, e.created_by, f"{e.created_at:%Y-%m-%d %H:%M}", e.comment
        )
    console.print(table)


def _read_json(source: str) -> dict[str, Any]:
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {source}: {exc.strerror}") from None
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"{'stdin' if source == '-' else source} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise fail("the edit must be a JSON object, as for POST /v1/plans/{id}/edits")
    return body


@plan_app.command("edit")
def plan_edit(
    plan_id: PlanId,
    json_file: Annotated[
        str | None,
        typer.Option(
            "--json", help="The edit as for POST /v1/plans/{id}/edits: a file, or '-' for stdin."
        ),
    ] = None,
    drawing: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="replace: the drawing, a GeoPackage or GeoJSON file (features may "
            "carry code, name, kind).",
        ),
    ] = None,
    grids: Annotated[
        str | None,
        typer.Option(
            help="replace with --file: the codes of the grids the drawing replaces, "
            "comma-separated."
        ),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="replace with --file: wgs84|cgcs2000|gcj02|bd09|EPSG:n; default the file's own."
        ),
    ] = None,
    comment: Annotated[
        str | None, typer.Option(help="Why (kept with the edit); default the plan's comment.")
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Add an edit; refused (exit 1, naming the rule) when it breaks a rule by itself.

    A replace drawing can come as a file: --file drawing.gpkg --grids CODE,CODE [--crs].
    """
    from geogrid.plans.replace import read_drawing

    if json_file is None and drawing is None:
        raise fail("give the edit as --json FILE, or a replace drawing as --file FILE")
    body: dict[str, Any] = _read_json(json_file) if json_file is not None else {"op": "replace"}
    if drawing is not None:
        if body.setdefault("op", "replace") != "replace":
            raise fail(f'--file is only for op "replace", but the edit\'s op is "{body["op"]}"')
        if not drawing.exists():
            raise fail(f"{drawing}: no such file")
        if grids is not None:
            body["grids"] = [c.strip() for c in grids.split(",") if c.strip()]
        with errors():
            body["layer"], body["crs"] = read_drawing(drawing, crs or body.get("crs"), drawing.name)
    if comment is not None:
        body["comment"] = comment
    with errors(), transaction() as conn:
        edit_id = plans.add_edit(conn, plan_id, body, _actor(actor))
    console.print(f"edit {edit_id} added to plan {plan_id}")


@plan_app.command("undo")
def plan_undo(
    plan_id: PlanId,
    edit_id: Annotated[int, typer.Argument(help="The edit's id.")],
    actor: ActorOption = None,
) -> None:
    """Undo an edit of an open plan."""
    with errors(), transaction() as conn:
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
    table = Table(
        "grid",
        "name",
        "area m² before",
        "after",
        "households before",
        "after",
        "Polsby-Popper after",
        "parts",
        "in norm",
        title=f"plan {shown['plan']} on release {shown['base_release']}: "
        f"{shown['edits']} edit(s), {len(shown['grids'])} grid(s) changed",
    )
    for g in shown["grids"]:
        before, after = g["before"], g["after"]
        name = (after or before or {}).get("name") or ""
        table.add_row(
            g["code"],
            name,
            _pair(before, "area_m2"),
            _pair(after, "area_m2"),
            _pair(before, "households"),
            _pair(after, "households"),
            _pair(after, "polsby_popper"),
            _pair(after, "parts"),
            _pair(after, "households_within_norm"),
        )
    console.print(table)
    if shown["compounds_moved"]:
        moved = Table("compound", "name", "households", "from", "to", title="compounds moved")
        for c in shown["compounds_moved"]:
            moved.add_row(
                str(c["id"]), c["name"], str(c["households"]), str(c["from"]), str(c["to"])
            )
        console.print(moved)
    if shown["compounds_cut"]:
        cut = Table("compound", "name", "shares", title="compounds a new edge cuts")
        for c in shown["compounds_cut"]:
            cut.add_row(
                str(c["id"]), c["name"], ", ".join(f"{k}: {v:.1%}" for k, v in c["shares"].items())
            )
        console.print(cut)
    features = shown["violations"]["features"]
    if features:
        found = Table("rule", "where", "what", title=f"{len(features)} violation(s)")
        for f in features[:200]:
            props = f.get("properties") or {}
            geometry = f.get("geometry")
            where = (
                "" if not geometry else shapely.geometry.shape(geometry).representative_point().wkt
            )
            found.add_row(str(props.get("rule", "")), where, str(props.get("message", "")))
        console.print(found)
    console.print(
        "every invariant holds"
        if shown["valid"]
        else "[red]the plan breaks an invariant: publish would be refused[/red]"
    )


@plan_app.command("preview")
def plan_preview(
    plan_id: PlanId,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the preview as JSON (as GET /v1/plans/{id}/preview)."),
    ] = False,
) -> None:
    """Every grid the plan changes, before and after, and the plan's invariant check."""
    from geogrid.plans.preview import preview

    with errors(), transaction() as conn:
        shown = preview(conn, plan_id)
    if as_json:
        sys.stdout.write(json.dumps(shown, ensure_ascii=False, default=str) + "\n")
    else:
        _print_preview(shown)


@plan_app.command("publish")
def plan_publish(plan_id: PlanId, actor: ActorOption = None) -> None:
    """Publish the plan as a new boundary release (all edits or none)."""
    with errors(), transaction() as conn:
        release = plans.publish_plan(conn, plan_id, _actor(actor))
    console.print(f"plan {plan_id} published as boundary release {release.id}")


@plan_app.command("discard")
def plan_discard(plan_id: PlanId, actor: ActorOption = None) -> None:
    """Discard an open plan (kept for the record, never published)."""
    with errors(), transaction() as conn:
        plans.discard_plan(conn, plan_id, _actor(actor))
    console.print(f"plan {plan_id} discarded")
