"""A case keeps the handling hours it was accepted with (civic_case.due_hours).

Before, case_view computed every deadline from the category's current handling hours, so
editing the catalogue moved the deadlines of cases already running (and turned closed cases
late or on time after the fact). Now acceptance copies the category's hours into the case
(geogrid/db/sql/case_transition.sql); a changed catalogue counts for cases accepted afterwards.
Cases accepted before this migration keep the hours their category has now.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _view(hours: str) -> str:
    """case_view as 0003 made it, with ``hours`` as each case's handling hours."""
    return f"""
    CREATE VIEW case_view AS
    SELECT c.*, ST_X(c.location) AS lon, ST_Y(c.location) AS lat,
           k.type AS category_type, k.major_name AS category_major, k.name AS category_name,
           {hours} AS handling_hours,
           g.name AS grid_name, g.kind AS grid_kind, g.community_code, cm.name AS community_name,
           cm.street_code, s.name AS street_name, g.leader_name, g.leader_phone,
           g.party_branch_name, g.party_secretary_name, g.party_secretary_phone,
           d.due_at,
           (c.status NOT IN ('closed', 'void') AND d.due_at < now()) AS overdue,
           CASE WHEN c.status = 'closed' THEN c.closed_at <= d.due_at END AS closed_on_time,
           CASE WHEN c.status = 'closed' THEN
               (extract(epoch FROM c.closed_at - c.accepted_at) - c.held_seconds) / 3600.0
           END AS handling_hours_taken
    FROM civic_case c
    JOIN case_category k ON k.code = c.category
    JOIN grid g ON g.code = c.grid_code
    JOIN community cm ON cm.code = g.community_code
    JOIN street s ON s.code = cm.street_code
    CROSS JOIN LATERAL (SELECT c.accepted_at + make_interval(secs => {hours} * 3600
        + c.held_seconds + CASE WHEN c.status = 'on_hold'
                                THEN extract(epoch FROM now() - c.hold_started_at) ELSE 0 END)
        AS due_at) d;
    """


def upgrade() -> None:
    op.execute(
        "ALTER TABLE civic_case ADD COLUMN due_hours double precision CHECK (due_hours > 0);"
        "COMMENT ON COLUMN civic_case.due_hours IS "
        "'Handling hours of the category when the case was accepted (null before)';"
        "UPDATE civic_case c SET due_hours = k.handling_hours FROM case_category k "
        "WHERE k.code = c.category AND c.accepted_at IS NOT NULL;"
        "DROP VIEW case_view;"
    )
    # Not yet accepted: the category's hours as they are now (the case has no deadline yet).
    op.execute(_view("coalesce(c.due_hours, k.handling_hours)"))


def downgrade() -> None:
    op.execute("DROP VIEW case_view;")
    op.execute(_view("k.handling_hours"))
    op.execute("ALTER TABLE civic_case DROP COLUMN due_hours;")
