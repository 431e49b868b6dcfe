"""Boundary plans: edits checked one by one, the whole plan checked again, published at once.

A plan is based on a release. Its layer is the base release's grids with the plan's active
edits replayed in order, in memory (geogrid.plans.layer); nothing reaches ``grid_geometry``
until publish, which runs in one transaction under the publishers' lock: either every edit
becomes part of a new boundary release (with lineage and an audit entry) or nothing changes.

This module is the plan's lifecycle: create, add and undo edits, check, publish with lineage,
discard. The ops themselves (transfer, merge, split, revert, reassign, move_compound, carve,
replace) are in geogrid.plans.ops, their geometry rules in geogrid.plans.geometry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
from sqlalchemy import Connection, text

from geogrid.boundaries import releases
from geogrid.boundaries.grids import Person
from geogrid.boundaries.releases import GRID_ATTRIBUTES, PUBLISH_LOCK, BoundaryRelease
from geogrid.boundaries.validation import UnitShape, Violation, check_layer, fixed_units
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.geo.datum import STORAGE_SRID
from geogrid.i18n import tr
from geogrid.limits import COMMENT, check_json, check_text
from geogrid.organisations.lineage import move_memberships
from geogrid.organisations.store import assign_branch, assign_leader
from geogrid.plans.geometry import MIN_AREA_M2
from geogrid.plans.layer import (
    EditRejectedError,
    Layer,
    RecentLayers,
    base_layer,
    next_code,
    reject,
)
from geogrid.plans.lineage import lineage
from geogrid.plans.ops import OPS, Op
from geogrid.plans.rows import row_violations
from geogrid.responsibility.lineage import apply_changes, follow_lineage

__all__ = [
    "MIN_AREA_M2",
    "OPS",
    "Applied",
    "Edit",
    "EditRejectedError",
    "Layer",
    "Op",
    "Plan",
    "add_edit",
    "apply_edit",
    "base_layer",
    "build_layer",
    "check_plan_layer",
    "create_plan",
    "discard_plan",
    "get_plan",
    "lock_plan",
    "next_code",
    "open_plans",
    "publish_plan",
    "require_open",
    "undo_edit",
]


@dataclass(frozen=True)
class Edit:
    """One stored edit of a plan."""

    id: int
    op: str
    params: dict[str, Any]
    comment: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Plan:
    """A plan with its active edits, oldest first."""

    id: int
    comment: str
    base_release: int
    status: str
    created_by: str
    created_at: datetime
    edits: list[Edit] = field(default_factory=list)


# ---- reading and writing plans ------------------------------------------------------------


def _plan(conn: Connection, row: Any) -> Plan:
    edits = [
        Edit(e.id, e.op, e.params, e.comment, e.created_by, e.created_at)
        for e in conn.execute(
            text(
                "SELECT id, op, params, comment, created_by, created_at "
                "FROM plan_edit WHERE plan_id = :p AND undone_at IS NULL "
                "ORDER BY id"
            ),
            {"p": row.id},
        )
    ]
    return Plan(
        row.id, row.comment, row.base_release, row.status, row.created_by, row.created_at, edits
    )


def get_plan(conn: Connection, plan_id: int) -> Plan:
    """Plan ``plan_id`` with its active edits; NotFoundError if there is none."""
    row = conn.execute(text("SELECT * FROM plan WHERE id = :id"), {"id": plan_id}).one_or_none()
    if row is None:
        raise NotFoundError(tr("plan {plan_id} does not exist", plan_id=plan_id))
    return _plan(conn, row)


def open_plans(conn: Connection) -> list[Plan]:
    """Every open plan, oldest first."""
    rows = conn.execute(text("SELECT * FROM plan WHERE status = 'open' ORDER BY id")).all()
    return [_plan(conn, r) for r in rows]


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    *,
    plan_id: int | None = None,
    edit_id: int | None = None,
    release_id: int | None = None,
    comment: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, plan_id, edit_id, release_id, "
            "comment, details) VALUES (:actor, :action, :plan, :edit, :release, "
            ":comment, CAST(:details AS jsonb))"
        ),
        {
            "actor": actor,
            "action": action,
            "plan": plan_id,
            "edit": edit_id,
            "release": release_id,
            "comment": comment,
            "details": json.dumps(details or {}, ensure_ascii=False),
        },
    )


def create_plan(conn: Connection, comment: str, actor: str) -> Plan:
    """Open a plan on the current release."""
    check_text("comment", comment, COMMENT, multiline=True)
    current = releases.current_release(conn)
    if current is None:
        raise NotFoundError(tr("no boundary release is published yet; load grids first"))
    row = conn.execute(
        text(
            "INSERT INTO plan (comment, base_release, created_by) VALUES (:c, :b, :a) RETURNING *"
        ),
        {"c": comment, "b": current.id, "a": actor},
    ).one()
    _audit(conn, actor, "plan.create", plan_id=row.id, comment=comment)
    return _plan(conn, row)


def require_open(plan: Plan) -> None:
    """ConflictError unless ``plan`` is open (only open plans change)."""
    if plan.status != "open":
        state = "发布" if plan.status == "published" else "废弃"
        raise ConflictError(
            tr(
                "plan {id} is {status}; only open plans change",
                id=plan.id,
                status=plan.status,
                state=state,
            ),
        )


def discard_plan(conn: Connection, plan_id: int, actor: str) -> None:
    """Discard an open plan (kept for the record, never published)."""
    plan = get_plan(conn, plan_id)
    require_open(plan)
    conn.execute(
        text("UPDATE plan SET status = 'discarded', closed_at = now() WHERE id = :id"),
        {"id": plan_id},
    )
    _audit(conn, actor, "plan.discard", plan_id=plan_id, comment=plan.comment)


# ---- the plan's layer ----------------------------------------------------------------------


#: Plan layers this process built lately (geogrid.plans.layer.RecentLayers).
RECENT = RecentLayers()


def _layer_key(conn: Connection, plan_id: int, base: int, edits: list[int]) -> tuple[Any, ...]:
    return (conn.engine.url.render_as_string(), plan_id, base, tuple(edits))


def build_layer(conn: Connection, plan: Plan, base: int | None = None) -> Layer:
    """The plan's layer: its base (or ``base``) with every active edit replayed (or as this
    process built it last, for the same base and edits)."""
    base = plan.base_release if base is None else base
    key = _layer_key(conn, plan.id, base, [e.id for e in plan.edits])
    layer = RECENT.get(key)
    if layer is None:
        layer = base_layer(conn, base)
        for edit in plan.edits:
            OPS[edit.op].apply(conn, layer, edit.params)
        RECENT.put(key, layer)
    return layer


# ---- edits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """An edit stored: its id, the plan's layer with it, and the grids it created."""

    edit_id: int
    layer: Layer
    created: frozenset[str]


def lock_plan(conn: Connection, plan_id: int) -> None:
    """Hold plan ``plan_id`` until the transaction ends: its edits are checked against the
    layer as it stands, so two writers to one plan take turns."""
    conn.execute(text("SELECT id FROM plan WHERE id = :id FOR UPDATE"), {"id": plan_id})


def add_edit(conn: Connection, plan_id: int, params: dict[str, Any], actor: str) -> int:
    """Check an edit against the plan as it stands and store it; returns the edit id."""
    return apply_edit(conn, plan_id, params, actor).edit_id


def apply_edit(
    conn: Connection,
    plan_id: int,
    params: dict[str, Any],
    actor: str,
    layer: Layer | None = None,
) -> Applied:
    """Check an edit against the plan as it stands and store it.

    Parameters
    ----------
    layer : Layer, optional
        The plan's layer, built by the caller after :func:`lock_plan` in this transaction
        (saves replaying the plan again); it is changed by the edit.

    Returns
    -------
    Applied
        The edit's id, the layer with the edit applied and the codes the edit created.
    """
    # Edits are stored as jsonb: bounded depth, finite numbers, no NUL in any text.
    check_json(params, name="the edit")
    comment = check_text("comment", str(params.get("comment") or ""), COMMENT, multiline=True)
    lock_plan(conn, plan_id)
    plan = get_plan(conn, plan_id)
    require_open(plan)
    name = str(params.get("op") or "")
    if name not in OPS:
        raise InvalidInputError(f'op was "{name}" but must be one of {sorted(OPS)}')
    op = OPS[name]
    layer = build_layer(conn, plan) if layer is None else layer
    normalised = op.normalise(params, layer)
    before = set(layer.created)
    op.apply(conn, layer, normalised)
    reject(row_violations(layer.grids))
    edit_id = int(
        conn.execute(
            text(
                "INSERT INTO plan_edit (plan_id, op, params, comment, created_by) "
                "VALUES (:p, :op, CAST(:params AS jsonb), :c, :a) RETURNING id"
            ),
            {"p": plan_id, "op": name, "params": json.dumps(normalised), "c": comment, "a": actor},
        ).scalar_one()
    )
    key = _layer_key(conn, plan_id, plan.base_release, [*(e.id for e in plan.edits), edit_id])
    RECENT.put(key, layer)
    _audit(
        conn,
        actor,
        f"edit.{name}",
        plan_id=plan_id,
        edit_id=edit_id,
        comment=comment or plan.comment,
        details={"touches": sorted(op.touches(normalised))},
    )
    return Applied(edit_id, layer, frozenset(layer.created - before))


def undo_edit(conn: Connection, plan_id: int, edit_id: int, actor: str) -> None:
    """Undo an edit; refused when a later edit no longer applies without it."""
    plan = get_plan(conn, plan_id)
    require_open(plan)
    if edit_id not in {e.id for e in plan.edits}:
        raise NotFoundError(f"plan {plan_id} has no active edit {edit_id}")
    remaining = [e for e in plan.edits if e.id != edit_id]
    build_layer(
        conn,
        Plan(
            plan.id,
            plan.comment,
            plan.base_release,
            plan.status,
            plan.created_by,
            plan.created_at,
            remaining,
        ),
    )
    conn.execute(text("UPDATE plan_edit SET undone_at = now() WHERE id = :e"), {"e": edit_id})
    _audit(conn, actor, "edit.undo", plan_id=plan_id, edit_id=edit_id, comment=plan.comment)


# ---- checking, previewing and publishing ---------------------------------------------------


def check_plan_layer(conn: Connection, layer: Layer) -> list[Violation]:
    """Every invariant (docs/architecture.md) on the plan's layer (the shared validation module)."""
    district, streets, communities = fixed_units(conn)
    if district is None:
        return [Violation("no_district", "no district is loaded")]
    units = [UnitShape(c, g["community_code"], g["geometry"]) for c, g in layer.grids.items()]
    return row_violations(layer.grids) + check_layer(units, communities, streets, district)


def _frame(layer: Layer) -> gpd.GeoDataFrame:
    rows = [
        {"code": c, **{k: g.get(k) for k in GRID_ATTRIBUTES}, "geometry": g["geometry"]}
        for c, g in sorted(layer.grids.items())
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_SRID)


def _changed_since(conn: Connection, base: int, current: int) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT grid_code FROM grid_geometry WHERE (valid_from_release > :b "
            "AND valid_from_release <= :c) OR (valid_to_release > :b AND valid_to_release <= :c)"
        ),
        {"b": base, "c": current},
    )
    return {r.grid_code.strip() for r in rows}


def publish_plan(conn: Connection, plan_id: int, actor: str) -> BoundaryRelease:
    """Publish a plan as a new boundary release, all edits or none.

    Raises
    ------
    ConflictError
        The base release moved and the plan touches grids that changed since (409).
    EditRejectedError
        The plan as a whole breaks an invariant; ``details`` locates each violation (422).
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK})
    plan = get_plan(conn, plan_id)
    require_open(plan)
    current = releases.current_release(conn)
    assert current is not None  # a plan always has a base release
    base = plan.base_release
    if current.id != base:
        touched = set().union(*(OPS[e.op].touches(e.params) for e in plan.edits))
        changed = _changed_since(conn, base, current.id)
        clash = sorted(changed if "*" in touched else touched & changed)
        if clash:
            raise ConflictError(
                tr(
                    "plan {plan_id} is based on release {base} but release {id} is "
                    "current, and it changed grids this plan edits: {clash}",
                    plan_id=plan_id,
                    base=base,
                    id=current.id,
                    clash=clash,
                ),
                details={"base_release": base, "current_release": current.id, "changed": clash},
            )
        base = current.id  # rebase: the plan touches none of the grids that changed
    layer = build_layer(conn, plan, base)
    reject(check_plan_layer(conn, layer))
    before = base_layer(conn, base)
    release, _ = releases.publish(
        conn, _frame(layer), published_by=actor, comment=plan.comment, source=f"plan {plan_id}"
    )
    conn.execute(
        text("UPDATE boundary_release SET plan_id = :p WHERE id = :r"),
        {"p": plan_id, "r": release.id},
    )
    _record_lineage(conn, release.id, before, layer)
    _publish_people(conn, plan, layer)
    conn.execute(
        text(
            "UPDATE plan SET status = 'published', closed_at = now(), "
            "published_release = :r, base_release = :b WHERE id = :p"
        ),
        {"r": release.id, "b": base, "p": plan_id},
    )
    _audit(
        conn,
        actor,
        "plan.publish",
        plan_id=plan_id,
        release_id=release.id,
        comment=plan.comment,
        details={"edits": [e.id for e in plan.edits]},
    )
    return release


def _publish_people(conn: Connection, plan: Plan, layer: Layer) -> None:
    """Write the plan's ``reassign`` edits into the registers, where the people of a grid
    are kept (geogrid.organisations): only the people those edits named, as the plan's layer
    ends with them, so a register changed since the plan began is not put back."""
    leaders, branches = set(), set()
    for edit in plan.edits:
        if edit.op == "reassign":
            if "leader" in edit.params:
                leaders.add(edit.params["grid"])
            if "party_branch" in edit.params or "party_secretary" in edit.params:
                branches.add(edit.params["grid"])
    for code in sorted(leaders & set(layer.grids)):
        grid = layer.grids[code]
        leader = Person(grid.get("leader_name"), grid.get("leader_phone"))
        assign_leader(conn, code, leader if leader.name else None)
    for code in sorted(branches & set(layer.grids)):
        grid = layer.grids[code]
        secretary = Person(grid.get("party_secretary_name"), grid.get("party_secretary_phone"))
        assign_branch(
            conn, code, grid.get("party_branch_name"), secretary if secretary.name else None
        )


def _record_lineage(conn: Connection, release_id: int, before: Layer, after: Layer) -> None:
    """For every new or changed grid, the old grids it came from with area shares; the
    responsibility rows of grids follow them (geogrid.responsibility.lineage), and so do the
    memberships of the registers tied to grids (geogrid.organisations.lineage)."""
    descents = lineage(before, after)
    if descents:
        conn.execute(
            text(
                "INSERT INTO grid_lineage (release_id, grid_code, source_code, "
                "area_share) VALUES (:r, :g, :s, :share)"
            ),
            [{"r": release_id, "g": d.code, "s": d.source, "share": d.share} for d in descents],
        )
    old, new = set(before.grids), set(after.grids)
    changes = follow_lineage(conn, old, new, [(d.code, d.source, d.share) for d in descents])
    apply_changes(conn, changes, old - new)
    move_memberships(
        conn, before.grids, after.grids, [(d.code, d.source, d.share) for d in descents]
    )
