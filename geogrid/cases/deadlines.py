"""A case's due time: its category's handling hours counted on the category's clock.

``working`` hours count only office hours of working days (the Chinese working calendar,
:mod:`geogrid.calendar`); ``calendar`` hours count round the clock. Acceptance fixes the hours
and the clock (a later edit of the catalogue moves no running deadline) and stores the due
time; when a case leaves hold the due time moves on by the time on hold, counted on the same
clock. A due time that would reach a year with no calendar is not guessed: the case is flagged
``calendar_missing`` until that year's notice is loaded (:func:`recompute_missing`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.calendar import (
    Due,
    WorkCalendar,
    add_calendar_hours,
    add_working_hours,
    working_hours_between,
)


def due_after(calendar: WorkCalendar, clock: str, start: datetime, hours: float) -> Due:
    """``hours`` on ``clock`` from ``start``."""
    if clock == "calendar":
        return add_calendar_hours(start, hours)
    return add_working_hours(start, hours, calendar)


def resumed_due(
    calendar: WorkCalendar, clock: str, due_at: datetime, held_from: datetime, now: datetime
) -> Due:
    """``due_at`` moved on by the time on hold from ``held_from`` to ``now`` on ``clock``."""
    if clock == "calendar":
        return Due(due_at + (now - held_from))
    held = working_hours_between(held_from, now, calendar)
    if held is None:
        return Due(None, True)
    return due_after(calendar, clock, due_at, held) if held > 0 else Due(due_at)


def case_due(
    calendar: WorkCalendar,
    clock: str,
    accepted_at: datetime,
    hours: float,
    holds: list[tuple[datetime, datetime]],
) -> Due:
    """The due time of a case accepted at ``accepted_at`` and on hold over ``holds``."""
    due = due_after(calendar, clock, accepted_at, hours)
    for held_from, resumed in holds:
        if due.at is None:
            break
        due = resumed_due(calendar, clock, due.at, held_from, resumed)
    return due


def recompute_missing(conn: Connection, calendar: WorkCalendar) -> int:
    """Give the open cases flagged ``calendar_missing`` the due time ``calendar`` now allows.

    The 处置 hours count from dispatch (from acceptance, as a projection, until then); their
    holds are read from their transitions. Returns how many were given one.
    """
    rows = conn.execute(
        text(
            "SELECT c.id, coalesce(c.dispatched_at, c.accepted_at) AS accepted_at, c.due_hours, "
            "c.clock, c.status, "
            "coalesce(array_agg(e.at ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL), '{}') "
            "AS moves FROM civic_case c LEFT JOIN case_event e ON e.case_id = c.id "
            "AND e.kind = 'transition' AND 'on_hold' IN (e.from_status, e.to_status) "
            "WHERE c.calendar_missing AND c.accepted_at IS NOT NULL "
            "AND c.status NOT IN ('closed', 'void') GROUP BY c.id"
        )
    ).all()
    fixed = 0
    for row in rows:
        moves = list(row.moves)
        if row.status == "on_hold":
            moves = moves[:-1]  # the hold running now moves the due time when it ends
        holds = list(zip(moves[0::2], moves[1::2], strict=False))
        due = case_due(calendar, row.clock, row.accepted_at, row.due_hours, holds)
        if due.at is not None:
            conn.execute(
                text(
                    "UPDATE civic_case SET clock_due_at = :due, calendar_missing = false, "
                    "stage_due_at = CASE WHEN coalesce(held_from, status) IN "
                    "('dispatched', 'in_progress') THEN :due ELSE stage_due_at END "
                    "WHERE id = :id"
                ),
                {"due": due.at, "id": row.id},
            )
            fixed += 1
    return fixed
