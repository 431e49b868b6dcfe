"""The Chinese working calendar, and deadlines in working or calendar hours.

- ``work_calendar_year`` (the years whose State Council notice is loaded, with its source) and
  ``work_calendar`` (each day a notice makes a day off or a weekend day worked), seeded from the
  calendar geogrid ships (geogrid/calendar/data/, every notice from 2004 on);
- ``case_category.clock``: 'working' (office hours of working days) or 'calendar' (round the
  clock), from the shipped catalogue's clock column; emergencies (突发事件, E04xx), burning
  rubbish (E0107) and the four manhole covers (C0101-C0104) run round the clock;
- ``civic_case.clock`` (frozen at acceptance, as due_hours), ``civic_case.clock_due_at`` (the due
  time geogrid computed at acceptance and moves on when the case leaves hold) and
  ``civic_case.calendar_missing`` (the due time reaches a year with no calendar: not guessed);
- ``case_view`` reads the stored due time instead of adding calendar hours.

Cases accepted before this migration keep the calendar-hour deadline they had.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _csv(package: str, *parts: str) -> list[dict[str, str]]:
    content = resources.files(package).joinpath(*parts).read_text(encoding="utf-8")
    lines = [line for line in content.splitlines() if not line.startswith("#")]
    return [dict(row) for row in csv.DictReader(io.StringIO("\n".join(lines)))]


def _source(row: dict[str, str]) -> str:
    said = row["title"] + (f"（{row['number']}，{row['issued']}）" if row["number"] else "")
    said += f" {row['url']}" if row["url"] else ""
    return said + (f"；{row['changes']}" if row["changes"] else "")


def _view(due: str, overdue: str, on_time: str, clock: str) -> str:
    """case_view as 0007 made it, with the due time, overdue and on-time rules given."""
    return f"""
    CREATE VIEW case_view AS
    SELECT c.*, ST_X(c.location) AS lon, ST_Y(c.location) AS lat,
           k.type AS category_type, k.major_name AS category_major, k.name AS category_name,
           coalesce(c.due_hours, k.handling_hours) AS handling_hours, {clock} AS category_clock,
           g.name AS grid_name, g.kind AS grid_kind, g.community_code, cm.name AS community_name,
           cm.street_code, s.name AS street_name, g.leader_name, g.leader_phone,
           g.party_branch_name, g.party_secretary_name, g.party_secretary_phone,
           {due} AS due_at,
           (c.status NOT IN ('closed', 'void') AND {overdue}) AS overdue,
           CASE WHEN c.status = 'closed' THEN {on_time} END AS closed_on_time,
           CASE WHEN c.status = 'closed' THEN
               (extract(epoch FROM c.closed_at - c.accepted_at) - c.held_seconds) / 3600.0
           END AS handling_hours_taken
    FROM civic_case c
    JOIN case_category k ON k.code = c.category
    JOIN grid g ON g.code = c.grid_code
    JOIN community cm ON cm.code = g.community_code
    JOIN street s ON s.code = cm.street_code
    """


# On hold, a round-the-clock deadline moves on with the hold; a working-hours one stays where
# it stood when the case was put on hold until it resumes (the working hours on hold are added
# then). A case on hold is overdue exactly when it was overdue when put on hold.
DUE = """CASE WHEN c.status = 'on_hold' AND c.clock = 'calendar'
              THEN c.clock_due_at + (now() - c.hold_started_at) ELSE c.clock_due_at END"""
OVERDUE = """CASE WHEN c.status = 'on_hold' THEN c.clock_due_at < c.hold_started_at
                  ELSE c.clock_due_at < now() END"""

OLD_DUE = """c.accepted_at + make_interval(secs => coalesce(c.due_hours, k.handling_hours) * 3600
    + c.held_seconds + CASE WHEN c.status = 'on_hold'
                            THEN extract(epoch FROM now() - c.hold_started_at) ELSE 0 END)"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE work_calendar_year (
            year       integer PRIMARY KEY CHECK (year BETWEEN 1990 AND 2200),
            source     text NOT NULL,
            loaded_at  timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE work_calendar_year IS
            'Years whose holiday notice (国务院办公厅关于…部分节假日安排的通知) is loaded';
        CREATE TABLE work_calendar (
            day   date PRIMARY KEY,
            kind  text NOT NULL CHECK (kind IN ('holiday', 'workday')),
            name  text NOT NULL,
            year  integer NOT NULL REFERENCES work_calendar_year (year) ON DELETE CASCADE,
            CHECK (kind = 'holiday' OR extract(isodow FROM day) >= 6)
        );
        CREATE INDEX work_calendar_year_days ON work_calendar (year);
        COMMENT ON TABLE work_calendar IS
            'Days off (holiday) and weekend days worked (workday, 调休上班) of each notice';

        ALTER TABLE case_category ADD COLUMN clock text NOT NULL DEFAULT 'working'
            CHECK (clock IN ('working', 'calendar'));
        ALTER TABLE civic_case
            ADD COLUMN clock text CHECK (clock IN ('working', 'calendar')),
            ADD COLUMN clock_due_at timestamptz,
            ADD COLUMN calendar_missing boolean NOT NULL DEFAULT false;
        COMMENT ON COLUMN civic_case.clock IS
            'The category''s clock when the case was accepted (null before)';
        COMMENT ON COLUMN civic_case.clock_due_at IS
            'Due time set at acceptance and moved on when the case leaves hold';
        -- Accepted before: the calendar-hour deadline they had.
        UPDATE civic_case SET clock = 'calendar',
            clock_due_at = accepted_at + make_interval(secs => due_hours * 3600 + held_seconds)
        WHERE accepted_at IS NOT NULL;
        CREATE INDEX civic_case_due ON civic_case (clock_due_at)
            WHERE status NOT IN ('closed', 'void');
        DROP VIEW case_view;
        """
    )
    op.execute(_view(DUE, OVERDUE, "c.closed_at <= c.clock_due_at", "k.clock"))
    bind = op.get_bind()
    notices = _csv("geogrid.calendar", "data", "cn_notices.csv")
    bind.execute(
        sa.text("INSERT INTO work_calendar_year (year, source) VALUES (:year, :source)"),
        [{"year": int(r["year"]), "source": _source(r)} for r in notices],
    )
    bind.execute(
        sa.text(
            "INSERT INTO work_calendar (day, kind, name, year) "
            "VALUES (CAST(:date AS date), :kind, :name, CAST(:year AS integer))"
        ),
        _csv("geogrid.calendar", "data", "cn_work_calendar.csv"),
    )
    clocks = _csv("geogrid.cases", "catalogues", "case_categories.csv")
    bind.execute(
        sa.text("UPDATE case_category SET clock = :clock WHERE code = :code"),
        [{"code": r["code"], "clock": r["clock"]} for r in clocks],
    )


def downgrade() -> None:
    op.execute(
        "DROP VIEW case_view; DROP INDEX civic_case_due; "
        "ALTER TABLE civic_case DROP COLUMN clock, DROP COLUMN clock_due_at, "
        "DROP COLUMN calendar_missing; ALTER TABLE case_category DROP COLUMN clock; "
        "DROP TABLE work_calendar, work_calendar_year;"
    )
    op.execute(_view(OLD_DUE, f"{OLD_DUE} < now()", f"c.closed_at <= {OLD_DUE}", "'calendar'"))
