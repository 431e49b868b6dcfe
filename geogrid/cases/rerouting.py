"""Open cases follow boundary changes (the "release published" listener).

When a release is published, every open case whose location now falls in another grid:
- not yet dispatched (reported, accepted, or on hold from one of those) and routed
  automatically → re-routed to the new grid, with the new release and routing flags;
- dispatched or later, or routed by hand → keeps its grid and is flagged ``boundary_changed``
  (a manual route is never overridden).
Every change is a ``case_event`` by the actor ``system``.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.cases.lifecycle import UNDISPATCHED
from geogrid.cases.routing import ROUTING_FLAGS, UnroutableError, route_in_release
from geogrid.db.sqlfiles import sql
from geogrid.responsibility import responsible_department
from geogrid.settings import CaseSettings

ACTOR = "system"


def _follows_location(case: Any) -> bool:
    status = case.held_from if case.status == "on_hold" else case.status
    return case.routed_by != "manual" and status in UNDISPATCHED


def after_release(
    conn: Connection, release_id: int, settings: CaseSettings | None = None
) -> dict[str, list[int]]:
    """Re-route or flag the open cases release ``release_id`` moves into another grid.

    Only cases in or near grids the release changed can move, so only those are looked at.
    Returns the ids re-routed and flagged.
    """
    settings = settings or CaseSettings()
    done: dict[str, list[int]] = {"rerouted": [], "flagged": []}
    for case in conn.execute(text(sql("case_affected")), {"r": release_id}).all():
        old = case.grid_code.strip()
        try:
            routing = route_in_release(conn, case.x, case.y, release_id, settings)
        except UnroutableError:
            continue  # the district shrank away from it: it stays where it was, flagged below
        if routing.grid_code == old:
            continue
        if _follows_location(case):
            flags = [f for f in case.flags if f not in ROUTING_FLAGS] + list(routing.flags)
            category = conn.execute(
                text("SELECT category FROM civic_case WHERE id = :id"), {"id": case.id}
            ).scalar_one()
            department = responsible_department(conn, category, routing.grid_code)
            conn.execute(
                text(
                    "UPDATE civic_case SET grid_code = :g, release_id = :r, routed_by = 'release', "
                    "flags = CAST(:flags AS text[]), department_code = :d, updated_at = now() "
                    "WHERE id = :id"
                ),
                {
                    "g": routing.grid_code,
                    "r": release_id,
                    "flags": flags,
                    "d": None if department is None else department.code,
                    "id": case.id,
                },
            )
            _event(
                conn,
                case.id,
                "reroute",
                old,
                routing.grid_code,
                release_id,
                f"boundary release {release_id} moved the case's location into grid "
                f"{routing.grid_code}",
            )
            done["rerouted"].append(case.id)
        elif "boundary_changed" not in case.flags:
            conn.execute(
                text(
                    "UPDATE civic_case SET flags = array_append(flags, 'boundary_changed'), "
                    "updated_at = now() WHERE id = :id"
                ),
                {"id": case.id},
            )
            _event(
                conn,
                case.id,
                "flag",
                old,
                routing.grid_code,
                release_id,
                f"boundary release {release_id} puts the location in grid "
                f"{routing.grid_code}; the case keeps grid {old}",
            )
            done["flagged"].append(case.id)
    return done


def _event(
    conn: Connection, case_id: int, kind: str, old: str, new: str, release_id: int, note: str
) -> None:
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, from_grid, to_grid, release_id, note, "
            "details) VALUES (:id, :actor, :kind, :old, :new, :r, :note, CAST(:d AS jsonb))"
        ),
        {
            "id": case_id,
            "actor": ACTOR,
            "kind": kind,
            "old": old,
            "new": new,
            "r": release_id,
            "note": note,
            "d": json.dumps({"automatic": True}),
        },
    )


def preview_reroutes(
    conn: Connection, changed: list[str], after: dict[str, BaseGeometry]
) -> list[dict[str, Any]]:
    """What publishing a layer would do to open cases, without doing it.

    ``changed`` are the grid codes a plan changes, ``after`` every grid's geometry (storage
    lon/lat) once it is published. Cases are located in ``after`` with the same tie-break as
    everywhere (smallest code on a shared edge); cases that would leave the district are left
    out, as publishing leaves them where they are.
    """
    if not changed:
        return []
    codes = sorted(after)
    tree = shapely.STRtree([after[c] for c in codes])
    touched = [shapely.to_wkb(after[c]) for c in changed if c in after]
    rows = conn.execute(
        text(
            "SELECT id, ST_X(location) AS x, ST_Y(location) AS y, status, held_from, routed_by, "
            "grid_code, flags FROM civic_case WHERE status NOT IN ('closed', 'void') AND "
            "(grid_code = ANY(:codes) OR EXISTS (SELECT 1 FROM unnest(CAST(:geoms AS bytea[])) g "
            "WHERE ST_Covers(ST_GeomFromWKB(g, 4490), location))) ORDER BY id"
        ),
        {"codes": changed, "geoms": touched},
    )
    found = []
    for case in rows:
        hits = tree.query(shapely.Point(case.x, case.y), predicate="covered_by")
        if not len(hits):
            continue
        new = codes[int(min(hits))]
        old = case.grid_code.strip()
        if new != old:
            found.append(
                {
                    "id": case.id,
                    "status": case.status,
                    "from": old,
                    "to": new,
                    "action": "reroute" if _follows_location(case) else "flag",
                }
            )
    return found
