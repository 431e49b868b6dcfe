"""What creating (or previewing) a case reads before it writes, in one statement.

A new case needs its category, the category's urgency levels, the department the
responsibility list names for it in its grid, the working calendar in force and the boundary
release now current. Asked one by one that is five statements: five round trips, and five
plans, since PostgreSQL plans every statement it is sent (planning costs more than running
these lookups by primary key). :func:`read_intake` asks for all of them in one statement; each
part is then turned into its object by the module that owns it
(:func:`geogrid.cases.stages.levels_from_rows`,
:func:`geogrid.responsibility.choose_department`, :func:`geogrid.calendar.stamped_calendar`),
the same functions the one-by-one readers use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from geogrid.calendar.store import STAMP_SQL
from geogrid.cases.categories import Category
from geogrid.cases.stages import LevelRow
from geogrid.db import prepared
from geogrid.responsibility.rules import Candidate

_INTAKE = text(
    f"""
    SELECT
        (SELECT max(id) FROM boundary_release) AS current_release,
        (SELECT json_build_array(code, type, major_name, name, handling_hours, active, clock)
           FROM case_category WHERE code = :category AND active) AS category,
        (SELECT json_agg(json_build_array(u.urgency, u.name, u.accept_hours, u.dispatch_hours,
                                          u.verify_hours, l.condition, l.handling_hours, l.clock)
                         ORDER BY u.rank)
           FROM case_urgency u
           LEFT JOIN case_category_level l
                  ON l.urgency = u.urgency AND l.category = :category) AS levels,
        (SELECT json_agg(json_build_array(r.category, r.area_code, r.department_code,
                                          d.name, d.kind, d.contact))
           FROM responsibility r JOIN department d ON d.code = r.department_code
          WHERE d.active AND starts_with(:category, r.category)
            AND starts_with(:grid, r.area_code)) AS responsibility,
        ({STAMP_SQL}) AS calendar_stamp
    """
)


@dataclass(frozen=True)
class Intake:
    """What :func:`read_intake` read, each part as its owner's functions take it."""

    #: the release now current (None: nothing published yet)
    current_release: int | None
    #: the active category the code names, or None (unknown, inactive, or a name not a code)
    category: Category | None
    #: every urgency, most urgent first, with the category's own row for it
    levels: list[LevelRow]
    #: the responsibility rows (with active departments) that may answer for it in the grid
    candidates: list[Candidate]
    #: which working calendar is in force (:data:`geogrid.calendar.store.STAMP_SQL`)
    calendar_stamp: str


def read_intake(conn: Connection, category: str, grid_code: str) -> Intake:
    """Everything a case of ``category`` in grid ``grid_code`` needs, in one round trip."""
    # prepared: planned once per connection (the plan costs more than the lookups it makes)
    (row,) = prepared.run(conn, _INTAKE, {"category": category, "grid": grid_code.strip()})
    return Intake(
        row.current_release,
        None if row.category is None else Category(*row.category),
        [LevelRow(*r) for r in row.levels or ()],
        [Candidate(*r) for r in row.responsibility or ()],
        row.calendar_stamp,
    )


__all__ = ["Intake", "read_intake"]
