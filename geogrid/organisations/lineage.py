"""Memberships of grids follow the grids when a plan changes them (issue 17).

Three registers are tied to grids by code: grid staff (``org_grid_staff``), grid party
branches (``org_party_branch``, at most one serving a grid) and consultation platforms
(``org_platform``, several grids each). The registers tied to compounds (building groups,
households, volunteer teams) never move: a compound stays where it is whatever the grids do.

When a plan is published, in its transaction:

- the rows of a grid that **keeps its code** stay, even when its outline changed;
- the rows of a **retired** grid go to its **heir**: of the grids that hold its area now,
  the one holding most of its compounds (each counted where its point-on-surface lies, the
  rule of every count; on a shared edge the smallest code, as the preview counts), and on a
  tie, or where it had no compounds, the one holding the largest share of its area. A split
  grid's people go to the part with most of its compounds; a merged-away grid's go to the
  grid that absorbed it;
- a moved row is closed (``valid_to = now()``) and inserted again on its new grid
  (``valid_from = now()``), so ``at=`` before the publish still answers the old grid;
- a branch whose heir already has one (its own, or one that arrived first: from the source
  that gave it the larger share of its area) does not move and is **flagged**: it stays,
  current, on the retired code — where it counts in no figure of the new release — until
  an admin assigns it by loading the branches register again (:func:`stranded` lists it).
  So is any row whose grid has no heir (a grid gone with no area given to any grid).

:func:`follow_memberships` says what would happen (the plan preview lists it);
:func:`apply_moves` makes it happen; :func:`move_memberships` does both (publishing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.geo.datum import to_metric

#: Why a membership is flagged for the planner rather than moved.
FLAGS = {
    "grid_has_branch": "its heir already has a party branch",
    "no_heir": "no grid of the new layer holds its grid's area",
}


@dataclass(frozen=True)
class MembershipMove:
    """A register row of a retired grid: moved to ``to``, or flagged (``to`` None, ``flag``).

    ``grids`` is the platform's grid list after the move (a platform serves several grids;
    only its retired ones change); for staff and branches it is ``(to,)`` or ``()``.
    """

    register: str
    row_id: int
    name: str
    role: str | None
    source: str
    to: str | None
    flag: str | None = None
    grids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Heir:
    """The grid that takes a retired grid's memberships, and why (compounds, area share)."""

    code: str
    compounds: int
    area_share: float


def heirs(
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    descents: Iterable[tuple[str, str, float]],
    points: Mapping[int, BaseGeometry],
) -> dict[str, Heir]:
    """Retired grid code -> its heir in ``after``, for every retired grid that has one.

    ``before`` and ``after`` map grid codes to grids (each with a ``geometry``), ``descents``
    lists (new code, source code, share of the new grid's area) and ``points`` maps compound
    ids to their points-on-surface.
    """
    retired = set(before) - set(after)
    descendants: dict[str, set[str]] = {}
    for code, source, _ in descents:
        if source in retired and code in after:
            descendants.setdefault(source, set()).add(code)
    if not descendants:
        return {}
    old_home = _homes(before, points)
    new_home = _homes(after, points)
    found: dict[str, Heir] = {}
    for source, codes in sorted(descendants.items()):
        old = before[source]["geometry"]
        area = float(to_metric(old).area) or 1.0
        counted = {code: 0 for code in codes}
        for compound, home in old_home.items():
            if home == source and new_home.get(compound) in counted:
                counted[new_home[compound]] += 1
        candidates = [
            Heir(
                code,
                counted[code],
                round(
                    float(to_metric(shapely.intersection(old, after[code]["geometry"])).area)
                    / area,
                    4,
                ),
            )
            for code in sorted(codes)
        ]
        found[source] = max(candidates, key=lambda h: (h.compounds, h.area_share))
    return found


def _homes(
    grids: Mapping[str, Mapping[str, Any]], points: Mapping[int, BaseGeometry]
) -> dict[int, str]:
    """Compound id -> the grid holding its point (smallest code on a shared edge)."""
    codes = sorted(grids)
    tree = shapely.STRtree([grids[c]["geometry"] for c in codes])
    ids = list(points)
    found: dict[int, str] = {}
    hits = tree.query([points[i] for i in ids], predicate="covered_by")
    for point_index, grid_index in zip(*hits, strict=True):
        compound, code = ids[int(point_index)], codes[int(grid_index)]
        if compound not in found or code < found[compound]:
            found[compound] = code
    return found


def compound_points(conn: Connection) -> dict[int, BaseGeometry]:
    """Every compound's point-on-surface, by id."""
    rows = conn.execute(text("SELECT id, ST_AsBinary(point) AS p FROM compound ORDER BY id"))
    return {int(r.id): shapely.from_wkb(bytes(r.p)) for r in rows}


def follow_memberships(
    conn: Connection,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    descents: Iterable[tuple[str, str, float]],
) -> list[MembershipMove]:
    """What the current staff, branch and platform rows do when the grids ``before`` (code
    -> grid with its ``geometry``) become ``after``, as ``descents`` ((new code, source code,
    share of the new grid's area)) says; nothing for a plan that retires no grid."""
    descents = list(descents)
    retired = sorted(set(before) - set(after))
    if not retired:
        return []
    heir = heirs(before, after, descents, compound_points(conn))
    share = {(code, source): s for code, source, s in descents}
    moves: list[MembershipMove] = []
    for row in conn.execute(
        text(
            "SELECT id, grid_code, role, name FROM org_grid_staff "
            "WHERE valid_to IS NULL AND grid_code = ANY(:codes) ORDER BY grid_code, id"
        ),
        {"codes": retired},
    ):
        source = row.grid_code.strip()
        moves.append(_move("staff", row.id, row.name, row.role, source, heir.get(source)))
    moves += _branches(conn, retired, heir, share)
    for row in conn.execute(
        text(
            "SELECT id, name, kind, grid_codes FROM org_platform "
            "WHERE valid_to IS NULL AND grid_codes && CAST(:codes AS char(15)[]) ORDER BY id"
        ),
        {"codes": retired},
    ):
        codes = [c.strip() for c in row.grid_codes]
        gone = [c for c in codes if c in retired]
        if any(c not in heir for c in gone):
            source = next(c for c in gone if c not in heir)
            moves.append(
                MembershipMove("platforms", row.id, row.name, row.kind, source, None, "no_heir")
            )
            continue
        grids = tuple(dict.fromkeys(heir[c].code if c in heir else c for c in codes))
        for source in gone:
            moves.append(
                MembershipMove(
                    "platforms", row.id, row.name, row.kind, source, heir[source].code, None, grids
                )
            )
    return moves


def _move(
    register: str, row_id: int, name: str, role: str | None, source: str, heir: Heir | None
) -> MembershipMove:
    if heir is None:
        return MembershipMove(register, row_id, name, role, source, None, "no_heir")
    return MembershipMove(register, row_id, name, role, source, heir.code, None, (heir.code,))


def _branches(
    conn: Connection,
    retired: list[str],
    heir: Mapping[str, Heir],
    share: Mapping[tuple[str, str], float],
) -> list[MembershipMove]:
    """Branches of retired grids: one per heir, the others flagged where they are."""
    rows = list(
        conn.execute(
            text(
                "SELECT id, grid_code, name FROM org_party_branch "
                "WHERE valid_to IS NULL AND grid_code = ANY(:codes)"
            ),
            {"codes": retired},
        )
    )
    targets = sorted({heir[r.grid_code.strip()].code for r in rows if r.grid_code.strip() in heir})
    held = {
        r.grid_code.strip()
        for r in conn.execute(
            text(
                "SELECT grid_code FROM org_party_branch "
                "WHERE valid_to IS NULL AND grid_code = ANY(:codes)"
            ),
            {"codes": targets},
        )
    }

    def order(row: Any) -> tuple[float, str]:
        # the source that gave the heir the larger share of its area comes first
        source = row.grid_code.strip()
        return (-share.get((heir[source].code, source), 0.0) if source in heir else 0.0, source)

    moves = []
    for row in sorted(rows, key=order):
        source = row.grid_code.strip()
        move = _move("branches", row.id, row.name, None, source, heir.get(source))
        if move.to is not None and move.to in held:
            move = MembershipMove(
                "branches", row.id, row.name, None, source, None, "grid_has_branch"
            )
        elif move.to is not None:
            held.add(move.to)
        moves.append(move)
    return sorted(moves, key=lambda m: (m.source, m.row_id))


#: Close a row and insert it again on its new grid(s); the table names are constants.
_REINSERT = {
    "staff": "INSERT INTO org_grid_staff (grid_code, role, name, phone) "
    "SELECT :to, role, name, phone FROM org_grid_staff WHERE id = :id",
    "branches": "INSERT INTO org_party_branch (grid_code, name, secretary_name, secretary_phone) "
    "SELECT :to, name, secretary_name, secretary_phone FROM org_party_branch WHERE id = :id",
    "platforms": "INSERT INTO org_platform (name, kind, grid_codes, convener_name, convener_phone) "
    "SELECT name, kind, CAST(:grids AS char(15)[]), convener_name, convener_phone "
    "FROM org_platform WHERE id = :id",
}
_TABLE = {"staff": "org_grid_staff", "branches": "org_party_branch", "platforms": "org_platform"}


def apply_moves(conn: Connection, moves: Iterable[MembershipMove]) -> None:
    """Close every moved row and insert it again where it goes; flagged rows stay as they are."""
    done: set[tuple[str, int]] = set()  # a platform of two retired grids moves once
    for move in moves:
        if move.to is None or (move.register, move.row_id) in done:
            continue
        done.add((move.register, move.row_id))
        conn.execute(
            text(f"UPDATE {_TABLE[move.register]} SET valid_to = now() WHERE id = :id"),
            {"id": move.row_id},
        )
        conn.execute(
            text(_REINSERT[move.register]),
            {"id": move.row_id, "to": move.to, "grids": list(move.grids)},
        )


def move_memberships(
    conn: Connection,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    descents: Iterable[tuple[str, str, float]],
) -> list[MembershipMove]:
    """Publishing: the memberships of retired grids follow them (:func:`follow_memberships`,
    then :func:`apply_moves`); returns what moved and what was flagged."""
    moves = follow_memberships(conn, before, after, descents)
    apply_moves(conn, moves)
    return moves


def stranded(conn: Connection) -> list[MembershipMove]:
    """Current staff, branch and platform rows naming a grid that the current boundary
    release no longer has: the flagged ones a publish left for an admin to assign."""
    rows = conn.execute(
        text(
            """
            WITH current_grids AS (
                SELECT grid_code FROM grid_geometry_in((SELECT max(id) FROM boundary_release)))
            SELECT 'staff' AS register, id, name, role, grid_code AS source
              FROM org_grid_staff WHERE valid_to IS NULL
               AND grid_code NOT IN (SELECT grid_code FROM current_grids)
            UNION ALL
            SELECT 'branches', id, name, NULL, grid_code FROM org_party_branch
             WHERE valid_to IS NULL AND grid_code NOT IN (SELECT grid_code FROM current_grids)
            UNION ALL
            SELECT 'platforms', p.id, p.name, p.kind, c.code FROM org_platform p,
                   unnest(p.grid_codes) AS c(code)
             WHERE p.valid_to IS NULL AND c.code NOT IN (SELECT grid_code FROM current_grids)
            ORDER BY 1, 5, 2
            """
        )
    )
    return [
        MembershipMove(r.register, r.id, r.name, r.role, r.source.strip(), None, "stranded")
        for r in rows
    ]
