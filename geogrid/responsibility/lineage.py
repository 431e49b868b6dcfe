"""Responsibility rows follow the grids when boundaries change.

A row for a grid (a 15-digit area) names a department for a category of case in that grid.
When a plan is published, the grids it makes take the rows of the grids they came from
(``grid_lineage``):

- a **new** grid (a code the old release did not have: a split's part, a merge's result, a
  carved dedicated grid) takes the rows of every grid it holds area of;
- a grid that **kept its code** keeps its own rows and takes those of grids that are gone
  (absorbed into it) for the categories it had none for;
- where two sources name different departments for one category, the one that gave the
  larger share of the grid's area wins;
- the rows of grids that are gone are removed. A row that went nowhere (its grid gave no area
  to any grid without a row of its own) is listed as dropped: the community, street or
  district rows answer there from then on.

:func:`follow_lineage` says what would change (the plan preview lists it) and
:func:`apply_changes` makes the change (publishing does, in its transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class RowChange:
    """A grid row that moves (``to`` set) or is dropped (``to`` None) with the boundaries."""

    category: str
    department_code: str
    source: str
    to: str | None
    share: float | None = None


def follow_lineage(
    conn: Connection,
    before: set[str],
    after: set[str],
    descents: Iterable[tuple[str, str, float]],
) -> list[RowChange]:
    """What the responsibility rows of grids do when the grids ``before`` become ``after``,
    the grids of ``after`` descending from those of ``before`` as ``descents`` says
    ((new code, source code, share of the new grid's area))."""
    descents = list(descents)
    gone = before - after
    sources = {s for _, s, _ in descents} | gone
    rows: dict[str, dict[str, str]] = {}
    for category, area, department in conn.execute(
        text(
            "SELECT category, area_code, department_code FROM responsibility "
            "WHERE area_code = ANY(:codes) ORDER BY area_code, category"
        ),
        {"codes": sorted(sources | {d for d, _, _ in descents})},
    ):
        rows.setdefault(area, {})[category] = department
    changes: list[RowChange] = []
    carried: set[tuple[str, str]] = set()  # (source, category) that went somewhere
    by_grid: dict[str, list[tuple[str, float]]] = {}
    for code, source, share in descents:
        if code != source:
            by_grid.setdefault(code, []).append((source, share))
    for code, origins in sorted(by_grid.items()):
        new = code not in before
        own = {} if new else dict(rows.get(code, {}))
        for source, share in sorted(origins, key=lambda o: (-o[1], o[0])):
            if not new and source not in gone:
                continue  # an area transfer between grids that both remain moves no rows
            for category, department in sorted(rows.get(source, {}).items()):
                if category in own:
                    continue  # a row of its own, or of a source with a larger share
                own[category] = department
                carried.add((source, category))
                changes.append(RowChange(category, department, source, code, round(share, 4)))
    for source in sorted(gone):
        for category, department in sorted(rows.get(source, {}).items()):
            if (source, category) not in carried:
                changes.append(RowChange(category, department, source, None))
    return changes


def apply_changes(conn: Connection, changes: list[RowChange], gone: set[str]) -> None:
    """Write the rows ``changes`` carries and remove the rows of the grids ``gone``."""
    moved = [c for c in changes if c.to is not None]
    if moved:
        conn.execute(
            text(
                "INSERT INTO responsibility (category, area_code, department_code) "
                "VALUES (:category, :area, :department) "
                "ON CONFLICT (category, area_code) DO NOTHING"
            ),
            [
                {"category": c.category, "area": c.to, "department": c.department_code}
                for c in moved
            ],
        )
    if gone:
        conn.execute(
            text("DELETE FROM responsibility WHERE area_code = ANY(:codes)"),
            {"codes": sorted(gone)},
        )
