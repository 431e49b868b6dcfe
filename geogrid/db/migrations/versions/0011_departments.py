"""Departments, the responsibility list, handlers and escalation (geogrid/responsibility/,
geogrid/cases/duties.py).

- ``department``: the functional departments (职能部门) cases are dispatched to;
- ``responsibility``: category (a code, a major class such as E04, or a type letter E/C) ×
  area (district, street, community or grid code) → department; the most specific area wins;
- ``civic_case.department_code`` (resolved at creation, re-resolved on re-route before
  dispatch) and ``civic_case.escalation_level`` (吹哨报到: street or district);
- ``app_user.department_code`` and ``api_key.department_code``: the department a handler acts for;
  the key roles gain handler and supervisor;
- event kinds ``returned`` (退单), ``escalated`` (吹哨报到) and ``assigned`` (a dispatcher names
  another department);
- ``case_view`` gains the case's department (code, name, kind, contact) and escalation level.
  It is extended from its current definition (whatever columns earlier revisions gave it), so
  this revision composes with others that extend the view.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = "'created', 'transition', 'reroute', 'flag', 'photo', 'merged', 'merged_in'"
NEW_KINDS = "'returned', 'escalated', 'assigned'"
ROLES = "'viewer', 'dispatcher', 'planner', 'admin'"

#: The columns this revision adds to case_view, first to last.
VIEW_COLUMNS = """,
    c.department_code,
    c.escalation_level,
    (SELECT d.name FROM department d WHERE d.code = c.department_code) AS department_name,
    (SELECT d.kind FROM department d WHERE d.code = c.department_code) AS department_kind,
    (SELECT d.contact FROM department d WHERE d.code = c.department_code) AS department_contact
"""
#: Where the select list of case_view ends, as pg_get_viewdef prints it.
TOP_FROM = re.compile(r"\n\s*FROM\s+\(*civic_case c\b")


def _view_definition() -> str:
    found = op.get_bind().execute(sa.text("SELECT pg_get_viewdef('case_view'::regclass, true)"))
    return str(found.scalar_one()).strip().rstrip(";")


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE department (
            code text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{{1,32}}$'),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 20),
            contact text NOT NULL DEFAULT '',
            active boolean NOT NULL DEFAULT true,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE department IS
            'Functional departments (职能部门) cases are dispatched to, with their handlers';
        CREATE TABLE responsibility (
            id serial PRIMARY KEY,
            category text NOT NULL CHECK (category ~ '^[A-Z]([0-9]{{2}}){{0,2}}$'),
            area_code text NOT NULL CHECK (area_code ~ '^[0-9]{{6}}([0-9]{{3}}){{0,3}}$'),
            department_code text NOT NULL REFERENCES department (code),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (category, area_code)
        );
        COMMENT ON TABLE responsibility IS
            'Category (code, major class or type letter) x area (district, street, community '
            'or grid code) -> responsible department; the most specific area wins';
        ALTER TABLE civic_case
            ADD COLUMN department_code text REFERENCES department (code),
            ADD COLUMN escalation_level text CHECK (escalation_level IN ('street', 'district'));
        CREATE INDEX civic_case_department ON civic_case (department_code, status);
        ALTER TABLE app_user ADD COLUMN department_code text REFERENCES department (code);
        ALTER TABLE api_key ADD COLUMN department_code text REFERENCES department (code);
        ALTER TABLE api_key DROP CONSTRAINT api_key_role_check;
        ALTER TABLE api_key ADD CONSTRAINT api_key_role_check
            CHECK (role IN ({ROLES}, 'handler', 'supervisor'));
        ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;
        ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check
            CHECK (kind IN ({KINDS}, {NEW_KINDS}));
        """
    )
    old = _view_definition()
    found = TOP_FROM.search(old)
    assert found is not None, f"case_view has no FROM civic_case c: {old[:200]}"
    extended = old[: found.start()] + VIEW_COLUMNS + old[found.start() :]
    op.execute(f"CREATE OR REPLACE VIEW case_view AS {extended}")


def downgrade() -> None:
    old = _view_definition()
    start = old.index(",\n    c.department_code,")
    end = TOP_FROM.search(old, start)
    assert end is not None
    op.execute("DROP VIEW case_view")
    op.execute(f"CREATE VIEW case_view AS {old[:start]}{old[end.start() :]}")
    op.execute(
        f"""
        DELETE FROM case_event WHERE kind IN ({NEW_KINDS});
        ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;
        ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check CHECK (kind IN ({KINDS}));
        DELETE FROM api_key WHERE role IN ('handler', 'supervisor');
        ALTER TABLE api_key DROP CONSTRAINT api_key_role_check;
        ALTER TABLE api_key ADD CONSTRAINT api_key_role_check CHECK (role IN ({ROLES}));
        ALTER TABLE api_key DROP COLUMN department_code;
        ALTER TABLE app_user DROP COLUMN department_code;
        ALTER TABLE civic_case DROP COLUMN department_code, DROP COLUMN escalation_level;
        DROP TABLE responsibility, department;
        """
    )
