"""What a plan would do: every touched grid before and after, compounds that move or are cut,
and every invariant the plan as a whole would break (with locations)."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.releases import GRID_FIELDS
from geogrid.cases.rerouting import preview_reroutes
from geogrid.geo.datum import to_metric
from geogrid.organisations.lineage import follow_memberships
from geogrid.plans.lifecycle import Layer, base_layer, build_layer, check_plan_layer, get_plan
from geogrid.plans.lineage import lineage
from geogrid.responsibility.lineage import follow_lineage

#: Households a resident grid is meant to hold (the district's norm).
HOUSEHOLD_NORM = (300, 700)
#: A compound counts as cut when another grid takes more than this share of its footprint.
CUT_SHARE = 0.01


def _compounds(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT id, name, households, coalesce(population, 0) AS population,"
            " ST_AsBinary(point) AS p, ST_AsBinary(geom) AS g FROM compound "
            "ORDER BY id"
        )
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "households": r.households,
            "population": r.population,
            "point": shapely.from_wkb(bytes(r.p)),
            "geom": shapely.from_wkb(bytes(r.g)),
        }
        for r in rows
    ]


def _membership(layer: Layer, compounds: list[dict[str, Any]]) -> dict[int, str | None]:
    """Compound id -> the grid holding its point (smallest code on a shared edge)."""
    codes = sorted(layer.grids)
    tree = shapely.STRtree([layer.grids[c]["geometry"] for c in codes])
    found: dict[int, str | None] = {}
    for compound in compounds:
        hits = tree.query(compound["point"], predicate="covered_by")
        found[compound["id"]] = codes[int(min(hits))] if len(hits) else None
    return found


def _figures(code: str, grid: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    metric = to_metric(grid["geometry"])
    area, perimeter = float(metric.area), float(metric.length)
    households = sum(c["households"] for c in members)
    low, high = HOUSEHOLD_NORM
    return {
        "code": code,
        "name": grid.get("name"),
        "kind": grid.get("kind"),
        "area_m2": round(area, 1),
        "households": households,
        "population": sum(c["population"] for c in members),
        "compounds": [c["id"] for c in members],
        "polsby_popper": round(4 * math.pi * area / perimeter**2, 4) if perimeter else None,
        "parts": int(shapely.get_num_geometries(grid["geometry"])),
        "households_within_norm": (low <= households <= high)
        if grid.get("kind") == "resident"
        else None,
    }


#: A grid whose outline moves by less than this (m², symmetric difference) only gained or lost
#: shared vertices — listed apart from the grids an edit really changes (same rule as the map).
VERTEX_ONLY_M2 = 0.5


def _changed(before: Layer, after: Layer) -> tuple[list[str], list[str]]:
    """Grid codes the plan changes, and those whose outline only gained shared vertices."""
    codes = set(before.grids) | set(after.grids)
    changed, vertices_only = [], []
    for code in sorted(codes):
        old, new = before.grids.get(code), after.grids.get(code)
        if old is None or new is None:
            changed.append(code)
            continue
        same_people = all(old.get(k) == new.get(k) for k in GRID_FIELDS)
        if same_people and shapely.equals_exact(old["geometry"], new["geometry"], 0.0):
            continue
        moved = to_metric(shapely.symmetric_difference(old["geometry"], new["geometry"])).area
        if same_people and moved < VERTEX_ONLY_M2:
            vertices_only.append(code)
        else:
            changed.append(code)
    return changed, vertices_only


def _cut(after: Layer, codes: list[str], compounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cut = []
    touched: list[tuple[str, BaseGeometry]] = [
        (c, after.grids[c]["geometry"]) for c in codes if c in after.grids
    ]
    for compound in compounds:
        footprint = compound["geom"]
        shares = {}
        for code, geom in touched:
            if geom.intersects(footprint):
                share = shapely.intersection(geom, footprint).area / footprint.area
                if share > CUT_SHARE:
                    shares[code] = round(share, 3)
        if len(shares) > 1 or (shares and max(shares.values()) < 1 - CUT_SHARE):
            cut.append({"id": compound["id"], "name": compound["name"], "shares": shares})
    return cut


def preview(conn: Connection, plan_id: int) -> dict[str, Any]:
    """Before and after for every grid the plan touches, and the plan's invariant check."""
    plan = get_plan(conn, plan_id)
    before = base_layer(conn, plan.base_release)
    after = build_layer(conn, plan)
    compounds = _compounds(conn)
    old_home, new_home = _membership(before, compounds), _membership(after, compounds)
    by_grid: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for compound in compounds:
        by_grid.setdefault(str(old_home[compound["id"]]), {}).setdefault("before", []).append(
            compound
        )
        by_grid.setdefault(str(new_home[compound["id"]]), {}).setdefault("after", []).append(
            compound
        )
    changed, vertices_only = _changed(before, after)
    grids = []
    for code in changed:
        members = by_grid.get(code, {})
        grids.append(
            {
                "code": code,
                "before": (
                    _figures(code, before.grids[code], members.get("before", []))
                    if code in before.grids
                    else None
                ),
                "after": (
                    _figures(code, after.grids[code], members.get("after", []))
                    if code in after.grids
                    else None
                ),
            }
        )
    moves = [
        {
            "id": c["id"],
            "name": c["name"],
            "households": c["households"],
            "from": old_home[c["id"]],
            "to": new_home[c["id"]],
        }
        for c in compounds
        if old_home[c["id"]] != new_home[c["id"]]
    ]
    violations = check_plan_layer(conn, after)
    descents = [(d.code, d.source, d.share) for d in lineage(before, after)]
    rows = follow_lineage(conn, set(before.grids), set(after.grids), descents)
    memberships = follow_memberships(conn, before.grids, after.grids, descents)
    return {
        "plan": plan.id,
        "base_release": plan.base_release,
        "edits": len(plan.edits),
        "grids": grids,
        "vertices_shared": vertices_only,
        "compounds_moved": moves,
        "compounds_cut": _cut(after, changed, compounds),
        "open_cases_rerouted": preview_reroutes(
            conn, changed, {c: g["geometry"] for c, g in after.grids.items()}
        ),
        "responsibility_moved": [
            {
                "category": r.category,
                "department": r.department_code,
                "from": r.source,
                "to": r.to,
                "share": r.share,
            }
            for r in rows
        ],
        "memberships_moved": [
            {
                "register": m.register,
                "id": m.row_id,
                "name": m.name,
                "role": m.role,
                "from": m.source,
                "to": m.to,
                "grids": list(m.grids),
                "flag": m.flag,
            }
            for m in memberships
        ],
        "household_norm": list(HOUSEHOLD_NORM),
        "valid": not violations,
        "violations": {
            "type": "FeatureCollection",
            "features": [v.as_feature() for v in violations],
        },
    }
