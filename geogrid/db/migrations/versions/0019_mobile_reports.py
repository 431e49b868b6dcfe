"""Reports by mobile-grid members (issue 17): a case carries its reporter's mobile grid.

- ``app_user.phone``: the phone of the person an account stands for. The register's identity
  of a person is name + phone (a register is replaced whole on each load, so its row ids do
  not last); an account's person is its display name and this phone, and it is a member of a
  mobile grid when a row of ``org_mobile_member`` with that name and phone served then.
- ``civic_case.mobile_grid``: the mobile grid (流动网格) of whoever reported the case — a
  signed-in member, or the owner of the key used — as the register stood at the report's
  time; NULL for everyone else. It is written once, at creation (routing by location is
  unchanged), and shown by ``case_view``, extended from its current definition (as 0011 does).
- an index on the register's people (phone, name), so finding a member is one indexed lookup
  inside the case's insert;
- the key roles gain ``reporter``: reports cases and nothing else (a courier's or rider's key).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

PHONE = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8})$"
KEY_ROLES = "'viewer', 'dispatcher', 'planner', 'admin', 'handler', 'supervisor'"
#: Where the select list of case_view ends, as pg_get_viewdef prints it.
TOP_FROM = re.compile(r"\n\s*FROM\s+\(*civic_case c\b")


def _view_definition() -> str:
    found = op.get_bind().execute(sa.text("SELECT pg_get_viewdef('case_view'::regclass, true)"))
    return str(found.scalar_one()).strip().rstrip(";")


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE app_user ADD COLUMN phone text CHECK (phone ~ '{PHONE}');
        COMMENT ON COLUMN app_user.phone IS
            'The phone of the person the account stands for; with display_name, how the '
            'registers (org_*) know them';
        ALTER TABLE civic_case ADD COLUMN mobile_grid text
            CHECK (length(mobile_grid) BETWEEN 1 AND 100);
        COMMENT ON COLUMN civic_case.mobile_grid IS
            'The reporter''s mobile grid (流动网格) at the report''s time: a signed-in member, '
            'or the owner of the key used; NULL for everyone else';
        CREATE INDEX civic_case_mobile_grid ON civic_case (mobile_grid, created_at)
            WHERE mobile_grid IS NOT NULL;
        CREATE INDEX org_mobile_member_person ON org_mobile_member (phone, name, valid_from);
        ALTER TABLE api_key DROP CONSTRAINT api_key_role_check;
        ALTER TABLE api_key ADD CONSTRAINT api_key_role_check
            CHECK (role IN ({KEY_ROLES}, 'reporter'));
        """
    )
    old = _view_definition()
    found = TOP_FROM.search(old)
    assert found is not None, f"case_view has no FROM civic_case c: {old[:200]}"
    extended = old[: found.start()] + ",\n    c.mobile_grid" + old[found.start() :]
    op.execute(f"CREATE OR REPLACE VIEW case_view AS {extended}")


def downgrade() -> None:
    old = _view_definition()
    start = old.index(",\n    c.mobile_grid")
    end = TOP_FROM.search(old, start)
    assert end is not None
    op.execute("DROP VIEW case_view")
    op.execute(f"CREATE VIEW case_view AS {old[:start]}{old[end.start() :]}")
    op.execute(
        f"""
        DELETE FROM api_key WHERE role = 'reporter';
        UPDATE app_user SET role = 'viewer' WHERE role = 'reporter';
        ALTER TABLE api_key DROP CONSTRAINT api_key_role_check;
        ALTER TABLE api_key ADD CONSTRAINT api_key_role_check CHECK (role IN ({KEY_ROLES}));
        DROP INDEX org_mobile_member_person;
        ALTER TABLE civic_case DROP COLUMN mobile_grid;
        ALTER TABLE app_user DROP COLUMN phone;
        """
    )
