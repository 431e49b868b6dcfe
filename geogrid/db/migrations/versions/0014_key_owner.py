"""A key's owner: the person (an account in ``app_user``) a key acts for.

The actor of every step of a case is a person: a signed-in user, or the owner of the key used.
Separation of duties compares persons, so one person holding a handler's key and a dispatcher's
key cannot verify their own work by switching keys, and a disabled account's keys stop working.
Keys of systems (an intake gateway, a bench) have no owner and act under their own name.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE api_key ADD COLUMN owner_id integer REFERENCES app_user (id);
        COMMENT ON COLUMN api_key.owner_id IS
            'The person the key acts for (steps are recorded under their user name); '
            'NULL: a system''s key, acting under its own name';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE api_key DROP COLUMN owner_id")
