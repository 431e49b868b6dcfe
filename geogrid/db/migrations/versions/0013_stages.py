"""Stages and their limits, urgency levels, warnings, extensions, 督办/催办, 回访 and reopening
(geogrid/cases/stages.py, supervision.py, visits.py).

- ``case_urgency``: the urgency levels (紧急 urgent, 一般 normal) and the limits of the centre's own
  stages at each: 立案 (reported → accepted), 派遣 (accepted → dispatched), 核查 (handled →
  verified), in hours on the case's clock;
- ``case_category_level``: a category's levels with the condition each names (a missing manhole
  cover is urgent, a cracked one normal) and the 处置 hours (and clock) at each; a category with
  none has one level, normal, with its own handling hours;
- ``civic_case``: its urgency, the stage it is in with its start, yellow and due times (and the
  last warning given in it), when it was reported handled, hours of approved extensions, 督办,
  催办 count, reopen count and latest satisfaction;
- ``case_duty``: who was responsible when: one row per span a grid held a case in 处置, with the
  hours it counted (on the case's clock), for performance figures that charge each unit only its
  own time;
- ``case_extension`` (延期 requests and their decisions) and ``case_visit`` (回访);
- event kinds ``warning``, ``extension``, ``urged``, ``supervised``, ``visit``, ``reopened``;
- ``case_view`` gains the stage, its warning (green, yellow, red) and the handle-stage figures;
  ``overdue`` now means the current stage is past its limit.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import csv
import io
import re
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NEW_KINDS = ("warning", "extension", "urged", "supervised", "visit", "reopened")


def _csv(name: str) -> list[dict[str, str]]:
    content = resources.files("geogrid.cases").joinpath("catalogues", name).read_text("utf-8")
    return [dict(row) for row in csv.DictReader(io.StringIO(content))]


# The stage a case is in: on hold, the stage it was put on hold from (its clock stands still).
STAGE = """CASE coalesce(c.held_from, c.status)
               WHEN 'reported' THEN 'accept' WHEN 'accepted' THEN 'dispatch'
               WHEN 'dispatched' THEN 'handle' WHEN 'in_progress' THEN 'handle'
               WHEN 'handled' THEN 'verify' END"""
# The moment the stage's clock reads: now, or when the case was put on hold.
CLOCK_NOW = "CASE WHEN c.status = 'on_hold' THEN c.hold_started_at ELSE now() END"
WARNING = f"""CASE WHEN c.stage_due_at IS NULL OR c.status IN ('verified', 'closed', 'void')
                    THEN NULL
                    WHEN {CLOCK_NOW} > c.stage_due_at THEN 'red'
                    WHEN {CLOCK_NOW} >= c.stage_yellow_at THEN 'yellow'
                    ELSE 'green' END"""
DUE = """CASE WHEN c.status = 'on_hold' AND c.clock = 'calendar'
              THEN c.clock_due_at + (now() - c.hold_started_at) ELSE c.clock_due_at END"""


#: What each computed column of case_view is, whichever revisions made it (a column of
#: civic_case is itself: c.<name>). The view is rebuilt from its own column list, so this
#: revision composes with the others that extend it (departments add theirs).
COMPUTED = {
    "lon": "ST_X(c.location)",
    "lat": "ST_Y(c.location)",
    "category_type": "k.type",
    "category_major": "k.major_name",
    "category_name": "k.name",
    "handling_hours": "coalesce(c.due_hours, k.handling_hours)",
    "category_clock": "k.clock",
    "grid_name": "g.name",
    "grid_kind": "g.kind",
    "community_code": "g.community_code",
    "community_name": "cm.name",
    "street_code": "cm.street_code",
    "street_name": "s.name",
    "leader_name": "g.leader_name",
    "leader_phone": "g.leader_phone",
    "party_branch_name": "g.party_branch_name",
    "party_secretary_name": "g.party_secretary_name",
    "party_secretary_phone": "g.party_secretary_phone",
    "due_at": DUE,
    "department_name": "(SELECT d.name FROM department d WHERE d.code = c.department_code)",
    "department_kind": "(SELECT d.kind FROM department d WHERE d.code = c.department_code)",
    "department_contact": "(SELECT d.contact FROM department d WHERE d.code = c.department_code)",
}
#: The clock as 0008 read it: due and overdue from acceptance to closure.
BEFORE = {
    "overdue": """(c.status NOT IN ('closed', 'void') AND CASE WHEN c.status = 'on_hold'
                   THEN c.clock_due_at < c.hold_started_at ELSE c.clock_due_at < now() END)""",
    "closed_on_time": "CASE WHEN c.status = 'closed' THEN c.closed_at <= c.clock_due_at END",
    "handling_hours_taken": """CASE WHEN c.status = 'closed' THEN
        (extract(epoch FROM c.closed_at - c.accepted_at) - c.held_seconds) / 3600.0 END""",
}
#: The clock by stages: overdue is the stage in hand past its limit; the grid's time is 处置's.
AFTER = {
    "overdue": f"coalesce({WARNING} = 'red', false)",
    "closed_on_time": "CASE WHEN c.status = 'closed' THEN c.handled_at <= c.clock_due_at END",
    "handling_hours_taken": "CASE WHEN c.status = 'closed' THEN c.responsible_hours END",
    "stage": STAGE,
    "warning": WARNING,
}
#: civic_case columns this revision adds (case_view shows them, and merged_into of 0010)
ADDED = (
    "urgency",
    "stage_started_at",
    "stage_yellow_at",
    "stage_due_at",
    "stage_warned",
    "handled_at",
    "responsible_hours",
    "extended_hours",
    "supervised_at",
    "urged",
    "reopened",
    "satisfaction",
)


def _kinds() -> list[str]:
    """The event kinds case_event allows now (whichever revisions added them)."""
    found = op.get_bind().execute(
        sa.text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'case_event_kind_check'"
        )
    )
    return re.findall(r"'([a-z_]+)'", str(found.scalar_one()))


def _allow(kinds: list[str]) -> None:
    listed = ", ".join(f"'{k}'" for k in kinds)  # our own constants: no outside input
    op.execute(
        "ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check; "
        f"ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check CHECK (kind IN ({listed}))"
    )


def _columns(relation: str) -> list[str]:
    found = op.get_bind().execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:r AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"r": relation},
    )
    return [str(name) for name in found.scalars()]


def _rebuild(columns: list[str], expressions: dict[str, str]) -> None:
    """DROP and CREATE case_view with ``columns`` in this order."""
    own = set(_columns("civic_case"))
    targets = []
    for name in columns:
        if name in expressions:
            targets.append(f"{expressions[name]} AS {name}")
        elif name in COMPUTED:
            targets.append(f"{COMPUTED[name]} AS {name}")
        else:
            assert name in own, f"case_view column {name} is neither computed nor civic_case's"
            targets.append(f"c.{name}")
    select = ",\n    ".join(targets)
    op.execute("DROP VIEW case_view")
    op.execute(
        f"""CREATE VIEW case_view AS
    SELECT {select}
    FROM civic_case c
    JOIN case_category k ON k.code = c.category
    JOIN grid g ON g.code = c.grid_code
    JOIN community cm ON cm.code = g.community_code
    JOIN street s ON s.code = cm.street_code"""
    )


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE case_urgency (
            urgency        text PRIMARY KEY CHECK (urgency ~ '^[a-z_]{{1,20}}$'),
            name           text NOT NULL,
            rank           integer NOT NULL UNIQUE,
            accept_hours   double precision NOT NULL CHECK (accept_hours > 0),
            dispatch_hours double precision NOT NULL CHECK (dispatch_hours > 0),
            verify_hours   double precision NOT NULL CHECK (verify_hours > 0)
        );
        COMMENT ON TABLE case_urgency IS
            'Urgency levels and the limits of the centre''s stages (立案, 派遣, 核查) at each';
        CREATE TABLE case_category_level (
            category       text NOT NULL REFERENCES case_category (code),
            urgency        text NOT NULL REFERENCES case_urgency (urgency),
            condition      text NOT NULL,
            handling_hours double precision NOT NULL CHECK (handling_hours > 0),
            clock          text CHECK (clock IN ('working', 'calendar')),
            PRIMARY KEY (category, urgency)
        );
        COMMENT ON TABLE case_category_level IS
            'A category''s urgency levels: the condition each names and its 处置 hours';

        ALTER TABLE civic_case
            ADD COLUMN urgency text NOT NULL DEFAULT 'normal' REFERENCES case_urgency (urgency),
            ADD COLUMN stage_started_at timestamptz,
            ADD COLUMN stage_yellow_at timestamptz,
            ADD COLUMN stage_due_at timestamptz,
            ADD COLUMN stage_warned text CHECK (stage_warned IN ('yellow', 'red')),
            ADD COLUMN handled_at timestamptz,
            ADD COLUMN responsible_hours double precision NOT NULL DEFAULT 0,
            ADD COLUMN extended_hours double precision NOT NULL DEFAULT 0,
            ADD COLUMN supervised_at timestamptz,
            ADD COLUMN urged integer NOT NULL DEFAULT 0,
            ADD COLUMN reopened integer NOT NULL DEFAULT 0,
            ADD COLUMN satisfaction integer CHECK (satisfaction BETWEEN 1 AND 5);
        COMMENT ON COLUMN civic_case.stage_due_at IS
            'When the stage the case is in runs out (立案, 派遣, 处置 or 核查)';
        CREATE INDEX civic_case_stage_due ON civic_case (stage_yellow_at)
            WHERE status NOT IN ('verified', 'closed', 'void', 'on_hold');

        CREATE TABLE case_duty (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            case_id     bigint NOT NULL REFERENCES civic_case (id),
            grid_code   char(15) NOT NULL REFERENCES grid (code),
            department_code text REFERENCES department (code),
            started_at  timestamptz NOT NULL,
            ended_at    timestamptz,
            hours       double precision CHECK (hours >= 0)
        );
        CREATE INDEX case_duty_case ON case_duty (case_id, id);
        CREATE INDEX case_duty_grid ON case_duty (grid_code);
        CREATE INDEX case_duty_department ON case_duty (department_code);
        COMMENT ON TABLE case_duty IS
            'The spans each grid (and its department) held a case in 处置, with the hours '
            'counted on the case''s clock';

        CREATE TABLE case_extension (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            case_id       bigint NOT NULL REFERENCES civic_case (id),
            hours         double precision NOT NULL CHECK (hours > 0),
            reason        text NOT NULL,
            requested_by  text NOT NULL,
            requested_at  timestamptz NOT NULL DEFAULT now(),
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
            decided_by    text,
            decided_at    timestamptz,
            decision_note text NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX case_extension_one_pending ON case_extension (case_id)
            WHERE status = 'pending';
        COMMENT ON TABLE case_extension IS '延期: requests for more 处置 time, and decisions';

        CREATE TABLE case_visit (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            case_id       bigint NOT NULL REFERENCES civic_case (id),
            at            timestamptz NOT NULL DEFAULT now(),
            actor         text NOT NULL,
            reached       boolean NOT NULL,
            satisfaction  integer CHECK (satisfaction BETWEEN 1 AND 5),
            note          text NOT NULL DEFAULT '',
            CHECK (reached OR satisfaction IS NULL)
        );
        CREATE INDEX case_visit_case ON case_visit (case_id, id);
        COMMENT ON TABLE case_visit IS '回访: the reporter asked how the case was handled';
        """
    )
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO case_urgency VALUES (:urgency, :name, :rank, "
            "CAST(:accept_hours AS float8), CAST(:dispatch_hours AS float8), "
            "CAST(:verify_hours AS float8))"
        ),
        [{**row, "rank": i} for i, row in enumerate(_csv("case_urgency.csv"))],
    )
    known = {r[0] for r in bind.execute(sa.text("SELECT code FROM case_category"))}
    bind.execute(
        sa.text(
            "INSERT INTO case_category_level VALUES (:code, :urgency, :condition, "
            "CAST(:handling_hours AS float8), nullif(:clock, ''))"
        ),
        [row for row in _csv("case_levels.csv") if row["code"] in known],
    )
    # Cases already open keep what they had: their stage starts at its status's moment, and a
    # handled or closed case counts its handling time as before (acceptance to 反馈 or 结案).
    op.execute(
        """
        UPDATE civic_case SET
            stage_started_at = CASE status
                WHEN 'reported' THEN created_at WHEN 'accepted' THEN accepted_at
                WHEN 'dispatched' THEN dispatched_at WHEN 'in_progress' THEN dispatched_at
                WHEN 'handled' THEN updated_at END,
            stage_due_at = CASE WHEN status IN ('dispatched', 'in_progress') THEN clock_due_at
                                WHEN status = 'reported' THEN created_at + interval '1 hour'
                                WHEN status = 'accepted' THEN accepted_at + interval '1 hour'
                                WHEN status = 'handled' THEN updated_at + interval '2 hours'
                           END,
            handled_at = CASE WHEN status IN ('handled', 'verified', 'closed')
                              THEN updated_at END,
            responsible_hours = CASE WHEN status IN ('handled', 'verified', 'closed')
                AND dispatched_at IS NOT NULL
                THEN greatest(extract(epoch FROM updated_at - dispatched_at) - held_seconds, 0)
                     / 3600.0 ELSE 0 END;
        UPDATE civic_case SET stage_yellow_at = stage_started_at
            + (stage_due_at - stage_started_at) * 0.8 WHERE stage_due_at IS NOT NULL;
        -- their grid's 处置 span: ended for handled and closed cases, open for those in 处置
        INSERT INTO case_duty (case_id, grid_code, department_code, started_at, ended_at, hours)
        SELECT id, grid_code, department_code, dispatched_at,
               CASE WHEN status IN ('handled', 'verified', 'closed') THEN updated_at END,
               CASE WHEN status IN ('handled', 'verified', 'closed') THEN responsible_hours END
        FROM civic_case
        WHERE dispatched_at IS NOT NULL
          AND status IN ('dispatched', 'in_progress', 'handled', 'verified', 'closed');
        """
    )
    _allow([k for k in _kinds() if k not in NEW_KINDS] + list(NEW_KINDS))
    shown = _columns("case_view")
    more = [c for c in _columns("civic_case") if c not in shown]  # ours, and merged_into
    _rebuild([*shown, *more, "stage", "warning"], AFTER)


def downgrade() -> None:
    gone = {*ADDED, "merged_into", "stage", "warning"}
    _rebuild([c for c in _columns("case_view") if c not in gone], BEFORE)
    op.execute(
        sa.text("DELETE FROM case_event WHERE kind = ANY(:kinds)").bindparams(
            kinds=list(NEW_KINDS)
        )
    )
    _allow([k for k in _kinds() if k not in NEW_KINDS])
    op.execute(
        """
        DROP TABLE case_visit, case_extension, case_duty, case_category_level;
        ALTER TABLE civic_case DROP COLUMN urgency, DROP COLUMN stage_started_at,
            DROP COLUMN stage_yellow_at, DROP COLUMN stage_due_at, DROP COLUMN stage_warned,
            DROP COLUMN handled_at, DROP COLUMN responsible_hours, DROP COLUMN extended_hours,
            DROP COLUMN supervised_at, DROP COLUMN urged, DROP COLUMN reopened,
            DROP COLUMN satisfaction;
        DROP TABLE case_urgency;
        """
    )
