"""The people of a grid come from the registers: one source of truth (issue 17).

Until now a grid carried its leader and party branch as free text (``grid.leader_name``,
``leader_phone``, ``party_branch_name``, ``party_secretary_name``, ``party_secretary_phone``)
beside the registers of migration 0016. This revision:

- moves what the grid table held into the registers — a grid's leader into ``org_grid_staff``
  (role ``leader``), its branch and secretary into ``org_party_branch`` — but only into a
  register that holds no current rows (a register someone has loaded is the truth, and is not
  mixed with older free text), and only the rows the registers' checks accept (a phone that is
  not a mainland mobile or a landline with its area code, a branch without a secretary, stay
  behind and are reported by ``NOTICE``);
- reads the five fields from the registers instead: the view ``grid_people`` (each grid's
  leader — its earliest-serving current 网格长 — and its current branch) and the function
  ``grid_people_at(t)`` (the same as served at ``t``), which ``case_view`` and every grid query
  join;
- drops the five columns.

Revision ID: 0022
Revises: 0019
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None
log = logging.getLogger("alembic.runtime.migration")

PEOPLE = (
    "leader_name",
    "leader_phone",
    "party_branch_name",
    "party_secretary_name",
    "party_secretary_phone",
)
PHONE = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8})$"
_NAME_OK = "length({c}) BETWEEN 1 AND 50"

#: case_view's computed columns as revision 0013 left them, the people now from grid_people.
STAGE = """CASE coalesce(c.held_from, c.status)
               WHEN 'reported' THEN 'accept' WHEN 'accepted' THEN 'dispatch'
               WHEN 'dispatched' THEN 'handle' WHEN 'in_progress' THEN 'handle'
               WHEN 'handled' THEN 'verify' END"""
CLOCK_NOW = "CASE WHEN c.status = 'on_hold' THEN c.hold_started_at ELSE now() END"
WARNING = f"""CASE WHEN c.stage_due_at IS NULL OR c.status IN ('verified', 'closed', 'void')
                    THEN NULL
                    WHEN {CLOCK_NOW} > c.stage_due_at THEN 'red'
                    WHEN {CLOCK_NOW} >= c.stage_yellow_at THEN 'yellow'
                    ELSE 'green' END"""
DUE = """CASE WHEN c.status = 'on_hold' AND c.clock = 'calendar'
              THEN c.clock_due_at + (now() - c.hold_started_at) ELSE c.clock_due_at END"""
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
    "due_at": DUE,
    "department_name": "(SELECT d.name FROM department d WHERE d.code = c.department_code)",
    "department_kind": "(SELECT d.kind FROM department d WHERE d.code = c.department_code)",
    "department_contact": "(SELECT d.contact FROM department d WHERE d.code = c.department_code)",
    "overdue": f"coalesce({WARNING} = 'red', false)",
    "closed_on_time": "CASE WHEN c.status = 'closed' THEN c.handled_at <= c.clock_due_at END",
    "handling_hours_taken": "CASE WHEN c.status = 'closed' THEN c.responsible_hours END",
    "stage": STAGE,
    "warning": WARNING,
}


def _columns(relation: str) -> list[str]:
    found = op.get_bind().execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:r AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"r": relation},
    )
    return [str(name) for name in found.scalars()]


def _rebuild(people_from: str, join: str) -> None:
    """DROP and CREATE case_view with its columns in their order, the people from
    ``people_from`` (a table alias)."""
    columns = _columns("case_view")
    own = set(_columns("civic_case"))
    targets = []
    for name in columns:
        if name in PEOPLE:
            targets.append(f"{people_from}.{name} AS {name}")
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
    JOIN street s ON s.code = cm.street_code{join}"""
    )


def _move_into_empty_registers() -> None:
    bind = op.get_bind()
    staff_empty = not bind.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM org_grid_staff WHERE valid_to IS NULL)")
    ).scalar_one()
    branches_empty = not bind.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM org_party_branch WHERE valid_to IS NULL)")
    ).scalar_one()
    name_ok = _NAME_OK.format
    if staff_empty:
        moved = bind.execute(
            sa.text(
                "INSERT INTO org_grid_staff (grid_code, role, name, phone) "
                "SELECT code, 'leader', btrim(leader_name), btrim(leader_phone) FROM grid "
                f"WHERE {name_ok(c='btrim(leader_name)')} "
                "AND btrim(leader_phone) ~ :phone"
            ),
            {"phone": PHONE},
        ).rowcount
        left = bind.execute(
            sa.text("SELECT count(*) FROM grid WHERE leader_name IS NOT NULL")
        ).scalar_one()
        log.info("grid leaders moved into the staff register: %s of %s", moved, left)
    if branches_empty:
        bind.execute(
            sa.text(
                "INSERT INTO org_party_branch (grid_code, name, secretary_name, secretary_phone) "
                "SELECT code, btrim(party_branch_name), btrim(party_secretary_name), "
                "btrim(party_secretary_phone) FROM grid "
                "WHERE length(btrim(party_branch_name)) BETWEEN 1 AND 100 "
                f"AND {name_ok(c='btrim(party_secretary_name)')} "
                "AND btrim(party_secretary_phone) ~ :phone"
            ),
            {"phone": PHONE},
        )


def upgrade() -> None:
    _move_into_empty_registers()
    op.execute(
        """
        CREATE FUNCTION grid_people_at(t timestamptz)
        RETURNS TABLE (grid_code char(15), leader_name text, leader_phone text,
                       party_branch_name text, party_secretary_name text,
                       party_secretary_phone text)
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT g.code, l.name, l.phone, b.name, b.secretary_name, b.secretary_phone
            FROM grid g
            LEFT JOIN LATERAL (
                SELECT s.name, s.phone FROM org_grid_staff s
                WHERE s.grid_code = g.code AND s.role = 'leader'
                  AND org_valid_at(s.valid_from, s.valid_to, t)
                ORDER BY s.valid_from, s.id LIMIT 1
            ) l ON true
            LEFT JOIN org_party_branch b
                ON b.grid_code = g.code AND org_valid_at(b.valid_from, b.valid_to, t)
        $$;
        COMMENT ON FUNCTION grid_people_at IS
            'Each grid''s leader (its earliest-serving 网格长) and party branch as served at t';
        CREATE INDEX org_grid_staff_current ON org_grid_staff (grid_code, role)
            WHERE valid_to IS NULL;
        CREATE VIEW grid_people AS
            SELECT g.code AS grid_code, l.name AS leader_name, l.phone AS leader_phone,
                   b.name AS party_branch_name, b.secretary_name AS party_secretary_name,
                   b.secretary_phone AS party_secretary_phone
            FROM grid g
            LEFT JOIN LATERAL (
                SELECT s.name, s.phone FROM org_grid_staff s
                WHERE s.grid_code = g.code AND s.role = 'leader' AND s.valid_to IS NULL
                ORDER BY s.valid_from, s.id LIMIT 1
            ) l ON true
            LEFT JOIN org_party_branch b ON b.grid_code = g.code AND b.valid_to IS NULL;
        COMMENT ON VIEW grid_people IS
            'Each grid''s current leader and party branch, from the registers';
        """
    )
    _rebuild("gp", "\n    LEFT JOIN grid_people gp ON gp.grid_code = c.grid_code")
    op.execute(f"ALTER TABLE grid {', '.join(f'DROP COLUMN {c}' for c in PEOPLE)}")


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE grid ADD COLUMN leader_name text, ADD COLUMN leader_phone text,
            ADD COLUMN party_branch_name text, ADD COLUMN party_secretary_name text,
            ADD COLUMN party_secretary_phone text;
        UPDATE grid g SET leader_name = p.leader_name, leader_phone = p.leader_phone,
            party_branch_name = p.party_branch_name,
            party_secretary_name = p.party_secretary_name,
            party_secretary_phone = p.party_secretary_phone
        FROM grid_people p WHERE p.grid_code = g.code;
        """
    )
    _rebuild("g", "")
    op.execute("DROP VIEW grid_people; DROP FUNCTION grid_people_at; "
               "DROP INDEX org_grid_staff_current")
